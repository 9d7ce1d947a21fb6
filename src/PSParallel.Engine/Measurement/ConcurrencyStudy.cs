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
/// processor share), then threads and processes up their degree ladders. Start-up is part of every
/// pool trial and measured apart, so the projection counts it once.
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
        var trials = new List<TrialMeasurement>();
        int cores = Environment.ProcessorCount;
        if (_options.Models.Contains(ExecutionModel.Sequential))
        {
            progress("sequential");
            trials.Add(runner.RunSequential());
        }
        int sequentialAt = trials.Count - 1;
        // At least two sample items a lane, so that a trial measures a rate, not the latency of one item.
        int sampleCap = Math.Max(1, _sample.Count / 2);
        if (_options.Pool is { } pool)
        {
            progress($"the warm pool's {pool.Model switch { ExecutionModel.Process => "processes", ExecutionModel.Remote => "remote sessions", _ => "threads" }} at {pool.Size}");
            trials.Add(runner.RunPool(pool.Model, pool.Size, pool));
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
        if (_options.Remote is { } remote) trials.AddRange(RunRemote(remote, runner, progress));
        if (sequentialAt >= 0 && trials.Count > 1 && RunsLongEnoughToWarm(trials[sequentialAt]))
        {
            progress("sequential again, warm");
            var again = runner.RunSequential();
            if (again.Duration < trials[sequentialAt].Duration) trials[sequentialAt] = again;
        }
        TrialRunner.CollectGarbage();
        foreach (var failed in trials.Where(t => t.Failed > 0))
            warn($"{failed.Failed} of {_sample.Count} sample items failed in the {failed.Model} trial at {failed.ThrottleLimit}, " +
                 $"so its timing may not be the job's. First error: {failed.FirstError}");
        return trials;
    }

    /// <summary>
    /// The sequential trial runs first, in a process the runtime is still tuning: .NET recompiles hot
    /// code in waves over the first second or so of computing, and PowerShell compiles the script
    /// after its first calls. The pool trials that follow run warm, so a computing workload's
    /// sequential trial looked up to 1.4x slower than its pool trials' terms and threads won jobs
    /// that were faster sequentially (bench/Decision.ps1, allocation-heavy script). Running it once
    /// more at the end, and keeping the faster run, compares every model warm. Waiting work is not
    /// run again: its time is not the runtime's, and a second pass would cost seconds.
    /// </summary>
    private static bool RunsLongEnoughToWarm(TrialMeasurement sequential) =>
        WorkClassifier.Classify(WorkClassifier.Utilization(new[] { sequential })) != WorkClassifier.IoBound;

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
    private static IEnumerable<TrialMeasurement> RunRemote(RemoteTrialPool remote, TrialRunner runner, Action<string> progress)
    {
        int all = remote.Pool.Size;
        foreach (int degree in new[] { Math.Min(remote.Hosts, all), all }.Distinct())
        {
            progress($"remote sessions at {degree}");
            yield return runner.RunPool(ExecutionModel.Remote, degree, remote.Pool) with { Startup = remote.Connect };
        }
    }

    private static void Climb(ExecutionModel model, DegreeLadder ladder, TrialRunner runner, List<TrialMeasurement> trials, Action<string> progress)
    {
        while (ladder.Next is { } degree)
        {
            progress($"{(model == ExecutionModel.Process ? "processes" : "threads")} at {degree}");
            var trial = runner.RunPool(model, degree);
            trials.Add(trial);
            ladder.Record(trial.ItemsPerSecond);
        }
    }
}
