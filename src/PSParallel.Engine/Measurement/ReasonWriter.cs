using System.Globalization;

namespace PSParallel.Engine.Measurement;

/// <summary>Says in one plain sentence, with the numbers, why the chosen model was chosen.</summary>
internal static class ReasonWriter
{
    public static string Write(ModelChooser choice, long totalItems, double cpuUtilization)
    {
        var chosen = choice.Chosen;
        var projected = choice.Projected;
        string trial = chosen.Model == ExecutionModel.Sequential
            ? $"Sequential finished {chosen.Items} items in {Seconds(chosen.Duration)}"
            : $"{Plural(chosen.Model)} at {chosen.ThrottleLimit} finished {chosen.Items} items in {Seconds(chosen.Duration)}" +
              (chosen.Startup.TotalSeconds >= 0.05 ? $" after {Seconds(chosen.Startup)} of start-up" : "");
        return $"{trial}; {Comparison(choice, totalItems, projected)}; {WorkShare(cpuUtilization)}{ThreadScaling(choice, cpuUtilization)}.";
    }

    /// <summary>
    /// Whether computing work scaled on threads, measured on this machine rather than assumed: the
    /// threads of one process share its garbage collector and its just-in-time compiler, whose work
    /// a sequential run leaves to an idle core. When threads fell well short of their degree and
    /// each item cost clearly more processor time there, the reason says so with both numbers.
    /// </summary>
    private static string ThreadScaling(ModelChooser choice, double cpuUtilization)
    {
        if (cpuUtilization < 0.5) return "";
        var sequential = choice.BestPerModel.FirstOrDefault(t => t.Model == ExecutionModel.Sequential);
        var threads = choice.BestPerModel.FirstOrDefault(t => t.Model == ExecutionModel.Thread && t.ThrottleLimit >= 2);
        if (sequential is null || threads is null || sequential.CpuSeconds <= 0 || threads.CpuSeconds <= 0) return "";
        double speedup = sequential.Duration / threads.Duration;
        double cpuPerItem = threads.CpuSeconds / threads.Items / (sequential.CpuSeconds / sequential.Items);
        if (speedup >= 0.75 * threads.ThrottleLimit || cpuPerItem < 1.2) return "";
        return $"; on this machine threads at {threads.ThrottleLimit} ran it only {Ratio(speedup)} as fast as sequential, " +
               $"each item taking {Ratio(cpuPerItem)} its sequential processor time (the threads of one process share its garbage collector and compiler)";
    }

    private static string Comparison(ModelChooser choice, long totalItems, IReadOnlyDictionary<ExecutionModel, TimeSpan> projected)
    {
        var chosen = choice.Chosen;
        string job = $"all {totalItems} items";
        if (choice.Fastest != chosen)
        {
            double gain = 1 - projected[choice.Fastest.Model].TotalSeconds / projected[chosen.Model].TotalSeconds;
            return $"{Lower(Plural(choice.Fastest.Model))} at {choice.Fastest.ThrottleLimit} are projected only {Percent(gain)} faster on {job}, " +
                   "too little to pay for the more complex model";
        }
        if (chosen.Model == ExecutionModel.Sequential)
        {
            var next = choice.BestPerModel.Where(t => t != chosen).OrderBy(t => projected[t.Model]).FirstOrDefault();
            return next is null
                ? $"{job} are projected to take {Seconds(projected[chosen.Model])}"
                : $"{Lower(Plural(next.Model))} at {next.ThrottleLimit} would take {Ratio(projected[next.Model] / projected[chosen.Model])} as long on {job}, because handing items over costs more than it saves";
        }
        return projected.TryGetValue(ExecutionModel.Sequential, out var sequential)
            ? $"{job} are projected to take {Seconds(projected[chosen.Model])}, {Ratio(sequential / projected[chosen.Model])} faster than sequential"
            : $"{job} are projected to take {Seconds(projected[chosen.Model])}, the fastest of the models tried";
    }

    private static string WorkShare(double cpuUtilization) => cpuUtilization >= 0.5
        ? $"the work computes {Percent(cpuUtilization)} of its time"
        : $"the work waits {Percent(1 - cpuUtilization)} of its time";

    private static string Plural(ExecutionModel model) => model switch
    {
        ExecutionModel.Thread => "Threads",
        ExecutionModel.Process => "Processes",
        ExecutionModel.Remote => "Remote sessions",
        _ => model.ToString(),
    };

    private static string Lower(string text) => text.ToLowerInvariant();

    private static string Percent(double share) => (share * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    private static string Ratio(double ratio) => ratio.ToString(ratio >= 10 ? "0" : "0.0", CultureInfo.InvariantCulture) + "×";

    /// <summary>Seconds with three significant digits or so: "12.3 s", "0.21 s", "0.0042 s".</summary>
    internal static string Seconds(TimeSpan time)
    {
        double seconds = time.TotalSeconds;
        string format = seconds >= 10 ? "0.0" : seconds >= 0.1 ? "0.00" : seconds >= 0.01 ? "0.000" : "0.0000";
        return seconds.ToString(format, CultureInfo.InvariantCulture) + " s";
    }
}
