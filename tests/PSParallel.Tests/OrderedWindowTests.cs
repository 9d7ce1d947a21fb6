using PSParallel.Engine.Attempts;
using PSParallel.Engine.Scheduling;
using Xunit;

namespace PSParallel.Tests;

public class OrderedWindowTests
{
    private static WorkItem Item(long index) => new(index, $"input-{index}");

    [Fact]
    public void Releases_in_index_order_whatever_the_settle_order()
    {
        var random = new Random(12345);
        for (int round = 0; round < 200; round++)
        {
            int n = random.Next(1, 60);
            var order = Enumerable.Range(0, n).OrderBy(_ => random.Next()).ToArray();
            var window = new OrderedWindow();
            var released = new List<long>();
            int added = 0;
            foreach (int index in order)
            {
                released.AddRange(window.Release(Item(index)).Select(i => i.Index));
                added++;
                // Whatever is released is a prefix of 0..n-1; the rest is held until its turn (released at the end).
                Assert.Equal(Enumerable.Range(0, released.Count).Select(i => (long)i), released);
            }
            Assert.Equal(Enumerable.Range(0, n).Select(i => (long)i), released);
        }
    }

    [Fact]
    public void Holds_later_items_until_the_earlier_one_arrives()
    {
        var window = new OrderedWindow();
        Assert.Empty(window.Release(Item(1)).ToList());
        Assert.Empty(window.Release(Item(2)).ToList());
        Assert.Empty(window.Release(Item(4)).ToList());

        var ready = window.Release(Item(0)).ToList();
        Assert.Equal(new long[] { 0, 1, 2 }, ready.Select(i => i.Index));
        Assert.Equal("input-1", ready[1].Input);

        Assert.Equal(new long[] { 3, 4 }, window.Release(Item(3)).Select(i => i.Index).ToList());
    }

    [Fact]
    public void In_order_items_pass_straight_through()
    {
        var window = new OrderedWindow();
        for (int i = 0; i < 1000; i++)
        {
            var ready = window.Release(Item(i)).ToList();
            Assert.Single(ready);
            Assert.Equal(i, ready[0].Index);
        }
    }

    [Fact]
    public void Holds_everything_behind_one_gap_and_releases_it_at_once()
    {
        // Item 0 arrives last: the window holds everything else, never more.
        const int n = 500;
        var window = new OrderedWindow();
        for (int i = 1; i < n; i++)
        {
            Assert.Empty(window.Release(Item(i)).ToList());
        }
        Assert.Equal(n, window.Release(Item(0)).Count());
    }
}
