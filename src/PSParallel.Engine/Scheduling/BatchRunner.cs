using System.Diagnostics;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Journal;
using PSParallel.Engine.Lanes.Remote;
using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Scheduling;

/// <summary>
/// One batch, seen from the pipeline thread (the pump): admits input with backpressure, and writes
/// output, errors, stream records and progress to the caller, in input order when asked, only from
/// that thread (inside <see cref="Add"/> and <see cref="Complete"/>). Items run on the
/// <see cref="Scheduler"/>; the <see cref="ItemLedger"/> decides what becomes of each one.
/// </summary>
internal sealed class BatchRunner : IDisposable
{
    private static readonly TimeSpan WaitStep = TimeSpan.FromMilliseconds(100);
    private readonly BatchOptions _options;
    private readonly IExecutor _executor;
    private readonly IBatchSink _sink;
    private readonly bool _asResult;
    private readonly PipelineMailbox _mailbox = new();
    private readonly ItemLedger _ledger;
    private readonly Scheduler _scheduler;
    private readonly ProgressReporter _progress;
    private readonly OrderedWindow? _window;
    private readonly long _started;
    private readonly double _cpuAtStart;
    private static readonly TimeSpan JournalFlushInterval = TimeSpan.FromMilliseconds(2);
    private readonly List<WorkItem> _held = new();
    private long _lastJournalFlush;
    private long _emitted;
    private TimeSpan? _finalDuration;

    public BatchRunner(BatchOptions options, IExecutor executor, IBatchSink sink, bool asResult)
    {
        _options = options;
        _started = options.StartTimestamp != 0 ? options.StartTimestamp : Stopwatch.GetTimestamp();
        _executor = executor;
        _sink = sink;
        _asResult = asResult;
        var chunks = OneItemAtATime(options, executor)
            ? new ChunkSizer(1)
            : new ChunkSizer(ChunkLimit(options, executor),
                executor.MaxItemsPerLane > 0 ? Math.Min(options.FixedChunkSize, executor.MaxItemsPerLane) : options.FixedChunkSize);
        // Opened first: a journal that cannot be used stops the call before anything runs.
        var journal = options.JournalPath is { } path ? JournalFile.Open(path, options.Resume, options.Activity) : null;
        _ledger = new ItemLedger(options, _mailbox.Post, chunks.Observe, journal, executor.StartsItemsAhead);
        _scheduler = new Scheduler(options, executor, _ledger, chunks);
        _progress = new ProgressReporter(options.Activity);
        _window = options.Ordered ? new OrderedWindow() : null;
        _cpuAtStart = executor.CpuSeconds();
    }

    /// <summary>
    /// Lanes get one item at a time when starts are paced (-MaxPerSecond: each start waits for its
    /// turn as it is handed out), and, with a halt limit, when a lane starts items on its own (a
    /// worker process): items it holds would run after the limit was reached.
    /// </summary>
    private static bool OneItemAtATime(BatchOptions options, IExecutor executor) =>
        options.MaxPerSecond > 0 || (options.HasFailureLimit && executor.StartsItemsAhead);

    private static int ChunkLimit(BatchOptions options, IExecutor executor) =>
        executor.MaxItemsPerLane > 0 ? Math.Min(options.MaxChunkSize, executor.MaxItemsPerLane) : options.MaxChunkSize;

    /// <summary>Time since the call began (<see cref="BatchOptions.StartTimestamp"/>).</summary>
    private TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Admits one input item; waits (writing results meanwhile) while the window is full.</summary>
    public void Add(object? input)
    {
        Drain(TimeSpan.Zero);
        if (_ledger.IsHalted) EndHalted();
        // Items held for their journal lines have settled: they leave the window, or each flush
        // interval's items would fill it and force a write (and a wait) every few hundred items.
        while (_ledger.Admitted - _emitted - _held.Count >= _options.Capacity && !_ledger.IsStopping) Drain(WaitStep);
        if (!_ledger.IsStopping) _scheduler.Start();
        _ledger.Admit(input);
    }

    /// <summary>
    /// Waits (writing results meanwhile) until at most <paramref name="items"/> admitted items are
    /// still to settle, or the batch stops: a tighter window than <see cref="BatchOptions.Capacity"/>
    /// for a caller that decides what to add next from the results so far.
    /// </summary>
    public void WaitUntilUnsettledAtMost(long items)
    {
        Drain(TimeSpan.Zero);
        while (_ledger.Admitted - _emitted > items && !_ledger.IsStopping) Drain(WaitStep);
    }

    /// <summary>No more input: waits for every item to settle, writing results as they come.</summary>
    public void Complete()
    {
        _ledger.InputComplete();
        while (_emitted < _ledger.Admitted) Drain(WaitStep);
        _finalDuration ??= Elapsed;
        if (_progress.Complete() is { } done) _sink.WriteStream(StreamRecord.Of(done));
        if (_ledger.Resumed > 0)
            _sink.WriteStream(StreamRecord.Verbose($"-Resume: {_ledger.Resumed} item(s) were skipped: the journal '{_options.JournalPath}' records them as Succeeded."));
        if (_ledger.Fault is { } fault) throw fault;
        if (_ledger.IsHalted) throw HaltError();
        if (_ledger.TimedOut)
            _sink.WriteError(Errors.BatchTimedOut(_options.BatchTimeout!.Value, _ledger.Tally[ItemStatus.TimedOut]));
    }

    /// <summary>Ctrl+C, -ErrorAction Stop, Select-Object -First: running items are cancelled, the rest skipped.</summary>
    public void Stop() => _ledger.Stop();

    /// <summary>
    /// A failure limit was reached while input still comes: no more input is taken; once the running
    /// items finished, the halt is thrown (a terminating error naming the limit).
    /// </summary>
    private void EndHalted()
    {
        while (_emitted < _ledger.Admitted && !_ledger.IsStopping) Drain(WaitStep);
        _finalDuration ??= Elapsed;
        if (_progress.Complete() is { } done) _sink.WriteStream(StreamRecord.Of(done));
        throw HaltError();
    }

    private BatchFaultedException HaltError() =>
        new(Errors.FailureLimitReached(_ledger.HaltReason!, _ledger.Tally[ItemStatus.Skipped] - _ledger.Resumed));

    public BatchSummary Summary() =>
        _ledger.Tally.ToSummary(_executor.Model.ToString(), _options.ThrottleLimit, _finalDuration ?? Elapsed,
            _executor.CpuSeconds() - _cpuAtStart, _ledger.Resumed, _ledger.HaltReason, HostRows());

    /// <summary>For the progress bar of a remote batch: "2 hosts up, 1 lost, 1 unreachable".</summary>
    private string? HostsText()
    {
        if (_executor is not IHostReport report || report.Hosts() is not { Count: > 0 } hosts) return null;
        int up = hosts.Count(h => h.State == HostState.Ok);
        int lost = hosts.Count(h => h.State == HostState.Lost);
        int unreachable = hosts.Count(h => h.State == HostState.Unreachable);
        return $"{up} host(s) up" + (lost > 0 ? $", {lost} lost" : "") + (unreachable > 0 ? $", {unreachable} unreachable" : "");
    }

    /// <summary>BatchSummary.Hosts: each remote host's sessions and state, with the items that settled there.</summary>
    private HostSummary[]? HostRows()
    {
        if (_executor is not IHostReport report) return null;
        var tally = _ledger.HostTally;
        return report.Hosts().Select(h => new HostSummary(h.HostName, h.Sessions, tally.Of(h.HostName, ItemStatus.Succeeded),
            tally.Of(h.HostName, ItemStatus.Failed), tally.Of(h.HostName, ItemStatus.TimedOut), h.State, h.Reason)).ToArray();
    }

    public void Dispose()
    {
        _ledger.Dispose();
        _finalDuration ??= Elapsed;
        _scheduler.Dispose();
    }

    private void Drain(TimeSpan wait)
    {
        // Items held for their journal lines go out before the pump would wait for more.
        if (_held.Count > 0 && wait > TimeSpan.Zero)
        {
            ReleaseHeld();
            wait = TimeSpan.Zero;
        }
        if (wait > TimeSpan.Zero || _mailbox.HasEvents)
        {
            foreach (var e in _mailbox.TakeAll(wait))
            {
                if (e.IsWake) continue;
                if (!e.IsSettled) _sink.WriteStream(e.Stream!);
                else if (_options.JournalPath is not null) _held.Add(e.Item!);
                else Release(e.Item!);
            }
        }
        if (_held.Count > 0 && Stopwatch.GetElapsedTime(_lastJournalFlush) >= JournalFlushInterval) ReleaseHeld();
        if (_ledger.Fault is { } fault) throw fault;
        var elapsed = Elapsed;
        if (!_progress.IsDue(elapsed)) return;
        long? total = _ledger.IsInputComplete ? _ledger.Admitted : null;
        if (_progress.Update(elapsed, _emitted, _ledger.Tally.Failures, total, HostsText()) is { } record) _sink.WriteStream(StreamRecord.Of(record));
    }

    /// <summary>
    /// Writes the journal lines of the held items (and of any item settled since), then emits them:
    /// no item reaches the caller before its line is in the journal. Lines are written at most every
    /// <see cref="JournalFlushInterval"/> while items keep coming, as one write each time.
    /// </summary>
    private void ReleaseHeld()
    {
        _ledger.FlushJournal();
        _lastJournalFlush = Stopwatch.GetTimestamp();
        if (_ledger.Fault is { } writeFailed) throw writeFailed;
        foreach (var item in _held) Release(item);
        _held.Clear();
    }

    private void Release(WorkItem item)
    {
        if (_window is null) Emit(item);
        else foreach (var ready in _window.Release(item)) Emit(ready);
    }

    private void Emit(WorkItem item)
    {
        _emitted++;
        if (_asResult) _sink.WriteOutput(item.ToResult());
        else foreach (var value in item.Output) _sink.WriteOutput(value);
        foreach (var error in item.Errors) _sink.WriteError(error);
    }
}
