using System.Collections.Specialized;
using System.Net;
using System.Text.RegularExpressions;
using PSParallel.Engine;
using PSParallel.Engine.Measurement;
using Xunit;

namespace PSParallel.Tests.Measurement;

public class HtmlReportTests
{
    private static ConcurrencyReport Report(string recommendation, int throttle)
    {
        var trials = new[]
        {
            new ConcurrencyTrial(nameof(ExecutionModel.Sequential), 1, 8, TimeSpan.FromSeconds(1.6), 1, 0.1, 0, 100, 0),
            new ConcurrencyTrial(recommendation, throttle, 8, TimeSpan.FromSeconds(0.4), 4, 0.1, 0.2, 200, 0),
        };
        var projected = new OrderedDictionary { [nameof(ExecutionModel.Sequential)] = TimeSpan.FromSeconds(1.6), [recommendation] = TimeSpan.FromSeconds(0.6) };
        return new ConcurrencyReport(recommendation, throttle, "because <numbers> & more", "CpuBound", 0.9, trials, projected,
            "1..8 | Invoke-ProcessBatch { $_ }", 8, 8, 2, "7.4.0");
    }

    [Theory]
    [InlineData(nameof(ExecutionModel.Process), 4, "Use processes, throttle limit 4.")]
    [InlineData(nameof(ExecutionModel.Thread), 8, "Use threads, throttle limit 8.")]
    [InlineData(nameof(ExecutionModel.Sequential), 1, "Run it sequentially.")]
    public void Verdict_names_the_model_in_plain_English(string model, int throttle, string verdict)
    {
        string html = HtmlReport.Render(Report(model, throttle));
        Assert.Contains($"<p class=\"verdict\" id=\"verdict\"><strong>{verdict}</strong></p>", html);
        Assert.Contains("<p id=\"reason\">because &lt;numbers&gt; &amp; more</p>", html);
    }

    private static ConcurrencyReport TwoTrialReport(string command = "1..8 | Invoke-ThreadBatch { $_ } -ThrottleLimit 8")
    {
        var trials = new[]
        {
            Trials.Of(ExecutionModel.Sequential, 1, 1.6, items: 8).ToTrial(TimeSpan.FromSeconds(1.6)),
            Trials.Of(ExecutionModel.Thread, 8, 0.2, 0.1, items: 8).ToTrial(TimeSpan.FromSeconds(1.6)),
        };
        var projected = new OrderedDictionary { [nameof(ExecutionModel.Sequential)] = TimeSpan.FromSeconds(1.6), [nameof(ExecutionModel.Thread)] = TimeSpan.FromSeconds(0.3) };
        return new ConcurrencyReport(nameof(ExecutionModel.Thread), 8, "Threads <fast> & \"cheap\".", "IoBound", 0.05, trials, projected,
            command, 8, 8, 2, "7.6.9");
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

    [Fact]
    public void Run_it_shows_a_multi_line_command_as_typed_so_a_copy_gives_it_back()
    {
        const string command = "Get-ChildItem *.log | Invoke-ThreadBatch {\n" +
            "    # big logs only, not <temp> & co\n" +
            "    if ($_.Length -gt 1kb -and $_.Name -notlike '<temp>*') {\n" +
            "\t\"$($_.Name): $(@(Select-String -Path $_ -Pattern 'a & b').Count) > 0\"\n" +
            "    }\n" +
            "} -ThrottleLimit 8";
        string html = HtmlReport.Render(TwoTrialReport(command));

        // A <pre> keeps line breaks, indentation and tabs; the <code> inside it means the newline
        // rule of <pre> (a line feed right after its start tag is dropped) never meets the command.
        var element = Regex.Match(html, "<pre id=\"command\"><code>(.*?)</code></pre>", RegexOptions.Singleline);
        Assert.True(element.Success, "the command is in <pre id=\"command\"><code>...</code></pre>");
        string inner = element.Groups[1].Value;
        Assert.DoesNotContain("<", inner);
        Assert.DoesNotContain(">", inner);
        Assert.DoesNotContain("\"", inner);
        Assert.Contains("&lt;temp&gt;", inner);
        Assert.Contains("a &amp; b", inner);
        Assert.Equal(command, WebUtility.HtmlDecode(inner));
        Assert.Equal(5, inner.Count(c => c == '\n'));

        // The page's style must not undo the <pre>: no white-space that folds lines or spaces.
        string style = Regex.Match(html, "<style>(.*?)</style>", RegexOptions.Singleline).Groups[1].Value;
        foreach (Match value in Regex.Matches(style, @"white-space\s*:\s*([a-z-]+)"))
            Assert.Contains(value.Groups[1].Value, new[] { "pre", "pre-wrap", "break-spaces" });
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
