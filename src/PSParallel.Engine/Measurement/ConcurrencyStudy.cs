using PSParallel.Engine.Pools;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Measurement;

/// <summary>What a measurement tries: which models, how far up the degrees go, how big the real job is.</summary>
internal sealed class StudyOptions
{
    public required IReadOnlyList<ExecutionModel> Models { get; init; }
    public required int MaxThrottleLimit { get; init; }
    public required long TotalItems { get; init; }
    /// <summary>A warm pool to measure its model on, at its size, with no start-up to pay.</summary>
    public WarmPool? Pool { get; init; }
    /// <summary>Sessions on remote hosts (-HostName, -Session) to add Remote trials on; null for none.</summary>
    public RemoteTrialPool? Remote { get; init; }
}

/// <summary>Remote sessions opened for a measurement, and what opening them took (its start-up, counted once).</summary>
internal sealed record RemoteTrialPool(WarmPool Pool, TimeSpan Connect, int Hosts);

/// <summary>
/// Runs the trials of one measurement in order: sequential first (the baseline and the work's
/// processor share), then threads and processes up their degree ladders, then, for work that
/// computes, a second run of the trials that decide the verdict. Start-up is part of every pool
/// trial and measured apart, so the projection counts it once.
/// </summary>
internal sealed class ConcurrencyStudy(WorkRecipe recipe, IReadOnlyList<object?> sample, StudyOptions options)
{
    private readonly WorkRecipe _recipe = recipe;
    private readonly IReadOnlyList<object?> _sample = sample;
    private readonly StudyOptions _options = options;

    /// <summary>Runs every trial; <paramref name="progress"/> hears which one starts next.</summary>
    public IReadOnlyList<TrialMeasurement> Run(Action<string> progress, Action<string> warn, CancellationToken token)
    {
        var runner = new TrialRunner(_recipe, _sample, token);
        var trials = new TrialList();
        int cores = Environment.ProcessorCount;
        if (_options.Models.Contains(ExecutionModel.Sequential))
        {
            progress("sequential");
            trials.Add(runner.RunSequential);
        }
        int sequentialAt = trials.Count - 1;
        // At least two sample items a lane, so that a trial measures a rate, not the latency of one item.
        int sampleCap = Math.Max(1, _sample.Count / 2);
        if (_options.Pool is { } pool)
        {
            progress($"the warm pool's {Describe(pool.Model)} at {pool.Size}");
            trials.Add(() => runner.RunPool(pool.Model, pool.Size, pool));
        }
        else if (_options.Models.Contains(ExecutionModel.Thread))
            Climb(ExecutionModel.Thread, new DegreeLadder(cores, Math.Min(_options.MaxThrottleLimit, sampleCap)), runner, trials, progress);
        if (_options.Pool is null && _options.Models.Contains(ExecutionModel.Process))
        {
            // Every worker is a whole pwsh that takes about a second to start: more workers than the
            // cores are tried only when processes are already the fastest way.
            int cap = Math.Min(Math.Min(_options.MaxThrottleLimit, sampleCap), 2 * cores);
            var ladder = new DegreeLadder(cores, cap, () => IsFastest(ExecutionModel.Process, trials));
            try
            {
                Climb(ExecutionModel.Process, ladder, runner, trials, progress);
            }
            catch (Exception ex) when (ex is BatchFaultedException or SetupException && trials.Count > 0)
            {
                warn($"The Process trials were skipped: {ex.Message}");
            }
        }
        if (_options.Remote is { } remote) RunRemote(remote, runner, trials, progress);
        if (trials.Count > 1 && Computes(trials)) TakeSecondLook(trials, sequentialAt, progress, warn);
        TrialRunner.CollectGarbage();
        foreach (var failed in trials.Where(t => t.Failed > 0))
            warn($"{failed.Failed} of {_sample.Count} sample items failed in the {failed.Model} trial at {failed.ThrottleLimit}, " +
                 $"so its timing may not be the job's. First error: {failed.FirstError}");
        return trials;
    }

    /// <summary>
    /// Work that computes (not IoBound): its time is the processor's, so the runtime's warming up and
    /// other work on a shared machine decide a single run as much as the model does.
    /// </summary>
    private static bool Computes(IReadOnlyList<TrialMeasurement> trials) =>
        WorkClassifier.Classify(WorkClassifier.Utilization(trials)) != WorkClassifier.IoBound;

    /// <summary>
    /// Runs the trials that decide a computing job's verdict once more, each keeping its faster run.
    /// <para>The sequential trial ran first, in a process the runtime was still tuning: .NET recompiles
    /// hot code in waves over the first second or so of computing, and PowerShell compiles the script
    /// after its first calls. The pool trials that followed ran warm, so a computing workload's
    /// sequential trial looked up to 1.4x slower than its pool trials' terms and threads won jobs that
    /// were faster sequentially (bench/Decision.ps1, allocation-heavy script). Run again, every model
    /// is compared warm.</para>
    /// <para>Then, a computing job's trials last a second or two, and on a shared machine one burst of
    /// other work slows one of them by up to a third: the CPU script's 2-thread trial took 1.25-1.72 s
    /// rep to rep against 1.61-1.67 s sequentially, and sequential, with its better of two runs, won
    /// twice where threads ran the job 1.36x faster (bench/Decision.ps1). So the trial each other
    /// model would be recommended on runs again too when its projection is within
    /// <see cref="CloseBand"/> of the fastest. Models far apart are not: it would cost seconds and
    /// change nothing. Waiting work is not run again at all: its time is not the processor's.</para>
    /// <para>The sequential trial itself is not run again when even warm it could not come within
    /// <see cref="CloseBand"/> of the fastest model (<see cref="ColdSequentialFactor"/>): work that
    /// computes but mostly waits, such as fetching then crunching, is several times faster on
    /// threads, and its sequential trial is the longest of all (3.3 s of a 18-19 s measurement in
    /// bench/Decision.ps1's mixed workload, whose limit is 20 s).</para>
    /// </summary>
    private void TakeSecondLook(TrialList trials, int sequentialAt, Action<string> progress, Action<string> warn)
    {
        if (sequentialAt >= 0 && CouldWinWarm(trials))
        {
            progress("sequential again, warm");
            trials.RunAgain(sequentialAt, _options.TotalItems);
        }
        foreach (int rival in CloseRivals(trials))
        {
            var first = trials[rival];
            progress($"{Describe(first.Model)} at {first.ThrottleLimit} again");
            try
            {
                trials.RunAgain(rival, _options.TotalItems);
            }
            catch (Exception ex) when (ex is BatchFaultedException or SetupException)
            {
                warn($"The {first.Model} trial at {first.ThrottleLimit} could not run again, so its first run stands: {ex.Message}");
            }
        }
    }

    /// <summary>How much slower than the fastest a model's projection may be and still be run again.</summary>
    public const double CloseBand = 1.25;

    /// <summary>
    /// How much slower than warm the sequential trial's cold first run can look: up to 1.4x in
    /// bench/Decision.ps1 (the allocation-heavy script), the reason it is run again.
    /// </summary>
    public const double ColdSequentialFactor = 1.4;

    /// <summary>Whether the sequential trial, run warm, could come within <see cref="CloseBand"/> of the fastest model.</summary>
    private bool CouldWinWarm(TrialList trials) =>
        new ModelChooser(trials, _options.TotalItems).IsWithin(ExecutionModel.Sequential, CloseBand * ColdSequentialFactor);

    /// <summary>
    /// The trials, other than the sequential one, that <see cref="ModelChooser"/> would weigh for
    /// their model (<see cref="ModelChooser.BestPerModel"/>) and that project within
    /// <see cref="CloseBand"/> of the fastest model, when at least two models do.
    /// </summary>
    private IReadOnlyList<int> CloseRivals(TrialList trials)
    {
        var choice = new ModelChooser(trials, _options.TotalItems);
        var close = choice.BestPerModel.Where(t => choice.IsWithin(t.Model, CloseBand)).ToList();
        if (close.Count < 2) return Array.Empty<int>();
        return close.Where(t => t.Model != ExecutionModel.Sequential).Select(trials.IndexOf).ToList();
    }

    private static string Describe(ExecutionModel model) => model switch
    {
        ExecutionModel.Process => "processes",
        ExecutionModel.Remote => "remote sessions",
        _ => "threads",
    };

    /// <summary>
    /// Tries the ladder's degrees. The climb follows the rate with the pool open (start-up would stop
    /// it early on a small sample); the choice among the trials is made on the projection afterwards.
    /// </summary>
    private bool IsFastest(ExecutionModel model, IReadOnlyList<TrialMeasurement> trials) =>
        trials.Count > 0 && trials.MinBy(t => t.Project(_options.TotalItems))!.Model == model;

    /// <summary>
    /// The remote sessions at one session per host and at all of them: two degrees, each with the
    /// sessions' opening as its start-up, as a process trial counts its workers' start.
    /// </summary>
    private static void RunRemote(RemoteTrialPool remote, TrialRunner runner, TrialList trials, Action<string> progress)
    {
        int all = remote.Pool.Size;
        foreach (int degree in new[] { Math.Min(remote.Hosts, all), all }.Distinct())
        {
            progress($"remote sessions at {degree}");
            trials.Add(() => runner.RunPool(ExecutionModel.Remote, degree, remote.Pool) with { Startup = remote.Connect });
        }
    }

    private static void Climb(ExecutionModel model, DegreeLadder ladder, TrialRunner runner, TrialList trials, Action<string> progress)
    {
        while (ladder.Next is { } degree)
        {
            progress($"{Describe(model)} at {degree}");
            var trial = trials.Add(() => runner.RunPool(model, degree));
            ladder.Record(trial.ItemsPerSecond);
        }
    }
}
