using System.Collections.Specialized;
using PSParallel.Engine;
using Xunit;

namespace PSParallel.Tests;

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
}
