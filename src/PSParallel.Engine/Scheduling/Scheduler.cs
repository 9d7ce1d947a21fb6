using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Scheduling;

/// <summary>
/// Runs the ledger's runnable items on lanes: up to ThrottleLimit slots, each taking a chunk, renting
/// a lane for it from a <see cref="LanePool"/> (opened only as the queue needs them), running it and
/// handing the chunk back to the ledger, which decides what becomes of its items.
/// </summary>
internal sealed class Scheduler : IDisposable
{
    private readonly int _throttleLimit;
    private readonly IExecutor _executor;
    private readonly ItemLedger _ledger;
    private readonly ChunkSizer _chunks;
    private readonly LanePool _lanes;
    private readonly bool _dispatchFirst;
    private readonly StartPacer? _pacer;
    private Task[]? _slots;

    public Scheduler(BatchOptions options, IExecutor executor, ItemLedger ledger, ChunkSizer chunks)
    {
        _throttleLimit = options.ThrottleLimit;
        _executor = executor;
        _ledger = ledger;
        _chunks = chunks;
        _lanes = new LanePool(OpenLaneAsync, options.ThrottleLimit, executor.MaxLanesOpeningAtOnce, executor.MaxItemsPerLane);
        // A lane that starts items on its own cannot be held back by TryBegin: with a halt limit, the
        // batch commits to each item as it hands it out (one at a time, see BatchRunner).
        _dispatchFirst = options.HasFailureLimit && executor.StartsItemsAhead;
        _pacer = StartPacer.From(options);
        ledger.ItemQueued = _lanes.WorkQueued;
    }

    /// <summary>Starts the slots, once, when the first item arrives.</summary>
    public void Start()
    {
        if (_slots is not null) return;
        _slots = new Task[_throttleLimit];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = Task.Run(RunSlotAsync);
        _ledger.WatchDeadlines();
    }

    /// <summary>
    /// Lets go of every lane (the ledger has stopped the batch first). Gives running chunks a moment
    /// to end so no runspace or worker outlives the call, and never hangs on one.
    /// </summary>
    public void Dispose()
    {
        // A slot that faulted must not keep the lanes open: wait without rethrowing (the ledger has
        // accounted for every item already).
        if (_slots is not null) Task.WhenAll(_slots).ContinueWith(t => _ = t.Exception, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(1));
        _lanes.Dispose();
        _executor.Dispose();
    }

    /// <summary>
    /// One of ThrottleLimit loops: when work is queued, rents a lane (idle, or newly opened when the
    /// pool allows), runs one chunk on it, gives it back, repeats. So at most ThrottleLimit chunks run
    /// at once, on however few lanes keep up with the queue.
    /// </summary>
    private async Task RunSlotAsync()
    {
        var runnable = _ledger.Runnable;
        var stop = _ledger.StopToken;
        PooledLane? lane = null;
        try
        {
            while (await runnable.WaitToReadAsync(stop).ConfigureAwait(false))
            {
                List<WorkItem>? chunk = null;
                // A lane that is recycled after N items never takes more than it has left.
                lane = await _lanes.RentAsync(() => runnable.Count, rented => (chunk = TakeChunk(rented.ItemsLeft)).Count > 0,
                    stop).ConfigureAwait(false);
                if (lane is null) continue;
                // -MaxPerSecond: the chunk (one item, see BatchRunner) waits for its turn here, where
                // every lane kind is handed its items; a worker process would start it on arrival.
                if (_pacer is not null) await _pacer.WaitTurnAsync(stop).ConfigureAwait(false);
                var run = new ChunkRun(_ledger, lane.Lane, chunk!);
                bool laneUsable = !_dispatchFirst || _ledger.TryDispatch(chunk!)
                    ? await RunChunkAsync(run).ConfigureAwait(false)
                    : LetGo(run);
                _lanes.Return(lane, chunk!.Count, laneUsable);
                lane = null;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (BatchFaultedException fault)
        {
            _ledger.Halt(fault);
        }
        finally
        {
            if (lane is not null) _lanes.Return(lane, 0, usable: false);
        }
    }

    /// <summary>
    /// A lane that breaks while starting (a worker process that died or garbled its start) is tried
    /// again; one that cannot be set up (a module that does not import) stops the batch at once.
    /// </summary>
    private async Task<ILane> OpenLaneAsync(CancellationToken token)
    {
        try
        {
            return await LaneStart.WithRetriesAsync(_executor.CreateLaneAsync, () => _ledger.IsStopping, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not BatchFaultedException)
        {
            throw new BatchFaultedException(Errors.LaneSetupFailed(ex));
        }
    }

    /// <summary>
    /// The queue is shared among the lanes open now plus one, not among ThrottleLimit: lanes open only
    /// as the queue needs them, and shares for lanes that do not exist would keep tiny items one per
    /// chunk, so the queue would drain slowly and make more lanes look needed. The one extra share is
    /// left for another lane, so one item turning out slow cannot hold the rest of the queue behind it.
    /// </summary>
    private List<WorkItem> TakeChunk(int laneRoom)
    {
        var runnable = _ledger.Runnable;
        int sharers = Math.Min(_throttleLimit, _lanes.OpenCount + 1);
        int size = Math.Min(laneRoom, _chunks.NextSize(runnable.Count, sharers));
        var chunk = new List<WorkItem>(size);
        while (chunk.Count < size && runnable.TryRead(out var item))
            if (!item.IsSettled) chunk.Add(item);
        return chunk;
    }

    /// <summary>A chunk the batch would not hand out (it halted): its items are not run; the lane stays usable.</summary>
    private bool LetGo(ChunkRun run)
    {
        _ledger.ChunkEnded(run, null);
        return true;
    }

    /// <summary>Runs a chunk until it ends, is aborted or the batch stops; false when the lane must be replaced.</summary>
    private async Task<bool> RunChunkAsync(ChunkRun run)
    {
        Exception? laneError = null;
        var execution = run.Lane.RunAsync(run.Items, run, _ledger.StopToken);
        var first = await Task.WhenAny(execution, run.Aborted, _ledger.Stopped).ConfigureAwait(false);
        if (first == execution && execution.IsFaulted) laneError = execution.Exception!.GetBaseException();
        if (first != execution) _ = execution.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        _ledger.ChunkEnded(run, laneError);
        return first == execution && laneError is null;
    }
}
