using PSParallel.Engine.Lanes;
using PSParallel.Engine.Scheduling;
using Xunit;

namespace PSParallel.Tests;

public class LanePoolTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    /// <summary>Lanes from a <see cref="FakeExecutor"/>; each opening waits for the gate while it is closed.</summary>
    private sealed class Opener
    {
        private readonly FakeExecutor _executor = new((_, _, _, _) => Task.CompletedTask);
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;

        public Opener(bool gated = false)
        {
            if (!gated) _gate.SetResult();
        }

        public int Started => Volatile.Read(ref _started);
        public int Created => _executor.LanesCreated;
        public List<FakeExecutor.FakeLane> Made { get; } = new();

        public void OpenGate() => _gate.TrySetResult();

        public async Task<ILane> OpenAsync(CancellationToken token)
        {
            Interlocked.Increment(ref _started);
            await _gate.Task.WaitAsync(token);
            var lane = (FakeExecutor.FakeLane)await _executor.CreateLaneAsync(token);
            lock (Made) Made.Add(lane);
            return lane;
        }
    }

    /// <summary>Stands in for the runner's queue: a claim takes one item.</summary>
    private sealed class Work
    {
        private int _queued;
        public Work(int queued) => _queued = queued;

        public int Queued() => Volatile.Read(ref _queued);
        public void Add(int items) => Interlocked.Add(ref _queued, items);

        public bool Claim(PooledLane lane)
        {
            int seen;
            do
            {
                seen = Volatile.Read(ref _queued);
                if (seen == 0) return false;
            } while (Interlocked.CompareExchange(ref _queued, seen - 1, seen) != seen);
            return true;
        }
    }

    private static LanePool Pool(Opener opener, int limit = 4, int maxOpening = 4, int maxItemsPerLane = 0) =>
        new(opener.OpenAsync, limit, maxOpening, maxItemsPerLane);

    private static Task<PooledLane?> Rent(LanePool pool, Work work, CancellationToken token = default) =>
        pool.RentAsync(work.Queued, work.Claim, token);

    private static FakeExecutor.FakeLane Fake(PooledLane? lane) => (FakeExecutor.FakeLane)lane!.Lane;

    /// <summary>Gives pending continuations a moment, then asserts the task is still waiting.</summary>
    private static async Task AssertWaiting(Task task)
    {
        await Task.Delay(100);
        Assert.False(task.IsCompleted, "the rent should still be waiting");
    }

    [Fact]
    public async Task An_idle_lane_is_reused_instead_of_opening_another()
    {
        var opener = new Opener();
        using var pool = Pool(opener);
        var work = new Work(10);
        var first = await Rent(pool, work);
        pool.Return(first!, itemsRun: 5, usable: true);

        var second = await Rent(pool, work);

        Assert.Same(first, second);
        Assert.Equal(1, opener.Created);
        Assert.Equal(5, second!.ItemsRun);
        Assert.Equal(8, work.Queued());
    }

    [Fact]
    public async Task No_lane_is_lent_or_opened_when_no_work_is_queued()
    {
        var opener = new Opener();
        using var pool = Pool(opener);
        Assert.Null(await Rent(pool, new Work(0)));
        Assert.Equal(0, opener.Started);
    }

    [Fact]
    public async Task While_a_lane_opens_for_the_only_queued_item_another_rent_opens_none()
    {
        var opener = new Opener(gated: true);
        using var pool = Pool(opener);
        var work = new Work(1);
        var opening = Rent(pool, work);
        var other = Rent(pool, work);
        await AssertWaiting(other);
        Assert.Equal(1, opener.Started);

        opener.OpenGate();

        Assert.NotNull(await opening.WaitAsync(Soon));
        Assert.Null(await other.WaitAsync(Soon)); // the item went to the opened lane: nothing left
        Assert.Equal(1, opener.Created);
    }

    [Fact]
    public async Task A_long_queue_opens_lanes_in_parallel_but_no_more_at_once_than_maxOpening()
    {
        var opener = new Opener(gated: true);
        using var pool = Pool(opener, limit: 10, maxOpening: 3);
        var work = new Work(100);
        var rents = Enumerable.Range(0, 6).Select(_ => Rent(pool, work)).ToList();
        await AssertWaiting(Task.WhenAll(rents));
        Assert.Equal(3, opener.Started);

        opener.OpenGate();
        var lanes = await Task.WhenAll(rents).WaitAsync(Soon);

        Assert.Equal(6, lanes.Distinct().Count());
        Assert.Equal(6, pool.OpenCount);
    }

    [Fact]
    public async Task Lanes_open_or_opening_never_exceed_the_limit()
    {
        var opener = new Opener();
        using var pool = Pool(opener, limit: 2);
        var work = new Work(100);
        var a = await Rent(pool, work);
        var b = await Rent(pool, work);
        var third = Rent(pool, work);
        await AssertWaiting(third);

        pool.Return(b!, itemsRun: 1, usable: true);

        Assert.Same(b, await third.WaitAsync(Soon));
        Assert.Equal(2, opener.Created);
        Assert.NotSame(a, b);
    }

    [Fact]
    public async Task Queued_work_wakes_a_waiting_rent_so_it_may_open_a_lane()
    {
        var opener = new Opener(gated: true);
        using var pool = Pool(opener);
        var work = new Work(1);
        _ = Rent(pool, work);
        var second = Rent(pool, work);
        await AssertWaiting(second);
        Assert.Equal(1, opener.Started);

        work.Add(4);
        pool.WorkQueued();
        // The woken rent opens its lane on another thread: wait for it (generously, for a busy machine).
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); opener.Started < 2 && waited.Elapsed < TimeSpan.FromSeconds(10);)
            await Task.Delay(10);

        Assert.Equal(2, opener.Started);
    }

    [Fact]
    public async Task A_broken_lane_is_disposed_and_the_next_rent_opens_a_new_one()
    {
        var opener = new Opener();
        using var pool = Pool(opener);
        var work = new Work(10);
        var broken = await Rent(pool, work);
        pool.Return(broken!, itemsRun: 1, usable: false);

        var next = await Rent(pool, work);

        Assert.True(Fake(broken).IsDisposed);
        Assert.NotSame(broken, next);
        Assert.Equal(1, pool.OpenCount);
    }

    [Fact]
    public async Task A_lane_that_ran_its_maximum_of_items_is_replaced()
    {
        var opener = new Opener();
        using var pool = Pool(opener, maxItemsPerLane: 3);
        var work = new Work(10);
        var lane = await Rent(pool, work);
        Assert.Equal(3, lane!.ItemsLeft);
        pool.Return(lane, itemsRun: 2, usable: true);
        Assert.Same(lane, await Rent(pool, work));
        Assert.Equal(1, lane.ItemsLeft);
        pool.Return(lane, itemsRun: 1, usable: true);

        var next = await Rent(pool, work);

        Assert.True(Fake(lane).IsDisposed);
        Assert.NotSame(lane, next);
    }

    [Fact]
    public async Task An_opened_lane_with_nothing_left_to_claim_stays_idle_for_the_next_rent()
    {
        var opener = new Opener(gated: true);
        using var pool = Pool(opener);
        var work = new Work(1);
        var opening = Rent(pool, work);
        await AssertWaiting(opening);
        Assert.True(work.Claim(null!)); // another lane took the item meanwhile

        opener.OpenGate();
        Assert.Null(await opening.WaitAsync(Soon));
        work.Add(1);

        Assert.Same(Assert.Single(opener.Made), (await Rent(pool, work))!.Lane);
        Assert.Equal(1, pool.OpenCount);
    }

    [Fact]
    public async Task Dispose_disposes_idle_and_lent_lanes_and_one_that_finishes_opening_later()
    {
        var opener = new Opener();
        var pool = Pool(opener, limit: 3);
        var work = new Work(10);
        var idle = await Rent(pool, work);
        var lent = await Rent(pool, work);
        pool.Return(idle!, itemsRun: 1, usable: true);
        var slowOpener = new Opener(gated: true);
        var slowPool = Pool(slowOpener);
        var opening = Rent(slowPool, work);
        await AssertWaiting(opening);

        pool.Dispose();
        slowPool.Dispose();
        slowOpener.OpenGate();

        Assert.True(Fake(idle).IsDisposed);
        Assert.True(Fake(lent).IsDisposed);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => opening.WaitAsync(Soon));
        Assert.True(Assert.Single(slowOpener.Made).IsDisposed);
        Assert.Equal(0, slowPool.OpenCount);
        pool.Return(lent!, itemsRun: 1, usable: true); // a slot giving its lane back late is harmless
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rent(pool, work));
    }

    [Fact]
    public async Task A_waiting_rent_ends_when_its_token_is_cancelled()
    {
        var opener = new Opener(gated: true);
        using var pool = Pool(opener, limit: 1);
        var work = new Work(10);
        _ = Rent(pool, work);
        using var stop = new CancellationTokenSource();
        var waiting = Rent(pool, work, stop.Token);
        await AssertWaiting(waiting);

        stop.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Soon));
    }
}
