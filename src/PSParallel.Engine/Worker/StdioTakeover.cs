using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PSParallel.Engine.Worker;

/// <summary>
/// Gives the worker's frame channel private copies of stdin and stdout, then points the standard
/// handles elsewhere: stdout to stderr and stdin to nothing. From then on nothing an item does —
/// Write-Host, [Console]::WriteLine, a native command, Read-Host — can touch the frames.
/// </summary>
internal static class StdioTakeover
{
    public static (Stream Input, Stream Output) Take()
    {
        Console.Out.Flush();
        if (OperatingSystem.IsWindows()) return TakeOnWindows();

        int input = Check(Unix.dup(0), "dup(stdin)");
        int output = Check(Unix.dup(1), "dup(stdout)");
        Check(Unix.dup2(2, 1), "dup2(stderr, stdout)");
        int nothing = Check(Unix.open("/dev/null", 0), "open(/dev/null)");
        Check(Unix.dup2(nothing, 0), "dup2(/dev/null, stdin)");
        Unix.close(nothing);
        // .NET's Console keeps its own duplicate of the descriptors it opened before this point,
        // so its writers must be replaced too, or [Console]::WriteLine would still reach the frames.
        Console.SetOut(new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true });
        Console.SetIn(StreamReader.Null);
        return (Open(input, FileAccess.Read), Open(output, FileAccess.Write));
    }

    private static (Stream, Stream) TakeOnWindows()
    {
        var input = Windows.GetStdHandle(Windows.StdInput);
        var output = Windows.GetStdHandle(Windows.StdOutput);
        Windows.SetStdHandle(Windows.StdOutput, Windows.GetStdHandle(Windows.StdError));
        Windows.SetStdHandle(Windows.StdInput, IntPtr.Zero);
        Console.SetOut(Console.Error);
        Console.SetIn(StreamReader.Null);
        return (new FileStream(new SafeFileHandle(input, true), FileAccess.Read), new FileStream(new SafeFileHandle(output, true), FileAccess.Write));
    }

    private static Stream Open(int fd, FileAccess access) => new FileStream(new SafeFileHandle((IntPtr)fd, ownsHandle: true), access, 1);

    private static int Check(int result, string call) =>
        result >= 0 ? result : throw new IOException($"{call} failed (errno {Marshal.GetLastPInvokeError()})");

    private static class Unix
    {
        [DllImport("libc", SetLastError = true)] public static extern int dup(int fd);
        [DllImport("libc", SetLastError = true)] public static extern int dup2(int fd, int fd2);
        [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi)] public static extern int open(string path, int flags);
        [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
    }

    private static class Windows
    {
        public const int StdInput = -10, StdOutput = -11, StdError = -12;
        [DllImport("kernel32", SetLastError = true)] public static extern IntPtr GetStdHandle(int which);
        [DllImport("kernel32", SetLastError = true)] public static extern bool SetStdHandle(int which, IntPtr handle);
    }
}
