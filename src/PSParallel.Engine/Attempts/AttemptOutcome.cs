using System.Management.Automation;

namespace PSParallel.Engine.Attempts;

/// <summary>How an attempt ended, as the lane that ran it reports it.</summary>
/// <param name="Output">what the item wrote to its output</param>
/// <param name="Errors">its errors, a thrown one included; none means it succeeded</param>
/// <param name="Timing">
/// when and how long it ran, where that was measured apart from this process (a worker process);
/// null lets the batch's own clock time the attempt
/// </param>
internal readonly record struct AttemptOutcome(IReadOnlyList<object?> Output, IReadOnlyList<ErrorRecord> Errors, AttemptTiming? Timing = null)
{
    public static AttemptOutcome Failed(ErrorRecord error) => new(Array.Empty<object?>(), new[] { error });
}

/// <summary>An attempt's start and run time, measured where it ran.</summary>
internal readonly record struct AttemptTiming(DateTime StartTime, TimeSpan Duration);
