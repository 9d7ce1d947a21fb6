using PSParallel.Engine.Scheduling;
using Xunit;

namespace PSParallel.Tests;

public class ChunkSizerTests
{
    [Fact]
    public void One_item_at_a_time_before_any_measurement()
    {
        var sizer = new ChunkSizer(256);
        Assert.Equal(1, sizer.NextSize(queued: 10_000, lanes: 4));
        Assert.Equal(1, sizer.NextSize(queued: 0, lanes: 1));
    }

    [Fact]
    public void Grows_for_tiny_items()
    {
        var sizer = new ChunkSizer(256);
        for (int i = 0; i < 20; i++) sizer.Observe(TimeSpan.FromMicroseconds(5));
        int size = sizer.NextSize(queued: 100_000, lanes: 4);
        Assert.True(size > 1, $"size {size}");
        Assert.Equal(256, size); // 10 ms / 5 µs = 2000, capped by max
    }

    [Fact]
    public void Never_above_the_fair_share_of_the_queue()
    {
        var sizer = new ChunkSizer(256);
        sizer.Observe(TimeSpan.FromMicroseconds(1));
        Assert.Equal(25, sizer.NextSize(queued: 100, lanes: 4));
        Assert.Equal(26, sizer.NextSize(queued: 101, lanes: 4)); // rounded up
        Assert.Equal(3, sizer.NextSize(queued: 10, lanes: 4));
        Assert.Equal(1, sizer.NextSize(queued: 3, lanes: 4));
        Assert.Equal(1, sizer.NextSize(queued: 0, lanes: 4));
        for (int queued = 0; queued < 2000; queued += 7)
            for (int lanes = 1; lanes <= 33; lanes += 4)
            {
                int size = sizer.NextSize(queued, lanes);
                Assert.InRange(size, 1, Math.Max(1, (queued + lanes - 1) / lanes));
            }
    }

    [Fact]
    public void Never_above_max()
    {
        foreach (int max in new[] { 1, 2, 17, 256 })
        {
            var sizer = new ChunkSizer(max);
            sizer.Observe(TimeSpan.FromTicks(1));
            Assert.InRange(sizer.NextSize(queued: 1_000_000, lanes: 1), 1, max);
            Assert.Equal(max, sizer.NextSize(queued: 1_000_000, lanes: 1));
        }
        Assert.Equal(1, new ChunkSizer(0).NextSize(1000, 1)); // a max below 1 means 1
    }

    [Fact]
    public void One_at_a_time_for_slow_items()
    {
        var sizer = new ChunkSizer(256);
        for (int i = 0; i < 5; i++) sizer.Observe(TimeSpan.FromMilliseconds(50));
        Assert.Equal(1, sizer.NextSize(queued: 100_000, lanes: 2));

        sizer = new ChunkSizer(256);
        sizer.Observe(TimeSpan.FromSeconds(1));
        Assert.Equal(1, sizer.NextSize(queued: 100_000, lanes: 2));
    }

    [Fact]
    public void Shrinks_again_when_items_become_slow()
    {
        var sizer = new ChunkSizer(256);
        for (int i = 0; i < 10; i++) sizer.Observe(TimeSpan.FromMicroseconds(10));
        Assert.True(sizer.NextSize(100_000, 2) > 100);
        for (int i = 0; i < 100; i++) sizer.Observe(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, sizer.NextSize(100_000, 2));
    }
}
