namespace PSParallel.Engine;

/// <summary>
/// Projects each trial to the whole job and picks the model to recommend: the fastest projection,
/// except that a simpler model (Sequential, then Thread, then Process) wins when it is within
/// <see cref="Tolerance"/> of the fastest.
/// </summary>
public sealed class ModelChooser
{
    /// <summary>How much slower a simpler model may be and still be recommended.</summary>
    public const double Tolerance = 1.10;

    public ModelChooser(IReadOnlyList<TrialMeasurement> trials, long totalItems)
    {
        if (trials.Count == 0) throw new ArgumentException("at least one trial is needed", nameof(trials));
        // Each model at its best degree: the one whose projection of the whole job is shortest.
        BestPerModel = trials
            .GroupBy(t => t.Model)
            .Select(g => g.OrderBy(t => t.Project(totalItems)).First())
            .OrderBy(t => Models.Complexity(t.Model))
            .ToList();
        Projected = BestPerModel.ToDictionary(t => t.Model, t => t.Project(totalItems));
        var fastest = BestPerModel.Min(t => Projected[t.Model]);
        Chosen = BestPerModel.First(t => Projected[t.Model].TotalSeconds <= fastest.TotalSeconds * Tolerance);
        Fastest = BestPerModel.First(t => Projected[t.Model] == fastest);
    }

    /// <summary>One trial per model, simplest model first.</summary>
    public IReadOnlyList<TrialMeasurement> BestPerModel { get; }

    public IReadOnlyDictionary<string, TimeSpan> Projected { get; }

    public TrialMeasurement Chosen { get; }

    /// <summary>The model with the shortest projection (the chosen one, unless a simpler one was close).</summary>
    public TrialMeasurement Fastest { get; }
}
