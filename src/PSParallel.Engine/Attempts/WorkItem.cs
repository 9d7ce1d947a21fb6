using System.Diagnostics;
using System.Management.Automation;
using PSParallel.Engine.Journal;

namespace PSParallel.Engine.Attempts;

/// <summary>
/// One input item while the batch runs. Attempts are guarded so that exactly one party closes each
/// attempt: the lane that ran it, the deadline watch that timed it out, or the stop that cancelled it.
/// </summary>
internal sealed class WorkItem
{
    private const int Waiting = 0, Running = 1, Closed = 2;
    private int _attemptState;
    private int _settled;

    public WorkItem(long index, object? input)
    {
        Index = index;
        Input = input;
    }

    public long Index { get; }
    public object? Input { get; }
    public int Attempts { get; private set; }
    public int Worker { get; private set; }
    /// <summary>The remote host the last attempt ran on, as the user named it; null on this machine.</summary>
    public string? Host { get; private set; }
    public DateTime? StartTime { get; private set; }
    public long StartTimestamp { get; private set; }
    /// <summary>Stopwatch timestamp past which the running attempt is timed out (0: none).</summary>
    public long DeadlineTimestamp { get; private set; }
    /// <summary>The chunk run holding the current attempt, so a timeout can abort its lane.</summary>
    internal ChunkRun? Run { get; private set; }

    /// <summary>The closing attempt's output and errors; lanes collect their own and hand them over.</summary>
    public IReadOnlyList<object?> Output { get; private set; } = Array.Empty<object?>();
    public IReadOnlyList<ErrorRecord> Errors { get; private set; } = Array.Empty<ErrorRecord>();
    public TimeSpan Duration { get; private set; }
    public ItemStatus Status { get; private set; }
    /// <summary>How the last closed attempt ended (Failed or TimedOut for an item waiting to be retried).</summary>
    public ItemStatus LastOutcome { get; internal set; }
    /// <summary>When it settled (UTC).</summary>
    public DateTime SettledAt { get; private set; }
    /// <summary>Why a Skipped item did not run: "journal", "halted" or "stopped"; null otherwise.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>Its name in the journal (-JournalPath); default when there is no journal.</summary>
    public ItemKey Key { get; internal set; }

    /// <summary>
    /// Handed to a lane that starts items before it asks (a worker process): the batch has committed
    /// to it, so a halt lets it run to its end like a running item.
    /// </summary>
    internal bool Dispatched
    {
        get => Volatile.Read(ref _dispatched);
        set => Volatile.Write(ref _dispatched, value);
    }
    private bool _dispatched;

    public bool IsRunning => Volatile.Read(ref _attemptState) == Running;
    /// <summary>Not started yet, or waiting for a retry (not running, and no attempt being concluded).</summary>
    public bool IsWaiting => Volatile.Read(ref _attemptState) == Waiting;
    public bool IsSettled => Volatile.Read(ref _settled) == 1;

    /// <summary>Opens a new attempt; false when the item was settled meanwhile (stop, batch timeout).</summary>
    internal bool TryStartAttempt(ChunkRun run, int worker, string? host, TimeSpan? itemTimeout)
    {
        if (IsSettled || Interlocked.CompareExchange(ref _attemptState, Running, Waiting) != Waiting) return false;
        if (IsSettled)
        {
            // Settled between the check and the start (a stop): the settle saw no running attempt to close.
            Volatile.Write(ref _attemptState, Closed);
            return false;
        }
        Attempts++;
        Run = run;
        Worker = worker;
        Host = host;
        StartTime = DateTime.Now;
        StartTimestamp = Stopwatch.GetTimestamp();
        DeadlineTimestamp = itemTimeout is { } t ? StartTimestamp + (long)(t.TotalSeconds * Stopwatch.Frequency) : 0;
        return true;
    }

    /// <summary>
    /// Closes the running attempt; only the first caller wins. <paramref name="measured"/> is the
    /// start and run time taken where the item ran, when that was not this process.
    /// </summary>
    internal bool TryCloseAttempt(AttemptTiming? measured = null)
    {
        if (Interlocked.CompareExchange(ref _attemptState, Closed, Running) != Running) return false;
        if (measured is { } timing)
        {
            StartTime = timing.StartTime;
            Duration = timing.Duration;
        }
        else
        {
            Duration = Stopwatch.GetElapsedTime(StartTimestamp);
        }
        return true;
    }

    /// <summary>Makes a closed attempt's item runnable again (retry) or a never-started one waiting again.</summary>
    internal void ReturnToWaiting()
    {
        Dispatched = false;
        Volatile.Write(ref _attemptState, Waiting);
    }

    /// <summary>Fixes the final state; only the first call has effect.</summary>
    internal bool TrySettle(ItemStatus status, string? skipReason = null)
    {
        if (Interlocked.CompareExchange(ref _settled, 1, 0) != 0) return false;
        Status = status;
        SettledAt = DateTime.UtcNow;
        SkipReason = status == ItemStatus.Skipped ? skipReason : null;
        // A running attempt is closed with the item, so the lane's late report is ignored.
        if (Interlocked.CompareExchange(ref _attemptState, Closed, Running) == Running)
            Duration = Stopwatch.GetElapsedTime(StartTimestamp);
        return true;
    }

    internal void SetResult(IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors)
    {
        if (IsSettled) return;
        Output = output;
        Errors = errors;
    }

    /// <summary>ItemResult.Worker: the worker id, or 'host:pid' for a remote host.</summary>
    public object WorkerName => Host is null ? Worker : $"{Host}:{Worker}";

    public ItemResult ToResult() => new(Index, Input, Output.ToArray(), Errors.ToArray(), Status, Attempts,
        Duration, WorkerName, StartTime) { SkipReason = SkipReason };
}
