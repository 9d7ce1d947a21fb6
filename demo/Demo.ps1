<#
.SYNOPSIS
PSParallel demo: three jobs, each measured with Measure-ConcurrencyModel, then run the way it
recommends, measured against the projection. The verdicts are the machine's.

.DESCRIPTION
  (a) Waiting: URL fetches with Invoke-RestMethod against a local endpoint on 127.0.0.1 that
      answers each request after a delay: threads are expected to win.
  (b) Computing: a script loop of about 0.1 s an item, a job of about 25 s sequentially, sized so
      that worker processes could repay their start-up. It is measured on a warm process pool
      (Start-WorkerPool), and the job then runs on the same pool, so the workers start once.
      The sample is 32 items: with 16, two workers measured about as fast as sequential here and
      the verdict went either way, though the job itself ran 1.9x faster on them.
  (c) Tiny items: { $_ * 2 } on 400 numbers: the whole job takes about 10 ms sequentially, less
      than opening the runspaces or workers would (on 1,000 such items threads already win here:
      about 30 ms against 55 ms).
For each job Measure-ConcurrencyModel runs the work on sample items sequentially and on threads or
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
    [int] $DelayMilliseconds = 100,
    # Items of the computing job, and the loop's iterations per item (about 0.1 s in script).
    [int] $ComputeItems = 250,
    [int] $LoopIterations = 500000,
    [int] $TinyItems = 400
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
    # Rounded before formatting, so that -0.4 prints as 0, not as a signed zero.
    $offBy = [Math]::Round(100 * ($projected - $measured) / $measured)
    Write-Host ('   ran the job the recommended way: {0:0.000} s measured, {1:0.000} s projected ({2:+0;-0;0}%); {3}' -f
        $measured, $projected, $offBy, (& $Check $output))
    Write-Host ''
    [pscustomobject]@{ Measured = $measured; Projected = $projected; ErrorPercent = $offBy }
}

$script:Verdicts = [System.Collections.Generic.List[object]]::new()

function Add-Verdict([string] $Case, $Report, $Run) {
    $Verdicts.Add([pscustomobject]@{
            Case           = $Case
            Verdict        = $Report.Recommendation
            Throttle       = $Report.ThrottleLimit
            Classification = $Report.Classification
            'Measured s'   = $Run.Measured
            'Projected s'  = $Run.Projected
            'Off by'       = '{0:+0;-0;0}%' -f $Run.ErrorPercent
        })
}
Write-Host "PSParallel demo on $([Environment]::ProcessorCount) cores, PowerShell $($PSVersionTable.PSVersion)"
Write-Host "Each measurement runs the work several times on its sample items (it says so in a warning).`n"

$endpoint = Start-DelayedEndpoint -DelayMilliseconds $DelayMilliseconds -Concurrency 68
try {
    $urls = 1..$UrlCount | ForEach-Object { "$($endpoint.BaseUri)/item/$_" }

    #region (a) I/O: URLs against a delayed local endpoint
    $report = $urls | Measure-ConcurrencyModel { Invoke-RestMethod $_ } -ReportPath (Join-Path $ReportFolder 'urls.html') -WarningAction SilentlyContinue
    Write-Verdict -Title "(a) $UrlCount URL fetches, each answered after $DelayMilliseconds ms" -Report $report -ReportName 'urls'
    $run = Measure-Job -Report $report -Check { param($o) "$($o.Count) responses" }
    Add-Verdict 'URL fetches' $report $run
    #endregion

    #region (b) Computing: a job big enough for worker processes, on a warm pool
    $loop = [scriptblock]::Create("`$s = 0; for (`$i = 0; `$i -lt $LoopIterations; `$i++) { `$s += `$i * `$i % 7 }; `$s")
    $work = 1..$ComputeItems
    Write-Host "   (starting a pool of worker processes, once, for measuring and for the job)"
    $pool = Start-WorkerPool -Model Process
    try {
        $report = $work | Measure-ConcurrencyModel $loop -Pool $pool -SampleSize 32 -ReportPath (Join-Path $ReportFolder 'compute.html') -WarningAction SilentlyContinue
        Write-Verdict -Title "(b) $ComputeItems items of a script loop ($LoopIterations iterations each), measured on a warm process pool" -Report $report -ReportName 'compute'
        $run = Measure-Job -Report $report -Check { param($o) "$($o.Count) results" }
        Add-Verdict 'computing job' $report $run
    }
    finally {
        Stop-WorkerPool $pool
    }
    #endregion

    #region (c) Tiny items
    $tiny = 1..$TinyItems
    $report = $tiny | Measure-ConcurrencyModel { $_ * 2 } -ReportPath (Join-Path $ReportFolder 'tiny.html') -WarningAction SilentlyContinue
    Write-Verdict -Title "(c) $TinyItems tiny items, { `$_ * 2 }" -Report $report -ReportName 'tiny'
    $run = Measure-Job -Report $report -Check { param($o) "$($o.Count) results" }
    Add-Verdict 'tiny items' $report $run
    #endregion
}
finally {
    Stop-DelayedEndpoint $endpoint
}

Write-Host '== Verdicts' -ForegroundColor Cyan
# Milliseconds shown: a table rounds doubles to two decimals, and the tiny job takes a few of them.
$seconds = { param($Name) @{ Name = $Name; Expression = { '{0:0.000}' -f $_.$Name }.GetNewClosure(); Align = 'Right' } }
$columns = 'Case', 'Verdict', 'Throttle', 'Classification', (& $seconds 'Measured s'), (& $seconds 'Projected s'), 'Off by'
Write-Host ($Verdicts | Format-Table -Property $columns -AutoSize | Out-String -Width 120).TrimEnd()
