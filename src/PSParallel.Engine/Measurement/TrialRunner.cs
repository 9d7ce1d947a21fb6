using System.Diagnostics;
using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Processes;
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
    /// The items one after the other, each in a child scope. A script runs as the sequential command
    /// runs it, in a ForEach-Object pipeline (<see cref="SequentialPipeline"/>); a compiled workload
    /// runs on one lane, with no scheduling and no hand-over between threads. Opening the runspace
    /// is not counted, since running in one's own session opens none.
    /// </summary>
    public TrialMeasurement RunSequential()
    {
        var trial = _recipe.Script is { } script ? SequentialPipeline.Run(script, _sample, _token) : RunSequentialWorkload();
        Passes = trial.Passes;
        return trial;
    }

    private TrialMeasurement RunSequentialWorkload()
    {
        using var executor = _recipe.CreateThreadExecutor(1);
        using var lane = executor.CreateLaneAsync(_token).GetAwaiter().GetResult();
        WarmUp(lane);
        var sink = new SequentialSink(_token);
        using var memory = new MemorySampler(OwnWorkingSet);
        double cpuBefore = executor.CpuSeconds();
        var clock = Stopwatch.StartNew();
        int passes = 0;
        do
        {
            var items = _sample.Select((input, index) => new WorkItem(index, input)).ToList();
            lane.RunAsync(items, sink, _token).GetAwaiter().GetResult();
            sink.EndPass();
            passes++;
        } while (sink.Wall < PassClock.MinimumTime && passes < PassClock.MaximumPasses && !_token.IsCancellationRequested);
        clock.Stop();
        _token.ThrowIfCancellationRequested();
        var wall = sink.Wall > TimeSpan.Zero ? sink.Wall : clock.Elapsed;
        // The measurement keeps processor seconds; from the thread's clocks they are the share of the
        // wall time the items computed while they could run, so a busy machine does not dilute them.
        double cpu = sink.Utilization is { } share
            ? share * wall.TotalSeconds
            : BackgroundCpu.Subtract(executor.CpuSeconds() - cpuBefore, clock.Elapsed);
        // Reported per pass: what one run of the sample costs.
        return new TrialMeasurement(Models.Sequential, 1, _sample.Count, wall / passes, TimeSpan.Zero,
            cpu / passes, memory.PeakMB, sink.FailedItems, sink.FirstError) { Passes = passes };
    }

    /// <summary>
    /// Runs on a lane before its clock starts. PowerShell interprets a script block for its first
    /// several calls and then compiles it, which makes it several times faster; the engine's own
    /// paths are compiled on first use too. Each runspace or worker pays that once, like opening
    /// it: the sequential trial leaves it out (a session running the job itself pays it once) and
    /// pool trials count it in their start-up. Up to <see cref="PassClock.WarmUpCalls"/> items, or
    /// <see cref="PassClock.WarmUpTime"/>, whichever comes first.
    /// </summary>
    private void WarmUp(ILane lane)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < PassClock.WarmUpCalls && clock.Elapsed < PassClock.WarmUpTime && !_token.IsCancellationRequested; i++)
            lane.RunAsync(new[] { new WorkItem(i, _sample[i % _sample.Count]) }, new SequentialSink(_token), _token).GetAwaiter().GetResult();
    }

    /// <summary>
    /// The items through the batch engine on a pool of <paramref name="degree"/> lanes, opened before
    /// the clock starts: their opening is the trial's start-up, timed on its own.
    /// </summary>
    public TrialMeasurement RunPool(string model, int degree)
    {
        var inner = model == Models.Process ? _recipe.CreateProcessExecutor() : _recipe.CreateThreadExecutor(degree);
        var executor = new PreparedExecutor(inner);
        Func<long> probe = inner is ProcessExecutor workers
            ? () => OwnWorkingSet() + workers.WorkerWorkingSetBytes()
            : OwnWorkingSet;
        var options = new BatchOptions
        {
            ThrottleLimit = degree,
            MaxChunkSize = model == Models.Process ? 256 : 64,
            Activity = $"{model} trial",
        };
        var sink = new PoolTrialSink(_sample.Count);
        using var memory = new MemorySampler(probe);
        TimeSpan startup;
        try
        {
            startup = executor.Prepare(degree, WarmUp, _token);
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
    /// Counts what a sequential run produced, and times it from inside: wall and processor time of the
    /// thread that ran the items, from a pass's first item start to its last item end. That leaves out
    /// the hand-over between passes (which a plain ForEach-Object does not have), and the processor
    /// time is the items' own. An async workload may continue on other threads: then there is no
    /// thread clock and the run falls back to the process clock.
    /// </summary>
    private sealed class SequentialSink : IAttemptSink
    {
        private readonly CancellationToken _token;
        private readonly HashSet<long> _failed = new();
        private int _thread, _linuxThread;
        private bool _oneThread = true;
        private long _passStart, _passEnd;
        private ThreadTimes? _passTimesStart, _passTimesEnd;
        private TimeSpan _wall, _cpu, _waiting;

        public SequentialSink(CancellationToken token) => _token = token;

        /// <summary>Sample items that failed (in any pass).</summary>
        public int FailedItems => _failed.Count;
        public string? FirstError { get; private set; }

        /// <summary>The passes' wall time measured on the items' thread.</summary>
        public TimeSpan Wall => _wall;

        /// <summary>Processor time over the wall time the thread could run (not waiting for a processor); null when unknown.</summary>
        public double? Utilization => _oneThread && _wall > _waiting
            ? Math.Clamp(_cpu.TotalSeconds / (_wall - _waiting).TotalSeconds, 0, 1) : null;

        public bool TryBegin(WorkItem item, ILane lane)
        {
            if (_passStart == 0)
            {
                if (_thread == 0)
                {
                    _thread = Environment.CurrentManagedThreadId;
                    _linuxThread = ThreadCpuClock.CurrentLinuxThreadId();
                }
                _passStart = Stopwatch.GetTimestamp();
                _passTimesStart = Read();
            }
            if (_thread != Environment.CurrentManagedThreadId) _oneThread = false;
            return !_token.IsCancellationRequested;
        }

        public void Stream(WorkItem item, object record)
        {
        }

        public void End(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors)
        {
            _passEnd = Stopwatch.GetTimestamp();
            if (_thread != Environment.CurrentManagedThreadId) _oneThread = false;
            // Without /proc the thread's clock can only be read on the thread itself, so after each item.
            else if (_linuxThread == 0) _passTimesEnd = ThreadCpuClock.Now();
            if (errors.Count == 0) return;
            _failed.Add(item.Index);
            FirstError ??= $"item {item.Input}: {errors[0]}";
        }

        /// <summary>Adds the pass that just ended to the totals (called on the trial's thread, after the pass).</summary>
        public void EndPass()
        {
            if (_linuxThread != 0) _passTimesEnd = ThreadCpuClock.ReadLinux(_linuxThread);
            if (_passStart != 0 && _passEnd > _passStart) _wall += Stopwatch.GetElapsedTime(_passStart, _passEnd);
            if (_passTimesStart is { } start && _passTimesEnd is { } end)
            {
                _cpu += end.Cpu - start.Cpu;
                _waiting += end.Waiting - start.Waiting;
            }
            else
            {
                _oneThread = false;
            }
            _passStart = _passEnd = 0;
            _passTimesStart = _passTimesEnd = null;
        }

        private ThreadTimes? Read() => _linuxThread != 0 ? ThreadCpuClock.ReadLinux(_linuxThread) : ThreadCpuClock.Now();
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

        public void WriteStream(object record)
        {
        }

        public void WriteProgress(ProgressRecord record)
        {
        }
    }
}

/// <summary>The model names, simplest first.</summary>
internal static class Models
{
    public const string Sequential = "Sequential";
    public const string Thread = "Thread";
    public const string Process = "Process";

    public static readonly string[] All = { Sequential, Thread, Process };

    /// <summary>0 for Sequential, 1 for Thread, 2 for Process: when two are about as fast, the simpler wins.</summary>
    public static int Complexity(string model) => Array.IndexOf(All, model);
}
