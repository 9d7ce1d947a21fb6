namespace PSParallel.Engine.Measurement;

/// <summary>
/// Projects each trial to the whole job and picks the model to recommend: the fastest projection,
/// except that a simpler model (Sequential, then Thread, then Process) wins when it is within
/// <see cref="Tolerance"/> of the fastest, and so does a lower degree of the same model.
/// </summary>
internal sealed class ModelChooser
{
    /// <summary>How much slower a simpler model, or a lower degree, may be and still be recommended.</summary>
    public const double Tolerance = 1.10;

    public ModelChooser(IReadOnlyList<TrialMeasurement> trials, long totalItems)
    {
        if (trials.Count == 0) throw new ArgumentException("at least one trial is needed", nameof(trials));
        BestPerModel = trials
            .GroupBy(t => t.Model)
            .Select(g => BestDegree(g, totalItems))
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
    private static TrialMeasurement BestDegree(IEnumerable<TrialMeasurement> trialsOfOneModel, long totalItems)
    {
        var byDegree = trialsOfOneModel.OrderBy(t => t.ThrottleLimit).ToList();
        var shortest = byDegree.Min(t => t.Project(totalItems));
        return byDegree.First(t => t.Project(totalItems).TotalSeconds <= shortest.TotalSeconds * Tolerance);
    }

    /// <summary>One trial per model, simplest model first.</summary>
    public IReadOnlyList<TrialMeasurement> BestPerModel { get; }

    public IReadOnlyDictionary<ExecutionModel, TimeSpan> Projected { get; }

    public TrialMeasurement Chosen { get; }

    /// <summary>The model with the shortest projection (the chosen one, unless a simpler one was close).</summary>
    public TrialMeasurement Fastest { get; }
}
