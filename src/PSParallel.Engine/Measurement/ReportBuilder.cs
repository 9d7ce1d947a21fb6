using System.Collections.Specialized;

namespace PSParallel.Engine.Measurement;

/// <summary>Turns the trials of a measurement into the ConcurrencyReport the caller sees.</summary>
internal static class ReportBuilder
{
    public static ConcurrencyReport Build(IReadOnlyList<TrialMeasurement> trials, JobText job, long totalItems,
        int sampleSize, string powerShellVersion)
    {
        var choice = new ModelChooser(trials, totalItems);
        double utilization = choice.Utilization;
        var sequential = trials.FirstOrDefault(t => t.Model == ExecutionModel.Sequential)?.Duration ?? TimeSpan.Zero;
        var projected = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
        foreach (var (model, time) in choice.Projected) projected[model.ToString()] = time;
        var chosen = choice.Chosen;
        return new ConcurrencyReport(
            chosen.Model.ToString(),
            chosen.ThrottleLimit,
            ReasonWriter.Write(choice, totalItems, utilization),
            WorkClassifier.Classify(utilization),
            Math.Round(utilization, 3),
            trials.Select(t => t.ToTrial(sequential)).ToArray(),
            projected,
            CommandLineWriter.Write(job, chosen.Model, chosen.ThrottleLimit),
            totalItems,
            sampleSize,
            Environment.ProcessorCount,
            powerShellVersion);
    }
}
