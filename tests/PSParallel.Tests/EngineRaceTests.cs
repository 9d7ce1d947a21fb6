using System.Diagnostics;
using PSParallel.Engine;
using PSParallel.Engine.Lanes.Workloads;
using PSParallel.Engine.Scheduling;
using Xunit;

namespace PSParallel.Tests;

/// <summary>
/// Regression tests for races found in the engine, each hammered many times (within a time budget,
/// so the suite stays fast) so that a fault shows up in one run.
/// </summary>
public class EngineRaceTests
{
    private static BatchOptions Options(int throttle, double? itemTimeoutSeconds = null, double? batchTimeoutSeconds = null) => new()
    {
        ThrottleLimit = throttle,
        ItemTimeout = itemTimeoutSeconds is { } i ? TimeSpan.FromSeconds(i) : null,
        BatchTimeout = batchTimeoutSeconds is { } b ? TimeSpan.FromSeconds(b) : null,
        Activity = "Test",
    };

    /// <summary>Busy threads, so that engine threads get pre-empted at awkward moments.</summary>
    private sealed class CpuPressure : IDisposable
    {
        private volatile bool _stop;
        private readonly Thread[] _threads;

        public CpuPressure(int threads)
        {
            _threads = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                double x = 1;
                while (!_stop) x = Math.Sqrt(x + 1);
                GC.KeepAlive(x);
            }) { IsBackground = true }).ToArray();
            foreach (var t in _threads) t.Start();
        }

        public void Dispose()
        {
            _stop = true;
            foreach (var t in _threads) t.Join();
        }
    }

    private static void Repeat(TimeSpan budget, int max, Action<int> body)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < max && clock.Elapsed < budget; i++) body(i);
    }

    [Theory]
    [InlineData(typeof(StepWorkload))]
    [InlineData(typeof(AsyncStepWorkload))]
    public void Item_timeout_of_the_last_item_then_Dispose_does_not_crash(Type workload)
    {
        // The deadline timer settles the item and only then aborts its lane; if the batch ends (or
        // the lane is discarded) in between, Abort() must be harmless. It used to cancel a disposed
        // token source on a timer thread: an unhandled ObjectDisposedException that killed the
        // process (here: the test host, so a regression aborts the test run).
        using var pressure = new CpuPressure(Environment.ProcessorCount);
        Repeat(TimeSpan.FromSeconds(4), 40, round =>
        {
            using var gate = new Gate();
            var sink = new RecordingSink();
            var runner = new BatchRunner(Options(2, itemTimeoutSeconds: 0.05), new WorkloadExecutor(workload, 2), sink, asResult: false);
            runner.Add(Step.Echo(0));
            runner.Add(round % 2 == 0 ? Step.Cancellable(1, gate) : Step.Blocking(1, gate));
            runner.Complete();
            runner.Dispose();
            var summary = runner.Summary();
            Assert.Equal(2, summary.Total);
            Assert.InRange(summary.TimedOut, 1, 2); // item 0 may time out too on a busy machine
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Stop_never_reports_a_running_item_as_failed(bool honoursToken)
    {
        // Stop() must settle the items before it cancels the token: a lane that reacts first would
        // close the running attempt itself, and the item would end Failed ('WorkerFailed', or the
        // workload's OperationCanceledException) instead of Cancelled, with an error for a Ctrl+C.
        Repeat(TimeSpan.FromSeconds(4), 40, round =>
        {
            using var gate = new Gate();
            var sink = new RecordingSink();
            using var runner = new BatchRunner(Options(2), new WorkloadExecutor(typeof(StepWorkload), 2), sink, asResult: true);
            for (int i = 0; i < 4; i++) runner.Add(honoursToken ? Step.Cancellable(i, gate) : Step.Blocking(i, gate));
            gate.WaitForEntered(2, TimeSpan.FromSeconds(10));
            var stopper = new Thread(runner.Stop);
            stopper.Start();
            runner.Complete();
            stopper.Join();
            var summary = runner.Summary();
            Assert.True(summary.Cancelled == 2 && summary.Skipped == 2 && sink.Errors.Count == 0,
                $"round {round}: Cancelled {summary.Cancelled}, Skipped {summary.Skipped}, Failed {summary.Failed}; {Drive.Describe(sink)}");
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batch_timeout_never_reports_a_running_item_as_failed(bool honoursToken)
    {
        // Same race as for Stop(): at the batch timeout a running item must end TimedOut, not Failed
        // ('WorkerFailed'), and the only error is the one 'BatchTimedOut'.
        Repeat(TimeSpan.FromSeconds(5), 50, round =>
        {
            using var gate = new Gate();
            var sink = new RecordingSink();
            using var runner = new BatchRunner(Options(2, batchTimeoutSeconds: 0.1), new WorkloadExecutor(typeof(StepWorkload), 2), sink,
                asResult: true);
            for (int i = 0; i < 4; i++) runner.Add(honoursToken ? Step.Cancellable(i, gate) : Step.Blocking(i, gate));
            runner.Complete();
            var summary = runner.Summary();
            Assert.True(summary.TimedOut == 4 && sink.Errors.Count == 1 && sink.Errors[0].FullyQualifiedErrorId == "BatchTimedOut",
                $"round {round}: TimedOut {summary.TimedOut}, Failed {summary.Failed}; {Drive.Describe(sink)}");
        });
    }
}
