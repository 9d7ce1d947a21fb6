<#
.SYNOPSIS
One measurement for bench/Decision.ps1, in a fresh pwsh: prints '##RESULT## <json>'.

.DESCRIPTION
The spec (base64 JSON) says what to do:
  Kind = 'calibrate'  time a script template (@N@ = iterations) sequentially in a child scope and
                      scale N so that one item takes TargetMs; or time -Workload IsPrime on Prime.
  Kind = 'measure'    '$items | Measure-ConcurrencyModel' (script or -Workload) with -TotalItems:
                      its wall time (what the user waits for, first call included) and its report.
  Kind = 'run'        the whole job one way: Sequential ('$items | ForEach-Object { & $body }', or
                      for a compiled workload 'Invoke-ThreadBatch -Workload W -ThrottleLimit 1', the
                      command line Measure-ConcurrencyModel writes for it), Thread (Invoke-ThreadBatch
                      -ThrottleLimit T), Process (Invoke-ProcessBatch -ThrottleLimit T) or Command
                      (the report's Command text, verbatim, with $items defined). The clock covers the
                      whole command, pool start-up included; module import, item generation and a
                      two-item warm-up of the same cmdlet at -ThrottleLimit 1 (first-call JIT and
                      command discovery) are not timed.
Not a benchmark: the leading '_' keeps build.ps1 Bench from running it.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Spec
)

. (Join-Path $PSScriptRoot '_ChildCommon.ps1')   # strict settings, Read-Spec, Write-Result, Find-Iterations

try {
    $s = Read-Spec $Spec
    foreach ($k in 'Prime', 'Body', 'Workload', 'MaxThrottleLimit', 'Command', 'Throttle', 'Model', 'Items') { if (-not $s.ContainsKey($k)) { $s[$k] = $null } }
    Import-Module -Name $ModulePath -ErrorAction Stop

    if ($s.Kind -eq 'calibrate') {
        if ($s.Prime) {
            $p = [long]$s.Prime
            $null = @($p) | Invoke-ThreadBatch -Workload IsPrime -ThrottleLimit 1
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $r = @(@($p) * 10 | Invoke-ThreadBatch -Workload IsPrime -ThrottleLimit 1)
            Write-Result @{ Ok = $true; SecondsPerItem = $clock.Elapsed.TotalSeconds / 10; IsPrime = [bool]$r[0] }
            return
        }
        $n = [int]$s.StartIterations
        $perItem = 0.0
        for ($round = 0; $round -lt 6; $round++) {
            $body = [scriptblock]::Create($s.Template.Replace('@N@', "$n"))
            $null = 1 | ForEach-Object { & $body }
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $null = 1..5 | ForEach-Object { & $body }
            $perItem = $clock.Elapsed.TotalSeconds / 5
            $ratio = ($s.TargetMs / 1000) / $perItem
            if ([Math]::Abs($ratio - 1) -lt 0.05) { break }
            $n = [int][Math]::Max(1, $n * $ratio)
        }
        Write-Result @{ Ok = $true; Iterations = $n; SecondsPerItem = $perItem }
        return
    }

    $items = @(& ([scriptblock]::Create($s.Items)))
    $body = if ($s.Body) { [scriptblock]::Create($s.Body) } else { $null }
    $workload = [string]$s.Workload

    if ($s.Kind -eq 'measure') {
        $params = @{ TotalItems = [long]$s.TotalItems; WarningAction = 'SilentlyContinue' }
        if ($workload) { $params.Workload = $workload } else { $params.ScriptBlock = $body }
        if ($s.MaxThrottleLimit) { $params.MaxThrottleLimit = [int]$s.MaxThrottleLimit }
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $report = $items | Measure-ConcurrencyModel @params
        $seconds = $clock.Elapsed.TotalSeconds
        # The job as a user runs it after measuring: the report's Command, in the same (warm) session.
        $sameSession = [double]::NaN
        try {
            $clock.Restart()
            $null = @(& ([scriptblock]::Create($report.Command)) 2>$null)
            $sameSession = $clock.Elapsed.TotalSeconds
        } catch {
            Write-Verbose "The Command did not run in the measuring session: $_"
        }
        $projected = @{}
        foreach ($k in $report.Projected.Keys) { $projected[$k] = $report.Projected[$k].TotalSeconds }
        Write-Result @{
            Ok = $true; Seconds = $seconds; Items = $items.Count; SameSessionSeconds = $sameSession
            Recommendation = "$($report.Recommendation)"; ThrottleLimit = [int]$report.ThrottleLimit
            Classification = "$($report.Classification)"; Reason = "$($report.Reason)"; Command = "$($report.Command)"
            Projected = $projected
            Trials = @($report.Trials | ForEach-Object {
                    @{
                        Model = "$($_.Model)"; ThrottleLimit = [int]$_.ThrottleLimit; Items = [int]$_.Items
                        Duration = $_.Duration.TotalSeconds; ItemsPerSecond = [double]$_.ItemsPerSecond; Speedup = [double]$_.Speedup
                        CpuSeconds = [double]$_.CpuSeconds; StartupSeconds = [double]$_.StartupSeconds; PeakMemoryMB = [double]$_.PeakMemoryMB
                    }
                })
        }
        return
    }

    # Kind = 'run'
    $throttle = [int]$s.Throttle
    $model = [string]$s.Model
    $warm = @(1, 2)
    $ErrorActionPreference = 'Continue'
    switch ($model) {
        'Sequential' {
            if ($workload) { $null = $warm | Invoke-ThreadBatch { $_ } -ThrottleLimit 1 }
            else { $null = $warm | ForEach-Object { & { $_ } } }
        }
        'Thread' { $null = $warm | Invoke-ThreadBatch { $_ } -ThrottleLimit 1 }
        'Process' { $null = $warm | Invoke-ProcessBatch { $_ } -ThrottleLimit 1 }
        'Command' {
            if ($s.Command -match 'Invoke-ProcessBatch') { $null = $warm | Invoke-ProcessBatch { $_ } -ThrottleLimit 1 }
            elseif ($s.Command -match 'Invoke-ThreadBatch') { $null = $warm | Invoke-ThreadBatch { $_ } -ThrottleLimit 1 }
            else { $null = $warm | ForEach-Object { $_ } }
        }
        default { throw "Unknown model '$model'." }
    }
    $command = if ($model -eq 'Command') { [scriptblock]::Create($s.Command) } else { $null }
    $Error.Clear()
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $out = @(switch ($model) {
        'Sequential' {
            if ($workload) { @($items | Invoke-ThreadBatch -Workload $workload -ThrottleLimit 1) }
            else { @($items | ForEach-Object { & $body }) }
        }
        'Thread' {
            if ($workload) { @($items | Invoke-ThreadBatch -Workload $workload -ThrottleLimit $throttle) }
            else { @($items | Invoke-ThreadBatch -ScriptBlock $body -ThrottleLimit $throttle) }
        }
        'Process' {
            if ($workload) { @($items | Invoke-ProcessBatch -Workload $workload -ThrottleLimit $throttle) }
            else { @($items | Invoke-ProcessBatch -ScriptBlock $body -ThrottleLimit $throttle) }
        }
        'Command' { @(. $command) }
    })
    $seconds = $clock.Elapsed.TotalSeconds
    $errors = $Error.Count
    Write-Result @{
        Ok = $true; Seconds = $seconds; Items = $items.Count; Outputs = $out.Count; Errors = $errors
        FirstError = $(if ($errors) { "$($Error[$errors - 1])" } else { $null })
    }
}
catch {
    Write-Result @{ Ok = $false; Failure = "$_ ($($_.InvocationInfo.PositionMessage -replace '\s+', ' '))" }
}
