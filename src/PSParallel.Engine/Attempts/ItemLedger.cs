using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading.Channels;
using PSParallel.Engine.Journal;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Scheduling;

namespace PSParallel.Engine.Attempts;

/// <summary>
/// The one owner of every item transition: admitted, begun, streamed, ended, retried, timed out,
/// halted, stopped and settled (and journaled: a settled item's line is queued here). Lanes report to it through a <see cref="ChunkRun"/>; the scheduler takes
/// runnable items from <see cref="Runnable"/> and hands back the chunks that ended; the pipeline
/// thread takes what it posts (stream records and settled items) from the mailbox.
/// <see cref="Settle"/> is the one place an item gets its final state.
/// </summary>
internal sealed class ItemLedger : IDisposable
{
    private enum StopReason { None, BatchTimeout, Stopped, Faulted }

    private static readonly TimeSpan DeadlineCheckInterval = TimeSpan.FromMilliseconds(50);
    /// <summary>Items that must have succeeded before -ItemTimeoutFactor applies.</summary>
    public const int RelativeTimeoutFrom = 5;
    private readonly TimeSpan? _itemTimeout;
    private readonly double _timeoutFactor;
    private readonly RunningMedian? _succeededDurations;
    private readonly TimeSpan? _batchTimeout;
    private readonly RetrySchedule _retry;
    private readonly ItemTally _tally = new();
    private readonly HostTally _hostTally = new();
    private readonly Channel<WorkItem> _runnable = Channel.CreateUnbounded<WorkItem>();
    private readonly ConcurrentDictionary<long, WorkItem> _unsettled = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly object _stopGate = new();
    private readonly Action<BatchEvent> _post;
    private readonly Action<TimeSpan> _attemptEnded;
    private readonly Timer? _batchTimer;
    private readonly JournalFile? _journal;
    private readonly ItemKeys? _keys;
    private readonly FailureLimits? _limits;
    private readonly StartPacer? _beginPacer;
    // Orders a halt against starts and hand-outs: once the halt reason is set under it, no new item begins.
    private readonly object _haltGate = new();
    private string? _haltReason;
    private Timer? _deadlineTimer;
    private long _admitted;
    private long _resumed;
    private volatile bool _inputComplete;
    private int _stopReason;
    private BatchFaultedException? _fault;

    /// <param name="post">hands a stream record or a settled item to the pipeline thread</param>
    /// <param name="attemptEnded">told each ended attempt's duration (chunk sizing)</param>
    /// <param name="journal">
    /// where settled items are recorded (-JournalPath), and which ones an earlier run finished (-Resume);
    /// the ledger owns it from here
    /// </param>
    /// <param name="lanesStartItemsAhead">its lanes start items before they ask (IExecutor.StartsItemsAhead)</param>
    public ItemLedger(BatchOptions options, Action<BatchEvent> post, Action<TimeSpan> attemptEnded, JournalFile? journal = null,
        bool lanesStartItemsAhead = false)
    {
        _itemTimeout = options.ItemTimeout;
        _timeoutFactor = options.ItemTimeoutFactor;
        if (_timeoutFactor > 0) _succeededDurations = new RunningMedian();
        _batchTimeout = options.BatchTimeout;
        _retry = new RetrySchedule(options.RetryCount, options.RetryDelay);
        _post = post;
        _attemptEnded = attemptEnded;
        _limits = FailureLimits.From(options);
        // -MaxPerSecond paces hand-outs (Scheduler); where an attempt really begins at TryBegin, begins
        // are spaced too, so that a hand-out that reached its lane late cannot bunch with the next.
        if (!lanesStartItemsAhead) _beginPacer = StartPacer.From(options);
        Stopped = Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        if (journal is not null)
        {
            _journal = journal;
            _keys = new ItemKeys();
            journal.Start(failure => Halt(new BatchFaultedException(Errors.JournalWriteFailed(journal.Path, failure))));
        }
        if (_batchTimeout is { } limit)
            _batchTimer = new Timer(_ => Stop(StopReason.BatchTimeout), null, limit, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Items waiting to run: admitted, requeued or due for a retry. Completed when none can come.</summary>
    public ChannelReader<WorkItem> Runnable => _runnable.Reader;

    /// <summary>Called when an item becomes runnable (the lane pool may open a lane for it).</summary>
    public Action? ItemQueued { get; set; }

    public long Admitted => Volatile.Read(ref _admitted);
    public bool IsInputComplete => _inputComplete;
    public bool IsStopping => Volatile.Read(ref _stopReason) != (int)StopReason.None;
    public bool TimedOut => (StopReason)Volatile.Read(ref _stopReason) == StopReason.BatchTimeout;
    public CancellationToken StopToken => _stop.Token;
    /// <summary>Completes when the batch stops (Ctrl+C, batch timeout, fault).</summary>
    public Task Stopped { get; }
    /// <summary>Why the batch cannot go on, once a lane could not be set up; the pump throws it.</summary>
    public BatchFaultedException? Fault => Volatile.Read(ref _fault);
    public ItemTally Tally => _tally;
    /// <summary>Settled items by the remote host their last attempt ran on.</summary>
    public HostTally HostTally => _hostTally;
    /// <summary>Items skipped because the journal records them as Succeeded (-Resume).</summary>
    public long Resumed => Interlocked.Read(ref _resumed);
    /// <summary>Which failure limit halted the batch (BatchSummary.HaltReason); null while none was reached.</summary>
    public string? HaltReason => Volatile.Read(ref _haltReason);
    public bool IsHalted => HaltReason is not null;

    /// <summary>
    /// Takes one input item: queued to run, or settled at once when the journal records it as
    /// Succeeded (-Resume) or the batch has stopped or halted. Called on the pipeline thread only.
    /// </summary>
    public void Admit(object? input)
    {
        var item = new WorkItem(_admitted, input);
        bool resumed = false;
        if (_keys is not null)
        {
            item.Key = _keys.Next(input);
            resumed = _journal!.RecordsSucceeded(item.Key);
        }
        Interlocked.Increment(ref _admitted);
        _unsettled[item.Index] = item;
        if (resumed)
        {
            Interlocked.Increment(ref _resumed);
            Settle(item, ItemStatus.Skipped, SkipReason.Journal);
        }
        // Input that arrives after the batch ended is not run, but it is still accounted for.
        else if (IsStopping) Settle(item, UnstartedStatus(), SkipReason.Stopped);
        else if (IsHalted) Settle(item, ItemStatus.Skipped, SkipReason.Halted);
        else Queue(item);
    }

    /// <summary>No more input: once every item has settled, nothing more becomes runnable.</summary>
    public void InputComplete()
    {
        _inputComplete = true;
        if (_unsettled.IsEmpty) _runnable.Writer.TryComplete();
    }

    /// <summary>Starts watching running items' deadlines, when -ItemTimeoutSeconds or -ItemTimeoutFactor is set.</summary>
    public void WatchDeadlines()
    {
        if ((_itemTimeout is null && _succeededDurations is null) || _deadlineTimer is not null) return;
        _deadlineTimer = new Timer(_ => EnforceDeadlines(), null, DeadlineCheckInterval, DeadlineCheckInterval);
    }

    /// <summary>
    /// With -MaxPerSecond, waits until this begin is at least 1/N s after the previous one (usually
    /// not at all: hand-outs are paced already). Called by the lane's thread before <see cref="TryBegin"/>.
    /// </summary>
    public void WaitBeginTurn()
    {
        if (_beginPacer?.Reserve() is { } wait && wait > TimeSpan.Zero && !IsStopping)
            _stop.Token.WaitHandle.WaitOne(wait);
    }

    /// <summary>
    /// Whether an attempt of <paramref name="item"/> may start now. Not after a stop; not after a halt,
    /// unless the item was handed out before it (<see cref="TryDispatch"/>).
    /// </summary>
    public bool TryBegin(WorkItem item, ChunkRun run)
    {
        if (IsStopping) return false;
        if (_limits is null) return item.TryStartAttempt(run, run.Lane.WorkerId, run.Lane.HostName, _itemTimeout);
        lock (_haltGate)
        {
            if (_haltReason is not null && !item.Dispatched) return false;
            return item.TryStartAttempt(run, run.Lane.WorkerId, run.Lane.HostName, _itemTimeout);
        }
    }

    /// <summary>
    /// Commits to the items of a chunk as it is handed to a lane that starts items before it asks
    /// (a worker process): after a halt that lane would run them anyway, so they are let through
    /// like running items. False, and nothing is committed, once the batch has halted or stopped.
    /// </summary>
    public bool TryDispatch(IReadOnlyList<WorkItem> chunk)
    {
        lock (_haltGate)
        {
            if (_haltReason is not null || IsStopping) return false;
            foreach (var item in chunk) item.Dispatched = true;
            return true;
        }
    }

    public void Stream(WorkItem item, StreamRecord record) => _post(BatchEvent.Streamed(item, record));

    public void End(WorkItem item, AttemptOutcome outcome)
    {
        if (!item.TryCloseAttempt(outcome.Timing)) return; // timed out or stopped meanwhile: that decision stands
        var errors = outcome.Errors;
        var retargeted = errors.Count == 0 ? errors : errors.Select(e => Errors.ForItem(e, item.Input)).ToArray();
        Conclude(item, outcome.Output, retargeted, errors.Count == 0 ? ItemStatus.Succeeded : ItemStatus.Failed);
    }

    /// <summary>
    /// A chunk's lane has returned, broken (<paramref name="laneError"/>) or let go by a stop or an
    /// abort: the item it was running fails, the ones it never started run elsewhere.
    /// </summary>
    public void ChunkEnded(ChunkRun run, Exception? laneError)
    {
        foreach (var item in run.Items)
        {
            if (item.IsSettled) continue;
            if (item.IsRunning && item.Run == run)
            {
                if (item.TryCloseAttempt())
                    Conclude(item, Array.Empty<object?>(),
                        new[] { Errors.LaneFailed(item, laneError ?? new LaneFailedException("the worker stopped")) },
                        ItemStatus.Failed);
            }
            else if (item.Run != run && !IsStopping)
            {
                // Never started here: back in the queue, or, after a halt, not run at all.
                item.Dispatched = false;
                if (IsHalted) SettleHalted(item);
                else Queue(item);
            }
        }
    }

    /// <summary>Ctrl+C, -ErrorAction Stop, Select-Object -First: running items are cancelled, the rest skipped.</summary>
    public void Stop() => Stop(StopReason.Stopped);

    /// <summary>Writes the journal lines of the items settled so far; the pump calls it before it emits them.</summary>
    public void FlushJournal() => _journal?.Flush();

    /// <summary>The batch cannot go on: stops it, and the pump throws <paramref name="fault"/>.</summary>
    public void Halt(BatchFaultedException fault)
    {
        Interlocked.CompareExchange(ref _fault, fault, null);
        Stop(StopReason.Faulted);
    }

    public void Dispose()
    {
        Stop(StopReason.Stopped);
        _batchTimer?.Dispose();
        _deadlineTimer?.Dispose();
        _journal?.Dispose(); // after the stop settled every item: their lines are written, then the file is let go
    }

    private void Queue(WorkItem item)
    {
        _runnable.Writer.TryWrite(item);
        ItemQueued?.Invoke();
    }

    /// <summary>After a closed attempt: retry it if allowed, else settle it with <paramref name="outcome"/>.</summary>
    private void Conclude(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors, ItemStatus outcome)
    {
        item.SetResult(output, errors);
        item.LastOutcome = outcome;
        _attemptEnded(item.Duration);
        if (outcome == ItemStatus.Succeeded) _succeededDurations?.Add(item.Duration);
        if (outcome != ItemStatus.Succeeded && _retry.AllowsAnotherAttempt(item.Attempts) && !IsStopping && !IsHalted)
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
            if (t.IsCanceled) return;
            if (IsHalted) SettleHalted(item);
            else Queue(item);
        }, TaskScheduler.Default);
    }

    /// <summary>
    /// Times out running items past their deadline: -ItemTimeoutSeconds from their start, or
    /// -ItemTimeoutFactor times the median duration of the items that succeeded so far (once
    /// <see cref="RelativeTimeoutFrom"/> have). The item is retried if allowed; its lane is stopped.
    /// </summary>
    private void EnforceDeadlines()
    {
        long now = Stopwatch.GetTimestamp();
        var (median, finished) = _succeededDurations?.Read() ?? (TimeSpan.Zero, 0);
        long relativeLimit = finished >= RelativeTimeoutFrom
            ? (long)(median.TotalSeconds * _timeoutFactor * Stopwatch.Frequency)
            : long.MaxValue;
        foreach (var item in _unsettled.Values)
        {
            if (!item.IsRunning) continue;
            bool absolute = item.DeadlineTimestamp != 0 && now >= item.DeadlineTimestamp;
            bool relative = !absolute && now - item.StartTimestamp > relativeLimit;
            if (!absolute && !relative) continue;
            var run = item.Run;
            if (!item.TryCloseAttempt()) continue;
            var error = absolute ? Errors.ItemTimedOut(item, _itemTimeout!.Value) : Errors.ItemTimedOutRelative(item, _timeoutFactor, median);
            Conclude(item, Array.Empty<object?>(), new[] { error }, ItemStatus.TimedOut);
            run?.Abort();
        }
    }

    /// <summary>
    /// The one place an item gets its final state. With a journal, the item's line is queued before
    /// the item is posted, and the pump writes the queued lines before it emits the item (an item the
    /// journal already records is not recorded again).
    /// </summary>
    private void Settle(WorkItem item, ItemStatus status, string? skipReason = null)
    {
        if (!item.TrySettle(status, skipReason)) return;
        _unsettled.TryRemove(item.Index, out _);
        _tally.Count(status);
        if (item.Host is { } host) _hostTally.Count(host, status);
        if (_journal is not null && item.SkipReason != SkipReason.Journal) _journal.Append(item);
        _post(BatchEvent.Settled(item));
        if (_inputComplete && _unsettled.IsEmpty) _runnable.Writer.TryComplete();
        if (_limits is not null && status is ItemStatus.Failed or ItemStatus.TimedOut or ItemStatus.Succeeded) CheckFailureLimits();
    }

    /// <summary>After an item finished: halts the batch when a failure limit is reached.</summary>
    private void CheckFailureLimits()
    {
        if (IsHalted || IsStopping) return;
        if (_limits!.Reached(_tally.Failures, _tally.Finished) is not { } reason) return;
        lock (_haltGate)
        {
            if (_haltReason is not null) return;
            Volatile.Write(ref _haltReason, reason);
        }
        // No item begins from here on (TryBegin, TryDispatch). Running and handed-out items run to
        // their end; every other item is settled now: skipped, or, when it failed before and was
        // waiting for a retry, with that failure.
        // (An item whose attempt has just closed is left to its lane, which settles it: no retry now.)
        foreach (var item in _unsettled.Values)
        {
            if (item.IsWaiting && !item.Dispatched) SettleHalted(item);
        }
        _post(BatchEvent.Woken);
    }

    private void SettleHalted(WorkItem item) =>
        Settle(item, item.Attempts > 0 ? item.LastOutcome : ItemStatus.Skipped, SkipReason.Halted);

    private ItemStatus UnstartedStatus() => TimedOut ? ItemStatus.TimedOut : ItemStatus.Skipped;

    private void Stop(StopReason reason)
    {
        // Under a lock, so that a second stop (Dispose after Ctrl+C) returns only once the first has
        // settled every item: the journal must not close while a stop still records items.
        lock (_stopGate)
        {
            if (Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)StopReason.None) != (int)StopReason.None) return;
            // Settle first, cancel after: an item that reacts to the cancellation must not be reported
            // as failed by its lane before the stop has given it its state.
            foreach (var item in _unsettled.Values)
            {
                var status = reason == StopReason.BatchTimeout ? ItemStatus.TimedOut
                    : item.Attempts > 0 ? ItemStatus.Cancelled : ItemStatus.Skipped;
                Settle(item, status, SkipReason.Stopped);
            }
        }
        _stop.Cancel();
        _runnable.Writer.TryComplete();
        _post(BatchEvent.Woken);
    }
}

/// <summary>Why a Skipped item did not run (ItemResult.SkipReason, the journal's reason).</summary>
internal static class SkipReason
{
    public const string Journal = "journal";
    public const string Halted = "halted";
    public const string Stopped = "stopped";
}

/// <summary>Something that happened to an item on a lane, to be written on the pipeline thread.</summary>
internal readonly struct BatchEvent
{
    private BatchEvent(WorkItem? item, StreamRecord? stream, bool settled)
    {
        Item = item;
        Stream = stream;
        IsSettled = settled;
    }

    /// <summary>The item; null only for <see cref="Woken"/>.</summary>
    public WorkItem? Item { get; }
    /// <summary>The record the item wrote, for a stream event.</summary>
    public StreamRecord? Stream { get; }
    /// <summary>The item reached its final state and is ready to be emitted.</summary>
    public bool IsSettled { get; }
    /// <summary>Nothing happened to an item: the batch stopped, and the pipeline thread must look.</summary>
    public bool IsWake => Item is null;

    public static BatchEvent Streamed(WorkItem item, StreamRecord record) => new(item, record, false);
    public static BatchEvent Settled(WorkItem item) => new(item, null, true);
    public static BatchEvent Woken => new(null, null, false);
}
