using System.Management.Automation;

namespace PSParallel.Engine;

/// <summary>
/// One chunk on one lane. Remembers how far the lane got, so that when the lane breaks or is
/// aborted the runner knows which items were begun and which never started.
/// </summary>
internal sealed class ChunkRun : IAttemptSink
{
    private readonly BatchRunner _runner;
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _begun;

    public ChunkRun(BatchRunner runner, ILane lane, IReadOnlyList<WorkItem> items)
    {
        _runner = runner;
        Lane = lane;
        Items = items;
    }

    public ILane Lane { get; }
    public IReadOnlyList<WorkItem> Items { get; }
    public int Begun => Volatile.Read(ref _begun);
    public Task Aborted => _aborted.Task;
    public bool IsAborted => _aborted.Task.IsCompleted;

    /// <summary>Stops the lane (an item timed out). The lane is discarded after this chunk.</summary>
    public void Abort()
    {
        if (!_aborted.TrySetResult()) return;
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
        Interlocked.Increment(ref _begun);
        return _runner.TryBeginAttempt(item, this);
    }

    public void Stream(WorkItem item, object record) => _runner.PostStream(item, record);

    public void End(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors) =>
        _runner.EndAttempt(item, output, errors);
}
