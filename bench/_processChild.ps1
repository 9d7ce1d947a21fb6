<#
.SYNOPSIS
One PowerShell measurement of bench/ProcessBatch.ps1, run in a fresh pwsh: one case, one contender.

.DESCRIPTION
Not a benchmark on its own (the leading '_' keeps build.ps1 Bench from running it). The parent
passes a specification as Base64-encoded JSON; this script builds the items, warms the contender
up on a few items (unless the spec says NoWarm), waits for its own CPU to go quiet (Wait-OwnCpuQuiet,
reported as SettleSeconds), times the batch alone with a Stopwatch (module import, item generation,
warm-up and the wait excluded) and writes one line '##RESULT## {json}' to standard output.

The output of every contender goes into the same compiled consumer (Measure-BenchArrival, from
the helper assembly the parent compiles once), which notes when the first and the last output
arrived, counts them and sums them (or counts $true), at about a microsecond per output.

After the timed run it waits (untimed, up to 10 s) for the child processes the contender started
(worker processes, job processes) to end, and reports how many were still alive when the batch
returned and how long they took to go. The CPU time reported is this process's and its reaped
children's (/proc/self/stat utime + stime + cutime + cstime), so that worker processes and job
processes count.

ProcessBatchPool runs the batch on a warm pool: Start-WorkerPool -Model Process (at the spec's
Throttle, or the default) and the warm-up batch on that pool come before the timed batch, untimed
(their times are reported as PoolStartSeconds and WarmUpSeconds). The pool's workers outlive the
batch by design: they are not counted as processes left behind, their CPU time is read from
/proc/<pid>/stat around the timed batch (they are not reaped), and the pool is stopped after the
measurement. A worker the pool starts during the timed batch (a replacement for one it closed) is
the pool's too: it is reported as PoolWorkersStarted, with the workers open before the batch
(PoolWorkersBefore) and after it (PoolWorkers). ProcessBatchPoolSteady is the same, but runs the
timed batch once untimed first, so that the timed one is the pool's third (the steady state).

Kinds:
  script     Sequential | SequentialDot | ProcessBatch | ProcessBatchWorkload | ProcessBatchPool |
             ProcessBatchPoolSteady |
             ThreadBatch | ThreadBatchWorkload | ForEachParallel | ThreadJob | StartJob over items
  calibrate  iteration counts for the CPU and allocation scripts
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Spec
)

. (Join-Path $PSScriptRoot '_ChildCommon.ps1')   # strict settings, Read-Spec, Write-Result, Find-Iterations

$S = Read-Spec $Spec

# Builds the item array from the spec's PowerShell expression (evaluated in a child scope).
function New-Items([string] $Expression) {
    $sb = [scriptblock]::Create($Expression)
    , [object[]]@(& $sb)
}

# CPU seconds of this process and of its children that have ended (Linux); elsewhere this process only.
function Get-CpuSeconds {
    if ($S.ContainsKey('ClkTck') -and [int]$S.ClkTck -gt 0 -and (Test-Path -LiteralPath '/proc/self/stat')) {
        $stat = [IO.File]::ReadAllText('/proc/self/stat')
        $f = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        # Fields 14-17 of stat(5) (utime, stime, cutime, cstime); $f[0] is field 3.
        return ([double]$f[11] + [double]$f[12] + [double]$f[13] + [double]$f[14]) / [int]$S.ClkTck
    }
    [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds
}

# CPU seconds (utime + stime) of these live processes (Linux; 0 elsewhere or for a process gone).
function Get-PidCpuSeconds([int[]] $Pids) {
    $total = 0.0
    if (-not ($S.ContainsKey('ClkTck') -and [int]$S.ClkTck -gt 0)) { return $total }
    foreach ($p in $Pids) {
        if (-not [IO.File]::Exists("/proc/$p/stat")) { continue }
        try { $stat = [IO.File]::ReadAllText("/proc/$p/stat") } catch { continue }
        $f = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        $total += ([double]$f[11] + [double]$f[12]) / [int]$S.ClkTck
    }
    $total
}

# Process ids of the live (not zombie) children of this process (Linux); elsewhere through Get-Process.
function Get-ChildPids {
    if (Test-Path -LiteralPath '/proc/self/stat') {
        foreach ($dir in [IO.Directory]::EnumerateDirectories('/proc')) {
            $name = [IO.Path]::GetFileName($dir)
            if ($name -notmatch '^\d+$') { continue }
            try { $stat = [IO.File]::ReadAllText("$dir/stat") } catch { continue }
            $f = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
            if ($f[0] -ne 'Z' -and [int]$f[1] -eq $PID) { [int]$name }
        }
        return
    }
    Get-Process | Where-Object { $_.Parent -and $_.Parent.Id -eq $PID } | ForEach-Object Id
}

#region Script contenders

# Runs one contender over the items, writing its output. Called for warm-up and for the timed run.
function Invoke-Contender {
    param([string] $Contender, [object[]] $Items, [scriptblock] $Body, [string] $Workload, [int] $Throttle, [int] $ChunkSize)
    $p = @{}
    if ($Throttle -gt 0) { $p.ThrottleLimit = $Throttle }
    $pb = @{} + $p
    if ($ChunkSize -gt 0) { $pb.ChunkSize = $ChunkSize }
    $script:BatchSummary = $null
    switch ($Contender) {
        # Sequential ForEach-Object, each item's body in its own child scope, as the batches run their items.
        'Sequential' { $Items | ForEach-Object { & $Body } }
        # Sequential ForEach-Object inside a child scope: the body is dot-sourced into that one scope.
        'SequentialDot' { & { $Items | ForEach-Object $Body } }
        'ProcessBatch' { $Items | Invoke-ProcessBatch $Body @pb -SummaryVariable sum; $script:BatchSummary = $sum }
        'ProcessBatchWorkload' { $Items | Invoke-ProcessBatch -Workload $Workload @pb -SummaryVariable sum; $script:BatchSummary = $sum }
        # On the warm pool Invoke-ScriptKind started: its size is the throttle.
        { $_ -in 'ProcessBatchPool', 'ProcessBatchPoolSteady' } {
            $pp = @{}
            if ($ChunkSize -gt 0) { $pp.ChunkSize = $ChunkSize }
            $Items | Invoke-ProcessBatch $Body -Pool $script:Pool @pp -SummaryVariable sum; $script:BatchSummary = $sum
        }
        'ThreadBatch' { $Items | Invoke-ThreadBatch $Body @pb -SummaryVariable sum; $script:BatchSummary = $sum }
        'ThreadBatchWorkload' { $Items | Invoke-ThreadBatch -Workload $Workload @pb -SummaryVariable sum; $script:BatchSummary = $sum }
        # The body in a child scope (& $b), like the other rows: ForEach-Object -Parallel runs its
        # script in the runspace's global scope, where this loop's variables are several times slower.
        'ForEachParallel' {
            $fepBody = [scriptblock]::Create("`$__b = {`n$Body`n}; & `$__b")
            $Items | ForEach-Object -Parallel $fepBody @p
        }
        'ThreadJob' {
            # Start-ThreadJob does not bind $_: the item comes as an argument and is made $_; the
            # body runs in a child scope (& $b), like the sequential rows and the batches.
            $jobBody = [scriptblock]::Create("param(`$__item) `$__b = {`n$Body`n}; foreach (`$_ in @(`$__item)) { & `$__b }")
            $jobs = foreach ($x in $Items) { Start-ThreadJob -ScriptBlock $jobBody -ArgumentList $x @p }
            $jobs | Receive-Job -Wait -AutoRemoveJob
        }
        'StartJob' {
            # One background job (one pwsh process) per item, as Start-Job is usually used; no throttle.
            $jobBody = [scriptblock]::Create("param(`$__item) `$__b = {`n$Body`n}; foreach (`$_ in @(`$__item)) { & `$__b }")
            $jobs = foreach ($x in $Items) { Start-Job -ScriptBlock $jobBody -ArgumentList $x }
            $jobs | Receive-Job -Wait -AutoRemoveJob
        }
        default { throw "Unknown contender '$Contender'." }
    }
}

function Invoke-ScriptKind {
    Import-Module $S.HelperPath
    $items = New-Items $S.Items
    $body = [scriptblock]::Create($S.Body)
    $throttle = [int]$S.Throttle
    $chunk = [int]$S.ChunkSize
    $workload = [string]$S.Workload
    if ($S.Contender -eq 'ThreadJob') { Import-Module Microsoft.PowerShell.ThreadJob }
    $clock = [Diagnostics.Stopwatch]::new()
    $isPool = $S.Contender -in 'ProcessBatchPool', 'ProcessBatchPoolSteady'
    if ($isPool -and $S.NoWarm) { throw "$($S.Contender) times a later batch on its pool: it needs the warm-up batch." }

    # A warm pool (untimed): started here, then warmed up by the warm-up batch below.
    $poolStart = $null; $warmUp = $null
    if ($isPool) {
        $sp = @{ Model = 'Process' }
        if ($throttle -gt 0) { $sp.ThrottleLimit = $throttle }
        $t = [Diagnostics.Stopwatch]::StartNew()
        $script:Pool = Start-WorkerPool @sp
        $poolStart = $t.Elapsed.TotalSeconds
    }

    # Warm-up: the same contender on a few items (JIT, command discovery, autoloading), so that the
    # timed run measures the batch rather than first-call costs of this process. A process batch
    # still starts its own worker processes in the timed run: every batch has its own pool (except
    # ProcessBatchPool, whose warm-up is the first batch on its pool).
    if (-not $S.NoWarm) {
        $warmItems = New-Items $S.WarmItems
        $t = [Diagnostics.Stopwatch]::StartNew()
        $null = Invoke-Contender -Contender $S.Contender -Items $warmItems -Body ([scriptblock]::Create($S.WarmBody)) -Workload $workload -Throttle $throttle -ChunkSize $chunk |
            Measure-BenchArrival -Clock $clock
        $warmUp = $t.Elapsed.TotalSeconds
    }
    # Steady state: the same batch once more on the pool, untimed, so that the timed batch is the
    # pool's third and the calling process has compiled (tiered JIT) what a long batch runs.
    if ($S.Contender -eq 'ProcessBatchPoolSteady') {
        $null = Invoke-Contender -Contender $S.Contender -Items $items -Body $body -Workload $workload -Throttle $throttle -ChunkSize $chunk |
            Measure-BenchArrival -Clock $clock
    }
    # The pool's workers (they stay); every other child is the contender's and should end. The
    # pool may have closed a worker at the end of the warm-up batch (its process may still be
    # going): then the timed batch opens a replacement, which is counted as the pool's below.
    $poolPids = if ($isPool) { @(Get-ChildPids) } else { @() }
    $poolAliveBefore = if ($isPool) { $script:Pool.WorkersAlive } else { $null }
    $others = { @(Get-ChildPids | Where-Object { $_ -notin $poolPids }) }
    if (-not $S.NoWarm) {
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (@(& $others).Count -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
    }
    [GC]::Collect(); [GC]::WaitForPendingFinalizers()
    $null = (Get-CpuSeconds) + (Get-PidCpuSeconds $poolPids)   # their first call's compilation, before the quiet wait
    $settle = Wait-OwnCpuQuiet

    $cpu0 = (Get-CpuSeconds) + (Get-PidCpuSeconds $poolPids)
    $Error.Clear()
    $clock.Restart()
    $arrival = Invoke-Contender -Contender $S.Contender -Items $items -Body $body -Workload $workload -Throttle $throttle -ChunkSize $chunk |
        Measure-BenchArrival -Clock $clock
    $elapsed = $clock.Elapsed.TotalSeconds
    $errors = @($Error)
    $poolCpu1 = Get-PidCpuSeconds $poolPids
    # Workers the pool started during the timed batch (replacements): the pool's, not left behind.
    $replaced = @()
    if ($isPool) {
        $now = @(Get-ChildPids)
        $survivors = @($now | Where-Object { $_ -in $poolPids }).Count
        $new = @($now | Where-Object { $_ -notin $poolPids })
        $replaced = @($new | Select-Object -First ([Math]::Max(0, $script:Pool.WorkersAlive - $survivors)))
        $poolCpu1 += Get-PidCpuSeconds $replaced
        $poolPids += $replaced
    }

    # Untimed: the processes the batch leaves behind, and how long they take to end.
    $left = @(& $others).Count
    $linger = 0.0
    if ($left) {
        $wait = [Diagnostics.Stopwatch]::StartNew()
        while (@(& $others).Count -and $wait.Elapsed.TotalSeconds -lt 10) { Start-Sleep -Milliseconds 20 }
        $linger = $wait.Elapsed.TotalSeconds
    }
    $stillAlive = @(& $others).Count
    $cpu = (Get-CpuSeconds) + $poolCpu1 - $cpu0
    $poolWorkers = $null
    if ($isPool) {
        $poolWorkers = $script:Pool.WorkersAlive
        Stop-WorkerPool $script:Pool
    }

    $check = switch ($S.Check) {
        'sum' { $arrival.Sum }
        'true' { $arrival.Trues }
        default { $null }
    }
    $summary = $script:BatchSummary
    @{
        Seconds = $elapsed; CpuSeconds = $cpu; Items = $items.Count; Outputs = $arrival.Count
        FirstSeconds = $arrival.FirstSeconds; LastSeconds = $arrival.LastSeconds
        Errors = $errors.Count; FirstError = $(if ($errors.Count) { "$($errors[-1])" } else { $null })
        Check = $check
        Succeeded = $(if ($summary) { $summary.Succeeded } else { $null })
        ThrottleLimit = $(if ($summary) { $summary.ThrottleLimit } else { $null })
        LeftAtReturn = $left; LingerSeconds = $linger; StillAlive = $stillAlive
        PoolStartSeconds = $poolStart; WarmUpSeconds = $(if ($isPool) { $warmUp } else { $null }); PoolWorkers = $poolWorkers
        PoolWorkersBefore = $poolAliveBefore; PoolWorkersStarted = $(if ($isPool) { $replaced.Count } else { $null })
        SettleSeconds = $settle
    }
}

#endregion

Invoke-ChildKind -ModulePath $ModulePath -Kind $S.Kind -Handlers @{ script = { Invoke-ScriptKind }; calibrate = { Invoke-CalibrateKind } }
