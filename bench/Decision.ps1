<#
.SYNOPSIS
Checks the decisions of Measure-ConcurrencyModel against the whole job run every way, and writes
bench/results/Decision.md.

.DESCRIPTION
For each workload:
  1. '$items | Measure-ConcurrencyModel <body> -TotalItems N' (or -Workload) in a fresh pwsh, timed
     from the call to the report (the measuring time the user waits for; module import excluded).
     Its recommendation, degree, and projection for every model are kept. Repeated Repetitions times.
  2. The whole job of N items, each configuration in a fresh pwsh, timed around the whole command
     (pool start-up included, as the user waits for it): sequential '$items | ForEach-Object { & $body }'
     (a compiled workload: 'Invoke-ThreadBatch -Workload W -ThrottleLimit 1', what the cmdlet writes
     for it), Invoke-ThreadBatch up a ladder of degrees (2 .. 64 for waiting work, 2 and 4 for
     computing work) and Invoke-ProcessBatch at 2 and 4, plus every configuration some measurement
     recommended or projected for a model and the ladder did not include. When a measurement
     recommends Sequential for a script, its Command text also runs verbatim ('ForEach-Object { & { body } }',
     the form the sequential trial ran).
  3. Regret = median time of the recommended configuration / the best median of any configuration;
     projection error = |projected - measured| / measured for the recommended configuration, judged
     against the report's Command run right after measuring in the same session (the projection is
     for that session), with the fresh-process full run's error beside it for comparison.

Targets (the issue): regret <= 1.10 on every workload, projection within 25 % of the measured
full-job time, and a 64-item sample measured in <= 20 s for items of <= 50 ms.

Workloads: Sleep (Start-Sleep 20 ms), Http (Invoke-RestMethod of a local endpoint that answers after
40 ms), CpuScript (a loop calibrated to ~20 ms), IsPrime (-Workload IsPrime of a 14-digit prime,
~9 ms of trial division), Alloc (hashtables/objects/strings, calibrated to ~20 ms), Tiny ({ $_ }),
Mixed (GET of a 30 ms endpoint, then a ~15 ms loop), BigCpu (a ~100 ms loop, 200 items: a computing
job big enough that worker processes should repay their start-up).

The module is copied to a temporary folder first, so that a rebuild of out/PSParallel during the run
does not mix two builds. A full run takes about 20-25 minutes on 2 shared cores; -Quick about 5.

.PARAMETER Quick
One repetition, smaller jobs and a shorter ladder, for a smoke test. Writes to
out/bench/Decision.quick.md instead of bench/results unless -OutFile is given.

.PARAMETER Case
Run only these workloads (Sleep, Http, CpuScript, IsPrime, Alloc, Tiny, Mixed). A partial run writes
to out/bench/ unless -OutFile is given.

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/Decision.ps1

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/Decision.ps1 -Quick -Case Sleep, Tiny
#>
[CmdletBinding()]
param(
    [switch] $Quick,

    # Names, or one comma-separated string (as 'pwsh -File' passes them).
    [string[]] $Case = @('Sleep', 'Http', 'CpuScript', 'IsPrime', 'Alloc', 'Tiny', 'Mixed', 'BigCpu'),

    [ValidateRange(1, 15)]
    [int] $Repetitions = 0,

    # Measurements (Measure-ConcurrencyModel calls) per workload; by default Repetitions.
    [ValidateRange(0, 15)]
    [int] $MeasureRepetitions = 0,

    # Path of the module manifest; by default the one build.ps1 lays out in out/PSParallel.
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1'),

    [string] $OutFile,

    # A child still running after this many seconds is killed and its measurement counted as failed.
    [double] $ChildTimeoutSeconds = 300,

    # Rewrite the report from the raw measurements a run saved (out/bench/Decision.raw.json), without measuring.
    [string] $FromRawFile
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot '_BenchCommon.ps1')

$AllCases = @('Sleep', 'Http', 'CpuScript', 'IsPrime', 'Alloc', 'Tiny', 'Mixed', 'BigCpu')
$Case = @($Case -split ',' | ForEach-Object Trim | Where-Object { $_ })
foreach ($c in $Case) { if ($c -notin $AllCases) { throw "Unknown case '$c'; the cases are $($AllCases -join ', ')." } }
$Case = @($AllCases | Where-Object { $_ -in $Case })
if ($Repetitions -eq 0) { $Repetitions = if ($Quick) { 1 } else { 3 } }
if ($MeasureRepetitions -eq 0) { $MeasureRepetitions = $Repetitions }
$Partial = $Quick -or $Case.Count -lt $AllCases.Count
if (-not $OutFile) { $OutFile = Get-ReportPath 'Decision' $Quick $Partial }
$ChildScript = Join-Path $PSScriptRoot '_DecisionChild.ps1'
$Cores = [Environment]::ProcessorCount

#region Workloads

$Regret = 1.10
$ProjectionError = 0.25
$MeasuringSeconds = 20
$MeasuringItemMs = 50   # the measuring-time limit holds for items of up to this long

$Prime = 10000000000037   # the first prime above 1e13: about 1.6 million trial divisions

$Waiting = if ($Quick) { @(2, 8, 32) } else { @(4, 8, 16, 32, 64) }
$Computing = @(2, 4)

# Sizes: full job items (N) and the ladders. Job sizes give full sequential runs of a few seconds.
function Get-Workloads([hashtable] $Calibration, [string] $BaseUri) {
    $q = [bool]$Quick
    $all = [ordered]@{
        Sleep     = @{ Label = 'sleep I/O'; Body = 'Start-Sleep -Milliseconds $_'; N = $(if ($q) { 150 } else { 300 }); ItemExpr = '@(20) * @N@'
            What = 'Start-Sleep -Milliseconds 20 per item'; Thread = $Waiting; Process = @(2) }
        Http      = @{ Label = 'HTTP I/O'; Body = 'Invoke-RestMethod -Uri $_'; N = $(if ($q) { 100 } else { 200 }); ItemExpr = "@('$($BaseUri)?ms=40') * @N@"
            What = 'Invoke-RestMethod of a local endpoint that answers after 40 ms'; Thread = $Waiting; Process = @(2) }
        CpuScript = @{ Label = 'CPU script'; Body = $CpuTemplate.Replace('@N@', "$($Calibration.Cpu.Iterations)"); N = $(if ($q) { 100 } else { 200 }); ItemExpr = '1..@N@'
            What = "a script loop of $($Calibration.Cpu.Iterations) iterations (~$(Format-Number ($Calibration.Cpu.SecondsPerItem * 1000) 1) ms sequentially)"; Thread = $Computing; Process = @(2, 4) }
        IsPrime   = @{ Label = 'CPU compiled'; Workload = 'IsPrime'; N = $(if ($q) { 200 } else { 400 }); ItemExpr = "@($Prime) * @N@"
            What = "-Workload IsPrime of $Prime (~$(Format-Number ($Calibration.Prime.SecondsPerItem * 1000) 1) ms of trial division)"; Thread = $Computing; Process = @(2, 4) }
        Alloc     = @{ Label = 'allocation-heavy script'; Body = $AllocTemplate.Replace('@N@', "$($Calibration.Alloc.Iterations)"); N = $(if ($q) { 100 } else { 200 }); ItemExpr = '1..@N@'
            What = "building hashtables, objects and strings, $($Calibration.Alloc.Iterations) rounds (~$(Format-Number ($Calibration.Alloc.SecondsPerItem * 1000) 1) ms sequentially)"; Thread = $Computing; Process = @(2, 4) }
        Tiny      = @{ Label = 'tiny items'; Body = '$_'; N = $(if ($q) { 20000 } else { 50000 }); ItemExpr = '1..@N@'
            What = '{ $_ }'; Thread = $Computing; Process = @(2) }
        BigCpu    = @{ Label = 'big computing job'; Body = $CpuTemplate.Replace('@N@', "$($Calibration.Big.Iterations)"); N = $(if ($q) { 40 } else { 200 }); ItemExpr = '1..@N@'
            What = "a script loop of $($Calibration.Big.Iterations) iterations (~$(Format-Number ($Calibration.Big.SecondsPerItem * 1000) 1) ms sequentially), a job of about $(Format-Number ($Calibration.Big.SecondsPerItem * $(if ($q) { 40 } else { 200 })) 0) s: big enough that worker processes should repay their start-up"
            Thread = @(2); Process = @(2)
            # The measuring-time target is for items of <= 50 ms; these take ~100 ms by design.
            MeasuringJudged = $false }
        Mixed     = @{ Label = 'mixed (fetch then crunch)'; Body = "`$r = Invoke-RestMethod -Uri `$_`n" + $CpuTemplate.Replace('@N@', "$($Calibration.Crunch.Iterations)"); N = $(if ($q) { 100 } else { 200 })
            ItemExpr = "@('$($BaseUri)?ms=30') * @N@"
            What = "Invoke-RestMethod of a 30 ms endpoint, then a loop of $($Calibration.Crunch.Iterations) iterations (~$(Format-Number ($Calibration.Crunch.SecondsPerItem * 1000) 1) ms)"
            Thread = $(if ($q) { @(2, 8) } else { @(4, 8, 16, 32) }); Process = @(2) }
    }
    $plan = [ordered]@{}
    foreach ($name in $Case) {
        $w = $all[$name]
        foreach ($k in 'Body', 'Workload') { if (-not $w.ContainsKey($k)) { $w[$k] = '' } }
        $w.Items = $w.ItemExpr.Replace('@N@', "$($w.N)")
        $w.Name = $name
        $w.Measurements = [System.Collections.Generic.List[hashtable]]::new()
        $w.Rows = [System.Collections.Generic.List[object]]::new()
        $plan[$name] = $w
    }
    $plan
}

function Get-ConfigKey([string] $Model, [int] $Throttle) { if ($Model -eq 'Sequential') { 'Sequential' } else { "$Model $Throttle" } }

function Add-ConfigRow($Workload, [string] $Model, [int] $Throttle, [string] $Command = '') {
    $key = if ($Model -eq 'Command') { 'Command' } else { Get-ConfigKey $Model $Throttle }
    if ($Workload.Rows | Where-Object Key -eq $key) { return }
    $Workload.Rows.Add([pscustomobject]@{
            Key = $key; Model = $Model; Throttle = $Throttle
            Spec = @{ Kind = 'run'; Model = $Model; Throttle = $Throttle; Items = $Workload.Items; Body = $Workload.Body; Workload = $Workload.Workload; Command = $Command }
            Runs = [System.Collections.Generic.List[hashtable]]::new()
        })
}

# The degree the engine would use for each model: its trial with the shortest projection.
function Get-EngineDegrees($Measurement, [long] $Total) {
    $best = @{}
    foreach ($t in $Measurement.Trials) {
        $proj = [double]$t.StartupSeconds + $Total / [Math]::Max([double]$t.ItemsPerSecond, 1e-9)
        if (-not $best.ContainsKey($t.Model) -or $proj -lt $best[$t.Model].Projected) { $best[$t.Model] = @{ Throttle = [int]$t.ThrottleLimit; Projected = $proj } }
    }
    $best
}

#endregion

#region Statistics and report

function Get-RowStat($Row) {
    $ok = @($Row.Runs | Where-Object { $_.Ok })
    $failures = @($Row.Runs | Where-Object { -not $_.Ok })
    if (-not $ok) { return [pscustomobject]@{ Ok = $false; Seconds = [double]::NaN; Min = [double]::NaN; Max = [double]::NaN; Failure = Hide-Path ($Row.Runs | Select-Object -First 1).Failure; Runs = @() } }
    $secs = @($ok | ForEach-Object { [double]$_.Seconds })
    [pscustomobject]@{
        Ok = $true; Seconds = Get-Median $secs; Min = ($secs | Measure-Object -Minimum).Minimum; Max = ($secs | Measure-Object -Maximum).Maximum
        Runs = $ok; Failure = $(if ($failures) { Hide-Path "$($failures.Count) run(s) failed: $($failures[0].Failure)" })
    }
}

function Get-RowNote($Row, $Stat, $Workload) {
    if (-not $Stat.Ok) { return "FAILED: $($Stat.Failure)" }
    $notes = @()
    $r = $Stat.Runs[0]
    if ($r.Errors) { $notes += Hide-Path "$($r.Errors) errors, e.g. '$($r.FirstError)'" }
    $expected = if ($Workload.Name -eq 'Sleep') { 0 } else { [int]$r.Items }
    if ($r.Outputs -ne $expected) { $notes += "$($r.Outputs) outputs for $($r.Items) items" }
    if ($Stat.Failure) { $notes += $Stat.Failure }
    $notes -join '; '
}

function Get-WorkloadVerdict($Workload) {
    $stats = @{}
    foreach ($row in $Workload.Rows) { $stats[$row.Key] = Get-RowStat $row }
    $ladder = @($Workload.Rows | Where-Object { $_.Model -ne 'Command' -and $stats[$_.Key].Ok })
    $bestRow = $ladder | Sort-Object { $stats[$_.Key].Seconds } | Select-Object -First 1
    $best = if ($bestRow) { $stats[$bestRow.Key].Seconds } else { [double]::NaN }
    $perRep = @(foreach ($m in $Workload.Measurements) {
            if (-not $m.Ok) { [pscustomobject]@{ Ok = $false; M = $m }; continue }
            $key = Get-ConfigKey $m.Recommendation $m.ThrottleLimit
            $measured = if ($stats.ContainsKey($key) -and $stats[$key].Ok) { $stats[$key].Seconds } else { [double]::NaN }
            $projected = [double]$m.Projected[$m.Recommendation]
            $session = if ($null -ne $m.SameSessionSeconds) { [double]$m.SameSessionSeconds } else { [double]::NaN }
            $cmd = if ($stats.ContainsKey('Command') -and $m.Recommendation -eq 'Sequential' -and $Workload.Body) { $stats['Command'].Seconds } else { [double]::NaN }
            [pscustomobject]@{
                Ok = $true; M = $m; Key = $key; Measured = $measured; Projected = $projected
                Regret = $measured / $best; ProjError = [Math]::Abs($projected - $measured) / $measured
                CommandRegret = $cmd / $best
                Session = $session; SessionError = [Math]::Abs($projected - $session) / $session
            }
        })
    $good = @($perRep | Where-Object Ok)
    [pscustomobject]@{
        Stats = $stats; BestRow = $bestRow; Best = $best; PerRep = $perRep
        Regret = Get-Median @($good | ForEach-Object Regret); WorstRegret = ($good | ForEach-Object Regret | Measure-Object -Maximum).Maximum
        ProjError = Get-Median @($good | ForEach-Object ProjError); WorstProjError = ($good | ForEach-Object ProjError | Measure-Object -Maximum).Maximum
        SessionError = Get-Median @($good | ForEach-Object SessionError | Where-Object { -not [double]::IsNaN($_) })
        WorstSessionError = ($good | ForEach-Object SessionError | Where-Object { -not [double]::IsNaN($_) } | Measure-Object -Maximum).Maximum
        Measuring = Get-Median @($Workload.Measurements | Where-Object { $_.Ok } | ForEach-Object { [double]$_.Seconds })
        WorstMeasuring = ($Workload.Measurements | Where-Object { $_.Ok } | ForEach-Object { [double]$_.Seconds } | Measure-Object -Maximum).Maximum
        Recommendations = (@($good | ForEach-Object Key) | Group-Object | Sort-Object Count -Descending | ForEach-Object { if ($_.Count -gt 1) { "$($_.Name) (x$($_.Count))" } else { $_.Name } }) -join ', '
    }
}

function Get-Verdict([double] $Value, [double] $Limit) { if ([double]::IsNaN($Value)) { 'n/a' } elseif ($Value -le $Limit) { 'PASS' } else { 'FAIL' } }

function Format-Percent([double] $Value) {
    if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { return 'n/a' }
    ($Value * 100).ToString('F0', [cultureinfo]::InvariantCulture) + ' %'
}

function Format-Trials($Measurement) {
    (@($Measurement.Trials | ForEach-Object {
                $name = if ($_.Model -eq 'Sequential') { 'seq' } else { "$($_.Model.Substring(0, 1).ToLower())$($_.ThrottleLimit)" }
                "$name $(Format-Number $_.Duration 2)$(if ([double]$_.StartupSeconds -gt 0) { '+' + (Format-Number $_.StartupSeconds 2) })"
            })) -join ', '
}

function Write-Report($Plan, [hashtable] $Calibration, [hashtable] $Info) {
    $sections = [System.Collections.Generic.List[string]]::new()
    $add = { param($text) foreach ($t in @($text)) { $sections.Add([string]$t) } }
    $summary = [System.Collections.Generic.List[string]]::new()
    $fails = [System.Collections.Generic.List[string]]::new()
    $index = 0
    foreach ($w in $Plan.Values) {
        $index++
        $v = Get-WorkloadVerdict $w
        $what = if ($w.Workload) { "``-Workload $($w.Workload)``" } else { "``{ $(($w.Body -split "`n" | ForEach-Object Trim) -join '; ') }``" }
        & $add @('', "## $index. $($w.Label) ($($w.Name))", '',
            "_Load average (1/5/15 min) when this workload started: $($Info.CaseLoad[$w.Name])._", '',
            "$($w.What): $(Format-Count $w.N) items, body $what. Measure-ConcurrencyModel gets all $(Format-Count $w.N) items piped with ``-TotalItems $($w.N)`` (it samples the first 64).", '',
            '### Measure-ConcurrencyModel', '',
            '| rep | measuring s | recommendation | class | projected s (recommended) | measured s (that configuration, fresh process) | projection error (fresh process) | regret | the Command right after, same session s (projection error, the one judged) | projected s per model | trials: duration+start-up s |',
            '| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |')
        $i = 0
        foreach ($r in $v.PerRep) {
            $i++
            if (-not $r.Ok) { & $add "| $i | FAILED: $(Hide-Path $r.M.Failure) | | | | | | | | | |"; continue }
            $m = $r.M
            $models = (@('Sequential', 'Thread', 'Process') | Where-Object { $m.Projected.ContainsKey($_) } | ForEach-Object { "$_ $(Format-Number $m.Projected[$_] 2)" }) -join ', '
            & $add ("| $i | $(Format-Number $m.Seconds 1) | **$($r.Key)** | $($m.Classification) | $(Format-Number $r.Projected 2) | $(Format-Number $r.Measured 2) | " +
                "$(Format-Percent $r.ProjError) | $(Format-Ratio $r.Regret) | $(Format-Number $r.Session 2) ($(Format-Percent $r.SessionError)) | $models | $(Format-Trials $m) |")
        }
        $first = $v.PerRep | Where-Object Ok | Select-Object -First 1
        if ($first) {
            & $add @('', "Reason (rep 1): $(Hide-Path $first.M.Reason)", '', "Command (rep 1): ``$(Hide-Path $first.M.Command)``")
        }
        & $add @('', '### The whole job', '', '| configuration | median s | min-max s | vs best | note |', '| --- | ---: | ---: | ---: | --- |')
        foreach ($row in ($w.Rows | Sort-Object { @{ Sequential = 0; Thread = 1; Process = 2; Command = 3 }[$_.Model] }, Throttle)) {
            $st = $v.Stats[$row.Key]
            $label = switch ($row.Model) {
                'Sequential' { if ($w.Workload) { "sequential: ``Invoke-ThreadBatch -Workload $($w.Workload) -ThrottleLimit 1``" } else { 'sequential: `$items | ForEach-Object { & $body }`' } }
                'Thread' { "Invoke-ThreadBatch -ThrottleLimit $($row.Throttle)" }
                'Process' { "Invoke-ProcessBatch -ThrottleLimit $($row.Throttle)" }
                'Command' { 'the recommended Command, verbatim' }
            }
            $isBest = $v.BestRow -and $row.Key -eq $v.BestRow.Key
            $tag = if ($isBest) { ' (best)' } else { '' }
            & $add "| $label$tag | $(if ($isBest) { "**$(Format-Number $st.Seconds 2)**" } else { Format-Number $st.Seconds 2 }) | $(Format-Number $st.Min 2)-$(Format-Number $st.Max 2) | $(Format-Ratio ($st.Seconds / $v.Best)) | $(Get-RowNote $row $st $w) |"
        }
        $cmdNote = $v.PerRep | Where-Object { $_.Ok -and -not [double]::IsNaN($_.CommandRegret) } | Select-Object -First 1
        $line = "Recommended: $($v.Recommendations). Best: $(if ($v.BestRow) { $v.BestRow.Key } else { 'n/a' }) ($(Format-Number $v.Best 2) s). " +
            "Regret $(Format-Ratio $v.Regret) (worst rep $(Format-Ratio $v.WorstRegret)), projection error $(Format-Percent $v.ProjError) (worst $(Format-Percent $v.WorstProjError)), measuring $(Format-Number $v.Measuring 1) s (worst $(Format-Number $v.WorstMeasuring 1) s)."
        if ($cmdNote) { $line += " Running the recommended Command as written: regret $(Format-Ratio $cmdNote.CommandRegret)." }
        if (-not [double]::IsNaN($v.SessionError)) { $line += " In the session that measured, the projection error is $(Format-Percent $v.SessionError) (worst $(Format-Percent $v.WorstSessionError))." }
        & $add @('', $line)

        # The projection is judged against the job in the session that measured (what it is for);
        # against a fresh process only where that run is missing.
        $sessionKnown = -not [double]::IsNaN($v.SessionError)
        $judged = if ($sessionKnown) { $v.SessionError } else { $v.ProjError }
        $judgedWorst = if ($sessionKnown) { $v.WorstSessionError } else { $v.WorstProjError }
        $rv = Get-Verdict $v.Regret $Regret; $pv = Get-Verdict $judged $ProjectionError
        $mv = if ($w.ContainsKey('MeasuringJudged') -and -not $w.MeasuringJudged) { "not judged (items over $MeasuringItemMs ms)" } else { Get-Verdict $v.Measuring $MeasuringSeconds }
        foreach ($p in @(@('regret', $rv), @('projection', $pv), @('measuring time', $mv))) { if ($p[1] -notin 'PASS', "not judged (items over $MeasuringItemMs ms)") { $fails.Add("$($w.Name) $($p[0]): $($p[1])") } }
        $summary.Add("| $($w.Label) | $($v.Recommendations) | $(if ($v.BestRow) { $v.BestRow.Key } else { 'n/a' }) | $(Format-Number $v.Best 2) | $(Format-Ratio $v.Regret) ($(Format-Ratio $v.WorstRegret)) | **$rv** | $(Format-Percent $judged) ($(Format-Percent $judgedWorst))$(if (-not $sessionKnown) { ' (fresh process)' }) | **$pv** | $(Format-Percent $v.ProjError) ($(Format-Percent $v.WorstProjError)) | $(Format-Number $v.Measuring 1) ($(Format-Number $v.WorstMeasuring 1)) | **$mv** |")
    }
    # Judged at the start only: later loads count this run's own pools and children.
    $notQuiet = $Info.StartLoad -ne 'n/a' -and [double]($Info.StartLoad -split ' ')[0] -ge 1
    $header = @(
        '# Measure-ConcurrencyModel decision benchmark', ''
        "Written by ``bench/Decision.ps1`` ($(if ($Info.Quick) { '-Quick: smoke test, 1 repetition, smaller jobs, shorter ladder' } elseif ($Partial) { "partial run: $($Plan.Keys -join ', ')" } else { 'full run' }))."
        '', '| | |', '| --- | --- |'
        "| date | $($Info.Started) (run took $(Format-Number $Info.Minutes 1) min) |"
        "| machine | $($Info.Cores) cores, $($Info.Cpu), $($Info.MemoryGB) GB memory, shared with other builds |"
        "| PowerShell | $($Info.PSVersion) ($($Info.OS)) |"
        "| .NET | $($Info.Framework) |"
        "| load average (1/5/15 min) at start, end | $($Info.StartLoad); $($Info.EndLoad) |"
        "| repetitions | $($Info.Repetitions) full run(s) per configuration and $($Info.MeasureRepetitions) measurement(s) per workload; medians reported |"
        "| calibration | CPU loop $($Calibration.Cpu.Iterations) iterations, allocation loop $($Calibration.Alloc.Iterations), mixed crunch $($Calibration.Crunch.Iterations), IsPrime $(Format-Number ($Calibration.Prime.SecondsPerItem * 1000) 1) ms per item |"
        $(if ($notQuiet) { '', '> **Draft: the machine was not quiet when this run started** (1-minute load average 1 or more): other processes took CPU, so times are inflated and noisy, and the trials of a measurement and the full runs saw different loads.' } else { '', '_The machine was quiet when the run started (1-minute load average under 1); the loads given later count this run''s own processes._' })
        '', 'Every measurement and every full run is a fresh `pwsh -NoProfile`. **Measuring time** is the wall time of `$items | Measure-ConcurrencyModel ... -TotalItems N` in that child (module import excluded, first call included). **Full runs** are timed around the whole command, pool start-up included; the module import, item generation and a 2-item warm-up of the same cmdlet at -ThrottleLimit 1 (first-call JIT) are excluded. **Regret** = median full-job time of the configuration the measurement recommended / best median of any configuration run. **Projection error** = |the report''s `Projected` time of the recommended model - the measured time of the whole job| / measured, in two forms. *Same session*: the measuring child runs the report''s Command once right after measuring, as a user would; the verdict uses this one, because the projection is for the session that measured (Get-Help Measure-ConcurrencyModel says so). *Fresh process*: that configuration''s median full run, which also pays a new process''s warm-up (.NET compiling PowerShell''s code, several seconds of processor time on this PowerShell, which is not ReadyToRun-compiled) that the measuring session had already paid; given for comparison. Per-rep values are in each workload''s table; the summary gives the median over the measurements and, in brackets, the worst.'
        '', '## Summary', ''
        "| workload | recommended (per measurement) | best configuration | best s | regret (worst) | regret <= $(Format-Number $Regret 2) | projection error, same session (worst) | within $(Format-Percent $ProjectionError) | projection error, fresh process (worst) | measuring s (worst) | <= $MeasuringSeconds s (items <= $MeasuringItemMs ms) |"
        '| --- | --- | --- | ---: | ---: | --- | ---: | --- | ---: | ---: | --- |'
    )
    $header += $summary
    $header += @('', $(if ($fails.Count) { "Targets not met: $($fails -join '; ')." } else { 'Every target met.' }))
    ($header + $sections) -join "`n"
}

#endregion

#region Main

function Get-MachineInfo {
    $cpu = 'unknown CPU'
    if (Test-Path -LiteralPath '/proc/cpuinfo') {
        $m = Select-String -LiteralPath '/proc/cpuinfo' -Pattern '^model name\s*:\s*(.+)$' | Select-Object -First 1
        if ($m) { $cpu = $m.Matches[0].Groups[1].Value.Trim() }
    }
    $mem = 'n/a'
    if (Test-Path -LiteralPath '/proc/meminfo') {
        $m = Select-String -LiteralPath '/proc/meminfo' -Pattern '^MemTotal:\s*(\d+) kB' | Select-Object -First 1
        if ($m) { $mem = Format-Number ([double]$m.Matches[0].Groups[1].Value / 1MB) 1 }
    }
    @{ Cores = $Cores; Cpu = $cpu; MemoryGB = $mem; PSVersion = "$($PSVersionTable.PSVersion)"; OS = "$($PSVersionTable.OS)"
        Framework = [Runtime.InteropServices.RuntimeInformation]::FrameworkDescription }
}

if ($FromRawFile) {
    $raw = Get-Content -LiteralPath $FromRawFile -Raw | ConvertFrom-Json -AsHashtable
    $plan = [ordered]@{}
    foreach ($w in $raw.Plan) {
        $rows = [System.Collections.Generic.List[object]]::new()
        foreach ($r in $w.Rows) {
            $runs = [System.Collections.Generic.List[hashtable]]::new(); foreach ($x in $r.Runs) { $runs.Add($x) }
            $rows.Add([pscustomobject]@{ Key = $r.Key; Model = $r.Model; Throttle = [int]$r.Throttle; Spec = $r.Spec; Runs = $runs })
        }
        $w.Rows = $rows
        $plan[$w.Name] = $w
    }
    $Partial = $raw.Info.Quick -or $plan.Count -lt $AllCases.Count
    Set-Content -LiteralPath $OutFile -Value (Write-Report $plan $raw.Calibration $raw.Info) -Encoding utf8NoBOM
    Write-Host "Results: $([IO.Path]::GetRelativePath((Join-Path $PSScriptRoot '..'), (Resolve-Path -LiteralPath $OutFile).ProviderPath))"
    return
}

if (-not (Test-Path -LiteralPath $ModulePath)) { throw "No module at ${ModulePath}: run ./build.ps1 Build first." }
$info = Get-MachineInfo
$info.Quick = [bool]$Quick
$info.Repetitions = $Repetitions
$info.MeasureRepetitions = $MeasureRepetitions
$info.Started = (Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm', [cultureinfo]::InvariantCulture) + ' UTC'
$info.StartLoad = Get-LoadAverage
$info.CaseLoad = [ordered]@{}
if ($info.StartLoad -ne 'n/a' -and [double]($info.StartLoad -split ' ')[0] -ge $Cores) {
    Write-Warning "The machine is busy (load average $($info.StartLoad) on $Cores cores): times and speedups will be distorted."
}
$clockAll = [Diagnostics.Stopwatch]::StartNew()
Write-Host "Decision benchmark: $($Case -join ', '); $Repetitions repetition(s)$(if ($Quick) { ', quick' })"

$rawFile = Join-Path $PSScriptRoot "../out/bench/Decision$(if ($Quick) { '.quick' }).raw.json"
$null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $rawFile)
# The raw measurements, written after every workload, so that a failure or an interrupted run does not lose them.
function Save-Raw { @{ Calibration = $calibration; Info = $info; Plan = @($plan.Values | Where-Object { $_.Rows.Count }) } | ConvertTo-Json -Depth 10 | Set-Content -LiteralPath $rawFile -Encoding utf8NoBOM }

$copy = New-ModuleCopy $ModulePath 'psparallel-dbench-'
$module = $copy.Manifest
$server = $null
try {
    Write-Host 'Calibrating...'
    $calibration = @{}
    foreach ($c in @(@('Cpu', $CpuTemplate, 20), @('Alloc', $AllocTemplate, 20), @('Crunch', $CpuTemplate, 15), @('Big', $CpuTemplate, 100))) {
        $r = Invoke-PwshChild $ChildScript $module @{ Kind = 'calibrate'; Template = $c[1]; TargetMs = $c[2]; StartIterations = 5000 } $ChildTimeoutSeconds
        if (-not $r.Ok) { throw "Calibration of $($c[0]) failed: $($r.Failure)" }
        $calibration[$c[0]] = @{ Iterations = [int]$r.Iterations; SecondsPerItem = [double]$r.SecondsPerItem }
        Write-Host ("  {0}: {1} iterations, {2:F1} ms" -f $c[0], $r.Iterations, ($r.SecondsPerItem * 1000))
    }
    $r = Invoke-PwshChild $ChildScript $module @{ Kind = 'calibrate'; Prime = $Prime } $ChildTimeoutSeconds
    if (-not $r.Ok -or -not $r.IsPrime) { throw "IsPrime calibration failed: $($r.Failure)" }
    $calibration.Prime = @{ SecondsPerItem = [double]$r.SecondsPerItem }
    Write-Host ("  IsPrime: {0:F1} ms" -f ($r.SecondsPerItem * 1000))

    $baseUri = 'http://127.0.0.1:1/'
    if ('Http' -in $Case -or 'Mixed' -in $Case) {
        $server = Start-HttpServer
        $baseUri = $server.BaseUri
        Write-Host "Local endpoint on 127.0.0.1, port $(([uri]$baseUri).Port)"
    }

    $plan = Get-Workloads $calibration $baseUri
    foreach ($w in $plan.Values) {
        $info.CaseLoad[$w.Name] = Get-LoadAverage
        # 1. The measurements.
        for ($rep = 1; $rep -le $MeasureRepetitions; $rep++) {
            $m = Invoke-PwshChild $ChildScript $module @{ Kind = 'measure'; Items = $w.Items; Body = $w.Body; Workload = $w.Workload; TotalItems = $w.N } $ChildTimeoutSeconds
            $w.Measurements.Add($m)
            $shown = if ($m.Ok) { '{0,6:F1} s -> {1} {2} (projected {3:F2} s)' -f $m.Seconds, $m.Recommendation, $m.ThrottleLimit, $m.Projected[$m.Recommendation] } else { "FAILED: $($m.Failure)" }
            Write-Host ("[{0,-9} measure {1}/{2}] {3}" -f $w.Name, $rep, $MeasureRepetitions, $shown)
        }
        # 2. The configurations: the ladder, then whatever the measurements pointed at.
        Add-ConfigRow $w 'Sequential' 1
        foreach ($t in $w.Thread) { Add-ConfigRow $w 'Thread' $t }
        foreach ($t in $w.Process) { Add-ConfigRow $w 'Process' $t }
        foreach ($m in @($w.Measurements | Where-Object { $_.Ok })) {
            Add-ConfigRow $w $m.Recommendation $m.ThrottleLimit
            $degrees = Get-EngineDegrees $m $w.N
            foreach ($model in $degrees.Keys) { Add-ConfigRow $w $model $degrees[$model].Throttle }
            if ($m.Recommendation -eq 'Sequential' -and $w.Body) { Add-ConfigRow $w 'Command' 0 $m.Command }
        }
        for ($rep = 1; $rep -le $Repetitions; $rep++) {
            foreach ($row in $w.Rows) {
                $result = Invoke-PwshChild $ChildScript $module $row.Spec $ChildTimeoutSeconds
                $row.Runs.Add($result)
                $shown = if ($result.Ok) { '{0,8:F3} s' -f [double]$result.Seconds } else { "FAILED: $($result.Failure)" }
                Write-Host ("[{0,-9} run {1}/{2}] {3,-16} {4}" -f $w.Name, $rep, $Repetitions, $row.Key, $shown)
            }
        }
        $info.EndLoad = Get-LoadAverage
        $info.Minutes = $clockAll.Elapsed.TotalMinutes
        Save-Raw
    }
}
finally {
    Stop-HttpServer $server
    Remove-Item -LiteralPath $copy.Root -Recurse -Force -ErrorAction SilentlyContinue
}

$info.EndLoad = Get-LoadAverage
$info.Minutes = $clockAll.Elapsed.TotalMinutes
Save-Raw

$report = Write-Report $plan $calibration $info
$dir = Split-Path -Parent $OutFile
if ($dir -and -not (Test-Path -LiteralPath $dir)) { $null = New-Item -ItemType Directory -Path $dir -Force }
Set-Content -LiteralPath $OutFile -Value $report -Encoding utf8NoBOM
Write-Host ''
$report -split "`n" | Where-Object { $_ -match '^\| (sleep|HTTP|CPU|allocation|tiny|mixed)' -or $_ -match '^(Targets|Every target)' } | ForEach-Object { Write-Host $_ }
Write-Host "Results: $([IO.Path]::GetRelativePath((Join-Path $PSScriptRoot '..'), (Resolve-Path -LiteralPath $OutFile).ProviderPath)) ($(Format-Number $clockAll.Elapsed.TotalMinutes 1) min)"

#endregion
