<#
.SYNOPSIS
Benchmarks Invoke-ProcessBatch on remote hosts (two loopback sshd "hosts" on this machine) against
Invoke-Command -HostName per item, Invoke-Command -Session fanned out with ForEach-Object -Parallel,
and local Invoke-ProcessBatch, and writes bench/results/Remote.md.

.DESCRIPTION
Two sshd servers are started on 127.0.0.2 and 127.0.0.3 with keys made for the run (the test
fixture tests/TestSshd.psm1), their 'powershell' subsystem running this PowerShell; one of them has
the module on its PSModulePath for the compiled workload. Both "hosts" are this machine, so nothing
can be gained over local worker processes: the remote ratios are the overhead of remoting.

Every contender runs in this process, warmed up once on a few items first (untimed), and is timed
with a Stopwatch around the whole call: the remote batches open their sessions inside the clock, as
local Invoke-ProcessBatch starts its workers inside it. Each (case, contender) runs Repetitions
times (3), interleaved, and the report gives medians with min-max.

Cases:
  Trivial  { $_ }: Invoke-ProcessBatch -HostName (2 hosts x 1 session) on 2,000 items, local
           Invoke-ProcessBatch -ThrottleLimit 2 on 2,000, Invoke-Command -Session over 2 open
           sessions fanned out with ForEach-Object -Parallel on 200, Invoke-Command -HostName per
           item on 10 (each call connects): items per second
  Cpu      32 items of a loop calibrated to ~0.5 s sequentially: -HostName on the 2 hosts (1 session
           each) against local Invoke-ProcessBatch -ThrottleLimit 2 (the same 2 cores)
  Primes   -Workload IsPrime on 1..100,000 on the host with the module (2 sessions) against local
           Invoke-ProcessBatch -Workload IsPrime -ThrottleLimit 2

A full run takes about 5 minutes on 2 cores; run it on a quiet machine (1-minute load average under 1).
Linux and macOS with openssh-server installed only.

.PARAMETER Quick
One repetition and smaller counts, for a smoke test. Writes to out/bench/Remote.quick.md.

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/Remote.ps1
#>
[CmdletBinding()]
param(
    [switch] $Quick,
    [ValidateRange(1, 15)]
    [int] $Repetitions = 0,
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1'),
    [string] $OutFile
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot '_BenchCommon.ps1')

Import-Module (Join-Path $PSScriptRoot '../tests/TestSshd.psm1') -Force
$missing = Get-SshdMissingReason
if ($missing) {
    Write-Warning "Remote.ps1 skipped: $missing."
    return
}
if (-not (Test-Path -LiteralPath $ModulePath)) { throw "No module at ${ModulePath}: run ./build.ps1 Build first." }
if ($Repetitions -eq 0) { $Repetitions = if ($Quick) { 1 } else { 3 } }
if (-not $OutFile) { $OutFile = Get-ReportPath 'Remote' $Quick $false }

$size = if ($Quick) { @{ Trivial = 400; Fanned = 40; PerItem = 3; Cpu = 8; CpuSeconds = 0.2; Primes = 20000 } }
else { @{ Trivial = 2000; Fanned = 200; PerItem = 10; Cpu = 32; CpuSeconds = 0.5; Primes = 100000 } }

$moduleCopy = New-ModuleCopy $ModulePath
Import-Module $moduleCopy.Manifest -Force
$startLoad = Get-LoadAverage
Write-Host "Remote benchmark; load average (1/5/15 min) at start: $startLoad on $([Environment]::ProcessorCount) cores"
if ($startLoad -ne 'n/a' -and [double]($startLoad -split ' ')[0] -ge 1) { Write-Warning 'The machine is not quiet: this run is a draft.' }

$hostA = Start-TestSshHost -Address 127.0.0.2
$hostB = Start-TestSshHost -Address 127.0.0.3 -Port $hostA.Port
$hostM = Start-TestSshHost -Address 127.0.0.4 -ModulePath $moduleCopy.Root
$both = Get-TestSshConnection $hostA, $hostB
$withModule = Get-TestSshConnection $hostM

# The CPU loop of the other benches, calibrated here to ~CpuSeconds an item (a script block made once
# and run warm: its first runs are interpreted, then compiled).
$loop = { param($count) $n = 0; for ($i = 0; $i -lt $count; $i++) { $n += $i % 7 }; $n }
$null = & $loop 100000; $null = & $loop 100000
$iterations = 200000
while ($true) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $null = & $loop $iterations
    $seconds = $sw.Elapsed.TotalSeconds
    if ($seconds -ge 0.25) { break }
    $iterations *= 2
}
$iterations = [int]($iterations * $size.CpuSeconds / $seconds)
$cpu = [scriptblock]::Create("`$n = 0; for (`$i = 0; `$i -lt $iterations; `$i++) { `$n += `$i % 7 }; `$n")
Write-Host "CPU loop: $iterations iterations (~$($size.CpuSeconds) s an item)"

# The usual hand-made fan-out: open sessions shared by ForEach-Object -Parallel threads, each thread
# taking a free session from a queue for one Invoke-Command (a session runs one command at a time).
function Invoke-FannedOut([object[]] $Items, [object[]] $Sessions) {
    $free = [Collections.Concurrent.ConcurrentQueue[object]]::new([object[]]$Sessions)
    $Items | ForEach-Object -Parallel {
        $queue = $using:free
        $s = $null
        while (-not $queue.TryDequeue([ref]$s)) { Start-Sleep -Milliseconds 1 }
        try { Invoke-Command -Session $s -ScriptBlock { param($x) $x } -ArgumentList $_ }
        finally { $queue.Enqueue($s) }
    } -ThrottleLimit $Sessions.Count
}

$contenders = [ordered]@{
    Trivial = [ordered]@{
        'Invoke-ProcessBatch -HostName (2 hosts x 1 session)' = @{ Items = $size.Trivial; Run = { param($n) 1..$n | Invoke-ProcessBatch { $_ } @both -ThrottleLimit 1 } }
        'Invoke-ProcessBatch, local, 2 workers'               = @{ Items = $size.Trivial; Run = { param($n) 1..$n | Invoke-ProcessBatch { $_ } -ThrottleLimit 2 } }
        'Invoke-Command -Session x2, ForEach-Object -Parallel' = @{ Items = $size.Fanned; Run = {
                param($n)
                $sessions = @($hostA, $hostB | ForEach-Object { New-PSSession -HostName $_.HostName -Port $_.Port -UserName $_.UserName -KeyFilePath $_.KeyFilePath -Options $_.SSHOption })
                try { Invoke-FannedOut (1..$n) $sessions } finally { $sessions | Remove-PSSession }
            }
        }
        'Invoke-Command -HostName per item'                   = @{ Items = $size.PerItem; Run = {
                param($n)
                foreach ($i in 1..$n) {
                    $h = @($hostA, $hostB)[$i % 2]
                    Invoke-Command -HostName $h.HostName -Port $h.Port -UserName $h.UserName -KeyFilePath $h.KeyFilePath -Options $h.SSHOption -ScriptBlock { param($x) $x } -ArgumentList $i
                }
            }
        }
    }
    Cpu     = [ordered]@{
        'Invoke-ProcessBatch -HostName (2 hosts x 1 session)' = @{ Items = $size.Cpu; Run = { param($n) 1..$n | Invoke-ProcessBatch $cpu @both -ThrottleLimit 1 } }
        'Invoke-ProcessBatch, local, 2 workers'               = @{ Items = $size.Cpu; Run = { param($n) 1..$n | Invoke-ProcessBatch $cpu -ThrottleLimit 2 } }
    }
    Primes  = [ordered]@{
        'Invoke-ProcessBatch -Workload IsPrime -HostName (2 sessions)' = @{ Items = $size.Primes; Run = { param($n) 1..$n | Invoke-ProcessBatch -Workload IsPrime @withModule -ThrottleLimit 2 } }
        'Invoke-ProcessBatch -Workload IsPrime, local, 2 workers'      = @{ Items = $size.Primes; Run = { param($n) 1..$n | Invoke-ProcessBatch -Workload IsPrime -ThrottleLimit 2 } }
    }
}

$times = @{}
try {
    # Warm-up of every contender on a few items (first-call JIT and command discovery of this process).
    foreach ($case in $contenders.Keys) {
        foreach ($name in $contenders[$case].Keys) { $null = & $contenders[$case][$name].Run 2 }
    }
    foreach ($rep in 1..$Repetitions) {
        foreach ($case in $contenders.Keys) {
            foreach ($name in $contenders[$case].Keys) {
                $c = $contenders[$case][$name]
                $sw = [Diagnostics.Stopwatch]::StartNew()
                $out = @(& $c.Run $c.Items)
                $seconds = $sw.Elapsed.TotalSeconds
                if ($out.Count -ne $c.Items) { throw "$case / ${name}: $($out.Count) results for $($c.Items) items." }
                $key = "$case|$name"
                if (-not $times.ContainsKey($key)) { $times[$key] = [Collections.Generic.List[double]]::new() }
                $times[$key].Add($seconds)
                Write-Host ("[{0,-7} {1}/{2}] {3,-62} {4,8:0.000} s" -f $case, $rep, $Repetitions, $name, $seconds)
            }
        }
    }
}
finally {
    Stop-AllTestSshHosts
    Remove-Item -Recurse -Force -LiteralPath $moduleCopy.Root -ErrorAction Ignore
}
$endLoad = Get-LoadAverage

function Get-Row([string] $Case, [string] $Name) {
    $t = $times["$Case|$Name"]
    $median = Get-Median $t
    [pscustomobject]@{ Median = $median; Min = ($t | Measure-Object -Minimum).Minimum; Max = ($t | Measure-Object -Maximum).Maximum; Rate = $contenders[$Case][$Name].Items / $median }
}

$lines = [Collections.Generic.List[string]]::new()
$lines.Add('# Invoke-ProcessBatch on remote hosts')
$lines.Add('')
$lines.Add("Written by ``bench/Remote.ps1`` ($(if ($Quick) { 'quick run' } else { 'full run' })).")
$lines.Add('')
$lines.Add('| | |')
$lines.Add('| --- | --- |')
$lines.Add("| date | $(Get-Date -Format 'yyyy-MM-dd HH:mm') |")
$lines.Add("| PowerShell | $($PSVersionTable.PSVersion) |")
$lines.Add("| cores | $([Environment]::ProcessorCount) |")
$lines.Add("| load average (1/5/15 min) at start, end | $startLoad; $endLoad |")
$lines.Add("| repetitions | $Repetitions per contender, interleaved; medians (min-max) |")
$lines.Add('')
$quiet = $startLoad -ne 'n/a' -and [double]($startLoad -split ' ')[0] -lt 1
$lines.Add($(if ($quiet) { '_The machine was quiet when the run started (1-minute load average under 1)._' } else { '> **Draft: the machine was not quiet when this run started** (1-minute load average 1 or more).' }))
$lines.Add('')
$lines.Add('The two "hosts" are sshd servers on 127.0.0.2 and 127.0.0.3 of this same machine, so remote fan-out cannot gain over local worker processes here: its ratios are the overhead of remoting. Each time covers the whole call, opening the sessions (or starting the workers) included.')
$targets = [Collections.Generic.List[string]]::new()
foreach ($case in $contenders.Keys) {
    $lines.Add('')
    $lines.Add("## $case")
    $lines.Add('')
    $lines.Add('| contender | items | median s (min-max) | items/s |')
    $lines.Add('| --- | ---: | --- | ---: |')
    foreach ($name in $contenders[$case].Keys) {
        $r = Get-Row $case $name
        $lines.Add("| $name | $(Format-Count $contenders[$case][$name].Items) | $(Format-Number $r.Median) ($(Format-Number $r.Min)-$(Format-Number $r.Max)) | $(Format-Count $r.Rate) |")
    }
}
$remoteTrivial = Get-Row 'Trivial' 'Invoke-ProcessBatch -HostName (2 hosts x 1 session)'
$perItem = Get-Row 'Trivial' 'Invoke-Command -HostName per item'
$ratioTrivial = $remoteTrivial.Rate / $perItem.Rate
$remoteCpu = Get-Row 'Cpu' 'Invoke-ProcessBatch -HostName (2 hosts x 1 session)'
$localCpu = Get-Row 'Cpu' 'Invoke-ProcessBatch, local, 2 workers'
$ratioCpu = $remoteCpu.Median / $localCpu.Median
$lines.Add('')
$lines.Add('## Targets')
$lines.Add('')
$lines.Add('| target | measured | goal | met |')
$lines.Add('| --- | ---: | --- | --- |')
$lines.Add("| trivial items/s, -HostName batch / Invoke-Command -HostName per item | $(Format-Ratio $ratioTrivial) | >= 20x | $(if ($ratioTrivial -ge 20) { 'yes' } else { 'NO' }) |")
$lines.Add("| CPU job time, -HostName on 2 loopback hosts / local Invoke-ProcessBatch | $(Format-Ratio $ratioCpu) | <= 1.3x | $(if ($ratioCpu -le 1.3) { 'yes' } else { 'NO' }) |")
Save-Report $OutFile ($lines -join "`n")
