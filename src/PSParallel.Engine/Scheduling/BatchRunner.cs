using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading.Channels;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Scheduling;

/// <summary>
/// Runs one batch: admits input with backpressure, runs up to ThrottleLimit chunks at once on lanes
/// from a <see cref="LanePool"/> (opened only as the queue needs them), applies item and
/// batch timeouts, retries, and stops. It is the one place that decides each item's final state
/// (<see cref="Settle"/>), and it writes to the caller only from the pipeline thread (inside
/// <see cref="Add"/> and <see cref="Complete"/>).
/// </summary>
internal sealed class BatchRunner : IDisposable
{
    private enum StopReason { None, BatchTimeout, Stopped, Faulted }

    private readonly BatchOptions _options;
    private readonly IExecutor _executor;
    private readonly IBatchSink _sink;
    private readonly bool _asResult;
    private readonly RetrySchedule _retry;
    private readonly ChunkSizer _chunks;
    private readonly LanePool _lanes;
    private readonly ItemTally _tally = new();
    private readonly PipelineMailbox _mailbox = new();
    private readonly ProgressReporter _progress;
    private readonly OrderedWindow? _window;
    private readonly Channel<WorkItem> _ready = Channel.CreateUnbounded<WorkItem>();
    private readonly ConcurrentDictionary<long, WorkItem> _unsettled = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _stopped;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _cpuAtStart;
    private readonly Timer? _batchTimer;
    private Timer? _deadlineTimer;
    private Task[]? _slots;
    private long _admitted, _emitted;
    private volatile bool _inputComplete;
    private int _stopReason;
    private BatchFaultedException? _fault;
    private TimeSpan? _finalDuration;

    public BatchRunner(BatchOptions options, IExecutor executor, IBatchSink sink, bool asResult)
    {
        _options = options;
        _executor = executor;
        _sink = sink;
        _asResult = asResult;
        _retry = new RetrySchedule(options.RetryCount, options.RetryDelay);
        _chunks = new ChunkSizer(executor.SupportsChunks ? ChunkLimit(options, executor) : 1,
            executor.MaxItemsPerLane > 0 ? Math.Min(options.FixedChunkSize, executor.MaxItemsPerLane) : options.FixedChunkSize);
        _lanes = new LanePool(CreateLaneAsync, options.ThrottleLimit, executor.MaxLanesOpeningAtOnce, executor.MaxItemsPerLane);
        _progress = new ProgressReporter(options.Activity);
        _window = options.Ordered ? new OrderedWindow() : null;
        _stopped = Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        _cpuAtStart = executor.CpuSeconds();
        if (options.BatchTimeout is { } limit)
            _batchTimer = new Timer(_ => Stop(StopReason.BatchTimeout), null, limit, Timeout.InfiniteTimeSpan);
    }

    private static int ChunkLimit(BatchOptions options, IExecutor executor) =>
        executor.MaxItemsPerLane > 0 ? Math.Min(options.MaxChunkSize, executor.MaxItemsPerLane) : options.MaxChunkSize;

    private bool IsStopping => Volatile.Read(ref _stopReason) != (int)StopReason.None;

    /// <summary>Admits one input item; waits (writing results meanwhile) while the window is full.</summary>
    public void Add(object? input)
    {
        Drain(TimeSpan.Zero);
        while (_admitted - _emitted >= _options.Capacity && !IsStopping) Drain(TimeSpan.FromMilliseconds(100));
        var item = new WorkItem(_admitted++, input);
        _unsettled[item.Index] = item;
        if (IsStopping)
        {
            // Input that arrives after the batch ended is not run, but it is still accounted for.
            Settle(item, UnstartedStatus());
        }
        else
        {
            StartSlots();
            Enqueue(item);
        }
    }

    /// <summary>
    /// Waits (writing results meanwhile) until at most <paramref name="items"/> admitted items are
    /// still to settle, or the batch stops: a tighter window than <see cref="BatchOptions.Capacity"/>
    /// for a caller that decides what to add next from the results so far.
    /// </summary>
    public void WaitUntilUnsettledAtMost(long items)
    {
        Drain(TimeSpan.Zero);
        while (_admitted - _emitted > items && !IsStopping) Drain(TimeSpan.FromMilliseconds(100));
    }

    /// <summary>No more input: waits for every item to settle, writing results as they come.</summary>
    public void Complete()
    {
        _inputComplete = true;
        if (_unsettled.IsEmpty) _ready.Writer.TryComplete();
        while (_emitted < _admitted) Drain(TimeSpan.FromMilliseconds(100));
        _finalDuration ??= _clock.Elapsed;
        if (_progress.Complete() is { } done) _sink.WriteProgress(done);
        if (_fault is not null) throw _fault;
        if ((StopReason)_stopReason == StopReason.BatchTimeout)
            _sink.WriteError(BatchErrors.BatchTimedOut(_options.BatchTimeout!.Value, _tally[ItemStatus.TimedOut]));
    }

    /// <summary>Ctrl+C, -ErrorAction Stop, Select-Object -First: running items are cancelled, the rest skipped.</summary>
    public void Stop() => Stop(StopReason.Stopped);

    public BatchSummary Summary() =>
        _tally.ToSummary(_executor.Model, _options.ThrottleLimit, _finalDuration ?? _clock.Elapsed, _executor.CpuSeconds() - _cpuAtStart);

    public void Dispose()
    {
        Stop(StopReason.Stopped);
        _finalDuration ??= _clock.Elapsed;
        _batchTimer?.Dispose();
        _deadlineTimer?.Dispose();
        // Give lanes a moment to stop so no runspace or worker outlives the call; never hang on one.
        if (_slots is not null) Task.WaitAll(_slots, TimeSpan.FromSeconds(1));
        _lanes.Dispose();
        _executor.Dispose();
    }

    // ---- pipeline thread -------------------------------------------------------------------------

    private void Drain(TimeSpan wait)
    {
        if (wait > TimeSpan.Zero || _mailbox.HasEvents)
        {
            foreach (var e in _mailbox.TakeAll(wait))
            {
                if (!e.IsSettled) _sink.WriteStream(e.Record!);
                else if (_window is null) Emit(e.Item);
                else foreach (var ready in _window.Release(e.Item)) Emit(ready);
            }
        }
        if (_fault is not null) throw _fault;
        var elapsed = _clock.Elapsed;
        if (!_progress.IsDue(elapsed)) return;
        long? total = _inputComplete ? _admitted : null;
        if (_progress.Update(elapsed, _emitted, _tally.Failures, total) is { } record) _sink.WriteProgress(record);
    }

    private void Emit(WorkItem item)
    {
        _emitted++;
        if (_asResult) _sink.WriteOutput(item.ToResult());
        else foreach (var value in item.Output) _sink.WriteOutput(value);
        foreach (var error in item.Errors) _sink.WriteError(error);
    }

    // ---- lanes -------------------------------------------------------------------------------

    private void StartSlots()
    {
        if (_slots is not null) return;
        _slots = new Task[_options.ThrottleLimit];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = Task.Run(RunSlotAsync);
        if (_options.ItemTimeout is not null)
            _deadlineTimer = new Timer(_ => EnforceDeadlines(), null, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50));
    }

    /// <summary>
    /// One of ThrottleLimit loops: when work is queued, rents a lane (idle, or newly opened when the
    /// pool allows), runs one chunk on it, gives it back, repeats. So at most ThrottleLimit chunks run
    /// at once, on however few lanes keep up with the queue.
    /// </summary>
    private async Task RunSlotAsync()
    {
        PooledLane? lane = null;
        try
        {
            while (await _ready.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                List<WorkItem>? chunk = null;
                // A lane that is recycled after N items never takes more than it has left.
                lane = await _lanes.RentAsync(() => _ready.Reader.Count, rented => (chunk = TakeChunk(rented.ItemsLeft)).Count > 0,
                    _stop.Token).ConfigureAwait(false);
                if (lane is null) continue;
                bool laneUsable = await RunChunkAsync(new ChunkRun(this, lane.Lane, chunk!)).ConfigureAwait(false);
                _lanes.Return(lane, chunk!.Count, laneUsable);
                lane = null;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (BatchFaultedException fault)
        {
            Fault(fault);
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
    private async Task<ILane> CreateLaneAsync(CancellationToken token)
    {
        const int Tries = 3;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await _executor.CreateLaneAsync(token).ConfigureAwait(false);
            }
            catch (LaneFailedException) when (attempt < Tries && !IsStopping)
            {
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not BatchFaultedException)
            {
                var record = ex is ScriptSetupException setup ? setup.ErrorRecord
                    : new ErrorRecord(ex, "WorkerSetupFailed", ErrorCategory.ResourceUnavailable, null);
                throw new BatchFaultedException(record);
            }
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
        int sharers = Math.Min(_options.ThrottleLimit, _lanes.OpenCount + 1);
        int size = Math.Min(laneRoom, _chunks.NextSize(_ready.Reader.Count, sharers));
        var chunk = new List<WorkItem>(size);
        while (chunk.Count < size && _ready.Reader.TryRead(out var item))
            if (!item.IsSettled) chunk.Add(item);
        return chunk;
    }

    /// <summary>Runs a chunk and accounts for every item of it; false when the lane must be replaced.</summary>
    private async Task<bool> RunChunkAsync(ChunkRun run)
    {
        Exception? laneError = null;
        var execution = run.Lane.RunAsync(run.Items, run, _stop.Token);
        var first = await Task.WhenAny(execution, run.Aborted, _stopped).ConfigureAwait(false);
        if (first == execution && execution.IsFaulted) laneError = execution.Exception!.GetBaseException();
        if (first != execution) _ = execution.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);

        for (int i = 0; i < run.Items.Count; i++)
        {
            var item = run.Items[i];
            if (item.IsSettled) continue;
            if (item.IsRunning && item.Run == run)
            {
                // The lane ended in the middle of this item: it broke, or was stopped.
                if (item.TryCloseAttempt())
                    ConcludeAttempt(item, Array.Empty<object?>(),
                        new[] { BatchErrors.LaneFailed(item, laneError ?? new LaneFailedException("the worker stopped")) },
                        ItemStatus.Failed);
            }
            else if (item.Run != run && !IsStopping)
            {
                Enqueue(item); // never started here: back in the queue
            }
        }
        return first == execution && laneError is null;
    }

    private void Enqueue(WorkItem item)
    {
        _ready.Writer.TryWrite(item);
        _lanes.WorkQueued();
    }

    internal bool TryBeginAttempt(WorkItem item, ChunkRun run) =>
        !IsStopping && item.TryStartAttempt(run, run.Lane.WorkerId, _options.ItemTimeout);

    internal void PostStream(WorkItem item, object record) => _mailbox.Post(new BatchEvent(item, record));

    internal void EndAttempt(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors)
    {
        if (!item.TryCloseAttempt()) return; // timed out or stopped meanwhile: that decision stands
        var retargeted = errors.Count == 0 ? errors : errors.Select(e => BatchErrors.ForItem(e, item.Input)).ToArray();
        ConcludeAttempt(item, output, retargeted, errors.Count == 0 ? ItemStatus.Succeeded : ItemStatus.Failed);
    }

    /// <summary>After a closed attempt: retry it if allowed, else settle it with <paramref name="outcome"/>.</summary>
    private void ConcludeAttempt(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors, ItemStatus outcome)
    {
        item.SetResult(output, errors);
        _chunks.Observe(item.Duration);
        if (outcome != ItemStatus.Succeeded && _retry.AllowsAnotherAttempt(item.Attempts) && !IsStopping)
            ScheduleRetry(item);
        else
            Settle(item, outcome);
    }

    private void ScheduleRetry(WorkItem item)
    {
        var delay = _retry.DelayBeforeRetry(item.Attempts);
        item.ReturnToWaiting();
        Task.Delay(delay, _stop.Token).ContinueWith(t =>
        {
            if (!t.IsCanceled) Enqueue(item);
        }, TaskScheduler.Default);
    }

    private void EnforceDeadlines()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var item in _unsettled.Values)
        {
            if (!item.IsRunning || item.DeadlineTimestamp == 0 || now < item.DeadlineTimestamp) continue;
            var run = item.Run;
            if (!item.TryCloseAttempt()) continue;
            ConcludeAttempt(item, Array.Empty<object?>(), new[] { BatchErrors.ItemTimedOut(item, _options.ItemTimeout!.Value) },
                ItemStatus.TimedOut);
            run?.Abort();
        }
    }

    // ---- final states ------------------------------------------------------------------------

    /// <summary>The one place an item gets its final state.</summary>
    private void Settle(WorkItem item, ItemStatus status)
    {
        if (!item.TrySettle(status)) return;
        _unsettled.TryRemove(item.Index, out _);
        _tally.Count(status);
        _mailbox.Post(new BatchEvent(item, null));
        if (_inputComplete && _unsettled.IsEmpty) _ready.Writer.TryComplete();
    }

    private ItemStatus UnstartedStatus() =>
        (StopReason)_stopReason == StopReason.BatchTimeout ? ItemStatus.TimedOut : ItemStatus.Skipped;

    private void Stop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)StopReason.None) != (int)StopReason.None) return;
        // Settle first, cancel after: an item that reacts to the cancellation must not be reported
        // as failed by its lane before the stop has given it its state.
        foreach (var item in _unsettled.Values)
        {
            var status = reason == StopReason.BatchTimeout ? ItemStatus.TimedOut
                : item.Attempts > 0 ? ItemStatus.Cancelled : ItemStatus.Skipped;
            Settle(item, status);
        }
        _stop.Cancel();
        _ready.Writer.TryComplete();
        _mailbox.Wake();
    }

    private void Fault(BatchFaultedException fault)
    {
        Interlocked.CompareExchange(ref _fault, fault, null);
        Stop(StopReason.Faulted);
    }
}
