<#
.SYNOPSIS
One measurement of bench/WorkerTuning.ps1, run in a fresh pwsh: prints '##RESULT## <json>'.

.DESCRIPTION
Not a benchmark on its own (the leading '_' keeps build.ps1 Bench from running it). The parent
starts this script through the baseline wrapper (so this caller runs with none of the candidate
variables) and passes a specification as Base64-encoded JSON:

  Kind = 'calibrate'  iteration counts of the CPU and allocation templates (Find-Iterations)
  Kind = 'run'        Mode = 'Sequential': '$items | ForEach-Object { & $body }' in this process;
                      Mode = 'ProcessBatch': '$items | Invoke-ProcessBatch $body -ThrottleLimit T
                      -PowerShellPath <wrapper>', the wrapper setting the candidate's variables.
                      The clock covers the whole call, the start of the workers included; module
                      import, item generation and a warm-up of the same command on two { $_ } items
                      (this caller's first-call JIT and command discovery) are not timed.
                      With Check, an untimed 2-item batch through the same wrapper afterwards reports
                      what the workers saw: their DOTNET_ variables, the GC's configuration, gen0
                      collections while allocating, and the JIT tiers of the methods they compiled.

CPU seconds (Linux): the caller's own (utime + stime) and its reaped children's, i.e. the workers'
(cutime + cstime), over the timed call, read after the workers have ended.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Spec
)

. (Join-Path $PSScriptRoot '_ChildCommon.ps1')   # strict settings, Read-Spec, Write-Result, Find-Iterations

$S = Read-Spec $Spec

# (own, reaped children's) CPU seconds from /proc/self/stat; elsewhere (own, NaN).
function Get-CpuPair {
    if ([int]$S.ClkTck -gt 0 -and (Test-Path -LiteralPath '/proc/self/stat')) {
        $stat = [IO.File]::ReadAllText('/proc/self/stat')
        $f = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        # Fields 14-17 of stat(5) (utime, stime, cutime, cstime); $f[0] is field 3.
        $tck = [double]$S.ClkTck
        return @((([double]$f[11] + [double]$f[12]) / $tck), (([double]$f[13] + [double]$f[14]) / $tck))
    }
    @([Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds, [double]::NaN)
}

# Process ids of the live (not zombie) children of this process (Linux).
function Get-ChildPids {
    if (-not (Test-Path -LiteralPath '/proc/self/stat')) { return }
    foreach ($dir in [IO.Directory]::EnumerateDirectories('/proc')) {
        $name = [IO.Path]::GetFileName($dir)
        if ($name -notmatch '^\d+$') { continue }
        try { $stat = [IO.File]::ReadAllText("$dir/stat") } catch { continue }
        $f = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        if ($f[0] -ne 'Z' -and [int]$f[1] -eq $PID) { [int]$name }
    }
}

# Waits up to 10 s for the worker processes to end; returns how long it took.
function Wait-Children {
    $wait = [Diagnostics.Stopwatch]::StartNew()
    while (@(Get-ChildPids).Count -and $wait.Elapsed.TotalSeconds -lt 10) { Start-Sleep -Milliseconds 20 }
    $wait.Elapsed.TotalSeconds
}

# What a worker of this wrapper sees (runs in the worker): its environment, the GC's configuration,
# gen0 collections over an allocation loop, and the JIT tiers of what it compiled meanwhile
# (MethodLoadVerbose events of the runtime, through the listener the parent compiled).
$CheckBody = @'
$null = [Reflection.Assembly]::LoadFrom('@LISTENER@')
$listener = [PSParallelWorkerTuning.JitTierListener]::new()
$names = '@NAMES@'.Split(',')
$vars = @(foreach ($n in $names) { $v = [Environment]::GetEnvironmentVariable($n); if ($null -ne $v) { "$n=$v" } })
$g0 = [GC]::CollectionCount(0); $a0 = [GC]::GetTotalAllocatedBytes($true)
& { @BODY@ } | Out-Null
$gen0 = [GC]::CollectionCount(0) - $g0
$mb = ([GC]::GetTotalAllocatedBytes($true) - $a0) / 1MB
# Tier-up happens on a background thread after a call-counting delay (100 ms by default).
Start-Sleep -Milliseconds 400
$listener.Dispose()
$cfg = [GC]::GetConfigurationVariables()
[pscustomobject]@{
    Pid = $PID; Vars = ($vars -join ' '); ConcurrentGC = [bool]$cfg['ConcurrentGC']; ServerGC = [bool]$cfg['ServerGC']
    Gen0MaxBudgetMB = [double]$cfg['GCGen0MaxBudget'] / 1MB; AllocatedMB = $mb; Gen0 = $gen0
    Tiers = $listener.Summary()
}
'@

function Invoke-RunKind {
    $items = [object[]]@(1..[int]$S.Items)
    $body = [scriptblock]::Create($S.Body)
    $throttle = [int]$S.Throttle
    $wrapper = [string]$S.Wrapper
    $warm = [scriptblock]::Create('$_')

    if ($S.Mode -eq 'Sequential') {
        $null = 1..20 | ForEach-Object { & $warm }
    }
    else {
        $null = 1..2 | Invoke-ProcessBatch $warm -ThrottleLimit 1 -PowerShellPath $wrapper
        $null = Wait-Children
    }
    [GC]::Collect(); [GC]::WaitForPendingFinalizers()

    $Error.Clear()
    $cpu0 = Get-CpuPair
    $clock = [Diagnostics.Stopwatch]::StartNew()
    if ($S.Mode -eq 'Sequential') {
        $out = $items | ForEach-Object { & $body }
        $summary = $null
    }
    else {
        $out = $items | Invoke-ProcessBatch $body -ThrottleLimit $throttle -PowerShellPath $wrapper -SummaryVariable summary
    }
    $elapsed = $clock.Elapsed.TotalSeconds
    $errors = @($Error)
    $linger = if ($S.Mode -eq 'Sequential') { 0.0 } else { Wait-Children }
    $cpu1 = Get-CpuPair

    $outputs = @($out)
    $sum = 0.0
    foreach ($o in $outputs) { if ($o -is [ValueType]) { $sum += [double]$o } }
    $result = @{
        Seconds = $elapsed; Items = $items.Count; Outputs = $outputs.Count; Sum = $sum
        CallerCpu = $cpu1[0] - $cpu0[0]; WorkerCpu = $cpu1[1] - $cpu0[1]; LingerSeconds = $linger
        Errors = $errors.Count; FirstError = $(if ($errors.Count) { "$($errors[-1])" } else { $null })
        Succeeded = $(if ($summary) { $summary.Succeeded } else { $null })
    }
    if ($S.Mode -eq 'Sequential' -or -not $S.Check) { return $result }

    $checkText = $CheckBody.Replace('@LISTENER@', ([string]$S.ListenerPath).Replace("'", "''")).Replace('@NAMES@', [string]$S.VariableNames).Replace('@BODY@', [string]$S.CheckLoop)
    $check = @(1..2 | Invoke-ProcessBatch ([scriptblock]::Create($checkText)) -ThrottleLimit 2 -PowerShellPath $wrapper)
    $null = Wait-Children
    $result.Check = @(foreach ($c in $check) {
            @{
                Pid = [int]$c.Pid; Vars = [string]$c.Vars; ConcurrentGC = [bool]$c.ConcurrentGC; ServerGC = [bool]$c.ServerGC
                Gen0MaxBudgetMB = [double]$c.Gen0MaxBudgetMB; AllocatedMB = [double]$c.AllocatedMB; Gen0 = [int]$c.Gen0; Tiers = [string]$c.Tiers
            }
        })
    $result
}

Invoke-ChildKind -ModulePath $ModulePath -Kind $S.Kind -Handlers @{ run = { Invoke-RunKind }; calibrate = { Invoke-CalibrateKind } }
