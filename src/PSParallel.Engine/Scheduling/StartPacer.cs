using System.Diagnostics;

namespace PSParallel.Engine.Scheduling;

/// <summary>
/// -MaxPerSecond: spaces item starts evenly, 1/N s apart, across every lane of the batch (retries
/// included), so that no one-second window holds more than N (+1) starts. Each start reserves the
/// next turn; a turn is never earlier than now, so a quiet spell is not made up for with a burst.
/// The scheduler paces hand-outs with one (awaiting its turn, no thread held); the ledger spaces
/// the begins of lanes that ask before they start an item with another, which rarely waits.
/// </summary>
internal sealed class StartPacer
{
    private readonly long _interval;
    private readonly object _gate = new();
    private long _next;

    public StartPacer(double perSecond) => _interval = Math.Max(1, (long)Math.Round(Stopwatch.Frequency / perSecond));

    /// <summary>The pacer of a batch, or null when it has no -MaxPerSecond.</summary>
    public static StartPacer? From(BatchOptions options) => options.MaxPerSecond > 0 ? new StartPacer(options.MaxPerSecond) : null;

    /// <summary>Takes the next turn and returns how long to wait for it (zero: now).</summary>
    public TimeSpan Reserve()
    {
        lock (_gate)
        {
            long now = Stopwatch.GetTimestamp();
            long turn = Math.Max(now, _next);
            _next = turn + _interval;
            return Stopwatch.GetElapsedTime(now, turn);
        }
    }

    /// <summary>Waits, without holding a thread, until the next turn.</summary>
    public Task WaitTurnAsync(CancellationToken token)
    {
        var wait = Reserve();
        return wait > TimeSpan.Zero ? Task.Delay(wait, token) : Task.CompletedTask;
    }
}
