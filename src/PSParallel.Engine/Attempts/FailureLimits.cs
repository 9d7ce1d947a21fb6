namespace PSParallel.Engine.Attempts;

/// <summary>
/// -MaxFailures and -MaxFailurePercent: when the failures so far (items settled Failed or TimedOut,
/// retries spent) reach either limit, the batch halts. The percentage is judged against the items
/// finished so far (succeeded, failed or timed out; resumed items aside), once at least
/// <see cref="PercentJudgedFrom"/> have finished.
/// </summary>
internal sealed class FailureLimits
{
    public const int PercentJudgedFrom = 10;
    private readonly int _maxFailures;
    private readonly double _maxPercent;

    public FailureLimits(int maxFailures, double maxPercent)
    {
        _maxFailures = maxFailures;
        _maxPercent = maxPercent;
    }

    /// <summary>The limits of a batch, or null when it has none.</summary>
    public static FailureLimits? From(Scheduling.BatchOptions options) =>
        options.HasFailureLimit ? new FailureLimits(options.MaxFailures, options.MaxFailurePercent) : null;

    /// <summary>The halt reason (BatchSummary.HaltReason) when a limit is reached, else null.</summary>
    public string? Reached(long failures, long finished)
    {
        if (_maxFailures > 0 && failures >= _maxFailures)
            return $"-MaxFailures {_maxFailures} was reached: {failures} item(s) failed or timed out";
        if (_maxPercent > 0 && finished >= PercentJudgedFrom && failures * 100.0 >= _maxPercent * finished)
            return $"-MaxFailurePercent {_maxPercent:0.###} was reached: {failures} of the {finished} items finished so far " +
                   $"failed or timed out ({failures * 100.0 / finished:0.#} %)";
        return null;
    }
}
