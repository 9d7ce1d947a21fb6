using System.Diagnostics;
using System.Management.Automation;

namespace PSParallel.Engine;

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
    /// The items one after the other on one runspace (or one workload instance), each in a child
    /// scope, as a plain ForEach-Object would run them: no scheduling, no hand-over between threads.
    /// Opening the runspace is not counted, since running in one's own session opens none.
    /// </summary>
    public TrialMeasurement RunSequential()
    {
        using var executor = _recipe.CreateThreadExecutor(1);
        using var lane = executor.CreateLaneAsync(_token).GetAwaiter().GetResult();
        var items = _sample.Select((input, index) => new WorkItem(index, input)).ToList();
        // One untimed item first: the first run in a session compiles the script and the engine's
        // paths, a cost the real job pays once, not per item.
        lane.RunAsync(new[] { new WorkItem(0, _sample[0]) }, new SequentialSink(_token), _token).GetAwaiter().GetResult();
        var sink = new SequentialSink(_token);
        using var memory = new MemorySampler(OwnWorkingSet);
        double cpuBefore = executor.CpuSeconds();
        var clock = Stopwatch.StartNew();
        lane.RunAsync(items, sink, _token).GetAwaiter().GetResult();
        clock.Stop();
        _token.ThrowIfCancellationRequested();
        return new TrialMeasurement(Models.Sequential, 1, items.Count, clock.Elapsed, TimeSpan.Zero,
            sink.ItemCpuSeconds ?? executor.CpuSeconds() - cpuBefore, memory.PeakMB, sink.Failed, sink.FirstError);
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
        var sink = new PoolTrialSink();
        using var memory = new MemorySampler(probe);
        TimeSpan startup;
        try
        {
            startup = executor.Prepare(degree, _token);
        }
        catch
        {
            executor.Dispose();
            throw;
        }
        var runner = new BatchRunner(options, executor, sink, asResult: true);
        try
        {
            using var stopOnCancel = _token.Register(runner.Stop);
            foreach (var item in _sample) runner.Add(item);
            runner.Complete();
        }
        finally
        {
            runner.Dispose();
        }
        _token.ThrowIfCancellationRequested();
        var summary = runner.Summary();
        return new TrialMeasurement(model, degree, _sample.Count, summary.Duration, startup,
            summary.CpuSeconds, memory.PeakMB, sink.Failed, sink.FirstError);
    }

    private static long OwnWorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    /// <summary>
    /// Counts what a sequential run produced, and the processor time of the items themselves: each
    /// item's thread clock from its start to its end (an async workload may end on another thread;
    /// then there is no such number and the run falls back to the process clock).
    /// </summary>
    private sealed class SequentialSink : IAttemptSink
    {
        private readonly CancellationToken _token;
        private TimeSpan? _itemStart;
        private int _itemThread;
        private bool _cpuKnown = true;
        private TimeSpan _cpu;

        public SequentialSink(CancellationToken token) => _token = token;

        public int Failed { get; private set; }
        public string? FirstError { get; private set; }

        /// <summary>The items' own processor seconds, or null when some item's could not be read.</summary>
        public double? ItemCpuSeconds => _cpuKnown ? _cpu.TotalSeconds : null;

        public bool TryBegin(WorkItem item, ILane lane)
        {
            _itemThread = Environment.CurrentManagedThreadId;
            _itemStart = ThreadCpuClock.Now();
            return !_token.IsCancellationRequested;
        }

        public void Stream(WorkItem item, object record)
        {
        }

        public void End(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors)
        {
            if (_itemStart is { } start && _itemThread == Environment.CurrentManagedThreadId && ThreadCpuClock.Now() is { } end)
                _cpu += end - start;
            else
                _cpuKnown = false;
            if (errors.Count == 0) return;
            Failed++;
            FirstError ??= $"item {item.Input}: {errors[0]}";
        }
    }

    /// <summary>Counts what a pool run produced; the results come as ItemResult on the calling thread.</summary>
    private sealed class PoolTrialSink : IBatchSink
    {
        public int Failed { get; private set; }
        public string? FirstError { get; private set; }

        public void WriteOutput(object? value)
        {
            if (value is not ItemResult result) return;
            if (result.Status == ItemStatus.Succeeded) return;
            Failed++;
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
public static class Models
{
    public const string Sequential = "Sequential";
    public const string Thread = "Thread";
    public const string Process = "Process";

    public static readonly string[] All = { Sequential, Thread, Process };

    /// <summary>0 for Sequential, 1 for Thread, 2 for Process: when two are about as fast, the simpler wins.</summary>
    public static int Complexity(string model) => Array.IndexOf(All, model);
}
