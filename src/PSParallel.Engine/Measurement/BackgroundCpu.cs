using System.Diagnostics;
using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Measurement;

/// <summary>
/// The processor time this process spends when the work is idle (the runtime compiling in the
/// background, timers), so that it can be taken out of a process-wide reading. Used only where no
/// per-thread clock applies: async workloads continue on whichever pool thread is free.
/// </summary>
internal static class BackgroundCpu
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    public static double Subtract(double processCpuSeconds, TimeSpan wall)
    {
        double before = ProcessCpu.Seconds();
        var clock = Stopwatch.StartNew();
        Thread.Sleep(Window);
        double rate = (ProcessCpu.Seconds() - before) / clock.Elapsed.TotalSeconds;
        return Math.Max(0, processCpuSeconds - rate * wall.TotalSeconds);
    }
}
