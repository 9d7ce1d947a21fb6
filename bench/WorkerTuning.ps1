<#
.SYNOPSIS
Measures runtime settings (DOTNET_ environment variables) for the worker processes of
Invoke-ProcessBatch, without changing the product, and writes bench/results/WorkerTuning.md.

.DESCRIPTION
Each candidate is a small executable shell script (a wrapper, written to a temporary folder per run)
that unsets every variable any candidate uses (DOTNET_ and COMPlus_ spellings), exports the
candidate's own, and then execs the pwsh of this installation ('dotnet $PSHOME/pwsh.dll "$@"', or
the pwsh executable when it can be run). Invoke-ProcessBatch gets it as -PowerShellPath, so its
workers start with the candidate's settings and the caller with none. The baseline wrapper sets
nothing, so whatever the product (or this shell) may set does not leak into it. The calibration and
every timed child pwsh are started through the baseline wrapper too.

Candidates: baseline; gen0size 64 MB; gen0size 256 MB; gen0size 64 MB + gcConcurrent=0; gen0size
64 MB + TieredPGO=0; gen0size 64 MB + TieredCompilation=0 (everything fully optimized up front);
gcConcurrent=0 alone; TieredPGO=0 alone; gen0size 64 MB + gcConcurrent=0 + TieredPGO=0;
GCConserveMemory=5 alone and with TieredPGO=0 (the GC compacts gen2 when it is mostly garbage).

Workloads, each measurement in a fresh pwsh, timed around the whole Invoke-ProcessBatch call (the
start of the 2 workers included; a warm-up of the caller on two { $_ } items is not timed):
  Cpu      $CpuTemplate of _BenchCommon.ps1 calibrated to ~0.25 s an item sequentially, 16 items
  Alloc    $AllocTemplate calibrated to ~0.1 s an item, 16 items
  LongAlloc  the same, 160 items: long enough (8 s a worker) for garbage to pile up in gen2, which
           slows every later collection when the GC leaves it there
  Trivial  { $_ }, 20,000 items
Cpu, Alloc and LongAlloc also run sequentially ('$items | ForEach-Object { & $body }', in a fresh pwsh started
through the baseline wrapper) as the reference: speedup = sequential median / candidate median.
Every candidate is also given as its ratio to the baseline (baseline median / candidate median,
above 1 = faster). Each (workload, contender) runs Repetitions times (3), the repetitions
interleaved across contenders; medians are reported with min-max.

The first run of each candidate also runs, untimed, a 2-item check batch through its wrapper: the
workers report the DOTNET_ variables they see, the GC's configuration (ConcurrentGC,
GCGen0MaxBudget), gen0 collections while allocating, and the JIT tiers of the methods they compiled
(the runtime's MethodLoadVerbose events), so the report shows that each setting reached the workers
and that the runtime honoured it.

A full run takes about 10-15 minutes on 2 cores; run it on a quiet machine. Linux and macOS only
(the wrappers are shell scripts).

.PARAMETER Quick
One repetition, smaller counts and shorter items, and (unless -Candidate names others) only the
first six candidates, for a smoke test (about 2 minutes on a quiet machine). Writes to
out/bench/WorkerTuning.quick.md instead of bench/results unless -OutFile is given.

.PARAMETER Case
Run only these workloads (Cpu, Alloc, LongAlloc, Trivial). A partial run writes to out/bench/ unless -OutFile
is given.

.PARAMETER Candidate
Run only these candidates (by name, see the list above; baseline is always run). A partial run writes
to out/bench/ unless -OutFile is given.

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/WorkerTuning.ps1

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/WorkerTuning.ps1 -Quick
#>
[CmdletBinding()]
param(
    [switch] $Quick,

    # Names, or one comma-separated string (as 'pwsh -File' passes them).
    [string[]] $Case = @('Cpu', 'Alloc', 'LongAlloc', 'Trivial'),

    [string[]] $Candidate,

    [ValidateRange(1, 15)]
    [int] $Repetitions = 0,

    # Path of the module manifest; by default the one build.ps1 lays out in out/PSParallel.
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1'),

    [string] $OutFile,

    # A child still running after this many seconds is killed and its measurement counted as failed.
    [double] $ChildTimeoutSeconds = 300,

    # Rewrite the report from the raw measurements a run saved (out/bench/WorkerTuning.raw.json), without measuring.
    [string] $FromRawFile
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot '_BenchCommon.ps1')

if ($IsWindows -and -not $FromRawFile) {
    Write-Warning 'WorkerTuning.ps1 runs on Linux and macOS only (its worker wrappers are shell scripts): skipped.'
    return
}

#region Candidates, sizes

# Every variable a candidate may set; every wrapper unsets all of them, in both spellings.
$KnobNames = @('GCgen0size', 'GCGen0MaxBudget', 'gcConcurrent', 'gcServer', 'GCConserveMemory', 'TieredPGO', 'TieredCompilation', 'TC_QuickJitForLoops', 'TC_OnStackReplacement', 'ReadyToRun')
$AllCandidates = [ordered]@{
    'baseline'                               = [ordered]@{}
    'gen0 64 MB'                             = [ordered]@{ DOTNET_GCgen0size = '0x4000000' }
    'gen0 256 MB'                            = [ordered]@{ DOTNET_GCgen0size = '0x10000000' }
    'gen0 64 MB + gcConcurrent=0'            = [ordered]@{ DOTNET_GCgen0size = '0x4000000'; DOTNET_gcConcurrent = '0' }
    'gen0 64 MB + TieredPGO=0'               = [ordered]@{ DOTNET_GCgen0size = '0x4000000'; DOTNET_TieredPGO = '0' }
    'gen0 64 MB + TieredCompilation=0'       = [ordered]@{ DOTNET_GCgen0size = '0x4000000'; DOTNET_TieredCompilation = '0' }
    'gcConcurrent=0'                         = [ordered]@{ DOTNET_gcConcurrent = '0' }
    'TieredPGO=0'                            = [ordered]@{ DOTNET_TieredPGO = '0' }
    'gen0 64 MB + gcConcurrent=0 + TieredPGO=0' = [ordered]@{ DOTNET_GCgen0size = '0x4000000'; DOTNET_gcConcurrent = '0'; DOTNET_TieredPGO = '0' }
    'GCConserveMemory=5'                     = [ordered]@{ DOTNET_GCConserveMemory = '5' }
    'TieredPGO=0 + GCConserveMemory=5'       = [ordered]@{ DOTNET_TieredPGO = '0'; DOTNET_GCConserveMemory = '5' }
}
$AllCases = @('Cpu', 'Alloc', 'LongAlloc', 'Trivial')

$Case = @($Case -split ',' | ForEach-Object Trim | Where-Object { $_ })
foreach ($c in $Case) { if ($c -notin $AllCases) { throw "Unknown case '$c'; the cases are $($AllCases -join ', ')." } }
$Case = @($AllCases | Where-Object { $_ -in $Case })
$Candidate = @($Candidate -split ',' | ForEach-Object { "$_".Trim() } | Where-Object { $_ })
foreach ($c in $Candidate) { if (-not $AllCandidates.Contains($c)) { throw "Unknown candidate '$c'; the candidates are: $($AllCandidates.Keys -join '; ')." } }
$Candidates = [ordered]@{}
# -Quick without -Candidate: the first six (the extras only add time to a smoke test).
if ($Quick -and -not $Candidate) { $Candidate = @($AllCandidates.Keys | Select-Object -First 6) }
foreach ($k in $AllCandidates.Keys) { if ($k -eq 'baseline' -or -not $Candidate -or $k -in $Candidate) { $Candidates[$k] = $AllCandidates[$k] } }
if ($Repetitions -eq 0) { $Repetitions = if ($Quick) { 1 } else { 3 } }
$Partial = $Quick -or $Case.Count -lt $AllCases.Count -or $Candidates.Count -lt $AllCandidates.Count
if (-not $OutFile) { $OutFile = Get-ReportPath 'WorkerTuning' $Quick $Partial }
if (-not $FromRawFile -and -not (Test-Path -LiteralPath $ModulePath)) { throw "No module at ${ModulePath}: run ./build.ps1 Build first." }

$ChildScript = Join-Path $PSScriptRoot '_WorkerTuningChild.ps1'
$Cores = [Environment]::ProcessorCount
$Throttle = 2

$Size = if ($Quick) {
    @{ CpuItems = 4; AllocItems = 4; LongAllocItems = 40; TrivialItems = 2000; CpuSeconds = 0.1; AllocSeconds = 0.05; CheckIterations = 10000 }
}
else {
    @{ CpuItems = 16; AllocItems = 16; LongAllocItems = 160; TrivialItems = 20000; CpuSeconds = 0.25; AllocSeconds = 0.1; CheckIterations = 20000 }
}

# The JIT-tier listener the check batch loads in the workers (compiled once per run).
$ListenerSource = @'
using System;
using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Linq;

namespace PSParallelWorkerTuning
{
    // Counts the runtime's MethodLoadVerbose events by the optimization tier in their MethodFlags
    // (bits 7-9: 1 MinOpt, 2 fully optimized, 3 tier0, 4 tier1, 5-7 OSR and PGO-instrumented tiers).
    public sealed class JitTierListener : EventListener
    {
        private readonly ConcurrentDictionary<int, int> _tiers = new ConcurrentDictionary<int, int>();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x10);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName == null || !e.EventName.StartsWith("MethodLoadVerbose", StringComparison.Ordinal) || e.PayloadNames == null) return;
            int i = e.PayloadNames.IndexOf("MethodFlags");
            if (i < 0) return;
            int tier = (int)((Convert.ToUInt32(e.Payload[i]) >> 7) & 7);
            _tiers.AddOrUpdate(tier, 1, (k, v) => v + 1);
        }

        public string Summary()
        {
            return string.Join(" ", _tiers.OrderBy(p => p.Key).Select(p => p.Key + ":" + p.Value));
        }
    }
}
'@

#endregion

#region Wrappers and children

function ConvertTo-ShQuoted([string] $Text) { "'" + $Text.Replace("'", "'\''") + "'" }

# The wrapper script of a candidate: unsets every knob, exports the candidate's, execs pwsh.
function New-Wrapper([string] $Folder, [string] $Name, $Variables) {
    $command = Get-PwshCommand
    $lines = [System.Collections.Generic.List[string]]::new()
    $lines.Add('#!/bin/sh')
    $lines.Add("# bench/WorkerTuning.ps1 candidate: $Name")
    $lines.Add('unset ' + (@(foreach ($k in $KnobNames) { "DOTNET_$k"; "COMPlus_$k" }) -join ' '))
    foreach ($k in $Variables.Keys) { $lines.Add("export $k=$(ConvertTo-ShQuoted $Variables[$k])") }
    # The pwsh apphost finds the runtime through DOTNET_ROOT when dotnet is not installed globally.
    if ($command.Count -eq 1 -and -not $env:DOTNET_ROOT -and [IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') {
        $lines.Add("export DOTNET_ROOT=$(ConvertTo-ShQuoted (Split-Path -Parent ([Environment]::ProcessPath)))")
    }
    $lines.Add('exec ' + (@($command | ForEach-Object { ConvertTo-ShQuoted $_ }) -join ' ') + ' "$@"')
    $path = Join-Path $Folder ("candidate-{0:D2}.sh" -f $script:WrapperCount++)
    [IO.File]::WriteAllText($path, ($lines -join "`n") + "`n")
    [IO.File]::SetUnixFileMode($path, [IO.UnixFileMode]'UserRead, UserWrite, UserExecute, GroupRead, GroupExecute, OtherRead, OtherExecute')
    $path
}

# What the report shows of a wrapper: the variables it exports.
function Format-Variables($Variables) {
    if (-not $Variables -or $Variables.Count -eq 0) { return '(none: every candidate variable unset)' }
    (@(foreach ($k in $Variables.Keys) { "``$k=$($Variables[$k])``" }) -join ' ')
}

# A child pwsh started through the baseline wrapper, running _WorkerTuningChild.ps1 with a spec.
function Invoke-Child([hashtable] $Spec) {
    $Spec.ClkTck = $script:ClkTck
    $json = $Spec | ConvertTo-Json -Compress -Depth 6
    $encoded = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
    $run = Invoke-Timed @($script:Wrappers['baseline']) @('-NoProfile', '-NonInteractive', '-File', $ChildScript, '-ModulePath', $script:ModuleCopy.Manifest, '-Spec', $encoded) -TimeoutSeconds $ChildTimeoutSeconds
    Read-ResultLine $run
}

#endregion

#region Plan

function New-Row([string] $Contender, [string] $Mode, [hashtable] $Spec, [double] $Expected) {
    [pscustomobject]@{ Contender = $Contender; Mode = $Mode; Spec = $Spec; Expected = $Expected; Runs = [System.Collections.Generic.List[hashtable]]::new() }
}

function Get-Plan([hashtable] $Calibration) {
    $plan = [ordered]@{}
    foreach ($name in $Case) {
        $n, $body = switch ($name) {
            'Cpu' { $Size.CpuItems, $CpuTemplate.Replace('@N@', "$($Calibration.Cpu.Iterations)") }
            'Alloc' { $Size.AllocItems, $AllocTemplate.Replace('@N@', "$($Calibration.Alloc.Iterations)") }
            'LongAlloc' { $Size.LongAllocItems, $AllocTemplate.Replace('@N@', "$($Calibration.Alloc.Iterations)") }
            'Trivial' { $Size.TrivialItems, '$_' }
        }
        # Trivial items sum to n(n+1)/2; the others are checked by their count only.
        $expected = if ($name -eq 'Trivial') { [double]$n * ($n + 1) / 2 } else { [double]::NaN }
        $rows = @()
        if ($name -ne 'Trivial') { $rows += New-Row 'sequential' 'Sequential' @{ Kind = 'run'; Mode = 'Sequential'; Body = $body; Items = $n; Throttle = 1; Wrapper = '' } $expected }
        foreach ($c in $Candidates.Keys) {
            $rows += New-Row $c 'ProcessBatch' @{ Kind = 'run'; Mode = 'ProcessBatch'; Body = $body; Items = $n; Throttle = $Throttle; Candidate = $c } $expected
        }
        $plan[$name] = $rows
    }
    $plan
}

#endregion

#region Statistics and report

function Get-RowStat($Row) {
    $ok = @($Row.Runs | Where-Object { $_.Ok })
    $failed = @($Row.Runs | Where-Object { -not $_.Ok })
    if (-not $ok) {
        return [pscustomobject]@{ Ok = $false; Seconds = [double]::NaN; Min = [double]::NaN; Max = [double]::NaN; Items = 0; WorkerCpu = [double]::NaN; CallerCpu = [double]::NaN; Runs = @(); Failure = "$(@($failed)[0].Failure)" }
    }
    $seconds = @($ok | ForEach-Object { [double]$_.Seconds })
    [pscustomobject]@{
        Ok = $true; Seconds = Get-Median $seconds
        Min = ($seconds | Measure-Object -Minimum).Minimum; Max = ($seconds | Measure-Object -Maximum).Maximum
        Items = [int]$ok[0].Items
        WorkerCpu = Get-Median @($ok | ForEach-Object { [double]$_.WorkerCpu } | Where-Object { -not [double]::IsNaN($_) })
        CallerCpu = Get-Median @($ok | ForEach-Object { [double]$_.CallerCpu })
        Runs = $ok
        Failure = $(if ($failed) { "$($failed.Count) run(s) failed: $($failed[0].Failure)" })
    }
}

# What went wrong in a row's runs: '' if nothing.
function Get-RowProblem($Row) {
    $st = Get-RowStat $Row
    if (-not $st.Ok) { return "FAILED: $($st.Failure)" }
    $bad = @(foreach ($r in $st.Runs) {
            if ([int]$r.Errors) { "$($r.Errors) errors, e.g. '$($r.FirstError)'" }
            if ([int]$r.Outputs -ne [int]$r.Items) { "$($r.Outputs) outputs for $($r.Items) items" }
            if (-not [double]::IsNaN($Row.Expected) -and [double]$r.Sum -ne $Row.Expected) { "WRONG OUTPUT: sum $($r.Sum), expected $($Row.Expected)" }
            if ($r.ContainsKey('LingerSeconds') -and [double]$r.LingerSeconds -ge 10) { 'workers still alive 10 s after the batch returned (their CPU is missing)' }
        })
    if ($st.Failure) { $bad += $st.Failure }
    ($bad | Select-Object -Unique) -join '; '
}

function Get-Row($Rows, [string] $Contender) { $Rows | Where-Object Contender -eq $Contender | Select-Object -First 1 }

# Tier counts of a check ('1:4 2:43 3:482 ...') folded into the columns of the check table.
function Format-Tiers([string] $Tiers) {
    $t = @{}
    foreach ($p in ($Tiers -split ' ' | Where-Object { $_ })) { $k, $v = $p -split ':'; $t[[int]$k] = [int]$v }
    $get = { param([int[]] $keys) ($keys | ForEach-Object { if ($t.ContainsKey($_)) { $t[$_] } else { 0 } } | Measure-Object -Sum).Sum }
    "$(& $get 3) | $(& $get 4) | $(& $get 1, 2) | $(& $get 5, 6, 7)"
}

function Write-Report($Plan, [hashtable] $Calibration, [hashtable] $Info) {
    $lines = [System.Collections.Generic.List[string]]::new()
    $add = { param($text) foreach ($t in @($text)) { $lines.Add([string]$t) } }

    & $add @('# Invoke-ProcessBatch worker runtime settings', ''
        "Written by ``bench/WorkerTuning.ps1`` ($(if ($Quick) { '-Quick: smoke test, 1 repetition, smaller counts and shorter items; not results' } elseif ($Partial) { 'partial run' } else { 'full run' }))."
        '', '| | |', '| --- | --- |'
        "| date | $($Info.Started) (run took $(Format-Number $Info.Minutes 1) min) |"
        "| PowerShell | $($Info.PSVersion) ($($Info.OS)) |"
        "| .NET | $($Info.Framework) |"
        "| cores | $($Info.Cores) |"
        "| load average (1/5/15 min) at start, end | $($Info.StartLoad); $($Info.EndLoad) |"
        "| repetitions | $Repetitions per contender, medians reported (min-max beside) |"
        "| workers | 2 (``-ThrottleLimit $Throttle``), each batch starting its own |")
    if ($Calibration.Cpu.Iterations) {
        & $add ("| calibration | CPU script $($Calibration.Cpu.Iterations) iterations (~$(Format-Number $Calibration.Cpu.SecondsPerItem) s an item), allocation script $($Calibration.Alloc.Iterations) iterations (~$(Format-Number $Calibration.Alloc.SecondsPerItem) s an item), sequentially in a fresh pwsh |")
    }
    # Judged at the start only: the load at the end counts this run's own workers and callers.
    if ($Info.StartLoad -ne 'n/a' -and [double]($Info.StartLoad -split ' ')[0] -ge 1) {
        & $add @('', '> **Draft: the machine was not quiet when this run started** (1-minute load average 1 or more): other processes took CPU, so times are inflated and ratios unreliable.')
    }
    else {
        & $add @('', '_The machine was quiet when the run started (1-minute load average under 1); the load at the end counts this run''s own worker processes._')
    }
    $knobs = ($KnobNames | ForEach-Object { '`' + $_ + '`' }) -join ', '
    $method = 'Each candidate is a wrapper script given to `Invoke-ProcessBatch -PowerShellPath`: it unsets every variable any candidate uses (`DOTNET_` and `COMPlus_` spellings of ' + $knobs + '), exports the candidate''s, and execs the pwsh of this installation. Only the workers get the settings: the calling pwsh (and the sequential reference) start through the baseline wrapper. Every measurement is a fresh pwsh; the clock covers the whole `Invoke-ProcessBatch` call, the start of both workers included (the caller is warmed up first on two `{ $_ }` items, untimed). "speedup" = sequential median / candidate median; "vs baseline" = baseline median / candidate median (above 1: faster than the baseline). Worker CPU s = CPU time of the worker processes (reaped children of the caller, /proc cutime + cstime) over the call, their start included; caller CPU s = the calling pwsh''s own.'
    & $add @('', $method, '', '## Candidates', '', '| candidate | variables the wrapper exports |', '| --- | --- |')
    foreach ($k in $Info.Candidates.Keys) { & $add "| $k | $(Format-Variables $Info.Candidates[$k]) |" }

    if ($Info.Checks.Count) {
        & $add @('', '## What the workers saw', ''
            "An untimed 2-item batch through each wrapper, after the candidate's first measurement. Each worker reports the candidate variables in its environment, the GC's configuration (``[GC]::GetConfigurationVariables()``), its gen0 collections while the allocation script ran $($Size.CheckIterations) iterations, and the methods it compiled meanwhile by JIT tier (``MethodLoadVerbose`` events of the runtime, tier in ``MethodFlags``; 5-7 are OSR and the instrumented tiers of TieredPGO). A variable the runtime honours shows: ``GCgen0size`` as fewer gen0 collections and a larger GCGen0MaxBudget, ``gcConcurrent=0`` as ConcurrentGC False, ``TieredPGO=0`` as no instrumented code, ``TieredCompilation=0`` as no tier0 code (everything fully optimized)."
            '', '| candidate | worker | DOTNET_ variables seen | ConcurrentGC | GCGen0MaxBudget MB | allocated MB | gen0 GCs | MB per gen0 GC | tier0 | tier1 | fully optimized | OSR / instrumented |'
            '| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
        foreach ($k in $Info.Candidates.Keys) {
            if (-not $Info.Checks.Contains($k)) { continue }
            $check = $Info.Checks[$k]
            if ($check -is [string]) { & $add "| $k | | check failed: $($check.Replace('|', '\|')) | | | | | | | | | |"; continue }
            $i = 0
            foreach ($c in $check) {
                $i++
                $perGc = if ([int]$c.Gen0 -gt 0) { Format-Number ([double]$c.AllocatedMB / [int]$c.Gen0) 1 } else { "> $(Format-Number $c.AllocatedMB 0)" }
                $vars = if ($c.Vars) { '`' + $c.Vars + '`' } else { '(none)' }
                & $add "| $k | $i | $vars | $($c.ConcurrentGC) | $(Format-Number $c.Gen0MaxBudgetMB 0) | $(Format-Number $c.AllocatedMB 0) | $($c.Gen0) | $perGc | $(Format-Tiers $c.Tiers) |"
            }
        }
        # A GCgen0size larger than the largest budget the workers' GC reports was clamped by the runtime.
        foreach ($k in $Info.Candidates.Keys) {
            $set = $Info.Candidates[$k]
            $check = if ($Info.Checks.Contains($k)) { $Info.Checks[$k] }
            if (-not $set.Contains('DOTNET_GCgen0size') -or -not $check -or $check -is [string]) { continue }
            $mb = [Convert]::ToInt64((([string]$set['DOTNET_GCgen0size']) -replace '^0x', ''), 16) / 1MB
            $seen = ($check | ForEach-Object { [double]$_.Gen0MaxBudgetMB } | Measure-Object -Maximum).Maximum
            if ($seen -lt $mb) {
                & $add @('', "Note: ${k}: ``GCgen0size`` asks for $(Format-Number $mb 0) MB, but its workers' GC reports a largest gen0 budget of $(Format-Number $seen 0) MB: the runtime clamped it, so this candidate runs with at most $(Format-Number $seen 0) MB.")
            }
        }
    }

    $titles = @{
        Cpu = "CPU script: ``$CpuTemplate``"
        Alloc = 'Allocation-heavy script (`$AllocTemplate` of _BenchCommon.ps1: small hashtables, objects, strings)'
        LongAlloc = 'The allocation-heavy script on a longer job (garbage piles up in gen2 unless the GC compacts it)'
        Trivial = 'Trivial items: `{ $_ }`'
    }
    $number = 0
    foreach ($name in $Plan.Keys) {
        $number++
        $rows = $Plan[$name]
        $seq = if (Get-Row $rows 'sequential') { Get-RowStat (Get-Row $rows 'sequential') }
        $base = Get-RowStat (Get-Row $rows 'baseline')
        $items = ($rows | ForEach-Object { (Get-RowStat $_).Items } | Measure-Object -Maximum).Maximum
        & $add @('', "## $number. $($titles[$name]), $(Format-Count $items) items", '', (Get-LoadNote $name), '')
        $head = '| contender | median s | min-max s |'; $rule = '| --- | ---: | ---: |'
        if ($name -eq 'Trivial') { $head += ' items/s |'; $rule += ' ---: |' } else { $head += ' speedup |'; $rule += ' ---: |' }
        & $add @(($head + ' vs baseline | worker CPU s | caller CPU s | note |'), ($rule + ' ---: | ---: | ---: | --- |'))
        foreach ($row in $rows) {
            $st = Get-RowStat $row
            $line = "| $($row.Contender) | $(Format-Number $st.Seconds) | $(if ($st.Ok) { "$(Format-Number $st.Min)-$(Format-Number $st.Max)" } else { 'n/a' }) |"
            if ($name -eq 'Trivial') { $line += " $(Format-Count ($st.Items / $st.Seconds)) |" }
            else { $line += " $(if ($row.Mode -eq 'Sequential') { '1.00x' } else { Format-Ratio ($seq.Seconds / $st.Seconds) }) |" }
            $vsBase = if ($row.Mode -eq 'Sequential') { '' } else { Format-Ratio ($base.Seconds / $st.Seconds) }
            $line += " $vsBase | $(if ($row.Mode -eq 'Sequential') { '' } else { Format-Number $st.WorkerCpu }) | $(Format-Number $st.CallerCpu) | $(Get-RowProblem $row) |"
            & $add $line
        }
    }

    & $add @('', '## Summary', '', 'candidate: CPU script speedup, alloc speedup, long alloc speedup, trivial items/s (medians; speedup = sequential / candidate).', '')
    & $add @('| candidate | CPU script speedup | alloc speedup | long alloc speedup | trivial items/s |', '| --- | ---: | ---: | ---: | ---: |')
    foreach ($k in $Info.Candidates.Keys) {
        $cells = foreach ($name in 'Cpu', 'Alloc', 'LongAlloc', 'Trivial') {
            if (-not $Plan.Contains($name)) { 'n/a'; continue }
            $st = Get-RowStat (Get-Row $Plan[$name] $k)
            if ($name -eq 'Trivial') { Format-Count ($st.Items / $st.Seconds) }
            else { Format-Ratio ((Get-RowStat (Get-Row $Plan[$name] 'sequential')).Seconds / $st.Seconds) }
        }
        & $add "| $k | $($cells -join ' | ') |"
    }
    Hide-Path ($lines -join "`n")
}

#endregion

#region Main

if ($FromRawFile) {
    $raw = Get-Content -LiteralPath $FromRawFile -Raw | ConvertFrom-Json -AsHashtable
    $Size = $raw.Size; $Quick = [bool]$raw.Quick; $Repetitions = $raw.Repetitions; $Partial = [bool]$raw.Partial
    $plan = [ordered]@{}
    foreach ($c in $raw.Plan) {
        $plan[$c.Case] = @(foreach ($r in $c.Rows) {
                $row = New-Row $r.Contender $r.Mode $r.Spec ([double]$(if ($null -eq $r.Expected) { [double]::NaN } else { $r.Expected }))
                foreach ($run in $r.Runs) { $row.Runs.Add($run) }
                $row
            })
    }
    $script:CaseLoad = $raw.CaseLoad
    $info = $raw.Info
    $ordered = [ordered]@{}; foreach ($k in $info.CandidateOrder) { $ordered[$k] = $info.Candidates[$k] }; $info.Candidates = $ordered
    $report = Write-Report $plan $raw.Calibration $info
    $dir = Split-Path -Parent $OutFile
    if ($dir -and -not (Test-Path -LiteralPath $dir)) { $null = New-Item -ItemType Directory -Path $dir -Force }
    Set-Content -LiteralPath $OutFile -Value $report -Encoding utf8NoBOM
    Write-Host "Results: $((Resolve-Path -LiteralPath $OutFile).ProviderPath)"
    return
}

$started = Get-Date
$startLoad = Get-LoadAverage
Write-Host "Worker tuning benchmark: $($Case -join ', '); $($Candidates.Count) candidates; $Repetitions repetition(s)$(if ($Quick) { ', quick' })"
Write-Host "Load average (1/5/15 min) at start: $startLoad on $Cores cores"
if ($startLoad -ne 'n/a' -and [double]($startLoad -split ' ')[0] -ge $Cores) {
    Write-Warning "The machine is busy (load average $startLoad on $Cores cores): times and ratios will be distorted."
}
$clockAll = [Diagnostics.Stopwatch]::StartNew()
$script:ClkTck = 0
try { $script:ClkTck = [int](& getconf CLK_TCK) } catch { $script:ClkTck = 0 }

# A private copy of the module, the wrappers and the listener assembly, in one temporary folder.
$script:ModuleCopy = New-ModuleCopy $ModulePath 'psparallel-tbench-'
$tempRoot = $script:ModuleCopy.Root
$script:WrapperCount = 0
$script:Wrappers = @{}
foreach ($k in $Candidates.Keys) { $script:Wrappers[$k] = New-Wrapper $tempRoot $k $Candidates[$k] }
$listenerPath = Join-Path $tempRoot 'PSParallelWorkerTuning.dll'
Add-Type -TypeDefinition $ListenerSource -OutputAssembly $listenerPath -OutputType Library
$variableNames = (@(foreach ($k in $KnobNames) { "DOTNET_$k"; "COMPlus_$k" }) -join ',')

$script:CaseLoad = [ordered]@{}
$checks = [ordered]@{}
try {
    $calibration = @{ Cpu = @{ Iterations = 0; SecondsPerItem = 0 }; Alloc = @{ Iterations = 0; SecondsPerItem = 0 } }
    if ('Cpu' -in $Case -or 'Alloc' -in $Case -or 'LongAlloc' -in $Case) {
        Write-Host 'Calibrating the CPU and allocation scripts...'
        $c = Invoke-Child @{ Kind = 'calibrate'; CpuTemplate = $CpuTemplate; AllocTemplate = $AllocTemplate; CpuSeconds = $Size.CpuSeconds; AllocSeconds = $Size.AllocSeconds }
        if (-not $c.Ok) { throw "Calibration failed: $($c.Failure)" }
        $calibration = @{ Cpu = $c.Cpu; Alloc = $c.Alloc }
        Write-Host ("  CPU script: {0} iterations ({1:F3} s); allocation script: {2} iterations ({3:F3} s)" -f $c.Cpu.Iterations, $c.Cpu.SecondsPerItem, $c.Alloc.Iterations, $c.Alloc.SecondsPerItem)
    }
    $checkLoop = $AllocTemplate.Replace('@N@', "$($Size.CheckIterations)")

    $plan = Get-Plan $calibration
    foreach ($name in $plan.Keys) {
        $script:CaseLoad[$name] = Get-LoadAverage
        for ($rep = 1; $rep -le $Repetitions; $rep++) {
            foreach ($row in $plan[$name]) {
                $spec = @{} + $row.Spec
                if ($row.Mode -eq 'ProcessBatch') {
                    $spec.Wrapper = $script:Wrappers[$row.Contender]
                    $spec.Check = -not $checks.Contains($row.Contender)
                    $spec.ListenerPath = $listenerPath; $spec.VariableNames = $variableNames; $spec.CheckLoop = $checkLoop
                }
                $result = Invoke-Child $spec
                if ($result.Ok -and $result.ContainsKey('Check')) { $checks[$row.Contender] = @($result.Check); $result.Remove('Check') }
                $row.Runs.Add($result)
                $shown = if ($result.Ok) {
                    $cpu = if ($row.Mode -eq 'ProcessBatch') { ', workers {0:F2} s CPU' -f [double]$result.WorkerCpu } else { '' }
                    ('{0,8:F3} s' -f [double]$result.Seconds) + $cpu
                }
                else { "FAILED: $(Hide-Path $result.Failure)" }
                Write-Host ("[{0,-7} {1}/{2}] {3,-44} {4}" -f $name, $rep, $Repetitions, $row.Contender, $shown)
            }
        }
    }
}
finally {
    foreach ($k in $Candidates.Keys) { if (-not $checks.Contains($k)) { $checks[$k] = 'no run of this candidate succeeded' } }
    Remove-Item -LiteralPath $tempRoot -Recurse -Force -ErrorAction SilentlyContinue
}

$endLoad = Get-LoadAverage
Write-Host "Load average (1/5/15 min) at end: $endLoad"
$info = @{
    Started = $started.ToString('yyyy-MM-dd HH:mm', [cultureinfo]::InvariantCulture)
    Minutes = $clockAll.Elapsed.TotalMinutes
    PSVersion = "$($PSVersionTable.PSVersion)"; OS = "$($PSVersionTable.OS)"
    Framework = [Runtime.InteropServices.RuntimeInformation]::FrameworkDescription
    Cores = $Cores; StartLoad = $startLoad; EndLoad = $endLoad
    Candidates = $Candidates; CandidateOrder = @($Candidates.Keys); Checks = $checks
}

# The raw measurements first, so that a failure of the report does not lose the run.
$rawFile = Join-Path $PSScriptRoot '../out/bench/WorkerTuning.raw.json'
$null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $rawFile)
@{
    Size = $Size; Calibration = $calibration; Quick = [bool]$Quick; Partial = [bool]$Partial; Repetitions = $Repetitions
    CaseLoad = $script:CaseLoad; Info = $info
    Plan = @(foreach ($k in $plan.Keys) { @{ Case = $k; Rows = @($plan[$k] | ForEach-Object { @{ Contender = $_.Contender; Mode = $_.Mode; Spec = $_.Spec; Expected = $(if ([double]::IsNaN($_.Expected)) { $null } else { $_.Expected }); Runs = $_.Runs } }) } })
} | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $rawFile -Encoding utf8NoBOM

$report = Write-Report $plan $calibration $info
Save-Report $OutFile $report
Write-Host ''
# The closing summary table on the console too.
$report -split "`n" | Select-Object -Skip (@($report -split "`n").IndexOf('## Summary')) | Write-Host
#endregion
