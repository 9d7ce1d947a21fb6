using System.Runtime.InteropServices;

namespace PSParallel.Engine;

/// <summary>
/// Processor time of the calling thread. The process's own total is no use for classifying work in a
/// fresh session: the runtime's background compiler alone burns a sixth of a core there while the
/// items sleep. Null where the platform gives no per-thread clock.
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

    [DllImport("kernel32.dll")]
    private static extern IntPtr GetCurrentThread();

    [DllImport("kernel32.dll")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool GetThreadTimes(IntPtr thread, out long creation, out long exit, out long kernel, out long user);

    public static TimeSpan? Now()
    {
        try
        {
            if (OperatingSystem.IsWindows())
                return GetThreadTimes(GetCurrentThread(), out _, out _, out long kernel, out long user)
                    ? TimeSpan.FromTicks(kernel + user) : null;
            int clock = OperatingSystem.IsMacOS() ? MacThreadClock : LinuxThreadClock;
            return ClockGetTime(clock, out var time) == 0
                ? TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100) : null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
