using System.Globalization;
using System.Runtime.InteropServices;

namespace PSParallel.Engine.Measurement;

/// <summary>What a thread's clocks said at one moment: processor time, and time spent ready but waiting for a processor.</summary>
internal readonly record struct ThreadTimes(TimeSpan Cpu, TimeSpan Waiting);

/// <summary>
/// Processor time of one thread. The process's own total is no use for classifying work in a fresh
/// session: the runtime's background compiler alone burns a sixth of a core there while the items
/// sleep. On Linux the kernel's schedstat also says how long the thread waited for a processor, so a
/// busy machine does not make computing work look like waiting. Null where neither clock exists.
/// </summary>
internal static class ThreadCpuClock
{
    private const int LinuxThreadClock = 3;   // CLOCK_THREAD_CPUTIME_ID on Linux
    private const int MacThreadClock = 16;    // CLOCK_THREAD_CPUTIME_ID on macOS

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetTid();

    [DllImport("kernel32.dll")]
    private static extern IntPtr GetCurrentThread();

    [DllImport("kernel32.dll")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool GetThreadTimes(IntPtr thread, out long creation, out long exit, out long kernel, out long user);

    /// <summary>The calling thread's Linux id (for <see cref="ReadLinux"/> from another thread); 0 elsewhere.</summary>
    public static int CurrentLinuxThreadId()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try
        {
            return GetTid();
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>A Linux thread's times from /proc; readable from any thread of the process.</summary>
    public static ThreadTimes? ReadLinux(int threadId)
    {
        try
        {
            // "<ns on cpu> <ns waiting on a run queue> <timeslices>"
            var fields = File.ReadAllText($"/proc/self/task/{threadId}/schedstat").Split(' ');
            return new ThreadTimes(
                TimeSpan.FromTicks(long.Parse(fields[0], CultureInfo.InvariantCulture) / 100),
                TimeSpan.FromTicks(long.Parse(fields[1], CultureInfo.InvariantCulture) / 100));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The calling thread's times: with waiting on Linux, processor time alone elsewhere.</summary>
    public static ThreadTimes? ForCurrentThread() =>
        CurrentLinuxThreadId() is var id && id != 0 ? ReadLinux(id) ?? Now() : Now();

    /// <summary>The calling thread's processor time (waiting unknown: zero).</summary>
    public static ThreadTimes? Now()
    {
        try
        {
            if (OperatingSystem.IsWindows())
                return GetThreadTimes(GetCurrentThread(), out _, out _, out long kernel, out long user)
                    ? new ThreadTimes(TimeSpan.FromTicks(kernel + user), TimeSpan.Zero) : null;
            int clock = OperatingSystem.IsMacOS() ? MacThreadClock : LinuxThreadClock;
            return ClockGetTime(clock, out var time) == 0
                ? new ThreadTimes(TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100), TimeSpan.Zero) : null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
