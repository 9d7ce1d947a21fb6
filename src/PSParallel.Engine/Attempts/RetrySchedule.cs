namespace PSParallel.Engine.Attempts;

/// <summary>Exponential back-off: the n-th retry waits delay × 2^(n-1).</summary>
internal sealed class RetrySchedule
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(10);
    private readonly int _retryCount;
    private readonly TimeSpan _delay;

    public RetrySchedule(int retryCount, TimeSpan delay)
    {
        _retryCount = retryCount;
        _delay = delay;
    }

    /// <summary>Whether an item that has been started <paramref name="attempts"/> times may run again.</summary>
    public bool AllowsAnotherAttempt(int attempts) => attempts <= _retryCount;

    /// <summary>The wait before retry number <paramref name="retry"/> (1 for the first retry).</summary>
    public TimeSpan DelayBeforeRetry(int retry)
    {
        if (retry < 1) throw new ArgumentOutOfRangeException(nameof(retry));
        double factor = Math.Pow(2, Math.Min(retry - 1, 30));
        double ms = _delay.TotalMilliseconds * factor;
        return ms >= MaxDelay.TotalMilliseconds ? MaxDelay : TimeSpan.FromMilliseconds(ms);
    }
}
