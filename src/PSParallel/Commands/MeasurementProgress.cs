using System.Diagnostics;
using System.Management.Automation;

namespace PSParallel.Commands;

/// <summary>One progress bar over the trials of a measurement: which trial runs now, and how many ran.</summary>
internal sealed class MeasurementProgress
{
    private const int ActivityId = 1;
    private const string Activity = "Measure-ConcurrencyModel";
    private readonly PSCmdlet _cmdlet;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _started;

    public MeasurementProgress(PSCmdlet cmdlet) => _cmdlet = cmdlet;

    public void Next(string trial)
    {
        _started++;
        // -Verbose shows where the measuring time goes: each trial's start, from the first one.
        _cmdlet.WriteVerbose($"{_clock.Elapsed.TotalSeconds:0.0} s: trial {_started}, {trial}.");
        _cmdlet.WriteProgress(new ProgressRecord(ActivityId, Activity, $"Trial {_started}: {trial}")
        {
            // The ladders decide on the way how many trials there are; about six is typical.
            PercentComplete = Math.Min(95, (_started - 1) * 100 / 6),
        });
    }

    public void Complete()
    {
        _cmdlet.WriteVerbose($"{_clock.Elapsed.TotalSeconds:0.0} s: trials done.");
        _cmdlet.WriteProgress(new ProgressRecord(ActivityId, Activity, "Done") { RecordType = ProgressRecordType.Completed });
    }
}
