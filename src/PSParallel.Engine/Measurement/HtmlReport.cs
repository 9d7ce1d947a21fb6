using System.Globalization;
using System.Net;
using System.Text;

namespace PSParallel.Engine.Measurement;

/// <summary>
/// Writes a report as one self-contained HTML file: inline CSS and SVG, no script and nothing
/// fetched from the network, so it opens anywhere and can be mailed as it is.
/// </summary>
internal static class HtmlReport
{
    private const int ChartWidth = 640, BarHeight = 22, LabelWidth = 150, ChartPadding = 10;
    private static readonly Dictionary<string, string> Colors = new()
    {
        [nameof(ExecutionModel.Sequential)] = "#7f8c8d",
        [nameof(ExecutionModel.Thread)] = "#2e86de",
        [nameof(ExecutionModel.Process)] = "#e67e22",
        [nameof(ExecutionModel.Remote)] = "#8e44ad",
    };

    public static void Write(ConcurrencyReport report, string path)
    {
        string? folder = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        File.WriteAllText(path, Render(report), new UTF8Encoding(false));
    }

    public static string Render(ConcurrencyReport report)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<title>PSParallel: ").Append(Text(report.Recommendation)).Append(" recommended</title>\n")
            .Append("<style>\n")
            .Append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:760px;color:#222;background:#fff}\n")
            .Append("h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}\n")
            .Append(".verdict{font-size:1.3em;padding:.6em 1em;background:#eef6ff;border-left:6px solid #2e86de}\n")
            .Append("table{border-collapse:collapse;width:100%} th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:right}\n")
            .Append("th:first-child,td:first-child{text-align:left} code{background:#f4f4f4;padding:2px 4px;word-break:break-all}\n")
            // The command as it must be typed: its line breaks and indentation kept; a long line wraps
            // on screen only, so a copy gives back the command's line breaks and no others.
            .Append("pre{background:#f4f4f4;padding:.5em .8em;white-space:pre-wrap} pre code{padding:0}\n")
            // Ten columns: narrower cells keep the trials table inside the page's 760 px.
            .Append("#trials th,#trials td{padding:4px 5px}\n")
            .Append("</style>\n</head>\n<body>\n")
            .Append("<h1>Which concurrency model?</h1>\n")
            .Append("<p class=\"verdict\" id=\"verdict\"><strong>").Append(Text(Verdict(report))).Append("</strong></p>\n")
            .Append("<p id=\"reason\">").Append(Text(report.Reason)).Append("</p>\n")
            // <code> right after <pre>: the parser drops a line feed only straight after <pre>'s tag.
            .Append("<p>Run it:</p>\n<pre id=\"command\"><code>").Append(Text(report.Command)).Append("</code></pre>\n")
            .Append("<h2>Items per second by model and degree</h2>\n");
        AppendChart(html, report);
        html.Append("<h2>Trials</h2>\n<table id=\"trials\">\n<tr><th>Model</th><th>Throttle</th><th>Items</th><th>Duration (s)</th>")
            .Append("<th>Items/s</th><th>Speedup</th><th>CPU (s)</th><th>Start-up (s)</th><th>Peak MB</th><th>Failed</th></tr>\n");
        foreach (var t in report.Trials)
            html.Append("<tr><td>").Append(Text(t.Model)).Append("</td><td>").Append(t.ThrottleLimit).Append("</td><td>").Append(t.Items)
                .Append("</td><td>").Append(Number(t.Duration.TotalSeconds, "0.000")).Append("</td><td>").Append(Number(t.ItemsPerSecond, "0.0"))
                .Append("</td><td>").Append(Number(t.Speedup, "0.00")).Append("</td><td>").Append(Number(t.CpuSeconds, "0.000"))
                .Append("</td><td>").Append(Number(t.StartupSeconds, "0.000")).Append("</td><td>").Append(Number(t.PeakMemoryMB, "0.0"))
                .Append("</td><td>").Append(t.Failed).Append("</td></tr>\n");
        html.Append("</table>\n<h2>Projection for ").Append(report.TotalItems).Append(" items</h2>\n<table id=\"projection\">\n")
            .Append("<tr><th>Model</th><th>Projected duration (s)</th></tr>\n");
        foreach (System.Collections.DictionaryEntry entry in report.Projected)
            html.Append("<tr><td>").Append(Text(entry.Key.ToString()!)).Append("</td><td>")
                .Append(Number(((TimeSpan)entry.Value!).TotalSeconds, "0.000")).Append("</td></tr>\n");
        html.Append("</table>\n<h2>Machine</h2>\n<table id=\"machine\">\n")
            .Append("<tr><td>Processor cores</td><td>").Append(report.ProcessorCount).Append("</td></tr>\n")
            .Append("<tr><td>PowerShell</td><td>").Append(Text(report.PowerShellVersion)).Append("</td></tr>\n")
            .Append("<tr><td>Operating system</td><td>").Append(Text(System.Runtime.InteropServices.RuntimeInformation.OSDescription)).Append("</td></tr>\n")
            .Append("<tr><td>Classification</td><td>").Append(Text(report.Classification)).Append(" (CPU ")
            .Append(Number(report.CpuUtilization * 100, "0")).Append("% of wall time)</td></tr>\n")
            .Append("<tr><td>Sample items per trial</td><td>").Append(report.SampleSize).Append("</td></tr>\n")
            .Append("</table>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Verdict(ConcurrencyReport report) => report.Recommendation switch
    {
        nameof(ExecutionModel.Sequential) => "Run it sequentially.",
        nameof(ExecutionModel.Process) => $"Use processes, throttle limit {report.ThrottleLimit}.",
        nameof(ExecutionModel.Remote) => $"Fan out to the remote hosts, {report.ThrottleLimit} session(s) in all.",
        _ => $"Use {report.Recommendation.ToLowerInvariant()}s, throttle limit {report.ThrottleLimit}.",
    };

    /// <summary>A horizontal bar per trial, longest = fastest; the recommended trial is outlined.</summary>
    private static void AppendChart(StringBuilder html, ConcurrencyReport report)
    {
        double max = Math.Max(report.Trials.Select(t => t.ItemsPerSecond).DefaultIfEmpty(0).Max(), 1e-9);
        int height = report.Trials.Length * (BarHeight + 6) + 2 * ChartPadding;
        double room = ChartWidth - LabelWidth - 90;
        html.Append("<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(ChartWidth).Append("\" height=\"").Append(height)
            .Append("\" viewBox=\"0 0 ").Append(ChartWidth).Append(' ').Append(height).Append("\" role=\"img\" aria-label=\"items per second by trial\">\n");
        for (int i = 0; i < report.Trials.Length; i++)
        {
            var t = report.Trials[i];
            int y = ChartPadding + i * (BarHeight + 6);
            double width = Math.Max(1, room * t.ItemsPerSecond / max);
            bool chosen = t.Model == report.Recommendation && t.ThrottleLimit == report.ThrottleLimit;
            html.Append("<text x=\"0\" y=\"").Append(y + 16).Append("\" font-size=\"13\">").Append(Text($"{t.Model} at {t.ThrottleLimit}")).Append("</text>")
                .Append("<rect x=\"").Append(LabelWidth).Append("\" y=\"").Append(y).Append("\" width=\"").Append(Number(width, "0.0"))
                .Append("\" height=\"").Append(BarHeight).Append("\" fill=\"").Append(Colors.GetValueOrDefault(t.Model, "#999")).Append('"')
                .Append(chosen ? " stroke=\"#111\" stroke-width=\"2\"" : "").Append("/>")
                .Append("<text x=\"").Append(Number(LabelWidth + width + 6, "0.0")).Append("\" y=\"").Append(y + 16).Append("\" font-size=\"13\">")
                .Append(Number(t.ItemsPerSecond, "0.0")).Append("/s</text>\n");
        }
        html.Append("</svg>\n");
    }

    private static string Text(string text) => WebUtility.HtmlEncode(text);

    private static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
