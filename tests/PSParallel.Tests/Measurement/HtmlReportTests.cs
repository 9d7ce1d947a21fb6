using System.Collections.Specialized;
using PSParallel.Engine.Measurement;
using Xunit;

namespace PSParallel.Tests.Measurement;

public class HtmlReportTests
{
    private static ConcurrencyReport Report(string recommendation, int throttle)
    {
        var trials = new[]
        {
            new ConcurrencyTrial(Models.Sequential, 1, 8, TimeSpan.FromSeconds(1.6), 1, 0.1, 0, 100, 0),
            new ConcurrencyTrial(recommendation, throttle, 8, TimeSpan.FromSeconds(0.4), 4, 0.1, 0.2, 200, 0),
        };
        var projected = new OrderedDictionary { [Models.Sequential] = TimeSpan.FromSeconds(1.6), [recommendation] = TimeSpan.FromSeconds(0.6) };
        return new ConcurrencyReport(recommendation, throttle, "because <numbers> & more", "CpuBound", 0.9, trials, projected,
            "1..8 | Invoke-ProcessBatch { $_ }", 8, 8, 2, "7.4.0");
    }

    [Theory]
    [InlineData(Models.Process, 4, "Use processes, throttle limit 4.")]
    [InlineData(Models.Thread, 8, "Use threads, throttle limit 8.")]
    [InlineData(Models.Sequential, 1, "Run it sequentially.")]
    public void Verdict_names_the_model_in_plain_English(string model, int throttle, string verdict)
    {
        string html = HtmlReport.Render(Report(model, throttle));
        Assert.Contains($"<p class=\"verdict\" id=\"verdict\"><strong>{verdict}</strong></p>", html);
        Assert.Contains("<p id=\"reason\">because &lt;numbers&gt; &amp; more</p>", html);
    }

    private static ConcurrencyReport TwoTrialReport()
    {
        var trials = new[]
        {
            Trials.Of(Models.Sequential, 1, 1.6, items: 8).ToTrial(TimeSpan.FromSeconds(1.6)),
            Trials.Of(Models.Thread, 8, 0.2, 0.1, items: 8).ToTrial(TimeSpan.FromSeconds(1.6)),
        };
        var projected = new OrderedDictionary { [Models.Sequential] = TimeSpan.FromSeconds(1.6), [Models.Thread] = TimeSpan.FromSeconds(0.3) };
        return new ConcurrencyReport(Models.Thread, 8, "Threads <fast> & \"cheap\".", "IoBound", 0.05, trials, projected,
            "1..8 | Invoke-ThreadBatch { $_ } -ThrottleLimit 8", 8, 8, 2, "7.6.9");
    }

    [Fact]
    public void Is_self_contained_with_a_bar_and_a_row_per_trial()
    {
        string html = HtmlReport.Render(TwoTrialReport());
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, CountOf(html, "<rect"));
        Assert.Equal(2 + 1, CountOf(html, "<tr>", after: "id=\"trials\"", before: "id=\"projection\""));
        Assert.Contains("Threads &lt;fast&gt; &amp; &quot;cheap&quot;.", html);
        Assert.Contains("Use threads, throttle limit 8.", html);
    }

    private static int CountOf(string text, string what, string? after = null, string? before = null)
    {
        int start = after is null ? 0 : text.IndexOf(after, StringComparison.Ordinal);
        int end = before is null ? text.Length : text.IndexOf(before, StringComparison.Ordinal);
        int count = 0;
        for (int i = text.IndexOf(what, start, StringComparison.Ordinal); i >= 0 && i < end; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
