using System.Collections.Concurrent;
using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Scheduling;
using Xunit;
using PSParallel.Engine.Lanes.Workloads;
using PSParallel.Engine.Protocol;

namespace PSParallel.Tests;

/// <summary>The batch controls as engine policies: halt on failures (more to come with pacing and relative timeouts).</summary>
public class BatchControlsTests
{
    private static BatchOptions Options(int throttle = 1, int maxFailures = 0, double maxPercent = 0, int retry = 0,
        double retryDelayMs = 10) => new()
    {
        ThrottleLimit = throttle,
        MaxFailures = maxFailures,
        MaxFailurePercent = maxPercent,
        RetryCount = retry,
        RetryDelay = TimeSpan.FromMilliseconds(retryDelayMs),
        Activity = "Test",
    };

    private static void AssertHalted(Drive.Outcome run, string limit)
    {
        var fault = Assert.IsType<BatchFaultedException>(run.Error);
        Assert.Equal("FailureLimitReached", fault.ErrorRecord.FullyQualifiedErrorId);
        Assert.Contains(limit, fault.Message);
        Assert.Contains(limit, run.Summary.HaltReason);
    }

    [Theory]
    [InlineData(typeof(StepWorkload))]
    [InlineData(typeof(AsyncStepWorkload))]
    public void MaxFailures_stops_starting_items_once_reached_and_skips_the_rest(Type workload)
    {
        var failing = new HashSet<int> { 5, 10, 15, 20 };
        var inputs = Enumerable.Range(0, 50).Select(i => failing.Contains(i) ? Step.Fail(i) : Step.Echo(i)).ToList();
        var run = Drive.Run(Options(throttle: 1, maxFailures: 3), workload, inputs, asResult: true);

        AssertHalted(run, "-MaxFailures 3");
        Drive.AssertAccounted(run.Summary, 50);
        // One lane: item 15 is the third failure; nothing after it starts.
        Assert.All(inputs.Where(s => s.Value <= 15), s => Assert.Equal(1, s.Calls));
        Assert.All(inputs.Where(s => s.Value > 15), s => Assert.Equal(0, s.Calls));
        Drive.AssertCounts(run, succeeded: 13, failed: 3, skipped: 34);
        Assert.All(run.Sink.Results.Where(r => r.Status == ItemStatus.Skipped), r => Assert.Equal("halted", r.SkipReason));
        Assert.Equal(3, run.Sink.Errors.Count); // the items' own errors; the halt is thrown
    }

    [Fact]
    public void MaxFailurePercent_is_judged_once_ten_items_finished()
    {
        // Every second item fails: 50 % from the start, but nothing halts before 10 have finished.
        var inputs = Enumerable.Range(0, 40).Select(i => i % 2 == 1 ? Step.Fail(i) : Step.Echo(i)).ToList();
        var run = Drive.Run(Options(throttle: 1, maxPercent: 40), typeof(StepWorkload), inputs);

        AssertHalted(run, "-MaxFailurePercent 40");
        Assert.Equal(10, inputs.Count(s => s.Calls > 0));
        Drive.AssertCounts(run, succeeded: 5, failed: 5, skipped: 30);
        Assert.Contains("5 of the 10 items", run.Summary.HaltReason);
    }

    [Fact]
    public void A_percentage_below_the_limit_does_not_halt()
    {
        // Lanes finish items out of order, so the 4 failures may be the first to settle: 4 of the first
        // 10 is 40 %, which the limit must stay above for the test not to depend on that order.
        var inputs = Enumerable.Range(0, 40).Select(i => i % 10 == 0 ? Step.Fail(i) : Step.Echo(i)).ToList();
        var run = Drive.Run(Options(throttle: 3, maxPercent: 45, maxFailures: 5), typeof(StepWorkload), inputs);
        Assert.Null(run.Error);
        Drive.AssertCounts(run, succeeded: 36, failed: 4);
        Assert.Equal("", run.Summary.HaltReason);
    }

    [Fact]
    public void Running_items_finish_and_no_item_begins_after_the_halt_on_several_lanes()
    {
        // Items record the order in which they began; the failures are known items.
        var order = new ConcurrentQueue<int>();
        int failuresSeen = 0;
        int beganAfterLimit = 0;
        var inputs = Enumerable.Range(0, 200).Select(i => new Step(i, (s, _, _) =>
        {
            if (Volatile.Read(ref failuresSeen) >= 3) Interlocked.Increment(ref beganAfterLimit);
            order.Enqueue(s.Value);
            Thread.Sleep(5);
            if (s.Value % 20 == 7)
            {
                Interlocked.Increment(ref failuresSeen);
                throw new InvalidOperationException($"bad {s.Value}");
            }
            return s.Value;
        })).ToList();
        var run = Drive.Run(Options(throttle: 4, maxFailures: 3), typeof(StepWorkload), inputs, asResult: true);

        AssertHalted(run, "-MaxFailures 3");
        Drive.AssertAccounted(run.Summary, 200);
        // An item that began ran to its end (never reported Skipped); an item reported Skipped never began.
        var results = run.Sink.Results.ToDictionary(r => r.Index);
        Assert.All(inputs, s => Assert.Equal(s.Calls > 0, results[s.Value].Status != ItemStatus.Skipped));
        // Items may begin while the third failure is being reported (up to one per other lane), not after.
        Assert.True(beganAfterLimit <= 3, $"{beganAfterLimit} items began after the third failure");
        Assert.True(run.Summary.Skipped > 100);
    }

    [Fact]
    public void An_item_waiting_for_a_retry_at_the_halt_settles_with_its_failure()
    {
        // Item 0 fails at once and again on its retry 1 s later: that settles it and halts the batch.
        // Item 1 failed 0.4 s in, so at the halt it waits for its own retry: it is not run again and
        // ends Failed with its error, not Skipped.
        var slowFail = new Step(1, (s, call, _) =>
        {
            Thread.Sleep(400);
            throw new InvalidOperationException($"slow {s.Value} attempt {call}");
        });
        var inputs = new[] { Step.Fail(0), slowFail }.Concat(Enumerable.Range(2, 10).Select(Step.Echo)).ToList();
        var run = Drive.Run(Options(throttle: 2, maxFailures: 1, retry: 1, retryDelayMs: 1000), typeof(StepWorkload), inputs, asResult: true);
        AssertHalted(run, "-MaxFailures 1");
        Assert.Equal(1, slowFail.Calls);
        var waiting = run.Sink.Results.Single(r => r.Index == 1);
        Assert.Equal(ItemStatus.Failed, waiting.Status);
        Assert.Null(waiting.SkipReason);
        Assert.Contains("slow 1 attempt 1", Assert.Single(waiting.Errors).Exception.Message);
        Drive.AssertCounts(run, succeeded: 10, failed: 2);
    }

    [Fact]
    public void Lanes_that_start_items_ahead_get_one_item_at_a_time_and_what_they_were_handed_is_reported_honestly()
    {
        // Like a worker process: the lane starts every item it is handed, then reports the start.
        var started = new ConcurrentBag<long>();
        var chunkSizes = new ConcurrentBag<int>();
        var executor = new FakeExecutor(async (lane, chunk, sink, token) =>
        {
            chunkSizes.Add(chunk.Count);
            foreach (var item in chunk)
            {
                started.Add(item.Index);
                await Task.Delay(3, CancellationToken.None);
                if (!sink.TryBegin(item)) continue;
                await Task.Delay(2, CancellationToken.None);
                sink.End(item, item.Index % 10 == 4
                    ? AttemptOutcome.Failed(new ErrorRecord(new Exception("bad"), "Bad", ErrorCategory.NotSpecified, null))
                    : new AttemptOutcome(new object?[] { item.Index }, Array.Empty<ErrorRecord>()));
            }
        }) { StartsItemsAhead = true };
        // Even a fixed chunk size (-ChunkSize) gives way to one item at a time.
        var run = Drive.Run(new BatchOptions
        {
            ThrottleLimit = 3, MaxFailures = 2, FixedChunkSize = 50, MaxChunkSize = 50, Activity = "Test",
        }, executor, Enumerable.Range(0, 300).Cast<object?>(), asResult: true);

        AssertHalted(run, "-MaxFailures 2");
        Assert.All(chunkSizes, size => Assert.Equal(1, size));
        var results = run.Sink.Results.ToDictionary(r => r.Index);
        Assert.All(started, index => Assert.NotEqual(ItemStatus.Skipped, results[index].Status));
        Assert.Equal(300 - started.Count, run.Summary.Skipped);
    }

    [Fact]
    public void Input_that_comes_after_the_halt_is_not_taken_and_the_halt_is_thrown()
    {
        var sink = new RecordingSink();
        using var runner = new BatchRunner(Options(throttle: 2, maxFailures: 1), new PSParallel.Engine.Lanes.Workloads.WorkloadExecutor(typeof(StepWorkload), 2), sink, asResult: true);
        runner.Add(Step.Fail(0));
        var error = Assert.Throws<BatchFaultedException>(() =>
        {
            for (int i = 1; i < 100_000; i++)
            {
                runner.Add(Step.Sleep(i, 1));
                if (i > 50_000) throw new InvalidOperationException("still taking input");
            }
        });
        Assert.Equal("FailureLimitReached", error.ErrorRecord.FullyQualifiedErrorId);
        var summary = runner.Summary();
        Assert.Equal(1, summary.Failed);
        Assert.Equal(summary.Total, summary.Failed + summary.Succeeded + summary.Skipped);
    }

    // ---- -MaxPerSecond ------------------------------------------------------------------------

    /// <summary>The most starts any window of <paramref name="window"/> holds, from the start times.</summary>
    private static int MostStartsInWindow(IEnumerable<long> startTimestamps, TimeSpan window)
    {
        var starts = startTimestamps.OrderBy(t => t).ToArray();
        long span = (long)(window.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        int most = 0;
        for (int i = 0, j = 0; i < starts.Length; i++)
        {
            while (starts[i] - starts[j] >= span) j++;
            most = Math.Max(most, i - j + 1);
        }
        return most;
    }

    [Fact]
    public void MaxPerSecond_spaces_starts_evenly_across_lanes()
    {
        var starts = new ConcurrentBag<long>();
        var inputs = Enumerable.Range(0, 31).Select(i => new Step(i, (s, _, _) =>
        {
            starts.Add(System.Diagnostics.Stopwatch.GetTimestamp());
            return s.Value;
        })).ToList();
        var options = new BatchOptions { ThrottleLimit = 4, MaxPerSecond = 20, Activity = "Test" };
        var run = Drive.Run(options, typeof(StepWorkload), inputs).Ok();

        Assert.Equal(31, run.Summary.Succeeded);
        // 31 starts 50 ms apart: 1.5 s from the first to the last, never more than 21 in a second.
        Assert.InRange(run.Elapsed.TotalSeconds, 1.45, 3.0);
        Assert.True(MostStartsInWindow(starts, TimeSpan.FromSeconds(1)) <= 21, $"{MostStartsInWindow(starts, TimeSpan.FromSeconds(1))} starts in one second");
        Assert.True(MostStartsInWindow(starts, TimeSpan.FromMilliseconds(250)) <= 6, "no bursts within the second");
    }

    [Fact]
    public void MaxPerSecond_paces_retries_too_and_lanes_that_start_ahead()
    {
        var starts = new ConcurrentBag<long>();
        var executor = new FakeExecutor(async (lane, chunk, sink, token) =>
        {
            Assert.Single(chunk);
            foreach (var item in chunk)
            {
                starts.Add(System.Diagnostics.Stopwatch.GetTimestamp());
                await Task.Yield();
                if (!sink.TryBegin(item)) continue;
                sink.End(item, item.Attempts == 1
                    ? AttemptOutcome.Failed(new ErrorRecord(new Exception("once"), "Once", ErrorCategory.NotSpecified, null))
                    : new AttemptOutcome(new object?[] { item.Input }, Array.Empty<ErrorRecord>()));
            }
        }) { StartsItemsAhead = true };
        var options = new BatchOptions
        {
            ThrottleLimit = 3, MaxPerSecond = 25, RetryCount = 1, RetryDelay = TimeSpan.Zero, FixedChunkSize = 20, MaxChunkSize = 20,
            Activity = "Test",
        };
        var run = Drive.Run(options, executor, Enumerable.Range(0, 15).Cast<object?>()).Ok();

        Assert.Equal(15, run.Summary.Succeeded);
        Assert.Equal(30, starts.Count); // every item twice
        Assert.InRange(run.Elapsed.TotalSeconds, 1.1, 3.0); // 30 starts 40 ms apart
        // Such a lane starts an item when it arrives: hand-outs are paced, the delivery adds its jitter.
        Assert.True(MostStartsInWindow(starts, TimeSpan.FromSeconds(1)) <= 27);
    }

    [Fact]
    public void A_stop_does_not_wait_for_paced_turns()
    {
        var options = new BatchOptions { ThrottleLimit = 4, MaxPerSecond = 1, Activity = "Test" };
        var run = Drive.Run(options, typeof(EchoWorkload), Enumerable.Range(0, 100).Cast<object?>(), started: runner =>
            Task.Run(async () =>
            {
                await Task.Delay(1500);
                runner.Stop();
            }));
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(5), $"took {run.Elapsed}");
        Drive.AssertAccounted(run.Summary, 100);
        Assert.InRange(run.Summary.Succeeded, 1, 3);
    }

    // ---- -ItemTimeoutFactor -------------------------------------------------------------------

    [Fact]
    public void RunningMedian_gives_the_median_of_what_it_was_given()
    {
        var median = new RunningMedian();
        Assert.Equal(0, median.Read().Count);
        var values = new[] { 9, 1, 7, 3, 5, 100, 2 };
        var seen = new List<int>();
        foreach (var v in values)
        {
            median.Add(TimeSpan.FromMilliseconds(v));
            seen.Add(v);
            var sorted = seen.OrderBy(x => x).ToArray();
            double expected = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2.0;
            Assert.Equal(expected, median.Read().Median.TotalMilliseconds, 3);
        }
        Assert.Equal(7, median.Read().Count);
    }

    private static BatchOptions FactorOptions(int throttle, double factor, int retry = 0) => new()
    {
        ThrottleLimit = throttle, ItemTimeoutFactor = factor, RetryCount = retry, RetryDelay = TimeSpan.FromMilliseconds(10), Activity = "Test",
    };

    [Theory]
    [InlineData(typeof(StepWorkload))]
    [InlineData(typeof(AsyncStepWorkload))]
    public void ItemTimeoutFactor_stops_the_one_slow_item_among_fast_ones(Type workload)
    {
        using var gate = new Gate();
        var inputs = Enumerable.Range(0, 24).Select(i => i == 12 ? Step.Cancellable(i, gate) : Step.Sleep(i, 60)).ToList();
        // Factor 10: a 60 ms item delayed by a busy machine must not pass for the slow one.
        var run = Drive.Run(FactorOptions(throttle: 3, factor: 10), workload, inputs, asResult: true).Ok();

        Assert.True(run.Elapsed < TimeSpan.FromSeconds(8), $"took {run.Elapsed}");
        Drive.AssertCounts(run, succeeded: 23, timedOut: 1);
        var slow = run.Sink.Results.Single(r => r.Index == 12);
        Assert.Equal(ItemStatus.TimedOut, slow.Status);
        var error = Assert.Single(slow.Errors);
        Assert.Equal("ItemTimedOut", error.FullyQualifiedErrorId);
        Assert.Contains("-ItemTimeoutFactor 10", error.Exception.Message);
        Assert.Contains("median", error.Exception.Message);
    }

    [Fact]
    public void ItemTimeoutFactor_waits_for_five_items_to_succeed()
    {
        // The first item is slow, but nothing has finished yet to compare it with.
        var inputs = new[] { Step.Sleep(0, 400) }.Concat(Enumerable.Range(1, 10).Select(i => Step.Sleep(i, 20))).ToList();
        var run = Drive.Run(FactorOptions(throttle: 1, factor: 2), typeof(StepWorkload), inputs).Ok();
        Drive.AssertCounts(run, succeeded: 11);
    }

    [Fact]
    public void A_slow_attempt_stopped_by_the_factor_is_retried_when_asked()
    {
        using var gate = new Gate();
        var slowOnce = new Step(8, (s, call, token) =>
        {
            if (call == 1) gate.Open.Wait(TimeSpan.FromSeconds(20), token);
            return s.Value;
        });
        var inputs = Enumerable.Range(0, 16).Select(i => i == 8 ? slowOnce : Step.Sleep(i, 30)).ToList();
        var run = Drive.Run(FactorOptions(throttle: 2, factor: 4, retry: 1), typeof(StepWorkload), inputs, asResult: true).Ok();
        Drive.AssertCounts(run, succeeded: 16);
        var retried = run.Sink.Results.Single(r => r.Index == 8);
        Assert.Equal(2, retried.Attempts);
        Assert.Equal(new object?[] { 8 }, retried.Output);
    }
}
