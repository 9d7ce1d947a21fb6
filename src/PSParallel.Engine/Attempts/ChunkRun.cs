using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Attempts;

/// <summary>
/// One chunk on one lane: what the lane reports goes to the <see cref="ItemLedger"/>. Starting an
/// item and aborting the lane exclude each other, so once the abort is signalled no further item
/// starts here and the ledger can safely requeue the rest.
/// </summary>
internal sealed class ChunkRun : IAttemptSink
{
    private readonly ItemLedger _ledger;
    private readonly object _gate = new();
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ChunkRun(ItemLedger ledger, ILane lane, IReadOnlyList<WorkItem> items)
    {
        _ledger = ledger;
        Lane = lane;
        Items = items;
    }

    public ILane Lane { get; }
    public IReadOnlyList<WorkItem> Items { get; }
    public Task Aborted => _aborted.Task;
    private bool IsAborted => _aborted.Task.IsCompleted;

    /// <summary>Stops the lane (an item timed out). The lane is discarded after this chunk.</summary>
    public void Abort()
    {
        lock (_gate)
        {
            if (!_aborted.TrySetResult()) return;
        }
        try
        {
            Lane.Abort();
        }
        catch (ObjectDisposedException)
        {
            // The lane was let go meanwhile: nothing is left to stop.
        }
    }

    public bool TryBegin(WorkItem item)
    {
        if (IsAborted) return false;
        _ledger.WaitBeginTurn(); // -MaxPerSecond; outside the lock, so an abort is never kept waiting
        lock (_gate) return !IsAborted && _ledger.TryBegin(item, this);
    }

    public void Stream(WorkItem item, StreamRecord record) => _ledger.Stream(item, record);

    public void End(WorkItem item, AttemptOutcome outcome) => _ledger.End(item, outcome);
}
