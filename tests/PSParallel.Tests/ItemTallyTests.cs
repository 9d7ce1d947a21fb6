using PSParallel.Engine.Attempts;
using Xunit;

namespace PSParallel.Tests;

public class ItemTallyTests
{
    [Fact]
    public void Counts_each_status_separately()
    {
        var tally = new ItemTally();
        var counts = new Dictionary<ItemStatus, int>
        {
            [ItemStatus.Succeeded] = 7, [ItemStatus.Failed] = 3, [ItemStatus.TimedOut] = 2,
            [ItemStatus.Cancelled] = 5, [ItemStatus.Skipped] = 11,
        };
        foreach (var (status, n) in counts)
            for (int i = 0; i < n; i++) tally.Count(status);

        foreach (var (status, n) in counts) Assert.Equal(n, tally[status]);
        Assert.Equal(28, counts.Keys.Sum(status => tally[status]));
        Assert.Equal(5, tally.Failures); // Failed + TimedOut
    }

    [Fact]
    public void Empty_tally_is_all_zero()
    {
        var tally = new ItemTally();
        foreach (var status in Enum.GetValues<ItemStatus>()) Assert.Equal(0, tally[status]);
        Assert.Equal(0, tally.Failures);
        var summary = tally.ToSummary("Thread", 4, TimeSpan.Zero, 0);
        Assert.Equal(0, summary.Total);
        Assert.Equal(0, summary.ItemsPerSecond);
    }

    [Fact]
    public void ToSummary_carries_every_count_and_Total_is_their_sum()
    {
        var tally = new ItemTally();
        tally.Count(ItemStatus.Succeeded);
        tally.Count(ItemStatus.Succeeded);
        tally.Count(ItemStatus.Failed);
        tally.Count(ItemStatus.TimedOut);
        tally.Count(ItemStatus.Cancelled);
        tally.Count(ItemStatus.Skipped);
        tally.Count(ItemStatus.Skipped);
        tally.Count(ItemStatus.Skipped);

        var summary = tally.ToSummary("Process", 3, TimeSpan.FromSeconds(2), 1.5);
        Assert.Equal("Process", summary.Model);
        Assert.Equal(3, summary.ThrottleLimit);
        Assert.Equal(2, summary.Succeeded);
        Assert.Equal(1, summary.Failed);
        Assert.Equal(1, summary.TimedOut);
        Assert.Equal(1, summary.Cancelled);
        Assert.Equal(3, summary.Skipped);
        Assert.Equal(8, summary.Total);
        Assert.Equal(summary.Succeeded + summary.Failed + summary.TimedOut + summary.Cancelled + summary.Skipped, summary.Total);
        Assert.Equal(TimeSpan.FromSeconds(2), summary.Duration);
        Assert.Equal(4.0, summary.ItemsPerSecond, 6);
        Assert.Equal(1.5, summary.CpuSeconds);
    }

    [Fact]
    public void Concurrent_counts_are_not_lost()
    {
        var tally = new ItemTally();
        var statuses = Enum.GetValues<ItemStatus>();
        const int perStatus = 20_000;
        Parallel.For(0, perStatus * statuses.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            i => tally.Count(statuses[i % statuses.Length]));
        foreach (var status in statuses) Assert.Equal(perStatus, tally[status]);
        Assert.Equal(perStatus * statuses.Length, tally.ToSummary("Thread", 1, TimeSpan.FromSeconds(1), 0).Total);
    }
}
