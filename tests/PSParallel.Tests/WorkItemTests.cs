using System.Diagnostics;
using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Attempts;
using Xunit;

namespace PSParallel.Tests;

public class WorkItemTests
{
    // The chunk run is only stored by the item (so a timeout can abort its lane); null is enough here.
    private static bool Start(WorkItem item, TimeSpan? timeout = null, int worker = 7, string? host = null) =>
        item.TryStartAttempt(null!, worker, host, timeout);

    private const int RaceIterations = 20_000;

    /// <summary>
    /// Runs two actions at (nearly) the same moment, many times: the main thread prepares, releases the
    /// other thread and both act at once; the main thread checks when both are done. The hand-off spins
    /// (falling back to yielding and sleeping, so a busy machine is not starved).
    /// </summary>
    private static int Race(int iterations, Action<int> setup, Action<int> first, Action<int> second, Action<int> check,
        TimeSpan? budget = null)
    {
        const int Finished = int.MinValue;
        int go = -1, done = -1;
        var other = new Thread(() =>
        {
            for (int i = 0; ; i++)
            {
                var spin = new SpinWait();
                int signal;
                while ((signal = Volatile.Read(ref go)) != i && signal != Finished) spin.SpinOnce(sleep1Threshold: -1);
                if (signal == Finished) return;
                second(i);
                Volatile.Write(ref done, i);
            }
        }) { IsBackground = true };
        other.Start();
        var clock = Stopwatch.StartNew();
        int ran = 0;
        try
        {
            for (int i = 0; i < iterations && (budget is null || clock.Elapsed < budget); i++)
            {
                setup(i);
                Volatile.Write(ref go, i);
                first(i);
                var spin = new SpinWait();
                while (Volatile.Read(ref done) != i) spin.SpinOnce(sleep1Threshold: -1);
                check(i);
                ran++;
            }
        }
        finally
        {
            Volatile.Write(ref go, Finished);
        }
        Assert.True(other.Join(TimeSpan.FromSeconds(30)));
        return ran;
    }

    [Fact]
    public void New_item_is_waiting_and_unsettled()
    {
        var item = new WorkItem(3, "x");
        Assert.Equal(3, item.Index);
        Assert.Equal("x", item.Input);
        Assert.Equal(0, item.Attempts);
        Assert.False(item.IsRunning);
        Assert.False(item.IsSettled);
        Assert.Empty(item.Output);
        Assert.Empty(item.Errors);
        Assert.Null(item.StartTime);
    }

    [Fact]
    public void Start_then_close_records_the_attempt()
    {
        var item = new WorkItem(0, 1);
        Assert.True(Start(item, worker: 42));
        Assert.True(item.IsRunning);
        Assert.Equal(1, item.Attempts);
        Assert.Equal(42, item.Worker);
        Assert.NotNull(item.StartTime);
        Assert.False(Start(item)); // already running
        Assert.Equal(1, item.Attempts);

        Assert.True(item.TryCloseAttempt());
        Assert.False(item.IsRunning);
        Assert.False(item.TryCloseAttempt()); // closed once only
        Assert.False(Start(item)); // closed: a new attempt needs ReturnToWaiting
        Assert.True(item.Duration >= TimeSpan.Zero);
    }

    [Fact]
    public void ReturnToWaiting_allows_a_new_attempt_and_Attempts_counts()
    {
        var item = new WorkItem(0, 1);
        for (int attempt = 1; attempt <= 4; attempt++)
        {
            Assert.True(Start(item, worker: attempt));
            Assert.Equal(attempt, item.Attempts);
            Assert.Equal(attempt, item.Worker);
            Assert.True(item.TryCloseAttempt());
            item.ReturnToWaiting();
            Assert.False(item.IsRunning);
        }
        Assert.Equal(4, item.Attempts);
        Assert.True(item.TrySettle(ItemStatus.Failed));
        Assert.Equal(4, item.ToResult().Attempts);
    }

    [Fact]
    public void A_settled_item_cannot_start_an_attempt()
    {
        var item = new WorkItem(0, 1);
        Assert.True(item.TrySettle(ItemStatus.Skipped));
        Assert.False(Start(item));
        item.ReturnToWaiting(); // even if something makes it waiting again
        Assert.False(Start(item));
        Assert.Equal(0, item.Attempts);
        Assert.False(item.IsRunning);
        Assert.Equal(ItemStatus.Skipped, item.Status);
    }

    [Fact]
    public void Only_the_first_settle_counts()
    {
        var item = new WorkItem(0, 1);
        Assert.True(item.TrySettle(ItemStatus.Cancelled));
        Assert.False(item.TrySettle(ItemStatus.Succeeded));
        Assert.Equal(ItemStatus.Cancelled, item.Status);
        Assert.True(item.IsSettled);
    }

    [Fact]
    public void Settling_a_running_item_closes_its_attempt_and_a_late_SetResult_is_ignored()
    {
        var item = new WorkItem(0, "in");
        Assert.True(Start(item));
        Assert.True(item.TrySettle(ItemStatus.Cancelled));
        Assert.False(item.IsRunning);
        Assert.False(item.TryCloseAttempt()); // the lane's late close loses

        item.SetResult(new object?[] { "late" }, new[] { new ErrorRecord(new Exception("late"), "Late", ErrorCategory.NotSpecified, null) });
        Assert.Empty(item.Output);
        Assert.Empty(item.Errors);
        var result = item.ToResult();
        Assert.Equal(ItemStatus.Cancelled, result.Status);
        Assert.Empty(result.Output);
        Assert.Equal(1, result.Attempts);
        Assert.Equal("in", result.Input);
    }

    [Fact]
    public void SetResult_before_settling_is_kept()
    {
        var item = new WorkItem(5, "in");
        Assert.True(Start(item, worker: 9));
        Assert.True(item.TryCloseAttempt());
        item.SetResult(new object?[] { 1, 2 }, Array.Empty<ErrorRecord>());
        Assert.True(item.TrySettle(ItemStatus.Succeeded));
        var result = item.ToResult();
        Assert.Equal(new object?[] { 1, 2 }, result.Output);
        Assert.Equal(5, result.Index);
        Assert.Equal(9, result.Worker);
        Assert.Equal(ItemStatus.Succeeded, result.Status);
    }

    [Fact]
    public void An_item_run_on_a_remote_host_names_its_worker_host_colon_pid()
    {
        var item = new WorkItem(0, "x");
        Assert.True(Start(item, worker: 4242, host: "web1"));
        Assert.True(item.TryCloseAttempt());
        Assert.True(item.TrySettle(ItemStatus.Succeeded));
        Assert.Equal("web1", item.Host);
        Assert.Equal("web1:4242", item.ToResult().Worker);
    }

    [Fact]
    public void DeadlineTimestamp_is_set_from_the_item_timeout()
    {
        var item = new WorkItem(0, 1);
        Assert.True(Start(item, TimeSpan.FromSeconds(2)));
        long expected = item.StartTimestamp + 2 * Stopwatch.Frequency;
        Assert.InRange(item.DeadlineTimestamp, expected - Stopwatch.Frequency / 1000, expected + Stopwatch.Frequency / 1000);

        var untimed = new WorkItem(1, 1);
        Assert.True(Start(untimed, null));
        Assert.Equal(0, untimed.DeadlineTimestamp);

        // Each attempt gets its own deadline.
        Assert.True(item.TryCloseAttempt());
        item.ReturnToWaiting();
        Thread.Sleep(5);
        long first = item.DeadlineTimestamp;
        Assert.True(Start(item, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(item.StartTimestamp + (long)(0.5 * Stopwatch.Frequency), item.DeadlineTimestamp);
        Assert.NotEqual(first, item.DeadlineTimestamp);
    }

    [Fact]
    public void Racing_closers_only_one_closes_the_attempt()
    {
        // The lane that ran the item and the deadline watch both try to close the same attempt.
        WorkItem item = null!;
        bool a = false, b = false;
        Race(RaceIterations,
            setup: i => { item = new WorkItem(i, i); Assert.True(Start(item)); },
            first: _ => a = item.TryCloseAttempt(),
            second: _ => b = item.TryCloseAttempt(),
            check: i => Assert.True(a ^ b, $"iteration {i}: lane {a}, deadline {b}"));
    }

    [Fact]
    public void Racing_close_and_settle_the_attempt_is_closed_once()
    {
        // The lane closes its attempt while Stop settles the item: either the lane closed it (and its
        // result is then dropped by the settle) or the settle did (and the lane's close fails).
        WorkItem item = null!;
        bool closed = false, settled = false;
        int laneWon = 0, stopWon = 0;
        Race(RaceIterations,
            setup: i => { item = new WorkItem(i, i); Assert.True(Start(item)); },
            first: _ =>
            {
                closed = item.TryCloseAttempt();
                if (closed) item.SetResult(new object?[] { "lane" }, Array.Empty<ErrorRecord>());
            },
            second: _ => settled = item.TrySettle(ItemStatus.Cancelled),
            check: i =>
            {
                Assert.True(settled);
                Assert.False(item.IsRunning, $"iteration {i}: still running after close and settle");
                Assert.True(item.IsSettled);
                Assert.Equal(ItemStatus.Cancelled, item.Status);
                Assert.False(item.TryCloseAttempt());
                if (closed) laneWon++; else stopWon++;
            });
        Assert.Equal(RaceIterations, laneWon + stopWon);
    }

    [Fact]
    public void Racing_settles_only_one_wins_and_its_status_stands()
    {
        WorkItem item = null!;
        bool a = false, b = false;
        Race(RaceIterations,
            setup: i => { item = new WorkItem(i, i); Assert.True(Start(item)); },
            first: _ => a = item.TrySettle(ItemStatus.TimedOut),
            second: _ => b = item.TrySettle(ItemStatus.Cancelled),
            check: i =>
            {
                Assert.True(a ^ b, $"iteration {i}: {a} {b}");
                Assert.Equal(a ? ItemStatus.TimedOut : ItemStatus.Cancelled, item.Status);
                Assert.False(item.IsRunning);
            });
    }

    [Fact]
    public void Racing_start_and_settle_a_settled_item_never_runs()
    {
        // A lane starts the item while Stop settles it as never started. Either the start comes first
        // (and the settle closes the attempt) or the settle does (and the start fails): a settled item
        // must never be left running.
        WorkItem item = null!;
        bool started = false, settled = false;
        Race(1_000_000,
            setup: i => item = new WorkItem(i, i),
            first: i => { Thread.SpinWait(i % 7); started = Start(item); },
            second: i => { Thread.SpinWait(i % 11); settled = item.TrySettle(ItemStatus.Skipped); },
            check: i =>
            {
                Assert.True(settled);
                Assert.True(item.IsSettled);
                Assert.False(item.IsRunning, $"iteration {i}: settled item is running (started {started}, attempts {item.Attempts})");
            },
            budget: TimeSpan.FromSeconds(4));
    }

    [Fact]
    public void Parallel_starts_only_one_attempt_opens()
    {
        for (int round = 0; round < 2000; round++)
        {
            var item = new WorkItem(round, round);
            int wins = 0;
            Parallel.For(0, 4, _ => { if (Start(item)) Interlocked.Increment(ref wins); });
            Assert.Equal(1, wins);
            Assert.Equal(1, item.Attempts);
        }
    }
}
