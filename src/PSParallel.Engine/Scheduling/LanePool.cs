using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Scheduling;

/// <summary>
/// The lanes of one batch, shared by its slots. A lane that finished a chunk waits here, idle, for
/// whichever slot takes the next chunk. A new lane is opened only when no lane is idle, the queue
/// holds more items than the lanes already opening will take (each takes at least one), fewer than
/// <c>limit</c> lanes are open or opening, and fewer than <c>maxOpening</c> are opening right now.
/// A slot that may not open one waits until a lane comes back, an opening ends or work arrives,
/// then looks again. Lanes that broke or ran their maximum of items are disposed, not kept.
/// </summary>
internal sealed class LanePool : IDisposable
{
    private readonly Func<CancellationToken, Task<ILane>> _openLane;
    private readonly int _limit;
    private readonly int _maxOpening;
    private readonly int _maxItemsPerLane;
    private readonly object _gate = new();
    // Last in, first out: the lane that just finished is reused first, so a light load keeps
    // running on few lanes.
    private readonly Stack<PooledLane> _idle = new();
    private readonly HashSet<PooledLane> _open = new();
    private int _opening;
    private TaskCompletionSource? _changed;
    private bool _disposed;

    /// <param name="openLane">opens one lane (retries included); called only when a lane is wanted</param>
    /// <param name="limit">most lanes open or opening at once (the throttle)</param>
    /// <param name="maxOpening">most lanes opening at the same time</param>
    /// <param name="maxItemsPerLane">items a lane runs before it is disposed; 0 for no limit</param>
    public LanePool(Func<CancellationToken, Task<ILane>> openLane, int limit, int maxOpening, int maxItemsPerLane)
    {
        _openLane = openLane;
        _limit = Math.Max(1, limit);
        _maxOpening = Math.Max(1, maxOpening);
        _maxItemsPerLane = maxItemsPerLane;
    }

    /// <summary>
    /// Lanes open now, idle or lent (not those still opening). A claim may read it: the lock is re-entrant.
    /// </summary>
    public int OpenCount
    {
        get { lock (_gate) return _open.Count; }
    }

    /// <summary>
    /// Lends an idle lane, or opens a new one when the rules above allow it, else waits and looks
    /// again. <paramref name="claim"/> takes the lane's work off the queue; it runs under the pool's
    /// lock, so a slot deciding whether to open a lane never counts items another slot has already
    /// got a lane for. Null when no work is left (<paramref name="queued"/> is 0 or nothing was claimed).
    /// </summary>
    /// <param name="queued">items waiting in the queue</param>
    /// <param name="claim">takes work for the lane; false when the queue had nothing left</param>
    public async Task<PooledLane?> RentAsync(Func<int> queued, Func<PooledLane, bool> claim, CancellationToken token)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_disposed) throw new OperationCanceledException("the batch has ended");
                int waiting = queued();
                if (waiting == 0) return null;
                if (_idle.TryPop(out var idle)) return ClaimOrKeepIdle(idle, claim);
                if (MayOpen(waiting))
                {
                    _opening++;
                    break;
                }
                changed = (_changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            await changed.WaitAsync(token).ConfigureAwait(false);
        }
        return await OpenAsync(claim, token).ConfigureAwait(false);
    }

    private bool MayOpen(int waiting) =>
        _open.Count + _opening < _limit && _opening < _maxOpening && waiting > _opening;

    private PooledLane? ClaimOrKeepIdle(PooledLane lane, Func<PooledLane, bool> claim)
    {
        if (claim(lane)) return lane;
        _idle.Push(lane);
        return null;
    }

    private async Task<PooledLane?> OpenAsync(Func<PooledLane, bool> claim, CancellationToken token)
    {
        ILane lane;
        try
        {
            lane = await _openLane(token).ConfigureAwait(false);
        }
        catch
        {
            lock (_gate) EndOpening();
            throw;
        }
        var pooled = new PooledLane(lane, _maxItemsPerLane);
        lock (_gate)
        {
            EndOpening();
            if (!_disposed)
            {
                _open.Add(pooled);
                return ClaimOrKeepIdle(pooled, claim);
            }
        }
        // The pool was disposed while this lane opened: it must not outlive the batch.
        lane.Dispose();
        throw new OperationCanceledException("the batch ended while a lane was opening");
    }

    private void EndOpening()
    {
        _opening--;
        Signal();
    }

    /// <summary>
    /// Takes a lane back after a chunk of <paramref name="itemsRun"/> items: kept idle for the next
    /// chunk, or disposed when it broke (<paramref name="usable"/> false) or ran its maximum.
    /// </summary>
    public void Return(PooledLane lane, int itemsRun, bool usable)
    {
        lane.ItemsRun += itemsRun;
        bool keep = usable && lane.ItemsLeft > 0;
        lock (_gate)
        {
            Signal();
            if (keep && !_disposed)
            {
                _idle.Push(lane);
                return;
            }
            // After Dispose the lane is no longer in the set: Dispose has disposed it already.
            if (!_open.Remove(lane)) return;
        }
        lane.Lane.Dispose();
    }

    /// <summary>Work was queued: slots waiting for a lane look again (one may now open).</summary>
    public void WorkQueued()
    {
        lock (_gate) Signal();
    }

    private void Signal()
    {
        _changed?.TrySetResult();
        _changed = null;
    }

    /// <summary>Disposes every lane, idle or lent; a lane still opening is disposed when it opens.</summary>
    public void Dispose()
    {
        PooledLane[] lanes;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            lanes = _open.ToArray();
            _open.Clear();
            _idle.Clear();
            Signal();
        }
        foreach (var lane in lanes) lane.Lane.Dispose();
    }
}

/// <summary>A lane of a <see cref="LanePool"/> with the count of items it has run.</summary>
internal sealed class PooledLane
{
    private readonly int _maxItems;

    public PooledLane(ILane lane, int maxItems)
    {
        Lane = lane;
        _maxItems = maxItems;
    }

    public ILane Lane { get; }
    public int ItemsRun { get; set; }

    /// <summary>Items this lane may still run before it is replaced.</summary>
    public int ItemsLeft => _maxItems > 0 ? _maxItems - ItemsRun : int.MaxValue;
}
