namespace PSParallel.Engine.Attempts;

/// <summary>How many items ended in each state; written only when an item settles.</summary>
internal sealed class ItemTally
{
    private readonly long[] _counts = new long[Enum.GetValues<ItemStatus>().Length];

    public void Count(ItemStatus status) => Interlocked.Increment(ref _counts[(int)status]);

    public long this[ItemStatus status] => Interlocked.Read(ref _counts[(int)status]);

    public long Failures => this[ItemStatus.Failed] + this[ItemStatus.TimedOut];

    /// <summary>Items that ran to an end of their own: succeeded, failed or timed out.</summary>
    public long Finished => this[ItemStatus.Succeeded] + Failures;

    public BatchSummary ToSummary(string model, int throttleLimit, TimeSpan duration, double cpuSeconds,
        long resumed = 0, string? haltReason = null, HostSummary[]? hosts = null) =>
        new(model, throttleLimit, this[ItemStatus.Succeeded], this[ItemStatus.Failed], this[ItemStatus.TimedOut],
            this[ItemStatus.Cancelled], this[ItemStatus.Skipped], duration, cpuSeconds, resumed, haltReason ?? "")
        {
            Hosts = hosts ?? Array.Empty<HostSummary>(),
        };
}
