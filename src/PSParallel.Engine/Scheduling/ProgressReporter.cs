using System.Diagnostics;
using System.Management.Automation;

namespace PSParallel.Engine.Scheduling;

/// <summary>
/// Builds the batch's progress record: completed/total (or completed so far while input still
/// streams), failures, items/s and an ETA, at most four times a second.
/// </summary>
internal sealed class ProgressReporter
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private static int s_nextActivityId = 7100;
    private readonly string _activity;
    private readonly int _activityId = Interlocked.Increment(ref s_nextActivityId);
    private TimeSpan _lastUpdate;
    private bool _shown;

    public ProgressReporter(string activity) => _activity = activity;

    public bool IsDue(TimeSpan elapsed) => elapsed - _lastUpdate >= Interval;

    /// <summary>A record when one is due, else null.</summary>
    /// <param name="hosts">how the remote hosts stand ("2 hosts up, 1 lost"); null on this machine</param>
    public ProgressRecord? Update(TimeSpan elapsed, long completed, long failures, long? total, string? hosts = null)
    {
        if (!IsDue(elapsed)) return null;
        _lastUpdate = elapsed;
        _shown = true;
        double rate = elapsed.TotalSeconds > 0 ? completed / elapsed.TotalSeconds : 0;
        var status = total is { } t
            ? $"{completed}/{t} done, {failures} failed, {rate:F1} items/s"
            : $"{completed} done so far, {failures} failed, {rate:F1} items/s";
        if (hosts is not null) status += $", {hosts}";
        var record = new ProgressRecord(_activityId, _activity, status);
        if (total is { } n && n > 0)
        {
            record.PercentComplete = (int)Math.Min(100, completed * 100 / n);
            if (rate > 0) record.SecondsRemaining = (int)Math.Ceiling((n - completed) / rate);
        }
        return record;
    }

    /// <summary>The record that removes the bar, if one was shown.</summary>
    public ProgressRecord? Complete() =>
        _shown ? new ProgressRecord(_activityId, _activity, "Done") { RecordType = ProgressRecordType.Completed } : null;
}
