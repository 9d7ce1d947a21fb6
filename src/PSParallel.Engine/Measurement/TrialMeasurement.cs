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
    /// it; runspaces open one after another while the first ones already run items, so on average
    /// each lane starts work halfway through the opening.
    /// </summary>
    public TimeSpan StartupDelay => Model == ExecutionModel.Thread ? Startup / 2 : Startup;

    public ConcurrencyTrial ToTrial(TimeSpan sequentialDuration) => new(Model.ToString(), ThrottleLimit, Items, Duration,
        sequentialDuration > TimeSpan.Zero ? Math.Round(sequentialDuration.TotalSeconds / Measured.TotalSeconds, 2) : 0,
        Math.Round(CpuSeconds, 3), Math.Round(Startup.TotalSeconds, 3), Math.Round(PeakMemoryMB, 1), Failed);
}
