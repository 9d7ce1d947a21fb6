using System.Diagnostics;
using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Workloads;
using PSParallel.Engine.Scheduling;
using Xunit;

namespace PSParallel.Tests;

/// <summary>A sink that records what the engine writes, and on which thread.</summary>
internal sealed class RecordingSink : IBatchSink
{
    public readonly List<object?> Output = new();
    public readonly List<ErrorRecord> Errors = new();
    public readonly List<StreamRecord> Streams = new();
    public readonly List<ProgressRecord> Progress = new();
    /// <summary>Output and errors in the order written: ("out", value) or ("err", record).</summary>
    public readonly List<(string Kind, object? Value)> Log = new();
    public readonly HashSet<int> Threads = new();

    private void Called() { lock (Threads) Threads.Add(Environment.CurrentManagedThreadId); }

    public void WriteOutput(object? value) { Called(); Output.Add(value); Log.Add(("out", value)); }
    public void WriteError(ErrorRecord error) { Called(); Errors.Add(error); Log.Add(("err", error)); }
    public void WriteStream(StreamRecord record)
    {
        Called();
        if (record.Progress is { } progress) Progress.Add(progress);
        else Streams.Add(record);
    }

    public IEnumerable<ItemResult> Results => Output.Cast<ItemResult>();
}

/// <summary>
/// An input item that says what the workload call does with it, so one batch can mix fast, failing,
/// flaky and blocking items. Calls counts the workload calls (attempts) made for it.
/// </summary>
public sealed class Step
{
    private readonly Func<Step, int, CancellationToken, object?> _body;
    private int _calls;

    public Step(int value, Func<Step, int, CancellationToken, object?> body)
    {
        Value = value;
        _body = body;
    }

    public int Value { get; }
    public int Calls => Volatile.Read(ref _calls);

    public object? Run(CancellationToken token) => _body(this, Interlocked.Increment(ref _calls), token);

    public override string ToString() => $"step {Value}";

    public static Step Echo(int value) => new(value, (s, _, _) => s.Value);

    public static Step Fail(int value, string message = "boom") =>
        new(value, (s, call, _) => throw new InvalidOperationException($"{message} {s.Value} attempt {call}"));

    /// <summary>Fails its first <paramref name="failures"/> calls, then returns "ok {value} attempt {n}".</summary>
    public static Step Flaky(int value, int failures) => new(value, (s, call, _) =>
        call <= failures ? throw new InvalidOperationException($"flaky {s.Value} attempt {call}") : $"ok {s.Value} attempt {call}");

    /// <summary>Waits for the gate, ignoring the token (a stuck item); counts itself as started.</summary>
    public static Step Blocking(int value, Gate gate) => new(value, (s, _, _) =>
    {
        gate.Enter();
        gate.Open.Wait(TimeSpan.FromSeconds(20));
        return s.Value;
    });

    /// <summary>Waits for the gate or the token (a well-behaved long item).</summary>
    public static Step Cancellable(int value, Gate gate) => new(value, (s, _, token) =>
    {
        gate.Enter();
        gate.Open.Wait(TimeSpan.FromSeconds(20), token);
        return s.Value;
    });

    public static Step Sleep(int value, int ms) => new(value, (s, _, _) =>
    {
        Thread.Sleep(ms);
        return s.Value;
    });
}

/// <summary>A gate blocking items until the test opens it; counts the items that reached it.</summary>
public sealed class Gate : IDisposable
{
    private int _entered;
    public readonly ManualResetEventSlim Open = new(false);
    public int Entered => Volatile.Read(ref _entered);
    public void Enter() => Interlocked.Increment(ref _entered);

    public void WaitForEntered(int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Entered < count)
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"only {Entered} of {count} items reached the gate");
            Thread.Sleep(5);
        }
    }

    public void Dispose() => Open.Set(); // never leave a thread blocked
}

public sealed class StepWorkload : IWorkload
{
    public object? Invoke(object? input, CancellationToken token) => ((Step)input!).Run(token);
}

public sealed class AsyncStepWorkload : IAsyncWorkload
{
    public async Task<object?> InvokeAsync(object? input, CancellationToken token)
    {
        await Task.Yield();
        return ((Step)input!).Run(token);
    }
}

/// <summary>Returns its item.</summary>
public sealed class EchoWorkload : IWorkload
{
    public object? Invoke(object? input, CancellationToken token) => input;
}

/// <summary>Throws an exception that carries its own error record (id and category must be kept).</summary>
public sealed class ErrorRecordWorkload : IWorkload
{
    public object? Invoke(object? input, CancellationToken token) => throw new RecordException(input);

    public sealed class RecordException : Exception, IContainsErrorRecord
    {
        public RecordException(object? input) : base($"bad item {input}") =>
            ErrorRecord = new ErrorRecord(this, "Test.BadItem", ErrorCategory.InvalidData, "not the input");

        public ErrorRecord ErrorRecord { get; }
    }
}

/// <summary>Drives a runner from one thread, as the cmdlet's pipeline thread does, with a hang guard.</summary>
internal static class Drive
{
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(20);

    public sealed record Outcome(RecordingSink Sink, BatchSummary Summary, TimeSpan Elapsed, int DriverThread, Exception? Error);

    public static Outcome Run(BatchOptions options, Type workload, IEnumerable<object?> inputs, bool asResult = false,
        Action<BatchRunner>? started = null) =>
        Run(options, new WorkloadExecutor(workload, options.ThrottleLimit), inputs, asResult, started);

    public static Outcome Run(BatchOptions options, IExecutor executor, IEnumerable<object?> inputs, bool asResult = false,
        Action<BatchRunner>? started = null)
    {
        var sink = new RecordingSink();
        var runner = new BatchRunner(options, executor, sink, asResult);
        started?.Invoke(runner);
        int driver = 0;
        Exception? error = null;
        var clock = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            driver = Environment.CurrentManagedThreadId;
            try
            {
                foreach (var input in inputs) runner.Add(input);
                runner.Complete();
            }
            catch (Exception ex)
            {
                error = ex;
            }
        }) { IsBackground = true };
        thread.Start();
        if (!thread.Join(HangLimit))
        {
            runner.Stop();
            Assert.Fail($"the batch did not finish within {HangLimit.TotalSeconds} s (hang)");
        }
        var elapsed = clock.Elapsed;
        var summary = runner.Summary();
        runner.Dispose();
        Assert.All(sink.Threads, id => Assert.Equal(driver, id)); // the sink is written from the pipeline thread only
        return new Outcome(sink, summary, elapsed, driver, error);
    }

    public static Outcome Ok(this Outcome outcome)
    {
        if (outcome.Error is not null) throw new Xunit.Sdk.XunitException($"the batch threw: {outcome.Error}");
        return outcome;
    }

    /// <summary>Status of every result and every error id, for assertion messages.</summary>
    public static string Describe(RecordingSink sink) =>
        string.Join(", ", sink.Output.OfType<ItemResult>().OrderBy(r => r.Index).Select(r =>
            $"{r.Index}:{r.Status}" + (r.Errors.Length > 0 ? "[" + string.Join("|", r.Errors.Select(e => e.FullyQualifiedErrorId)) + "]" : ""))) +
        "; errors: " + string.Join(", ", sink.Errors.Select(e => e.FullyQualifiedErrorId));

    /// <summary>
    /// The counts after a Stop() or batch timeout: the <paramref name="stopped"/> running items end with
    /// <paramref name="stopStatus"/> (never Failed: the stop decides their state, not the lane that
    /// noticed the cancellation), and no error is written for them.
    /// </summary>
    public static void AssertStoppedCounts(Outcome run, ItemStatus stopStatus, long stopped, long succeeded = 0, long skipped = 0,
        long timedOut = 0, long extraErrors = 0)
    {
        long cancelled = stopStatus == ItemStatus.Cancelled ? stopped : 0;
        long timed = timedOut + (stopStatus == ItemStatus.TimedOut ? stopped : 0);
        AssertCounts(run, succeeded: succeeded, timedOut: timed, cancelled: cancelled, skipped: skipped);
        Assert.True(run.Sink.Errors.Count == extraErrors, Describe(run.Sink));
    }

    /// <summary>The summary's counts, all at once, so a failure shows the whole picture.</summary>
    public static void AssertCounts(Outcome run, long succeeded = 0, long failed = 0, long timedOut = 0, long cancelled = 0, long skipped = 0)
    {
        var s = run.Summary;
        var expected = (succeeded, failed, timedOut, cancelled, skipped);
        var actual = (s.Succeeded, s.Failed, s.TimedOut, s.Cancelled, s.Skipped);
        Assert.True(expected == actual,
            $"expected (Succeeded, Failed, TimedOut, Cancelled, Skipped) = {expected}, got {actual}; {Describe(run.Sink)}");
    }

    public static void AssertAccounted(BatchSummary summary, long inputs)
    {
        Assert.Equal(inputs, summary.Total);
        Assert.Equal(inputs, summary.Succeeded + summary.Failed + summary.TimedOut + summary.Cancelled + summary.Skipped);
    }
}

/// <summary>
/// An executor whose lanes do what the test says: used to break lanes or report output together with
/// errors, which compiled workloads cannot do.
/// </summary>
internal sealed class FakeExecutor : IExecutor
{
    private readonly Func<FakeLane, IReadOnlyList<WorkItem>, IAttemptSink, CancellationToken, Task> _run;
    private readonly Func<int, Exception?>? _createFails;
    private int _lanes;

    public FakeExecutor(Func<FakeLane, IReadOnlyList<WorkItem>, IAttemptSink, CancellationToken, Task> run,
        Func<int, Exception?>? createFails = null)
    {
        _run = run;
        _createFails = createFails;
    }

    public int LanesCreated => Volatile.Read(ref _lanes);
    public ExecutionModel Model => ExecutionModel.Thread;
    public int MaxItemsPerLane => 0;
    public int MaxLanesOpeningAtOnce => int.MaxValue;
    /// <summary>Set to behave like worker processes (items start before TryBegin is asked).</summary>
    public bool StartsItemsAhead { get; init; }

    public Task<ILane> CreateLaneAsync(CancellationToken token)
    {
        int n = Interlocked.Increment(ref _lanes);
        if (_createFails?.Invoke(n) is { } ex) throw ex;
        return Task.FromResult<ILane>(new FakeLane(this, 1000 + n));
    }

    public double CpuSeconds() => 0;
    public void Dispose() { }

    public sealed class FakeLane : ILane
    {
        private readonly FakeExecutor _owner;
        public FakeLane(FakeExecutor owner, int id) { _owner = owner; WorkerId = id; }
        public int WorkerId { get; }
        public Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token) => _owner._run(this, chunk, sink, token);
        public bool IsDisposed { get; private set; }
        public void Abort() { }
        public void Dispose() => IsDisposed = true;
    }
}
