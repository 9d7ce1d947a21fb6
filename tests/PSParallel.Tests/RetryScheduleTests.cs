using PSParallel.Engine.Attempts;
using Xunit;

namespace PSParallel.Tests;

public class RetryScheduleTests
{
    [Theory]
    [InlineData(0, 1, false)]
    [InlineData(1, 1, true)]
    [InlineData(1, 2, false)]
    [InlineData(3, 1, true)]
    [InlineData(3, 2, true)]
    [InlineData(3, 3, true)]
    [InlineData(3, 4, false)]
    [InlineData(3, 10, false)]
    public void AllowsAnotherAttempt_allows_RetryCount_retries_after_the_first_attempt(int retryCount, int attempts, bool expected)
    {
        var schedule = new RetrySchedule(retryCount, TimeSpan.FromSeconds(1));
        Assert.Equal(expected, schedule.AllowsAnotherAttempt(attempts));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Total_attempts_are_one_plus_RetryCount(int retryCount)
    {
        var schedule = new RetrySchedule(retryCount, TimeSpan.FromSeconds(1));
        int attempts = 1;
        while (schedule.AllowsAnotherAttempt(attempts)) attempts++;
        Assert.Equal(1 + retryCount, attempts);
    }

    [Fact]
    public void DelayBeforeRetry_doubles_from_the_delay()
    {
        var schedule = new RetrySchedule(5, TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(1), schedule.DelayBeforeRetry(1));
        Assert.Equal(TimeSpan.FromSeconds(2), schedule.DelayBeforeRetry(2));
        Assert.Equal(TimeSpan.FromSeconds(4), schedule.DelayBeforeRetry(3));
        Assert.Equal(TimeSpan.FromSeconds(8), schedule.DelayBeforeRetry(4));

        var small = new RetrySchedule(5, TimeSpan.FromMilliseconds(250));
        Assert.Equal(TimeSpan.FromMilliseconds(250), small.DelayBeforeRetry(1));
        Assert.Equal(TimeSpan.FromMilliseconds(500), small.DelayBeforeRetry(2));
    }

    [Fact]
    public void DelayBeforeRetry_is_capped_at_ten_minutes()
    {
        var schedule = new RetrySchedule(100, TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(512), schedule.DelayBeforeRetry(10)); // below the cap
        Assert.Equal(TimeSpan.FromMinutes(10), schedule.DelayBeforeRetry(11)); // 1024 s
        Assert.Equal(TimeSpan.FromMinutes(10), schedule.DelayBeforeRetry(40));
        Assert.Equal(TimeSpan.FromMinutes(10), schedule.DelayBeforeRetry(int.MaxValue));
        Assert.Equal(TimeSpan.FromMinutes(10), new RetrySchedule(1, TimeSpan.FromHours(1)).DelayBeforeRetry(1));
    }

    [Fact]
    public void Delays_never_decrease()
    {
        var schedule = new RetrySchedule(100, TimeSpan.FromMilliseconds(3));
        var previous = TimeSpan.Zero;
        for (int retry = 1; retry < 100; retry++)
        {
            var delay = schedule.DelayBeforeRetry(retry);
            Assert.True(delay >= previous, $"retry {retry}: {delay} < {previous}");
            Assert.True(delay <= TimeSpan.FromMinutes(10));
            previous = delay;
        }
    }

    [Fact]
    public void Zero_delay_retries_at_once()
    {
        var schedule = new RetrySchedule(3, TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, schedule.DelayBeforeRetry(1));
        Assert.Equal(TimeSpan.Zero, schedule.DelayBeforeRetry(3));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void DelayBeforeRetry_rejects_a_retry_number_below_one(int retry)
    {
        var schedule = new RetrySchedule(3, TimeSpan.FromSeconds(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.DelayBeforeRetry(retry));
    }
}
