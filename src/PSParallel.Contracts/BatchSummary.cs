namespace PSParallel;

/// <summary>Counts and timing of one batch (stored with -SummaryVariable).</summary>
public sealed class BatchSummary
{
    public BatchSummary(string model, int throttleLimit, long succeeded, long failed, long timedOut,
        long cancelled, long skipped, TimeSpan duration, double cpuSeconds)
        : this(model, throttleLimit, succeeded, failed, timedOut, cancelled, skipped, duration, cpuSeconds, 0, "")
    {
    }

    public BatchSummary(string model, int throttleLimit, long succeeded, long failed, long timedOut,
        long cancelled, long skipped, TimeSpan duration, double cpuSeconds, long resumed, string haltReason)
    {
        Model = model;
        ThrottleLimit = throttleLimit;
        Succeeded = succeeded;
        Failed = failed;
        TimedOut = timedOut;
        Cancelled = cancelled;
        Skipped = skipped;
        Duration = duration;
        CpuSeconds = cpuSeconds;
        Resumed = resumed;
        HaltReason = haltReason ?? "";
    }

    /// <summary>Thread, Process or Remote.</summary>
    public string Model { get; }
    public int ThrottleLimit { get; }
    public long Total => Succeeded + Failed + TimedOut + Cancelled + Skipped;
    public long Succeeded { get; }
    public long Failed { get; }
    public long TimedOut { get; }
    public long Cancelled { get; }
    public long Skipped { get; }
    public TimeSpan Duration { get; }
    public double ItemsPerSecond => Duration.TotalSeconds > 0 ? Total / Duration.TotalSeconds : 0;
    /// <summary>Processor time the batch used (this process's, for threads).</summary>
    public double CpuSeconds { get; }
    /// <summary>Items not run because the journal records them as Succeeded (-Resume); counted in Skipped too.</summary>
    public long Resumed { get; }
    /// <summary>Which halt limit (-MaxFailures, -MaxFailurePercent) stopped the batch; empty unless one was reached.</summary>
    public string HaltReason { get; }
    /// <summary>One row per remote host (Model Remote); empty for a batch on this machine.</summary>
    public HostSummary[] Hosts { get; init; } = System.Array.Empty<HostSummary>();
}
