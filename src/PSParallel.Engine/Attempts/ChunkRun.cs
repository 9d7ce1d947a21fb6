using System.Management.Automation;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Scheduling;

namespace PSParallel.Engine.Attempts;

/// <summary>
/// One chunk on one lane. Starting an item and aborting the lane exclude each other, so once the
/// abort is signalled no further item starts here and the runner can safely requeue the rest.
/// </summary>
internal sealed class ChunkRun : IAttemptSink
{
    private readonly BatchRunner _runner;
    private readonly object _gate = new();
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ChunkRun(BatchRunner runner, ILane lane, IReadOnlyList<WorkItem> items)
    {
        _runner = runner;
        Lane = lane;
        Items = items;
    }

    public ILane Lane { get; }
    public IReadOnlyList<WorkItem> Items { get; }
    public Task Aborted => _aborted.Task;
    public bool IsAborted => _aborted.Task.IsCompleted;

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

    public bool TryBegin(WorkItem item, ILane lane)
    {
        lock (_gate) return !IsAborted && _runner.TryBeginAttempt(item, this);
    }

    public void Stream(WorkItem item, object record) => _runner.PostStream(item, record);

    public void End(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors) =>
        _runner.EndAttempt(item, output, errors);
}
