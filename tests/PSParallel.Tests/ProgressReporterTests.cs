using System.Management.Automation;
using PSParallel.Engine.Scheduling;
using Xunit;

namespace PSParallel.Tests;

public class ProgressReporterTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void At_most_one_record_per_250_ms_of_elapsed_time()
    {
        var reporter = new ProgressReporter("Test");
        var shown = new List<TimeSpan>();
        for (int ms = 0; ms <= 5000; ms += 10)
            if (reporter.Update(Ms(ms), ms / 10, 0, 1000) is not null) shown.Add(Ms(ms));

        Assert.InRange(shown.Count, 15, 21); // 5 s / 250 ms
        for (int i = 1; i < shown.Count; i++)
            Assert.True(shown[i] - shown[i - 1] >= Ms(250), $"{shown[i - 1]} then {shown[i]}");
    }

    [Fact]
    public void Calls_in_quick_succession_give_one_record()
    {
        var reporter = new ProgressReporter("Test");
        int records = 0;
        for (int i = 0; i < 1000; i++)
            if (reporter.Update(Ms(1000 + i * 0.1), i, 0, null) is not null) records++;
        Assert.Equal(1, records);
    }

    [Fact]
    public void Percent_and_SecondsRemaining_when_the_total_is_known()
    {
        var reporter = new ProgressReporter("My activity");
        var record = reporter.Update(TimeSpan.FromSeconds(10), completed: 25, failures: 3, total: 100);
        Assert.NotNull(record);
        Assert.Equal("My activity", record!.Activity);
        Assert.Equal(25, record.PercentComplete);
        Assert.Equal(30, record.SecondsRemaining); // 75 left at 2.5 items/s
        Assert.Contains("25/100", record.StatusDescription);
        Assert.Contains("3 failed", record.StatusDescription);
        Assert.Contains("2.5", record.StatusDescription);
        Assert.Equal(ProgressRecordType.Processing, record.RecordType);
    }

    [Fact]
    public void Percent_never_exceeds_100()
    {
        var reporter = new ProgressReporter("Test");
        var record = reporter.Update(TimeSpan.FromSeconds(1), completed: 10, failures: 0, total: 10);
        Assert.Equal(100, record!.PercentComplete);
        Assert.Equal(0, record.SecondsRemaining);
    }

    [Fact]
    public void So_far_text_and_no_percent_when_the_total_is_not_known()
    {
        var reporter = new ProgressReporter("Test");
        var record = reporter.Update(TimeSpan.FromSeconds(2), completed: 40, failures: 1, total: null);
        Assert.NotNull(record);
        Assert.Contains("40 done so far", record!.StatusDescription);
        Assert.Contains("1 failed", record.StatusDescription);
        Assert.Equal(-1, record.PercentComplete);
        Assert.Equal(-1, record.SecondsRemaining);
    }

    [Fact]
    public void No_ETA_before_anything_completed()
    {
        var reporter = new ProgressReporter("Test");
        var record = reporter.Update(TimeSpan.FromSeconds(1), completed: 0, failures: 0, total: 50);
        Assert.Equal(0, record!.PercentComplete);
        Assert.Equal(-1, record.SecondsRemaining);
    }

    [Fact]
    public void Complete_record_only_when_something_was_shown()
    {
        var silent = new ProgressReporter("Test");
        Assert.Null(silent.Update(Ms(100), 5, 0, 10)); // too early: nothing shown
        Assert.Null(silent.Complete());

        var shown = new ProgressReporter("Test");
        var first = shown.Update(Ms(300), 5, 0, 10);
        Assert.NotNull(first);
        var done = shown.Complete();
        Assert.NotNull(done);
        Assert.Equal(ProgressRecordType.Completed, done!.RecordType);
        Assert.Equal(first!.ActivityId, done.ActivityId);
    }

    [Fact]
    public void Each_reporter_has_its_own_activity_id()
    {
        var a = new ProgressReporter("A").Update(Ms(300), 1, 0, null)!;
        var b = new ProgressReporter("B").Update(Ms(300), 1, 0, null)!;
        Assert.NotEqual(a.ActivityId, b.ActivityId);
    }
}
