using System.Collections;

namespace PSParallel.Engine.Measurement;

/// <summary>
/// The trials of one measurement in the order they ran, each with the way to run it again, so that
/// <see cref="ConcurrencyStudy"/> can take a second look at the ones that decide the verdict.
/// </summary>
internal sealed class TrialList : IReadOnlyList<TrialMeasurement>
{
    private readonly List<TrialMeasurement> _trials = new();
    private readonly List<Func<TrialMeasurement>> _runs = new();

    /// <summary>Runs a trial and keeps it, with how to run it again.</summary>
    public TrialMeasurement Add(Func<TrialMeasurement> run)
    {
        var trial = run();
        _trials.Add(trial);
        _runs.Add(run);
        return trial;
    }

    /// <summary>
    /// Runs the trial at <paramref name="index"/> again and keeps whichever of its two runs projects
    /// the job of <paramref name="totalItems"/> faster (what slows a run down is not the work's).
    /// </summary>
    public void RunAgain(int index, long totalItems)
    {
        var again = _runs[index]();
        if (again.Project(totalItems) < _trials[index].Project(totalItems)) _trials[index] = again;
    }

    public int IndexOf(TrialMeasurement trial) => _trials.IndexOf(trial);

    public TrialMeasurement this[int index] => _trials[index];

    public int Count => _trials.Count;

    public IEnumerator<TrialMeasurement> GetEnumerator() => _trials.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
