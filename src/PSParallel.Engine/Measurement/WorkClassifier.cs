namespace PSParallel.Engine.Measurement;

/// <summary>Names the kind of work from the share of its wall time an item spends on a processor.</summary>
internal static class WorkClassifier
{
    public const string CpuBound = "CpuBound";
    public const string IoBound = "IoBound";
    public const string Mixed = "Mixed";

    public static string Classify(double cpuUtilization) => cpuUtilization switch
    {
        >= 0.7 => CpuBound,
        <= 0.3 => IoBound,
        _ => Mixed,
    };

    /// <summary>
    /// Processor time over wall time per running item, 0 to 1. From the sequential trial when there is
    /// one (one item at a time: exact); otherwise from a pool trial, spread over the items it ran at once.
    /// </summary>
    public static double Utilization(IReadOnlyList<TrialMeasurement> trials)
    {
        var basis = trials.FirstOrDefault(t => t.Model == ExecutionModel.Sequential)
            ?? trials.OrderBy(t => t.ThrottleLimit).ThenBy(t => (int)t.Model).FirstOrDefault();
        if (basis is null || basis.Duration <= TimeSpan.Zero) return 0;
        // Items beyond the cores wait for a processor, so they add wall time, not processor time.
        double busyLanes = Math.Min(Math.Min(basis.ThrottleLimit, Math.Max(1, basis.Items)), Environment.ProcessorCount);
        return Math.Clamp(basis.CpuSeconds / (basis.Duration.TotalSeconds * busyLanes), 0, 1);
    }
}
