using System.Diagnostics;
using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Processes;
using PSParallel.Engine.Lanes.Threads;
using PSParallel.Engine.Pools;
using PSParallel.Engine.Recipes;
using PSParallel.Engine.Scheduling;

namespace PSParallel.Engine.Measurement;

/// <summary>
/// Runs the sample items once with one model at one degree, on the same executors the batch
/// cmdlets use, and records what it cost. Output is counted, not kept.
/// </summary>
internal sealed class TrialRunner
{
    private readonly WorkRecipe _recipe;
    private readonly IReadOnlyList<object?> _sample;
    private readonly CancellationToken _token;

    public TrialRunner(WorkRecipe recipe, IReadOnlyList<object?> sample, CancellationToken token)
    {
        _recipe = recipe;
        _sample = sample;
        _token = token;
    }

    /// <summary>
    /// How many times each trial runs the sample at least (set by the sequential trial for tiny
    /// items); a trial reports what one pass cost.
    /// </summary>
    public int Passes { get; private set; } = 1;

    /// <summary>
    /// Each trial starts with the session's garbage collected (and the measurement ends so, so that
    /// the job run right after it starts as the trials did). An allocation-heavy script leaves
    /// garbage in the oldest generation that the runtime leaves there for a long time and that slows
    /// every later collection: 200 such items on 2 threads took 4.2 s as a session's first and 5.6 s
    /// after 328 more, so a later trial looked slower than it was, and the job after the measurement
    /// ran slower than projected (bench/Decision.ps1, allocation-heavy script: 33% off). A full
    /// collection of a session of tens of megabytes takes milliseconds, outside every trial's clock.
    /// </summary>
    public static void CollectGarbage() => HeapCompactor.Compact();

    /// <summary>
    /// The items one after the other, each in a child scope. A script runs as the sequential command
    /// runs it, in a ForEach-Object pipeline (<see cref="SequentialPipeline"/>); a compiled workload
    /// runs on one lane, with no scheduling and no hand-over between threads. Opening the runspace
    /// is not counted, since running in one's own session opens none.
    /// </summary>
    public TrialMeasurement RunSequential()
    {
        CollectGarbage();
        var trial = _recipe.Script is { } script ? SequentialPipeline.Run(script, _sample, _token) : RunSequentialWorkload();
        Passes = trial.Passes;
        return trial;
    }

    private TrialMeasurement RunSequentialWorkload()
    {
        using var executor = _recipe.CreateThreadExecutor(1);
        using var lane = executor.CreateLaneAsync(_token).GetAwaiter().GetResult();
        WarmUpAsync(lane, PassClock.WarmUpTime).GetAwaiter().GetResult();
        var sink = new SequentialSink(_sample.Count, _token);
        var passClock = sink.Clock;
        using var memory = new MemorySampler(OwnWorkingSet);
        double cpuBefore = executor.CpuSeconds();
        var clock = Stopwatch.StartNew();
        do
        {
            var items = _sample.Select((input, index) => new WorkItem(index, input)).ToList();
            lane.RunAsync(items, sink, _token).GetAwaiter().GetResult();
        } while (passClock.WantsAnotherPass() && !_token.IsCancellationRequested);
        clock.Stop();
        _token.ThrowIfCancellationRequested();
        int passes = Math.Max(1, passClock.Passes);
        var wall = passClock.Wall > TimeSpan.Zero ? passClock.Wall : clock.Elapsed;
        // The measurement keeps processor seconds; from the thread's clocks they are the share of the
        // wall time the items computed while they could run, so a busy machine does not dilute them.
        // An async workload may continue on other threads: then only the process clock is left.
        double cpu = passClock.KnownCpuSeconds
            ?? BackgroundCpu.Subtract(executor.CpuSeconds() - cpuBefore, clock.Elapsed);
        // Reported per pass: what one run of the sample costs.
        return new TrialMeasurement(ExecutionModel.Sequential, 1, _sample.Count, wall / passes, TimeSpan.Zero,
            cpu / passes, memory.PeakMB, sink.FailedItems, sink.FirstError) { Passes = passes };
    }

    /// <summary>
    /// A worker process (or a remote session) is a PowerShell of its own, whose runtime has compiled
    /// nothing of the script's paths yet: its items run up to twice as slow for their first second or
    /// so (measured: 146, 90, 88, 99, 104, 113, 103, 132, then 75 ms for a 75 ms item), which a sample
    /// of a few items a worker would take for its rate. Its warm-up is longer, and counted in its start-up.
    /// </summary>
    private static readonly TimeSpan WorkerWarmUpTime = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Runs on a lane before its clock starts. PowerShell interprets a script block for its first
    /// several calls and then compiles it, which makes it several times faster; the engine's own
    /// paths are compiled on first use too. Each runspace or worker pays that once, like opening
    /// it: the sequential trial leaves it out (a session running the job itself pays it once) and
    /// pool trials count it in their start-up. Up to <see cref="PassClock.WarmUpCalls"/> items, or
    /// <paramref name="budget"/>, whichever comes first.
    /// It awaits each item, holding no thread: a pool trial warms all its lanes at once, and 32 lanes
    /// each blocking a thread-pool thread starved the items that need one to finish (Invoke-RestMethod
    /// does): on a loaded machine 32 runspaces took 0.9-3.4 s to warm up, 0.8-0.9 s with threads to spare.
    /// </summary>
    private async Task WarmUpAsync(ILane lane, TimeSpan budget)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < PassClock.WarmUpCalls && clock.Elapsed < budget && !_token.IsCancellationRequested; i++)
            await lane.RunAsync(new[] { new WorkItem(i, _sample[i % _sample.Count]) }, new SequentialSink(1, _token), _token).ConfigureAwait(false);
    }

    /// <summary>
    /// The items through the batch engine on a pool of <paramref name="degree"/> lanes, opened before
    /// the clock starts: their opening is the trial's start-up, timed on its own.
    /// </summary>
    public TrialMeasurement RunPool(ExecutionModel model, int degree, WarmPool? warm = null)
    {
        CollectGarbage();
        var inner = warm is not null ? warm.Lease(_recipe, degree, wait: true, _token)
            : model == ExecutionModel.Process ? _recipe.CreateProcessExecutor() : _recipe.CreateThreadExecutor(degree);
        var executor = new PreparedExecutor(inner);
        Func<long> probe = inner is ProcessExecutor workers
            ? () => OwnWorkingSet() + workers.WorkerWorkingSetBytes()
            : OwnWorkingSet;
        var options = new BatchOptions
        {
            ThrottleLimit = degree,
            MaxChunkSize = model is ExecutionModel.Process or ExecutionModel.Remote ? 256 : 64,
            Activity = $"{model} trial",
        };
        var sink = new PoolTrialSink(_sample.Count);
        using var memory = new MemorySampler(probe);
        TimeSpan startup;
        try
        {
            var budget = model is ExecutionModel.Process or ExecutionModel.Remote ? WorkerWarmUpTime : PassClock.WarmUpTime;
            startup = executor.Prepare(degree, lane => WarmUpAsync(lane, budget), _token);
        }
        catch
        {
            executor.Dispose();
            throw;
        }
        var runner = new BatchRunner(options, executor, sink, asResult: true);
        int passes = 0;
        try
        {
            using var stopOnCancel = _token.Register(runner.Stop);
            var window = Stopwatch.StartNew();
            while (!_token.IsCancellationRequested && WantsAnotherPoolPass(passes, window.Elapsed, sink.Settled))
            {
                foreach (var item in _sample) runner.Add(item);
                passes++;
                // Past the passes the sequential trial set, the next one depends on the rate so far,
                // so it needs one settled item. Holding more back would starve the lanes: the batch
                // keeps far more items in flight, and a trial that did not ran tiny items 3x slower.
                if (passes >= Passes && sink.Settled == 0) runner.WaitUntilUnsettledAtMost(passes * _sample.Count - 1);
            }
            runner.Complete();
        }
        finally
        {
            runner.Dispose();
        }
        _token.ThrowIfCancellationRequested();
        var summary = runner.Summary();
        return new TrialMeasurement(model, degree, _sample.Count, summary.Duration / passes, startup,
            summary.CpuSeconds / passes, memory.PeakMB, sink.FailedItems, sink.FirstError) { Passes = passes };
    }

    /// <summary>
    /// A pool trial runs the sample at least as many times as the sequential trial did, and then
    /// more passes while the ones added so far, at the rate they settle, would end inside
    /// <see cref="PassClock.MinimumTime"/>. A fast pool, or a trial without a sequential one
    /// (-Model Thread), would otherwise time tiny items over a few milliseconds, where lanes
    /// starting up and one burst of other work on a shared machine decide the rate.
    /// </summary>
    private bool WantsAnotherPoolPass(int passes, TimeSpan elapsed, int settled)
    {
        if (passes < Passes) return true;
        if (passes >= PassClock.MaximumPasses || settled == 0) return false;
        double expectedEnd = elapsed.TotalSeconds * passes * _sample.Count / settled;
        return expectedEnd < PassClock.MinimumTime.TotalSeconds;
    }

    internal static long OwnWorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    /// <summary>
    /// Counts what a sequential run of a compiled workload produced, and times each pass from inside
    /// with a <see cref="PassClock"/>: from the pass's first item start to its last item end, on the
    /// thread that ran the items. That leaves out the hand-over between passes (which a plain
    /// ForEach-Object does not have), and the processor time is the items' own.
    /// </summary>
    private sealed class SequentialSink : IAttemptSink
    {
        private readonly CancellationToken _token;
        private readonly int _sampleSize;
        private readonly HashSet<long> _failed = new();
        private int _endedThisPass;

        public SequentialSink(int sampleSize, CancellationToken token)
        {
            _sampleSize = sampleSize;
            _token = token;
            Clock = new PassClock(sampleSize);
        }

        public PassClock Clock { get; }

        /// <summary>Sample items that failed (in any pass).</summary>
        public int FailedItems => _failed.Count;
        public string? FirstError { get; private set; }

        public bool TryBegin(WorkItem item)
        {
            if (_endedThisPass == 0) Clock.Start();
            return !_token.IsCancellationRequested;
        }

        public void Stream(WorkItem item, StreamRecord record)
        {
        }

        public void End(WorkItem item, AttemptOutcome outcome)
        {
            if (++_endedThisPass == _sampleSize)
            {
                Clock.Stop();
                _endedThisPass = 0;
            }
            if (outcome.Errors.Count == 0) return;
            _failed.Add(item.Index);
            FirstError ??= $"item {item.Input}: {outcome.Errors[0]}";
        }
    }

    /// <summary>Counts what a pool run produced; the results come as ItemResult on the calling thread.</summary>
    private sealed class PoolTrialSink : IBatchSink
    {
        private readonly int _sampleSize;
        private readonly HashSet<long> _failed = new();

        public PoolTrialSink(int sampleSize) => _sampleSize = sampleSize;

        /// <summary>Sample items that failed (in any pass: the sample may be fed more than once).</summary>
        public int FailedItems => _failed.Count;
        public string? FirstError { get; private set; }

        /// <summary>Item runs settled so far, over all passes.</summary>
        public int Settled { get; private set; }

        public void WriteOutput(object? value)
        {
            if (value is not ItemResult result) return;
            Settled++;
            if (result.Status == ItemStatus.Succeeded) return;
            _failed.Add(result.Index % _sampleSize);
            FirstError ??= $"item {result.Input}: {(result.Errors.Length > 0 ? result.Errors[0].ToString() : result.Status.ToString())}";
        }

        public void WriteError(ErrorRecord error)
        {
        }

        public void WriteStream(StreamRecord record)
        {
        }
    }
}
