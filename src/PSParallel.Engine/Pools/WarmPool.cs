using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Remote;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Pools;

/// <summary>
/// Lanes opened once (Start-WorkerPool) and lent to one batch at a time. A batch leases the pool
/// (<see cref="Lease"/>), borrows lanes as its scheduler asks for them, prepared for its own script,
/// and gives them back when it ends; a lane that broke, was aborted or was stopped mid-chunk is
/// closed instead, and a later batch opens a replacement when it needs one.
/// </summary>
internal sealed class WarmPool : IWorkerPoolHandle
{
    private readonly Func<CancellationToken, Task<IReusableLane>> _open;
    private readonly object _gate = new();
    // Last in, first out, as within a batch: the lanes used last are the warmest.
    private readonly Stack<IReusableLane> _idle = new();
    private readonly HashSet<IReusableLane> _lanes = new();
    private readonly SemaphoreSlim _oneBatch = new(1, 1);
    private int _batchesRun;
    private bool _stopped;

    private WarmPool(ExecutionModel model, int size, Func<CancellationToken, Task<IReusableLane>> open, IHostReport? hosts = null)
    {
        Model = model;
        Size = size;
        _open = open;
        HostReport = hosts;
    }

    /// <summary>How each host fares, for a pool of remote sessions; null for this machine's.</summary>
    public IHostReport? HostReport { get; }

    public ExecutionModel Model { get; }
    public int Size { get; }
    public int WorkersAlive
    {
        get { lock (_gate) return _lanes.Count; }
    }
    public int BatchesRun => Volatile.Read(ref _batchesRun);
    public WorkerPoolState State => Volatile.Read(ref _stopped) ? WorkerPoolState.Stopped
        : _oneBatch.CurrentCount == 0 ? WorkerPoolState.Busy : WorkerPoolState.Open;

    /// <summary>Opens <paramref name="size"/> lanes at once and returns when all are open; closes them all if one fails.</summary>
    public static async Task<WarmPool> OpenAsync(ExecutionModel model, int size, Func<CancellationToken, Task<IReusableLane>> open,
        CancellationToken token)
    {
        var pool = new WarmPool(model, size, open);
        var opening = Enumerable.Range(0, size).Select(_ => pool.OpenLaneAsync(token)).ToArray();
        try
        {
            await Task.WhenAll(opening).ConfigureAwait(false);
        }
        catch
        {
            pool.Dispose();
            foreach (var lane in opening.Where(t => t.IsCompletedSuccessfully)) lane.Result.Dispose();
            throw;
        }
        lock (pool._gate)
        {
            foreach (var lane in opening) pool._idle.Push(lane.Result);
        }
        return pool;
    }

    /// <summary>
    /// A pool of lanes opened already (remote sessions: hosts that could not be reached leave it
    /// smaller than asked); <paramref name="open"/> opens replacements.
    /// </summary>
    public static WarmPool FromOpened(ExecutionModel model, IReadOnlyList<IReusableLane> lanes,
        Func<CancellationToken, Task<IReusableLane>> open, IHostReport? hosts)
    {
        var pool = new WarmPool(model, Math.Max(1, lanes.Count), open, hosts);
        lock (pool._gate)
        {
            foreach (var lane in lanes)
            {
                pool._lanes.Add(lane);
                pool._idle.Push(lane);
            }
        }
        return pool;
    }

    /// <summary>
    /// The pool for one batch: waits while another batch has it (or fails at once when
    /// <paramref name="wait"/> is false). With <paramref name="closeAfter"/> the pool was opened
    /// for this batch alone (-HostName) and closes when the batch ends.
    /// </summary>
    public PoolLease Lease(WorkRecipe recipe, int throttleLimit, bool wait, CancellationToken token, bool closeAfter = false)
    {
        if (Volatile.Read(ref _stopped)) throw Errors.PoolStopped();
        if (!wait)
        {
            if (!_oneBatch.Wait(0)) throw Errors.PoolBusy();
        }
        else
        {
            _oneBatch.Wait(token);
        }
        if (Volatile.Read(ref _stopped))
        {
            _oneBatch.Release();
            throw Errors.PoolStopped();
        }
        return new PoolLease(this, recipe, throttleLimit, closeAfter);
    }

    /// <summary>An idle lane (or a new one, when lanes were lost), prepared for the batch's work.</summary>
    internal async Task<IReusableLane> LendAsync(WorkRecipe recipe, CancellationToken token)
    {
        IReusableLane? lane;
        lock (_gate)
        {
            if (_stopped) throw Errors.PoolStopped();
            _idle.TryPop(out lane);
        }
        lane ??= await OpenLaneAsync(token).ConfigureAwait(false);
        try
        {
            await lane.PrepareAsync(recipe, token).ConfigureAwait(false);
        }
        catch
        {
            GiveBack(lane, usable: false);
            throw;
        }
        return lane;
    }

    /// <summary>A lane comes back from a batch: kept for the next, or closed when it is no longer fit.</summary>
    internal void GiveBack(IReusableLane lane, bool usable)
    {
        lock (_gate)
        {
            if (usable && !_stopped)
            {
                _idle.Push(lane);
                return;
            }
            _lanes.Remove(lane);
        }
        lane.Dispose();
    }

    internal void EndBatch()
    {
        Interlocked.Increment(ref _batchesRun);
        _oneBatch.Release();
    }

    /// <summary>Processor seconds of the pool's worker processes (0 for runspaces, whose time is this process's).</summary>
    internal double WorkerCpuSeconds()
    {
        lock (_gate) return _lanes.Sum(l => l.CpuSeconds);
    }

    private async Task<IReusableLane> OpenLaneAsync(CancellationToken token)
    {
        var lane = await _open(token).ConfigureAwait(false);
        lock (_gate)
        {
            if (!_stopped)
            {
                _lanes.Add(lane);
                return lane;
            }
        }
        lane.Dispose();
        throw Errors.PoolStopped();
    }

    /// <summary>Closes the idle lanes now; lanes lent to a batch are closed when it gives them back.</summary>
    public void Dispose()
    {
        IReusableLane[] idle;
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
            idle = _idle.ToArray();
            _idle.Clear();
            foreach (var lane in idle) _lanes.Remove(lane);
        }
        foreach (var lane in idle) lane.Dispose();
    }
}
