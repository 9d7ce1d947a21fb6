using System.Diagnostics;

namespace PSParallel.Engine.Lanes;

/// <summary>This process's processor time.</summary>
internal static class ProcessCpu
{
    public static double Seconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }
}
