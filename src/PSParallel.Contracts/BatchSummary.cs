namespace PSParallel;

/// <summary>Counts and timing of one batch (stored with -SummaryVariable).</summary>
public sealed class BatchSummary
{
    public BatchSummary(string model, int throttleLimit, long succeeded, long failed, long timedOut,
        long cancelled, long skipped, TimeSpan duration, double cpuSeconds)
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
    }

    /// <summary>Thread or Process.</summary>
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
}
