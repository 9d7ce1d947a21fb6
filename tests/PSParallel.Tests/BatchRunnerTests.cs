using System.Diagnostics;
using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Workloads;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Scheduling;
using PSParallel.Engine.Workloads;
using Xunit;

namespace PSParallel.Tests;

public class BatchRunnerTests
{
    private static BatchOptions Options(int throttle = 4, bool ordered = false, int retry = 0, double retryDelayMs = 10,
        double? itemTimeoutSeconds = null, double? batchTimeoutSeconds = null, int maxChunk = 256) => new()
    {
        ThrottleLimit = throttle,
        Ordered = ordered,
        RetryCount = retry,
        RetryDelay = TimeSpan.FromMilliseconds(retryDelayMs),
        ItemTimeout = itemTimeoutSeconds is { } i ? TimeSpan.FromSeconds(i) : null,
        BatchTimeout = batchTimeoutSeconds is { } b ? TimeSpan.FromSeconds(b) : null,
        MaxChunkSize = maxChunk,
        Activity = "Test",
    };

    // ---- success ----------------------------------------------------------------------------------

    [Fact]
    public void Every_item_succeeds_and_is_accounted_for()
    {
        var inputs = Enumerable.Range(0, 2000).Cast<object?>().ToList();
        var run = Drive.Run(Options(throttle: 4), typeof(EchoWorkload), inputs).Ok();

        Assert.Equal(inputs.Cast<int>().OrderBy(x => x), run.Sink.Output.Cast<int>().OrderBy(x => x));
        Assert.Empty(run.Sink.Errors);
        Drive.AssertAccounted(run.Summary, 2000);
        Assert.Equal(2000, run.Summary.Succeeded);
        Assert.Equal("Thread", run.Summary.Model);
        Assert.Equal(4, run.Summary.ThrottleLimit);
        Assert.True(run.Summary.Duration > TimeSpan.Zero);
    }

    [Fact]
    public void Async_builtin_workload_every_item_accounted_for()
    {
        var inputs = Enumerable.Range(0, 60).Select(i => (object?)(i % 5)).ToList();
        var run = Drive.Run(Options(throttle: 8), typeof(SleepWorkload), inputs).Ok();
        Assert.Equal(inputs.Cast<int>().OrderBy(x => x), run.Sink.Output.Cast<int>().OrderBy(x => x));
        Drive.AssertAccounted(run.Summary, 60);
        Assert.Equal(60, run.Summary.Succeeded);
    }

    [Fact]
    public void Builtin_IsPrime_gives_one_result_per_item()
    {
        var inputs = Enumerable.Range(0, 500).Cast<object?>().ToList();
        var run = Drive.Run(Options(throttle: 3, ordered: true), typeof(IsPrimeWorkload), inputs).Ok();
        Assert.Equal(inputs.Cast<int>().Select(n => (object?)IsPrimeWorkload.IsPrime(n)), run.Sink.Output);
        Assert.Equal(95, run.Sink.Output.Count(o => o is true)); // primes below 500
    }

    [Fact]
    public void Empty_input_completes_with_an_empty_summary()
    {
        var run = Drive.Run(Options(), typeof(EchoWorkload), Array.Empty<object?>()).Ok();
        Assert.Empty(run.Sink.Output);
        Assert.Equal(0, run.Summary.Total);
    }

    [Fact]
    public void Null_input_and_null_output_are_accounted_for()
    {
        var run = Drive.Run(Options(), typeof(EchoWorkload), new object?[] { null, 1, null }, asResult: true).Ok();
        Assert.Equal(3, run.Summary.Succeeded);
        var results = run.Sink.Results.OrderBy(r => r.Index).ToList();
        Assert.Null(results[0].Input);
        Assert.Empty(results[0].Output); // a null result is no output
        Assert.Equal(new object?[] { 1 }, results[1].Output);
    }

    [Fact]
    public void AsResult_gives_one_result_per_input_with_its_details()
    {
        var inputs = Enumerable.Range(0, 40).Select(i => (object?)(i % 4 == 3 ? Step.Fail(i) : Step.Echo(i))).ToList();
        var run = Drive.Run(Options(throttle: 3), typeof(StepWorkload), inputs, asResult: true).Ok();

        var results = run.Sink.Results.OrderBy(r => r.Index).ToList();
        Assert.Equal(40, run.Sink.Output.Count);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), results.Select(r => r.Index));
        // With -AsResult errors travel in the result, and still reach the error stream.
        Assert.Equal(10, run.Sink.Errors.Count);
        Assert.All(run.Sink.Errors, e => Assert.Equal(3, ((Step)e.TargetObject).Value % 4));
        foreach (var r in results)
        {
            Assert.Same(inputs[(int)r.Index], r.Input);
            Assert.Equal(1, r.Attempts);
            Assert.NotEqual(0, r.Worker);
            Assert.NotNull(r.StartTime);
            Assert.True(r.Duration >= TimeSpan.Zero);
            if (r.Index % 4 == 3)
            {
                Assert.Equal(ItemStatus.Failed, r.Status);
                Assert.Empty(r.Output);
                var error = Assert.Single(r.Errors);
                Assert.Same(r.Input, error.TargetObject);
            }
            else
            {
                Assert.Equal(ItemStatus.Succeeded, r.Status);
                Assert.Equal(new object?[] { (int)r.Index }, r.Output);
                Assert.Empty(r.Errors);
            }
        }
        Assert.Equal(30, run.Summary.Succeeded);
        Assert.Equal(10, run.Summary.Failed);
    }

    // ---- failure ----------------------------------------------------------------------------------

    [Theory]
    [InlineData(typeof(StepWorkload))]
    [InlineData(typeof(AsyncStepWorkload))]
    public void Failures_are_counted_and_errors_target_the_input(Type workload)
    {
        var inputs = Enumerable.Range(0, 100).Select(i => (object?)(i % 2 == 1 ? Step.Fail(i) : Step.Echo(i))).ToList();
        var run = Drive.Run(Options(throttle: 4), workload, inputs).Ok();

        Drive.AssertAccounted(run.Summary, 100);
        Assert.Equal(50, run.Summary.Succeeded);
        Assert.Equal(50, run.Summary.Failed);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => i * 2), run.Sink.Output.Cast<int>().OrderBy(x => x));
        Assert.Equal(50, run.Sink.Errors.Count);
        var targets = run.Sink.Errors.Select(e => (Step)e.TargetObject).ToList();
        Assert.Equal(inputs.Where((_, i) => i % 2 == 1).Cast<Step>().OrderBy(s => s.Value), targets.OrderBy(s => s.Value));
        foreach (var error in run.Sink.Errors)
        {
            Assert.Equal("InvalidOperationException", error.FullyQualifiedErrorId);
            Assert.IsType<InvalidOperationException>(error.Exception);
            Assert.Equal($"boom {((Step)error.TargetObject).Value} attempt 1", error.Exception.Message);
        }
    }

    [Fact]
    public void An_error_record_keeps_its_id_and_category_but_targets_the_input()
    {
        var run = Drive.Run(Options(throttle: 2), typeof(ErrorRecordWorkload), new object?[] { "a", "b", "c" }).Ok();
        Assert.Equal(3, run.Summary.Failed);
        Assert.Equal(new[] { "a", "b", "c" }, run.Sink.Errors.Select(e => (string)e.TargetObject).OrderBy(s => s));
        foreach (var error in run.Sink.Errors)
        {
            Assert.Equal("Test.BadItem", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
            Assert.Equal($"bad item {error.TargetObject}", error.Exception.Message);
        }
    }

    [Fact]
    public void Bad_input_for_a_builtin_fails_that_item_only()
    {
        var run = Drive.Run(Options(throttle: 2), typeof(IsPrimeWorkload), new object?[] { 7, "not a number", 8 }, asResult: true).Ok();
        Assert.Equal(2, run.Summary.Succeeded);
        Assert.Equal(1, run.Summary.Failed);
        var bad = Assert.Single(run.Sink.Results, r => r.Status == ItemStatus.Failed);
        Assert.Equal("not a number", bad.Input);
        Assert.Equal("not a number", Assert.Single(bad.Errors).TargetObject);
        Assert.Contains("whole number", bad.Errors[0].Exception.Message);
    }

    // ---- retry ------------------------------------------------------------------------------------

    [Fact]
    public void A_flaky_item_is_retried_and_only_its_last_attempt_is_emitted()
    {
        var inputs = Enumerable.Range(0, 20).Select(i => (object?)(i % 2 == 0 ? Step.Flaky(i, 1) : Step.Echo(i))).ToList();
        var run = Drive.Run(Options(throttle: 3, retry: 1), typeof(StepWorkload), inputs, asResult: true).Ok();

        Drive.AssertAccounted(run.Summary, 20);
        Assert.Equal(20, run.Summary.Succeeded);
        foreach (var r in run.Sink.Results)
        {
            var step = (Step)r.Input!;
            Assert.Equal(ItemStatus.Succeeded, r.Status);
            Assert.Empty(r.Errors); // the failed first attempt's error is not kept
            if (step.Value % 2 == 0)
            {
                Assert.Equal(2, r.Attempts);
                Assert.Equal(2, step.Calls);
                Assert.Equal(new object?[] { $"ok {step.Value} attempt 2" }, r.Output);
            }
            else
            {
                Assert.Equal(1, r.Attempts);
                Assert.Equal(1, step.Calls);
            }
        }
    }

    [Fact]
    public void A_retried_item_writes_no_error_from_an_earlier_attempt()
    {
        var inputs = Enumerable.Range(0, 10).Select(i => (object?)Step.Flaky(i, 2)).ToList();
        var run = Drive.Run(Options(throttle: 2, retry: 2), typeof(StepWorkload), inputs).Ok();
        Assert.Equal(10, run.Summary.Succeeded);
        Assert.Empty(run.Sink.Errors);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"ok {i} attempt 3").OrderBy(s => s),
            run.Sink.Output.Cast<string>().OrderBy(s => s));
    }

    [Fact]
    public void An_item_failing_every_attempt_fails_with_the_last_error_only()
    {
        var inputs = Enumerable.Range(0, 6).Select(i => (object?)Step.Fail(i)).ToList();
        var run = Drive.Run(Options(throttle: 2, retry: 2), typeof(StepWorkload), inputs, asResult: true).Ok();

        Assert.Equal(6, run.Summary.Failed);
        foreach (var r in run.Sink.Results)
        {
            Assert.Equal(3, r.Attempts);
            Assert.Equal(3, ((Step)r.Input!).Calls);
            var error = Assert.Single(r.Errors);
            Assert.Equal($"boom {((Step)r.Input!).Value} attempt 3", error.Exception.Message);
        }
    }

    [Fact]
    public void Without_RetryCount_a_failed_item_runs_once()
    {
        var step = Step.Fail(0);
        var run = Drive.Run(Options(retry: 0), typeof(StepWorkload), new object?[] { step }).Ok();
        Assert.Equal(1, run.Summary.Failed);
        Assert.Equal(1, step.Calls);
        Assert.Single(run.Sink.Errors);
    }

    [Fact]
    public void A_retry_does_not_duplicate_output_reported_by_a_failed_attempt()
    {
        // A lane (like a script block) can report output and errors from the same attempt.
        var executor = new FakeExecutor(async (lane, chunk, sink, token) =>
        {
            await Task.Yield();
            foreach (var item in chunk)
            {
                if (!sink.TryBegin(item)) continue;
                if (item.Attempts == 1)
                    sink.End(item, new AttemptOutcome(new object?[] { $"partial {item.Input}" },
                        new[] { new ErrorRecord(new Exception("first attempt"), "First", ErrorCategory.NotSpecified, null) }));
                else
                    sink.End(item, new AttemptOutcome(new object?[] { $"final {item.Input}" }, Array.Empty<ErrorRecord>()));
            }
        });
        var run = Drive.Run(Options(throttle: 2, retry: 1), executor, Enumerable.Range(0, 10).Cast<object?>()).Ok();
        Assert.Equal(10, run.Summary.Succeeded);
        Assert.Empty(run.Sink.Errors);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"final {i}").OrderBy(s => s), run.Sink.Output.Cast<string>().OrderBy(s => s));
    }

    [Fact]
    public void Errors_written_by_a_lane_are_retargeted_at_the_input()
    {
        var executor = new FakeExecutor(async (lane, chunk, sink, token) =>
        {
            await Task.Yield();
            foreach (var item in chunk)
            {
                if (!sink.TryBegin(item)) continue;
                sink.End(item, new AttemptOutcome(new object?[] { "out" }, new[] { new ErrorRecord(new Exception("written"), "Item.Wrote", ErrorCategory.WriteError, "something else") }));
            }
        });
        var run = Drive.Run(Options(throttle: 2), executor, new object?[] { "x", "y" }).Ok();
        Assert.Equal(2, run.Summary.Failed); // an item that writes an error fails
        Assert.Equal(new[] { "x", "y" }, run.Sink.Errors.Select(e => (string)e.TargetObject).OrderBy(s => s));
        Assert.All(run.Sink.Errors, e => Assert.Equal("Item.Wrote", e.FullyQualifiedErrorId));
        Assert.All(run.Sink.Errors, e => Assert.Equal(ErrorCategory.WriteError, e.CategoryInfo.Category));
        Assert.Equal(2, run.Sink.Output.Count); // its output still reaches the caller
    }

    // ---- item timeout -----------------------------------------------------------------------------

    [Fact]
    public void A_stuck_item_times_out_and_the_batch_goes_on()
    {
        using var gate = new Gate();
        var inputs = new List<object?>();
        for (int i = 0; i < 12; i++) inputs.Add(i == 3 ? Step.Blocking(i, gate) : Step.Echo(i));
        var run = Drive.Run(Options(throttle: 2, itemTimeoutSeconds: 0.3), typeof(StepWorkload), inputs, asResult: true).Ok();

        Assert.True(run.Elapsed < TimeSpan.FromSeconds(10), $"took {run.Elapsed}"); // did not wait for the stuck item
        Drive.AssertAccounted(run.Summary, 12);
        Assert.Equal(11, run.Summary.Succeeded);
        Assert.Equal(1, run.Summary.TimedOut);
        var stuck = Assert.Single(run.Sink.Results, r => r.Status == ItemStatus.TimedOut);
        Assert.Same(inputs[3], stuck.Input);
        Assert.Empty(stuck.Output);
        var error = Assert.Single(stuck.Errors);
        Assert.Equal("ItemTimedOut", error.FullyQualifiedErrorId);
        Assert.Same(inputs[3], error.TargetObject);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
        Assert.IsType<TimeoutException>(error.Exception);
    }

    [Fact]
    public void A_timed_out_item_writes_ItemTimedOut_to_the_error_stream()
    {
        using var gate = new Gate();
        var inputs = new object?[] { Step.Echo(0), Step.Blocking(1, gate), Step.Echo(2) };
        var run = Drive.Run(Options(throttle: 2, itemTimeoutSeconds: 0.2), typeof(StepWorkload), inputs).Ok();
        var error = Assert.Single(run.Sink.Errors);
        Assert.Equal("ItemTimedOut", error.FullyQualifiedErrorId);
        Assert.Same(inputs[1], error.TargetObject);
        Assert.Equal(new[] { 0, 2 }, run.Sink.Output.Cast<int>().OrderBy(x => x));
    }

    [Theory]
    [InlineData(typeof(StepWorkload))]
    [InlineData(typeof(AsyncStepWorkload))]
    public void An_item_that_honours_the_token_times_out_too(Type workload)
    {
        using var gate = new Gate();
        var inputs = Enumerable.Range(0, 8).Select(i => (object?)(i % 4 == 1 ? Step.Cancellable(i, gate) : Step.Echo(i))).ToList();
        var run = Drive.Run(Options(throttle: 2, itemTimeoutSeconds: 0.2), workload, inputs, asResult: true).Ok();
        Drive.AssertAccounted(run.Summary, 8);
        Assert.Equal(2, run.Summary.TimedOut);
        Assert.Equal(6, run.Summary.Succeeded);
        Assert.All(run.Sink.Results.Where(r => r.Status == ItemStatus.TimedOut),
            r => Assert.Equal("ItemTimedOut", Assert.Single(r.Errors).FullyQualifiedErrorId));
    }

    [Fact]
    public void A_timeout_in_the_middle_of_a_chunk_loses_no_item()
    {
        // Tiny items make chunks grow; a stuck item then aborts its lane in the middle of a chunk, and
        // the rest of that chunk must run elsewhere.
        using var gate = new Gate();
        var inputs = new List<object?>();
        for (int i = 0; i < 3000; i++) inputs.Add(i == 1500 ? Step.Blocking(i, gate) : Step.Echo(i));
        var run = Drive.Run(Options(throttle: 2, itemTimeoutSeconds: 0.5), typeof(StepWorkload), inputs).Ok();
        Drive.AssertAccounted(run.Summary, 3000);
        Assert.Equal(2999, run.Summary.Succeeded);
        Assert.Equal(1, run.Summary.TimedOut);
        Assert.Equal(2999, run.Sink.Output.Distinct().Count());
    }

    [Fact]
    public void A_timed_out_item_is_retried()
    {
        using var gate = new Gate();
        var flakyStuck = new Step(0, (s, call, _) =>
        {
            if (call == 1) { gate.Enter(); gate.Open.Wait(TimeSpan.FromSeconds(20)); }
            return $"attempt {call}";
        });
        var run = Drive.Run(Options(throttle: 2, itemTimeoutSeconds: 0.2, retry: 1), typeof(StepWorkload),
            new object?[] { flakyStuck, Step.Echo(1) }, asResult: true).Ok();
        Assert.Equal(2, run.Summary.Succeeded);
        var r = Assert.Single(run.Sink.Results, x => x.Input == flakyStuck);
        Assert.Equal(2, r.Attempts);
        Assert.Equal(new object?[] { "attempt 2" }, r.Output);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public void Items_finishing_around_their_timeout_are_all_accounted_for()
    {
        // Tiny items keep chunks large while some items end right around their deadline, so the
        // deadline watch and the lanes race over the same attempts and chunks.
        var random = new Random(3);
        var inputs = Enumerable.Range(0, 2000)
            .Select(i => (object?)(i % 50 == 7 ? Step.Sleep(i, random.Next(35, 70)) : Step.Echo(i))).ToList();
        var run = Drive.Run(Options(throttle: 2, itemTimeoutSeconds: 0.05), typeof(StepWorkload), inputs, asResult: true).Ok();
        Drive.AssertAccounted(run.Summary, 2000);
        Assert.Equal(2000, run.Sink.Results.Select(r => r.Index).Distinct().Count());
        Assert.True(run.Summary.Cancelled + run.Summary.Skipped + run.Summary.Failed == 0, Drive.Describe(run.Sink));
        Assert.All(run.Sink.Results.Where(r => r.Status == ItemStatus.TimedOut),
            r => Assert.Equal("ItemTimedOut", Assert.Single(r.Errors).FullyQualifiedErrorId));
        Assert.All(run.Sink.Results.Where(r => r.Status == ItemStatus.Succeeded), r => Assert.Single(r.Output));
    }

    // ---- batch timeout ----------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batch_timeout_reports_every_unfinished_item_as_timed_out_with_one_error(bool honoursToken)
    {
        using var gate = new Gate();
        var inputs = new List<object?>();
        for (int i = 0; i < 10; i++) inputs.Add(Step.Echo(i));
        for (int i = 10; i < 16; i++) inputs.Add(honoursToken ? Step.Cancellable(i, gate) : Step.Blocking(i, gate));
        var run = Drive.Run(Options(throttle: 2, batchTimeoutSeconds: 1), typeof(StepWorkload), inputs, asResult: true).Ok();

        Assert.True(run.Elapsed < TimeSpan.FromSeconds(10), $"took {run.Elapsed}");
        Drive.AssertAccounted(run.Summary, 16);
        // 2 running and 4 queued items are unfinished; the one error is BatchTimedOut.
        Drive.AssertStoppedCounts(run, ItemStatus.TimedOut, stopped: 2, succeeded: 10, timedOut: 4, extraErrors: 1);
        Assert.All(run.Sink.Results.Where(r => ((Step)r.Input!).Value < 10), r => Assert.Equal(ItemStatus.Succeeded, r.Status));
        Assert.All(run.Sink.Results.Where(r => ((Step)r.Input!).Value >= 10), r => Assert.Equal(ItemStatus.TimedOut, r.Status));
        var error = Assert.Single(run.Sink.Errors);
        Assert.Equal("BatchTimedOut", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
        Assert.Null(error.TargetObject);
        Assert.Contains("6 item(s)", error.Exception.Message);
        Assert.Equal(2, gate.Entered); // the queued items never ran
    }

    [Fact]
    public void Input_arriving_after_the_batch_timeout_is_timed_out_and_not_run()
    {
        using var gate = new Gate();
        var late = Enumerable.Range(1, 5).Select(Step.Echo).ToList();
        IEnumerable<object?> Inputs()
        {
            yield return Step.Blocking(0, gate);
            Thread.Sleep(700); // the upstream pipeline is slow: the batch times out meanwhile
            foreach (var s in late) yield return s;
        }
        var run = Drive.Run(Options(throttle: 2, batchTimeoutSeconds: 0.2), typeof(StepWorkload), Inputs()).Ok();
        Drive.AssertAccounted(run.Summary, 6);
        Drive.AssertStoppedCounts(run, ItemStatus.TimedOut, stopped: 1, timedOut: 5, extraErrors: 1);
        Assert.All(late, s => Assert.Equal(0, s.Calls));
        Assert.Equal("BatchTimedOut", Assert.Single(run.Sink.Errors).FullyQualifiedErrorId);
        Assert.Empty(run.Sink.Output);
    }

    // ---- stop -------------------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stop_cancels_running_items_skips_the_rest_and_returns(bool honoursToken)
    {
        using var gate = new Gate();
        var inputs = Enumerable.Range(0, 20)
            .Select(i => (object?)(honoursToken ? Step.Cancellable(i, gate) : Step.Blocking(i, gate))).ToList();
        var stopper = (Task?)null;
        var run = Drive.Run(Options(throttle: 2), typeof(StepWorkload), inputs, asResult: true, started: runner =>
            stopper = Task.Run(() =>
            {
                gate.WaitForEntered(2, TimeSpan.FromSeconds(10));
                runner.Stop(); // Ctrl+C arrives on another thread
            })).Ok();
        await stopper!;

        Drive.AssertAccounted(run.Summary, 20);
        Drive.AssertStoppedCounts(run, ItemStatus.Cancelled, stopped: 2, skipped: 18);
        Assert.Equal(20, run.Sink.Output.Count);
        Assert.All(run.Sink.Results, r => Assert.Equal(r.Attempts > 0 ? ItemStatus.Cancelled : ItemStatus.Skipped, r.Status));

        gate.Open.Set();
        Thread.Sleep(200);
        Assert.Equal(2, gate.Entered); // skipped items never ran
    }

    [Fact]
    public async Task Stop_with_an_async_builtin_cancels_running_items()
    {
        var stopper = (Task?)null;
        var run = Drive.Run(Options(throttle: 2), typeof(SleepWorkload), Enumerable.Repeat((object?)10_000, 6), asResult: true,
            started: runner => stopper = Task.Run(async () =>
            {
                await Task.Delay(300);
                runner.Stop();
            })).Ok();
        await stopper!;
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(8), $"took {run.Elapsed}");
        Drive.AssertAccounted(run.Summary, 6);
        Drive.AssertStoppedCounts(run, ItemStatus.Cancelled, stopped: 2, skipped: 4);
    }

    [Fact]
    public void Input_after_Stop_is_skipped()
    {
        var executorCalls = 0;
        var sink = new RecordingSink();
        var executor = new FakeExecutor((lane, chunk, s, t) => { Interlocked.Increment(ref executorCalls); return Task.CompletedTask; });
        using var runner = new BatchRunner(Options(), executor, sink, asResult: true);
        runner.Stop();
        for (int i = 0; i < 5; i++) runner.Add(i);
        runner.Complete();
        Assert.Equal(5, runner.Summary().Skipped);
        Assert.Equal(5, runner.Summary().Total);
        Assert.All(sink.Results, r => Assert.Equal(ItemStatus.Skipped, r.Status));
        Assert.Equal(0, executorCalls);
    }

    [Fact]
    public async Task Stop_during_a_retry_back_off_does_not_wait_for_it()
    {
        var step = Step.Fail(0);
        var stopper = (Task?)null;
        var run = Drive.Run(Options(throttle: 1, retry: 3, retryDelayMs: 60_000), typeof(StepWorkload), new object?[] { step },
            asResult: true, started: runner => stopper = Task.Run(async () =>
            {
                while (step.Calls == 0) await Task.Delay(10);
                await Task.Delay(100);
                runner.Stop();
            })).Ok();
        await stopper!;
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(10), $"took {run.Elapsed}");
        Assert.Equal(1, run.Summary.Total);
        Assert.Equal(ItemStatus.Cancelled, Assert.Single(run.Sink.Results).Status);
        Assert.Equal(1, step.Calls);
    }

    [Fact]
    public void Dispose_without_Complete_stops_and_does_not_hang()
    {
        using var gate = new Gate();
        var sink = new RecordingSink();
        var runner = new BatchRunner(Options(throttle: 2), new WorkloadExecutor(typeof(StepWorkload), 2), sink, asResult: false);
        for (int i = 0; i < 10; i++) runner.Add(Step.Blocking(i, gate));
        gate.WaitForEntered(2, TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        runner.Dispose(); // e.g. Select-Object -First ended the pipeline
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"Dispose took {clock.Elapsed}");
        var summary = runner.Summary();
        Drive.AssertAccounted(summary, 10);
        Assert.Equal(8, summary.Skipped);
        Assert.Equal(2, summary.Cancelled);
    }

    [Fact]
    public void WaitUntilUnsettledAtMost_returns_once_enough_items_settled_and_writes_them()
    {
        using var gate = new Gate();
        var sink = new RecordingSink();
        using var runner = new BatchRunner(Options(throttle: 2, maxChunk: 1), new WorkloadExecutor(typeof(StepWorkload), 2), sink, asResult: false);
        // A hang would stop the batch (which ends the wait) instead of the test run.
        using var hang = new Timer(_ => runner.Stop(), null, Drive.HangLimit, Timeout.InfiniteTimeSpan);
        // Eight quick items, then two that block: two may stay unsettled.
        for (int i = 0; i < 8; i++) runner.Add(Step.Sleep(i, 5));
        runner.Add(Step.Blocking(8, gate));
        runner.Add(Step.Blocking(9, gate));
        runner.WaitUntilUnsettledAtMost(2);
        Assert.Equal(Enumerable.Range(0, 8), sink.Output.Cast<int>().OrderBy(x => x));

        // One unsettled at most: it has to wait until the blocked items are let go.
        var clock = Stopwatch.StartNew();
        using var release = new Timer(_ => gate.Open.Set(), null, TimeSpan.FromMilliseconds(300), Timeout.InfiniteTimeSpan);
        runner.WaitUntilUnsettledAtMost(1);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"it returned after {clock.Elapsed} with two items unsettled");
        Assert.True(sink.Output.Count >= 9, $"{sink.Output.Count} items written");
        runner.Complete();
        Assert.Equal(10, sink.Output.Count);
        Drive.AssertAccounted(runner.Summary(), 10);
        Assert.Equal(10, runner.Summary().Succeeded);
    }

    // ---- ordering ---------------------------------------------------------------------------------

    [Fact]
    public void Ordered_output_follows_input_order()
    {
        var random = new Random(7);
        var inputs = Enumerable.Range(0, 150).Select(i => (object?)Step.Sleep(i, random.Next(0, 4) == 0 ? random.Next(1, 15) : 0)).ToList();
        var run = Drive.Run(Options(throttle: 4, ordered: true), typeof(StepWorkload), inputs).Ok();
        Assert.Equal(Enumerable.Range(0, 150), run.Sink.Output.Cast<int>());
    }

    [Fact]
    public void Ordered_output_with_an_async_builtin_follows_input_order()
    {
        var inputs = new object?[] { 60, 0, 45, 5, 30, 0, 15, 20, 0, 10, 50, 1 };
        var run = Drive.Run(Options(throttle: 4, ordered: true), typeof(SleepWorkload), inputs).Ok();
        Assert.Equal(inputs, run.Sink.Output);
    }

    [Fact]
    public void Ordered_errors_and_results_come_in_input_order()
    {
        var inputs = Enumerable.Range(0, 60).Select(i => (object?)(i % 3 == 0 ? Step.Fail(i) : Step.Sleep(i, i % 5))).ToList();
        var run = Drive.Run(Options(throttle: 4, ordered: true), typeof(StepWorkload), inputs).Ok();
        var indexes = run.Sink.Log.Select(e => e.Kind == "out" ? (int)e.Value! : ((Step)((ErrorRecord)e.Value!).TargetObject).Value);
        Assert.Equal(Enumerable.Range(0, 60), indexes);

        var asResult = Drive.Run(Options(throttle: 4, ordered: true), typeof(StepWorkload),
            Enumerable.Range(0, 60).Select(i => (object?)Step.Sleep(i, (60 - i) % 4)), asResult: true).Ok();
        Assert.Equal(Enumerable.Range(0, 60).Select(i => (long)i), asResult.Sink.Results.Select(r => r.Index));
    }

    [Fact]
    public void Ordered_output_with_retries_and_timeouts_follows_input_order()
    {
        using var gate = new Gate();
        var inputs = Enumerable.Range(0, 30).Select(i => (object?)(i switch
        {
            2 => Step.Blocking(i, gate),
            _ when i % 4 == 1 => Step.Flaky(i, 1),
            _ => Step.Echo(i),
        })).ToList();
        var run = Drive.Run(Options(throttle: 3, ordered: true, retry: 1, itemTimeoutSeconds: 0.3), typeof(StepWorkload), inputs,
            asResult: true).Ok();
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), run.Sink.Results.Select(r => r.Index));
        Assert.Equal(ItemStatus.TimedOut, run.Sink.Results.ElementAt(2).Status);
        Assert.Equal(29, run.Summary.Succeeded);
    }

    // ---- backpressure -----------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Add_blocks_when_the_window_is_full(bool ordered)
    {
        // ordered: only item 0 is stuck, so the others finish but must wait in the ordered window.
        using var gate = new Gate();
        var options = Options(throttle: 2, ordered: ordered);
        int capacity = options.Capacity;
        int total = capacity * 3;
        int added = 0;
        var sink = new RecordingSink();
        var runner = new BatchRunner(options, new WorkloadExecutor(typeof(StepWorkload), 2), sink, asResult: false);
        var driver = new Thread(() =>
        {
            for (int i = 0; i < total; i++)
            {
                runner.Add(ordered && i > 0 ? Step.Echo(i) : Step.Blocking(i, gate));
                Interlocked.Increment(ref added);
            }
            runner.Complete();
        }) { IsBackground = true };
        try
        {
            driver.Start();
            var clock = Stopwatch.StartNew();
            while (Volatile.Read(ref added) < capacity && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(10);
            Thread.Sleep(400); // give a runaway Add loop the chance to show itself
            int addedWhileBlocked = Volatile.Read(ref added);
            Assert.InRange(addedWhileBlocked, capacity - 1, capacity + 2);
            Assert.Empty(sink.Output); // nothing emitted: item 0 is still stuck

            gate.Open.Set();
            Assert.True(driver.Join(Drive.HangLimit), "the batch did not finish after the gate opened");
            Assert.Equal(total, added);
            Drive.AssertAccounted(runner.Summary(), total);
            Assert.Equal(total, runner.Summary().Succeeded);
            if (ordered) Assert.Equal(Enumerable.Range(0, total), sink.Output.Cast<int>());
        }
        finally
        {
            gate.Open.Set();
            runner.Dispose();
        }
    }

    // ---- lanes and progress -----------------------------------------------------------------------

    [Fact]
    public void A_broken_lane_fails_its_item_and_is_replaced()
    {
        var executor = new FakeExecutor(async (lane, chunk, sink, token) =>
        {
            await Task.Yield();
            foreach (var item in chunk)
            {
                if (!sink.TryBegin(item)) continue;
                if (Equals(item.Input, 3)) throw new LaneFailedException("worker died");
                sink.End(item, new AttemptOutcome(new object?[] { item.Input }, Array.Empty<ErrorRecord>()));
            }
        });
        var run = Drive.Run(Options(throttle: 1, maxChunk: 1), executor, Enumerable.Range(0, 8).Cast<object?>(), asResult: true).Ok();
        Drive.AssertAccounted(run.Summary, 8);
        Assert.Equal(7, run.Summary.Succeeded);
        var broken = Assert.Single(run.Sink.Results, r => r.Status == ItemStatus.Failed);
        Assert.Equal(3, broken.Input);
        var error = Assert.Single(broken.Errors);
        Assert.Equal("WorkerFailed", error.FullyQualifiedErrorId);
        Assert.Equal(3, error.TargetObject);
        Assert.Contains("worker died", error.Exception.Message);
        Assert.Equal(2, executor.LanesCreated);
        Assert.Equal("Thread", run.Summary.Model);
    }

    [Fact]
    public void A_lane_that_cannot_be_set_up_faults_the_batch_and_accounts_for_the_items()
    {
        var executor = new FakeExecutor((lane, chunk, sink, token) => Task.CompletedTask,
            createFails: _ => new InvalidOperationException("no runspace for you"));
        int attempted = 0;
        IEnumerable<object?> Inputs()
        {
            for (int i = 0; i < 50; i++)
            {
                attempted++;
                yield return i;
                Thread.Sleep(2);
            }
        }
        var run = Drive.Run(Options(throttle: 2), executor, Inputs());
        var fault = Assert.IsType<BatchFaultedException>(run.Error);
        Assert.Equal("WorkerSetupFailed", fault.ErrorRecord.FullyQualifiedErrorId);
        Assert.Contains("no runspace for you", fault.Message);
        Assert.InRange(run.Summary.Total, attempted - 1, attempted);
        Assert.Equal(0, run.Summary.Succeeded);
    }

    [Fact]
    public void Progress_is_written_for_a_long_batch_and_completed_at_the_end()
    {
        var inputs = Enumerable.Range(0, 12).Select(i => (object?)Step.Sleep(i, 60)).ToList();
        var run = Drive.Run(Options(throttle: 1), typeof(StepWorkload), inputs).Ok();
        var progress = run.Sink.Progress;
        Assert.Contains(progress, p => p.RecordType == ProgressRecordType.Processing);
        Assert.Equal(ProgressRecordType.Completed, progress[^1].RecordType);
        Assert.Single(progress, p => p.RecordType == ProgressRecordType.Completed);
        Assert.All(progress, p => Assert.Equal("Test", p.Activity));
        Assert.True(progress.Count(p => p.RecordType == ProgressRecordType.Processing) <= run.Elapsed.TotalMilliseconds / 250 + 1);
    }

    [Fact]
    public void Progress_complete_record_only_follows_a_shown_one()
    {
        var run = Drive.Run(Options(throttle: 2), typeof(EchoWorkload), Enumerable.Range(0, 5).Cast<object?>()).Ok();
        var progress = run.Sink.Progress;
        if (progress.Count > 0) // a slow machine may have shown a bar
        {
            Assert.Equal(ProgressRecordType.Completed, progress[^1].RecordType);
            Assert.Contains(progress, p => p.RecordType == ProgressRecordType.Processing);
        }
        else
        {
            Assert.Empty(progress);
        }
    }

    [Fact]
    public void Throttle_limits_items_running_at_once()
    {
        int running = 0, peak = 0;
        var inputs = Enumerable.Range(0, 40).Select(i => (object?)new Step(i, (s, _, _) =>
        {
            int now = Interlocked.Increment(ref running);
            int seen;
            while (now > (seen = Volatile.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen) { }
            Thread.Sleep(5);
            Interlocked.Decrement(ref running);
            return s.Value;
        })).ToList();
        var run = Drive.Run(Options(throttle: 3), typeof(StepWorkload), inputs).Ok();
        Assert.Equal(40, run.Summary.Succeeded);
        Assert.InRange(peak, 1, 3);
    }
}
