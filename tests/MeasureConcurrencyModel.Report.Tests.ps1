#requires -Version 7.2
# Behaviour tests for Measure-ConcurrencyModel -ReportPath: the HTML report of a real measurement
# (threads, and processes) is one self-contained file that says what the report object says, and a
# real headless Chromium parses it and paints it (chart bars in the models' colours, text, tables).
# The browser is found on the machine or installed with apt-get (Get-HeadlessBrowser); the browser
# tests are skipped, with the reason, only when there is none and it cannot be installed.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel

    # The colours HtmlReport gives each model's bars.
    $script:ModelColour = @{ Sequential = 0x7f8c8d; Thread = 0x2e86de; Process = 0xe67e22 }

    # Two real measurements of the same small job, 20 ms sleeps (which threads win): sequential and
    # threads; sequential and processes (throttle 2 at most, to keep it short). The threads job is
    # written on several lines, so its report's command is a multi-line script block.
    $script:Runs = @{}
    function Add-Run([string] $Name, [string[]] $Model, [scriptblock] $Measure) {
        $folder = Join-Path $TestDrive $Name
        $null = New-Item -ItemType Directory -Path $folder
        $path = Join-Path $folder 'report.html'
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $report = & $Measure $path
        Write-Host "    measured $Name in $([math]::Round($sw.Elapsed.TotalSeconds, 1)) s"
        $script:Runs[$Name] = [pscustomobject]@{
            Folder = $folder; Path = $path; Report = $report; Models = $Model
            Html = if (Test-Path -LiteralPath $path) { [System.IO.File]::ReadAllText($path) } else { $null }
        }
    }
    Add-Run 'threads' 'Sequential', 'Thread' {
        param($path)
        1..12 | Measure-ConcurrencyModel {
            Start-Sleep -Milliseconds 20
            $_
        } -Model Sequential, Thread -MaxThrottleLimit 8 -ReportPath $path -WarningAction SilentlyContinue
    }
    Add-Run 'processes' 'Sequential', 'Process' {
        param($path)
        1..8 | Measure-ConcurrencyModel { Start-Sleep -Milliseconds 20; $_ } -Model Sequential, Process -MaxThrottleLimit 2 -ReportPath $path -WarningAction SilentlyContinue
    }

    # The inner HTML of the element with this id (the report's tables and paragraphs do not nest).
    function Get-Element([string] $Html, [string] $Tag, [string] $Id) {
        $m = [regex]::Match($Html, "<$Tag\b[^>]*\bid=""$Id""[^>]*>(.*?)</$Tag>", 'Singleline')
        if ($m.Success) { $m.Groups[1].Value } else { $null }
    }
    # The rows of a table as arrays of cell texts; header rows (th) are left out.
    function Get-TableRow([string] $TableHtml) {
        foreach ($row in [regex]::Matches($TableHtml, '<tr>(.*?)</tr>', 'Singleline')) {
            $cells = @([regex]::Matches($row.Groups[1].Value, '<td>(.*?)</td>', 'Singleline') | ForEach-Object { $_.Groups[1].Value })
            if ($cells.Count) { , $cells }
        }
    }
    function Format-Number([double] $Value, [string] $Format) { $Value.ToString($Format, [cultureinfo]::InvariantCulture) }
}

Describe 'Measure-ConcurrencyModel -ReportPath writes one self-contained HTML file' -ForEach @(
    @{ Name = 'threads' }, @{ Name = 'processes' }) {

    BeforeAll {
        $run = $Runs[$Name]
        $html = $run.Html
        $report = $run.Report
    }

    It '<Name>: writes exactly one file, the report, and returns the report object' {
        $report | Should -Not -BeNullOrEmpty
        $report.GetType().FullName | Should -Be 'PSParallel.ConcurrencyReport'
        $files = @(Get-ChildItem -LiteralPath $run.Folder -Recurse -Force)
        $files | Should -HaveCount 1 -Because 'a self-contained report is a single file, no images or style sheets beside it'
        $files[0].Name | Should -Be 'report.html'
        $html | Should -Match '^<!DOCTYPE html>'
        $html | Should -Match '</html>\s*$'
        @($report.Trials).Count | Should -BeGreaterOrEqual 2
    }

    It '<Name>: has no script and loads nothing: no <script, <link, src=, url( and no http(s) address but the SVG namespace' {
        $html | Should -Not -Match '<script' -Because 'the report runs no script'
        $html | Should -Not -Match '<link' -Because 'style sheets are inline'
        $html | Should -Not -Match '\bsrc\s*=' -Because 'images are inline SVG'
        $html | Should -Not -Match '\burl\s*\(' -Because 'CSS fetches nothing'
        $html | Should -Not -Match '@import'
        $addresses = @([regex]::Matches($html, 'https?://[^\s"''<>)]*', 'IgnoreCase') | ForEach-Object Value)
        $addresses | Should -HaveCount 1 -Because 'the only address is the SVG namespace of the one chart'
        $addresses[0] | Should -BeExactly 'http://www.w3.org/2000/svg'
        $html | Should -Match '<svg id="chart" xmlns="http://www\.w3\.org/2000/svg"'
    }

    It '<Name>: states the verdict and the report''s Reason, HTML-encoded' {
        $verdict = Get-Element $html 'p' 'verdict'
        $expected = switch ($report.Recommendation) {
            'Sequential' { 'Run it sequentially.' }
            'Thread' { "Use threads, throttle limit $($report.ThrottleLimit)." }
            'Process' { "Use processes, throttle limit $($report.ThrottleLimit)." }
        }
        $verdict | Should -BeExactly "<strong>$expected</strong>"
        $report.Recommendation | Should -BeIn $run.Models
        $report.Reason | Should -Not -BeNullOrEmpty
        Get-Element $html 'p' 'reason' | Should -BeExactly ([System.Net.WebUtility]::HtmlEncode($report.Reason))
        $html | Should -Match ('<title>PSParallel: ' + $report.Recommendation + ' recommended</title>')
    }

    It '<Name>: shows the report''s Command as typed: in pre#command, HTML-encoded, line breaks kept' {
        $report.Command | Should -Not -BeNullOrEmpty
        if ($Name -eq 'threads') { $report.Command | Should -Match '\n' -Because 'the threads job is written on several lines' }
        Get-Element $html 'pre' 'command' | Should -BeExactly "<code>$([System.Net.WebUtility]::HtmlEncode($report.Command))</code>"
    }

    It '<Name>: draws one bar per trial, in the model''s colour, inside the chart, the recommended one outlined' {
        $svg = [regex]::Match($html, '<svg id="chart"[^>]*\bwidth="(\d+)"[^>]*>(.*?)</svg>', 'Singleline')
        $svg.Success | Should -BeTrue
        $chartWidth = [double]$svg.Groups[1].Value
        $bars = @([regex]::Matches($svg.Groups[2].Value, '<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="#([0-9a-f]{6})"([^>]*)/>'))
        $bars | Should -HaveCount @($report.Trials).Count
        ([regex]::Matches($html, '<rect')).Count | Should -Be @($report.Trials).Count
        $fastest = ($report.Trials | Measure-Object ItemsPerSecond -Maximum).Maximum
        for ($i = 0; $i -lt $bars.Count; $i++) {
            $t = $report.Trials[$i]
            $x = [double]$bars[$i].Groups[1].Value; $w = [double]$bars[$i].Groups[2].Value
            [Convert]::ToInt32($bars[$i].Groups[3].Value, 16) | Should -Be $ModelColour[$t.Model] -Because "trial $i is $($t.Model)"
            ($x + $w) | Should -BeLessOrEqual $chartWidth -Because 'bars stay on the chart'
            $w | Should -BeGreaterThan 0
            if ($t.ItemsPerSecond -eq $fastest) { $w | Should -BeGreaterOrEqual (($chartWidth - $x) / 2) -Because 'the fastest bar is a long one' }
            $chosen = $t.Model -eq $report.Recommendation -and $t.ThrottleLimit -eq $report.ThrottleLimit
            ($bars[$i].Groups[4].Value -match 'stroke=') | Should -Be $chosen -Because 'only the recommended trial is outlined'
            $svg.Groups[2].Value | Should -BeLike "*>$($t.Model) at $($t.ThrottleLimit)</text>*"
            $svg.Groups[2].Value | Should -BeLike "*>$(Format-Number $t.ItemsPerSecond '0.0')/s</text>*"
        }
    }

    It '<Name>: lists one row per trial in #trials, with the trial''s numbers' {
        $rows = @(Get-TableRow (Get-Element $html 'table' 'trials'))
        $rows | Should -HaveCount @($report.Trials).Count
        for ($i = 0; $i -lt $rows.Count; $i++) {
            $t = $report.Trials[$i]
            $rows[$i] | Should -HaveCount 10
            $rows[$i][0] | Should -BeExactly $t.Model
            $rows[$i][1] | Should -Be "$($t.ThrottleLimit)"
            $rows[$i][2] | Should -Be "$($t.Items)"
            $rows[$i][3] | Should -Be (Format-Number $t.Duration.TotalSeconds '0.000')
            $rows[$i][4] | Should -Be (Format-Number $t.ItemsPerSecond '0.0')
            $rows[$i][9] | Should -Be "$($t.Failed)"
            $t.Failed | Should -Be 0
        }
    }

    It '<Name>: shows the projection for every model tried' {
        $html | Should -BeLike "*<h2>Projection for $($report.TotalItems) items</h2>*"
        $rows = @(Get-TableRow (Get-Element $html 'table' 'projection'))
        $rows | Should -HaveCount $report.Projected.Count
        $rows.Count | Should -Be $run.Models.Count
        $i = 0
        foreach ($entry in $report.Projected.GetEnumerator()) {
            $rows[$i][0] | Should -BeExactly $entry.Key
            $rows[$i][1] | Should -Be (Format-Number ([timespan]$entry.Value).TotalSeconds '0.000')
            $i++
        }
    }

    It '<Name>: describes the machine: cores, PowerShell version, classification' {
        $rows = @(Get-TableRow (Get-Element $html 'table' 'machine'))
        $cells = @{}
        foreach ($r in $rows) { $cells[$r[0]] = $r[1] }
        $cells['Processor cores'] | Should -Be "$([Environment]::ProcessorCount)"
        $cells['PowerShell'] | Should -BeExactly $PSVersionTable.PSVersion.ToString()
        $cells['Classification'] | Should -BeLike "$($report.Classification) (CPU *% of wall time)"
        $cells['Sample items per trial'] | Should -Be "$($report.SampleSize)"
        $cells['Operating system'] | Should -Not -BeNullOrEmpty
    }
}

Describe 'The HTML report in a real headless browser' {
    BeforeAll {
        $script:browser = Get-HeadlessBrowser
        if ($browser.Path) { Write-Host "    browser: $($browser.Path)$(if ($browser.Installed) { " (installed in $($browser.Seconds) s)" })" }
        else { Write-Host "    no browser: $($browser.Reason)" }

        # A small PNG reader: IHDR from the header bytes, the pixels decoded (zlib + row filters).
        if (-not ('PSParallelTests.PngPixels' -as [type])) {
            Add-Type -Language CSharp -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
namespace PSParallelTests
{
    public sealed class PngPixels
    {
        public int Width, Height;
        public int[] Rgb;   // 0xRRGGBB per pixel, row by row
        public static PngPixels Read(string path)
        {
            byte[] b = File.ReadAllBytes(path);
            byte[] signature = { 137, 80, 78, 71, 13, 10, 26, 10 };
            for (int i = 0; i < 8; i++) if (b[i] != signature[i]) throw new InvalidDataException("not a PNG");
            var idat = new MemoryStream();
            int w = 0, h = 0, depth = 0, type = 0, interlace = 0, pos = 8;
            while (pos + 8 <= b.Length)
            {
                int len = (b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3];
                string chunk = System.Text.Encoding.ASCII.GetString(b, pos + 4, 4);
                int data = pos + 8;
                if (chunk == "IHDR")
                {
                    w = (b[data] << 24) | (b[data + 1] << 16) | (b[data + 2] << 8) | b[data + 3];
                    h = (b[data + 4] << 24) | (b[data + 5] << 16) | (b[data + 6] << 8) | b[data + 7];
                    depth = b[data + 8]; type = b[data + 9]; interlace = b[data + 12];
                }
                else if (chunk == "IDAT") idat.Write(b, data, len);
                else if (chunk == "IEND") break;
                pos = data + len + 4;
            }
            if (depth != 8 || interlace != 0 || (type != 2 && type != 6))
                throw new NotSupportedException("PNG bit depth " + depth + ", colour type " + type + ", interlace " + interlace);
            int bpp = type == 6 ? 4 : 3, stride = w * bpp;
            byte[] raw = new byte[(stride + 1) * h];
            idat.Position = 0;
            using (var z = new ZLibStream(idat, CompressionMode.Decompress))
            {
                int read = 0, n;
                while (read < raw.Length && (n = z.Read(raw, read, raw.Length - read)) > 0) read += n;
                if (read != raw.Length) throw new InvalidDataException("PNG pixel data too short");
            }
            var prev = new byte[stride];
            var cur = new byte[stride];
            var rgb = new int[w * h];
            for (int y = 0; y < h; y++)
            {
                int f = raw[y * (stride + 1)];
                Buffer.BlockCopy(raw, y * (stride + 1) + 1, cur, 0, stride);
                for (int x = 0; x < stride; x++)
                {
                    int a = x >= bpp ? cur[x - bpp] : 0, up = prev[x], c = x >= bpp ? prev[x - bpp] : 0;
                    int add = f == 0 ? 0 : f == 1 ? a : f == 2 ? up : f == 3 ? (a + up) / 2 : Paeth(a, up, c);
                    cur[x] = (byte)(cur[x] + add);
                }
                for (int x = 0; x < w; x++)
                    rgb[y * w + x] = (cur[x * bpp] << 16) | (cur[x * bpp + 1] << 8) | cur[x * bpp + 2];
                var t = prev; prev = cur; cur = t;
            }
            return new PngPixels { Width = w, Height = h, Rgb = rgb };
        }
        private static int Paeth(int a, int b, int c)
        {
            int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
            return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        public int DistinctColours { get { return new HashSet<int>(Rgb).Count; } }
        public int Count(int rgb) { int n = 0; foreach (int p in Rgb) if (p == rgb) n++; return n; }
        public int CountNot(int rgb) { int n = 0; foreach (int p in Rgb) if (p != rgb) n++; return n; }
        public int CountNotInColumns(int x0, int x1, int rgb)
        {
            int n = 0;
            for (int y = 0; y < Height; y++) for (int x = x0; x < x1; x++) if (Rgb[y * Width + x] != rgb) n++;
            return n;
        }
    }
}
'@
        }

        # Runs the browser headless with a throwaway profile; returns its exit code and output.
        function Invoke-HeadlessBrowser([string[]] $Arguments, [int] $TimeoutSeconds = 120) {
            $psi = [System.Diagnostics.ProcessStartInfo]::new($browser.Path)
            $profileDir = Join-Path $TestDrive ('browser-profile-' + [guid]::NewGuid().ToString('n'))
            foreach ($a in @('--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run',
                    '--no-default-browser-check', '--disable-dev-shm-usage', '--disable-extensions',
                    '--force-device-scale-factor=1', '--force-color-profile=srgb', "--user-data-dir=$profileDir") + $Arguments) {
                $psi.ArgumentList.Add($a)
            }
            Invoke-CapturedProcess -StartInfo $psi -TimeoutSeconds $TimeoutSeconds -What "the browser ($($Arguments -join ' '))"
        }
        function ConvertTo-FileUrl([string] $Path) {
            [System.Uri]::new((Resolve-Path -LiteralPath $Path).ProviderPath, [System.UriKind]::Absolute).AbsoluteUri
        }

        $script:Shots = @{}
        $script:Doms = @{}
        if ($browser.Path) {
            $blank = Join-Path $TestDrive 'blank.html'
            Set-Content -LiteralPath $blank -Value '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>'
            foreach ($name in @($Runs.Keys) + 'blank') {
                $html = if ($name -eq 'blank') { $blank } else { $Runs[$name].Path }
                $png = Join-Path $TestDrive "$name.png"
                $sw = [System.Diagnostics.Stopwatch]::StartNew()
                # One browser run both prints the parsed DOM (stdout) and saves the screenshot.
                $shot = Invoke-HeadlessBrowser @('--window-size=1000,1400', '--dump-dom', "--screenshot=$png", (ConvertTo-FileUrl $html))
                $script:Shots[$name] = [pscustomobject]@{ Png = $png; Run = $shot }
                $script:Doms[$name] = $shot
                Write-Host "    rendered $name in $([math]::Round($sw.Elapsed.TotalSeconds, 1)) s"
            }
        }
    }

    It 'renders each report to a 1000x1400 PNG screenshot' -ForEach @(@{ Name = 'threads' }, @{ Name = 'processes' }, @{ Name = 'blank' }) {
        if (-not $browser.Path) { Set-ItResult -Skipped -Because "no headless browser: $($browser.Reason)"; return }
        $shot = $Shots[$Name]
        Test-Path -LiteralPath $shot.Png | Should -BeTrue -Because "the browser wrote the screenshot (exit code $($shot.Run.ExitCode), stderr: $($shot.Run.StdErr))"
        $bytes = [System.IO.File]::ReadAllBytes($shot.Png)
        $bytes.Length | Should -BeGreaterThan 33
        [System.Text.Encoding]::ASCII.GetString($bytes, 1, 3) | Should -Be 'PNG'
        [System.Text.Encoding]::ASCII.GetString($bytes, 12, 4) | Should -Be 'IHDR'
        $width = ([int]$bytes[16] -shl 24) -bor ([int]$bytes[17] -shl 16) -bor ([int]$bytes[18] -shl 8) -bor [int]$bytes[19]
        $height = ([int]$bytes[20] -shl 24) -bor ([int]$bytes[21] -shl 16) -bor ([int]$bytes[22] -shl 8) -bor [int]$bytes[23]
        "${width}x$height" | Should -Be '1000x1400'
    }

    # Not blank, checked on the decoded pixels rather than the file size: a size threshold depends
    # on the browser's PNG encoder and compression level, while pixels do not. The blank page is
    # the control: rendered the same way it has one colour, so the checks below can tell it apart.
    # Anti-aliased text alone gives dozens of shades; the chart's bars are solid rectangles, so
    # their exact fill colours must cover many pixels if the browser painted the SVG.
    It 'paints the <Name> report: text and the chart''s bars in the models'' colours, unlike a blank page' -ForEach @(
        @{ Name = 'threads' }, @{ Name = 'processes' }) {
        if (-not $browser.Path) { Set-ItResult -Skipped -Because "no headless browser: $($browser.Reason)"; return }
        $blank = [PSParallelTests.PngPixels]::Read($Shots['blank'].Png)
        $blank.DistinctColours | Should -BeLessOrEqual 2 -Because 'the control: an empty page is one flat colour'
        $image = [PSParallelTests.PngPixels]::Read($Shots[$Name].Png)
        $image.Width | Should -Be 1000
        $image.Height | Should -Be 1400
        $image.DistinctColours | Should -BeGreaterThan 20 -Because 'text, chart and tables give many shades'
        $inked = $image.CountNot(0xffffff) / $image.Rgb.Length
        $inked | Should -BeGreaterThan 0.01 -Because 'a rendered report covers more than 1% of the page'
        $report = $Runs[$Name].Report
        foreach ($model in @($report.Trials.Model | Select-Object -Unique)) {
            # Even a bar of 1 px (the narrowest HtmlReport draws) shows a column of 20 px of fill.
            $image.Count($ModelColour[$model]) | Should -BeGreaterOrEqual 20 -Because ("the {0} bars are painted in #{1:x6}" -f $model, $ModelColour[$model])
        }
        $bars = 0
        foreach ($c in $ModelColour.Values) { $bars += $image.Count($c) }
        # The fastest bar is 400 px by 22 px on the page; allow for its outline and scaling.
        $bars | Should -BeGreaterOrEqual (20 * 300) -Because 'the fastest bar spans most of the chart'
        # The page is a 760 px column centred in the 1000 px window (x 120 to 880): nothing, not the
        # ten-column trials table nor a bar's label, may be painted outside it.
        $image.CountNotInColumns(0, 116, 0xffffff) | Should -Be 0 -Because 'nothing sticks out left of the report'
        $image.CountNotInColumns(884, 1000, 0xffffff) | Should -Be 0 -Because 'nothing sticks out right of the report'
    }

    It 'parses the <Name> report: the DOM has the SVG chart with a bar per trial, the tables and the command as typed' -ForEach @(
        @{ Name = 'threads' }, @{ Name = 'processes' }) {
        if (-not $browser.Path) { Set-ItResult -Skipped -Because "no headless browser: $($browser.Reason)"; return }
        $dom = $Doms[$Name]
        $dom.StdOut | Should -Not -BeNullOrEmpty -Because "--dump-dom prints the DOM (exit code $($dom.ExitCode), stderr: $($dom.StdErr))"
        $report = $Runs[$Name].Report
        ([regex]::Matches($dom.StdOut, '<rect\b')).Count | Should -Be @($report.Trials).Count
        $dom.StdOut | Should -Match '<svg id="chart"'
        foreach ($id in 'trials', 'projection', 'machine') {
            # The file has no <tbody>: the browser's HTML parser adds it, so this is the parsed DOM.
            $dom.StdOut | Should -Match "<table id=""$id"">\s*<tbody>"
        }
        $dom.StdOut | Should -Match '<p class="verdict" id="verdict">'
        $dom.StdOut | Should -Not -Match '<script'
        # The parsed command is the report's Command, line breaks included (the parser reads CRLF as LF).
        $command = [regex]::Match($dom.StdOut, '<pre id="command"><code>(.*?)</code></pre>', 'Singleline')
        $command.Success | Should -BeTrue -Because 'the command is in <pre id="command"><code> in the DOM'
        [System.Net.WebUtility]::HtmlDecode($command.Groups[1].Value) | Should -BeExactly ($report.Command -replace "\r\n?", "`n")
    }
}
