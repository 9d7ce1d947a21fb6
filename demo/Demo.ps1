<#
.SYNOPSIS
PSParallel demo: Measure-ConcurrencyModel on the seed's three cases, then each job run the way it recommends.

.DESCRIPTION
  (a) I/O: URL fetches with Invoke-RestMethod against a local endpoint on 127.0.0.1 that answers
      each request after a delay.
  (b) CPU: the seed's primality test (trial division in script) on its four numbers, then on twelve
      primes near 10^11, a job big enough for the cores to matter.
  (c) Mixed: fetch a URL, then crunch the answer (a loop over its bytes).
For each case Measure-ConcurrencyModel runs the work on the items sequentially, on threads and on
processes, prints its verdict (the default view: reason and a bar per trial) and writes an HTML
report to out/demo/. Then the demo runs the whole job with the command line the report gives and
prints the measured time next to the projected one.
Run it with: dotnet pwsh -NoProfile -File ./build.ps1 Demo
#>
[CmdletBinding()]
param(
    # Path of the module manifest; by default the one build.ps1 lays out in out/PSParallel.
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1'),
    # Where the HTML reports go.
    [string] $ReportFolder = (Join-Path $PSScriptRoot '../out/demo'),
    [int] $UrlCount = 48,
    [int] $DelayMilliseconds = 100
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

if (-not (Test-Path $ModulePath)) { throw "No module at ${ModulePath}: run ./build.ps1 Build first." }
Import-Module $ModulePath -Force
$null = New-Item -ItemType Directory -Force -Path $ReportFolder

#region A local HTTP endpoint that answers after a delay

# Several runspaces each wait for a request and answer it after the delay, so concurrent requests
# are served concurrently (the listener's GetContext may be called from many threads at once).
function Start-DelayedEndpoint {
    param([int] $DelayMilliseconds, [int] $Concurrency)
    $listener = $null
    foreach ($try in 1..10) {
        $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $probe.Start()
        $port = ([System.Net.IPEndPoint]$probe.LocalEndpoint).Port
        $probe.Stop()
        $listener = [System.Net.HttpListener]::new()
        $listener.Prefixes.Add("http://127.0.0.1:$port/")
        try { $listener.Start(); break }
        catch { $listener.Close(); $listener = $null }
    }
    if (-not $listener) { throw 'Could not start an HTTP listener on 127.0.0.1.' }

    $pool = [runspacefactory]::CreateRunspacePool(1, $Concurrency)
    $pool.Open()
    $serve = {
        param($Listener, [int] $DelayMilliseconds)
        while ($Listener.IsListening) {
            try { $context = $Listener.GetContext() } catch { break }
            try {
                [System.Threading.Thread]::Sleep($DelayMilliseconds)
                $path = $context.Request.Url.AbsolutePath
                $body = [System.Text.Encoding]::UTF8.GetBytes((@{ path = $path; delayMs = $DelayMilliseconds } | ConvertTo-Json -Compress))
                $context.Response.ContentType = 'application/json'
                $context.Response.ContentLength64 = $body.Length
                $context.Response.OutputStream.Write($body, 0, $body.Length)
                $context.Response.Close()
            }
            catch { try { $context.Response.Abort() } catch { } }
        }
    }
    $servers = foreach ($i in 1..$Concurrency) {
        $ps = [powershell]::Create()
        $ps.RunspacePool = $pool
        $null = $ps.AddScript($serve.ToString()).AddArgument($listener).AddArgument($DelayMilliseconds)
        [pscustomobject]@{ PowerShell = $ps; Handle = $ps.BeginInvoke() }
    }
    [pscustomobject]@{ Listener = $listener; Pool = $pool; Servers = @($servers); BaseUri = "http://127.0.0.1:$port" }
}

function Stop-DelayedEndpoint {
    param($Endpoint)
    $Endpoint.Listener.Stop()
    $Endpoint.Listener.Close()
    foreach ($s in $Endpoint.Servers) {
        try { $null = $s.Handle.AsyncWaitHandle.WaitOne(2000); $s.PowerShell.Stop() } catch { }
        $s.PowerShell.Dispose()
    }
    $Endpoint.Pool.Dispose()
}

#endregion

<#
.SYNOPSIS
Prints a report's verdict (its default view) and where its HTML report is.
#>
function Write-Verdict {
    param([string] $Title, $Report, [string] $ReportName)
    Write-Host "== $Title" -ForegroundColor Cyan
    Write-Host ($Report | Out-String -Width 80).TrimEnd()
    Write-Host "   report: out/demo/$ReportName.html`n"
}

<#
.SYNOPSIS
Runs a report's command (the whole job, the recommended way) and compares the measured time with the
projection. The command refers to the demo's variables ($urls, ...), found through the scope chain.
#>
function Measure-Job {
    param($Report, [scriptblock] $Check)
    $job = [scriptblock]::Create($Report.Command)
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $output = @(. $job)
    $watch.Stop()
    $projected = $Report.Projected[$Report.Recommendation].TotalSeconds
    $measured = $watch.Elapsed.TotalSeconds
    Write-Host ('   ran the job the recommended way: {0:0.00} s measured, {1:0.00} s projected ({2:+0;-0}%); {3}' -f
        $measured, $projected, (100 * ($projected - $measured) / $measured), (& $Check $output))
    Write-Host ''
}

$script:Verdicts = [System.Collections.Generic.List[object]]::new()
Write-Host "PSParallel demo on $([Environment]::ProcessorCount) cores, PowerShell $($PSVersionTable.PSVersion)"
Write-Host "Each measurement runs the work several times on its sample items (it says so in a warning).`n"

$endpoint = Start-DelayedEndpoint -DelayMilliseconds $DelayMilliseconds -Concurrency 68
try {
    $urls = 1..$UrlCount | ForEach-Object { "$($endpoint.BaseUri)/item/$_" }

    #region (a) I/O: URLs against a delayed local endpoint
    $report = $urls | Measure-ConcurrencyModel { Invoke-RestMethod $_ } -ReportPath (Join-Path $ReportFolder 'urls.html') -WarningAction SilentlyContinue
    Write-Verdict -Title "(a) $UrlCount URL fetches, each answered after $DelayMilliseconds ms" -Report $report -ReportName 'urls'
    Measure-Job -Report $report -Check { param($o) "$($o.Count) responses" }
    $Verdicts.Add([pscustomobject]@{ Case = 'URLs'; Verdict = "$($report.Recommendation) at $($report.ThrottleLimit)"; Classification = $report.Classification })
    #endregion

    #region (b) CPU: the seed's primality test
    $isPrime = {
        $n = $_; if ($n -lt 2) { return $false }
        if ($n % 2 -eq 0) { return $n -eq 2 }
        $limit = [long][Math]::Sqrt($n)
        for ($f = 3; $f -le $limit; $f += 2) { if ($n % $f -eq 0) { return $false } }
        $true
    }
    $numbers = 10000019, 10000079, 10000103, 10000129
    $report = $numbers | Measure-ConcurrencyModel $isPrime -ReportPath (Join-Path $ReportFolder 'primes.html') -WarningAction SilentlyContinue
    Write-Verdict -Title "(b) primality of $($numbers -join ', ')" -Report $report -ReportName 'primes'
    Measure-Job -Report $report -Check { param($o) "$(@($o | Where-Object { $_ }).Count) of $($o.Count) prime" }
    $Verdicts.Add([pscustomobject]@{ Case = 'seed primes'; Verdict = "$($report.Recommendation) at $($report.ThrottleLimit)"; Classification = $report.Classification })

    $large = 100000000003, 100000000019, 100000000057, 100000000063, 100000000069, 100000000073, 100000000091, 100000000103, 100000000129, 100000000171, 100000000183, 100000000193
    $report = $large | Measure-ConcurrencyModel $isPrime -ReportPath (Join-Path $ReportFolder 'primes-large.html') -WarningAction SilentlyContinue
    Write-Verdict -Title "(b') the same test on $($large.Count) primes near 10^11" -Report $report -ReportName 'primes-large'
    Measure-Job -Report $report -Check { param($o) "$(@($o | Where-Object { $_ }).Count) of $($o.Count) prime" }
    $Verdicts.Add([pscustomobject]@{ Case = 'primes near 10^11'; Verdict = "$($report.Recommendation) at $($report.ThrottleLimit)"; Classification = $report.Classification })
    #endregion

    #region (c) Mixed: fetch, then crunch what came back
    $fetchThenCrunch = {
        $answer = Invoke-RestMethod $_
        $text = ($answer | ConvertTo-Json -Compress) * 200
        $sum = 0
        foreach ($c in $text.ToCharArray()) { $sum += [int]$c }
        $sum
    }
    $report = $urls | Measure-ConcurrencyModel $fetchThenCrunch -ReportPath (Join-Path $ReportFolder 'mixed.html') -WarningAction SilentlyContinue
    Write-Verdict -Title "(c) $UrlCount fetches of $DelayMilliseconds ms, each followed by a loop over the answer" -Report $report -ReportName 'mixed'
    Measure-Job -Report $report -Check { param($o) "$($o.Count) sums" }
    $Verdicts.Add([pscustomobject]@{ Case = 'fetch then crunch'; Verdict = "$($report.Recommendation) at $($report.ThrottleLimit)"; Classification = $report.Classification })
    #endregion
}
finally {
    Stop-DelayedEndpoint $endpoint
}

Write-Host '== Verdicts' -ForegroundColor Cyan
Write-Host ($Verdicts | Format-Table -AutoSize | Out-String -Width 80).TrimEnd()
