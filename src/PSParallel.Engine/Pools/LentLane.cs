using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Pools;

/// <summary>
/// A pool's lane while a batch has it. Disposing it gives the lane back once its last chunk has
/// ended: fit for the next batch when that chunk ran to its end (a runspace stopped by Ctrl+C
/// ends its invocation and stays fit), closed when it broke, was aborted (an item timed out) or
/// was let go mid-chunk (a worker process still running the chunk).
/// </summary>
internal sealed class LentLane : ILane
{
    private readonly IReusableLane _lane;
    private readonly Action<IReusableLane, bool> _giveBack;
    private Task _running = Task.CompletedTask;
    private volatile bool _aborted;
    private int _disposed;

    public LentLane(IReusableLane lane, Action<IReusableLane, bool> giveBack)
    {
        _lane = lane;
        _giveBack = giveBack;
    }

    public int WorkerId => _lane.WorkerId;
    public string? HostName => _lane.HostName;

    public Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token) =>
        _running = _lane.RunAsync(chunk, sink, token);

    public void Abort()
    {
        _aborted = true;
        _lane.Abort();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _running.ContinueWith(ended => _giveBack(_lane, !_aborted && ended.Status == TaskStatus.RanToCompletion),
            TaskScheduler.Default);
    }
}
