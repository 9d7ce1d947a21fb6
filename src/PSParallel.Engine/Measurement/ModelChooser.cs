namespace PSParallel.Engine.Measurement;

/// <summary>
/// Projects each trial to the whole job and picks the model to recommend: the fastest projection,
/// except that a simpler model (Sequential, then Thread, then Process) wins when it is within
/// <see cref="Tolerance"/> of the fastest, and so does a lower degree of the same model. Work that
/// computes gets no more lanes than cores (<see cref="MostLanes"/>).
/// </summary>
internal sealed class ModelChooser
{
    /// <summary>How much slower a simpler model, or a lower degree, may be and still be recommended.</summary>
    public const double Tolerance = 1.10;

    public ModelChooser(IReadOnlyList<TrialMeasurement> trials, long totalItems)
    {
        if (trials.Count == 0) throw new ArgumentException("at least one trial is needed", nameof(trials));
        Utilization = WorkClassifier.Utilization(trials);
        int mostLanes = MostLanes(Utilization);
        BestPerModel = trials
            .GroupBy(t => t.Model)
            .Select(g => BestDegree(g, totalItems, mostLanes))
            .OrderBy(t => (int)t.Model)
            .ToList();
        Projected = BestPerModel.ToDictionary(t => t.Model, t => t.Project(totalItems));
        var fastest = BestPerModel.Min(t => Projected[t.Model]);
        Chosen = BestPerModel.First(t => Projected[t.Model].TotalSeconds <= fastest.TotalSeconds * Tolerance);
        Fastest = BestPerModel.First(t => Projected[t.Model] == fastest);
    }

    /// <summary>
    /// A model's best degree: the lowest whose projection is within <see cref="Tolerance"/> of the
    /// model's shortest. More lanes cost memory and start-up, and the projection is least sure
    /// where many lanes open while items run (sleep items: 32 threads projected 5 % faster than
    /// 16 and ran 19 % slower).
    /// </summary>
    private static TrialMeasurement BestDegree(IEnumerable<TrialMeasurement> trialsOfOneModel, long totalItems, int mostLanes)
    {
        var tried = trialsOfOneModel.OrderBy(t => t.ThrottleLimit).ToList();
        var byDegree = tried.Where(t => t.ThrottleLimit <= mostLanes).ToList() is { Count: > 0 } allowed ? allowed : tried;
        var shortest = byDegree.Min(t => t.Project(totalItems));
        return byDegree.First(t => t.Project(totalItems).TotalSeconds <= shortest.TotalSeconds * Tolerance);
    }

    /// <summary>
    /// Work that computes nearly all its time (CpuBound) cannot use more lanes than there are cores:
    /// a higher degree that projects faster does so by the sample's noise, and in the whole job its
    /// extra lanes take processor time from the pipeline that feeds them. bench/Decision.ps1 on 2
    /// cores, 4 threads against 2: CPU script 1.13x slower, allocation-heavy script 1.20x, tiny items
    /// 1.16x (where 4 was recommended), compiled IsPrime 4% faster. Other work may use any degree.
    /// </summary>
    private static int MostLanes(double utilization) =>
        WorkClassifier.Classify(utilization) == WorkClassifier.CpuBound ? Environment.ProcessorCount : int.MaxValue;

    /// <summary>The share of its wall time the work computes (<see cref="WorkClassifier.Utilization"/>), 0 to 1.</summary>
    public double Utilization { get; }

    /// <summary>One trial per model, simplest model first.</summary>
    public IReadOnlyList<TrialMeasurement> BestPerModel { get; }

    public IReadOnlyDictionary<ExecutionModel, TimeSpan> Projected { get; }

    public TrialMeasurement Chosen { get; }

    /// <summary>The model with the shortest projection (the chosen one, unless a simpler one was close).</summary>
    public TrialMeasurement Fastest { get; }

    /// <summary>Whether <paramref name="model"/>'s projection is at most <paramref name="timesFastest"/> times the fastest model's.</summary>
    public bool IsWithin(ExecutionModel model, double timesFastest) =>
        Projected[model].TotalSeconds <= Projected[Fastest.Model].TotalSeconds * timesFastest;
}
