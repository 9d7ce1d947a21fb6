using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Threads;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Measurement;

/// <summary>
/// The sequential trial of a script, run the way the recommended sequential command runs it:
/// <c>$items | ForEach-Object { &amp; { body } }</c>, in a runspace set up like the pool's ($using:,
/// -Variable, -Function, -Module, location). Timed from inside the pipeline by a
/// <see cref="PassClock"/>, so the runspace's opening and the hand-over to its thread are left out.
/// </summary>
internal static class SequentialPipeline
{
    // Warm-up first (PowerShell compiles a script block after its first calls), one item a pipeline;
    // then whole passes over the sample until the clock has enough. A throw fails one item, as the
    // pool would count it, instead of ending the pass.
    private const string Script = """
        param($__pspText, $__pspItems, $__pspClock, $__pspLocation)
        if ($__pspLocation) { Set-Location -LiteralPath $__pspLocation }
        $__pspBody = [scriptblock]::Create($__pspText)
        foreach ($__pspItem in $__pspItems) {
            if ($__pspClock.WarmedUp()) { break }
            $null = $__pspItem | ForEach-Object { try { & $__pspBody } catch { } }
        }
        do {
            $__pspClock.Start()
            $null = $__pspItems | ForEach-Object { $__pspItem = $_; try { & $__pspBody } catch { $__pspClock.Failed($__pspItem, $_) } }
            $__pspClock.Stop()
        } while ($__pspClock.WantsAnotherPass())
        """;

    public static TrialMeasurement Run(ScriptRecipe setup, IReadOnlyList<object?> sample, CancellationToken token)
    {
        using var runspace = RunspaceFactory.CreateRunspace(SessionStateBuilder.Create(setup));
        try
        {
            runspace.Open();
        }
        catch (Exception ex) when (ex is RuntimeException or PSInvalidOperationException)
        {
            throw Errors.WorkerSetupFailed("The runspace for the items", ex.Message);
        }
        using var shell = PowerShell.Create();
        shell.Runspace = runspace;
        var clock = new PassClock(sample.Count);
        shell.AddScript(Script).AddArgument(setup.ScriptText).AddArgument(sample.ToArray()).AddArgument(clock).AddArgument(setup.Location);
        using var memory = new MemorySampler(TrialRunner.OwnWorkingSet);
        using var stopOnCancel = token.Register(shell.TryBeginStop);
        try
        {
            shell.Invoke();
        }
        catch (PipelineStoppedException) when (token.IsCancellationRequested)
        {
        }
        token.ThrowIfCancellationRequested();
        var errors = shell.Streams.Error.Count + clock.ThrownErrors;
        return new TrialMeasurement(ExecutionModel.Sequential, 1, sample.Count, clock.Wall / clock.Passes, TimeSpan.Zero,
            clock.CpuSeconds / clock.Passes, memory.PeakMB, Math.Min(sample.Count, errors / clock.Passes),
            clock.FirstError ?? (shell.Streams.Error.Count > 0 ? shell.Streams.Error[0].ToString() : null))
        {
            Passes = clock.Passes,
        };
    }
}

/// <summary>
/// Times the passes of a sequential trial on the thread that runs them (wall, and processor time
/// net of waiting for a processor, see <see cref="ThreadCpuClock"/>), decides the warm-up and the
/// number of passes, and counts thrown errors. Used by the sequential pipeline's script (through its
/// public methods) and by the compiled workload's trial.
/// </summary>
internal sealed class PassClock
{
    /// <summary>
    /// Shorter runs are repeated: the clocks, processor time above all, are too coarse for them, and
    /// on a shared machine a burst of other work would decide a short window: with a 0.1 s window,
    /// one measurement of tiny items under bursty load projected 9x the time the job then took
    /// (bench/Decision.ps1, tiny items).
    /// </summary>
    public static readonly TimeSpan MinimumTime = TimeSpan.FromMilliseconds(300);
    /// <summary>Enough passes for the window above at about 5 µs an item (64 items a pass).</summary>
    public const int MaximumPasses = 1000;
    public const int WarmUpCalls = 20;
    public static readonly TimeSpan WarmUpTime = TimeSpan.FromMilliseconds(100);

    private readonly int _sampleSize;
    private readonly Stopwatch _warmUp = new();
    private int _warmUpCalls;
    private long _passStart;
    private int _passThread;
    private ThreadTimes? _timesStart;
    private bool _cpuKnown = true;
    private TimeSpan _cpu, _waiting;

    internal PassClock(int sampleSize) => _sampleSize = sampleSize;

    internal TimeSpan Wall { get; private set; }
    internal int Passes { get; private set; }
    internal int ThrownErrors { get; private set; }
    internal string? FirstError { get; private set; }

    /// <summary>Processor seconds of the passes, the wall time where the thread's clock was not readable.</summary>
    internal double CpuSeconds => KnownCpuSeconds ?? Wall.TotalSeconds;

    /// <summary>
    /// The share of the wall time the thread computed while it could run, times the wall time; null
    /// when a pass ended on another thread than it began (an async workload) or no clock was readable.
    /// </summary>
    internal double? KnownCpuSeconds => _cpuKnown && Wall > _waiting
        ? Math.Clamp(_cpu.TotalSeconds / (Wall - _waiting).TotalSeconds, 0, 1) * Wall.TotalSeconds
        : null;

    public bool WarmedUp()
    {
        _warmUp.Start();
        return _warmUpCalls++ >= WarmUpCalls || _warmUp.Elapsed >= WarmUpTime;
    }

    public void Start()
    {
        _passThread = Environment.CurrentManagedThreadId;
        _timesStart = ThreadCpuClock.ForCurrentThread();
        _passStart = Stopwatch.GetTimestamp();
    }

    public void Stop()
    {
        Wall += Stopwatch.GetElapsedTime(_passStart);
        Passes++;
        if (_passThread == Environment.CurrentManagedThreadId && _timesStart is { } start && ThreadCpuClock.ForCurrentThread() is { } end)
        {
            _cpu += end.Cpu - start.Cpu;
            _waiting += end.Waiting - start.Waiting;
        }
        else
        {
            _cpuKnown = false;
        }
    }

    public bool WantsAnotherPass() => Wall < MinimumTime && Passes < MaximumPasses;

    public void Failed(object? item, ErrorRecord error)
    {
        ThrownErrors++;
        FirstError ??= $"item {item}: {error}";
    }
}
