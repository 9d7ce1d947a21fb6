using PSParallel.Engine.Lanes.Threads;

namespace PSParallel.Engine.Measurement;

/// <summary>
/// The raw numbers of one trial, before they are compared with the others. <see cref="Duration"/> is
/// the items' wall time with the pool already open; <see cref="Startup"/> is what opening it took.
/// </summary>
internal sealed record TrialMeasurement(
    ExecutionModel Model,
    int ThrottleLimit,
    int Items,
    TimeSpan Duration,
    TimeSpan Startup,
    double CpuSeconds,
    double PeakMemoryMB,
    int Failed,
    string? FirstError)
{
    /// <summary>How many times the trial ran the sample (a trial reports one pass).</summary>
    public int Passes { get; init; } = 1;

    // A trial too quick for the clock still gets a finite rate.
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(0.01);

    private TimeSpan Measured => Duration > Tick ? Duration : Tick;

    public double ItemsPerSecond => Items / Measured.TotalSeconds;

    /// <summary>
    /// The whole job of <paramref name="totalItems"/> at this trial's rate, plus start-up once: a
    /// pool opens its runspaces or workers once, however many items follow.
    /// </summary>
    public TimeSpan Project(long totalItems) => StartupDelay + TimeSpan.FromSeconds(totalItems / ItemsPerSecond);

    /// <summary>
    /// What start-up delays the job. Worker processes come up together, so items wait for all of
    /// it. A batch opens runspaces a few at a time (one per core,
    /// <see cref="RunspaceExecutor.RunspacesOpeningAtOnce"/>) while the first ones
    /// already run items: the first few are ready after their share of the opening, the last at its
    /// end, so on average a lane starts work halfway between. At 16 runspaces on 2 cores that is a
    /// little over half the opening; at 2, all of it (counting half, the projection put 200 tiny
    /// items on 2 threads at 12 ms, and they took 19-31 ms against 13-15 ms sequentially).
    /// </summary>
    public TimeSpan StartupDelay => Model == ExecutionModel.Thread
        ? Startup * (1 + Math.Min(1.0, (double)RunspaceExecutor.RunspacesOpeningAtOnce / ThrottleLimit)) / 2
        : Startup;

    public ConcurrencyTrial ToTrial(TimeSpan sequentialDuration) => new(Model.ToString(), ThrottleLimit, Items, Duration,
        sequentialDuration > TimeSpan.Zero ? Math.Round(sequentialDuration.TotalSeconds / Measured.TotalSeconds, 2) : 0,
        Math.Round(CpuSeconds, 3), Math.Round(Startup.TotalSeconds, 3), Math.Round(PeakMemoryMB, 1), Failed);
}
