<#
.SYNOPSIS
Benchmarks Invoke-ProcessBatch (cold, and on a warm pool) against Start-Job, Start-ThreadJob,
Invoke-ThreadBatch, ForEach-Object -Parallel, sequential ForEach-Object and Python's
ProcessPoolExecutor, and writes bench/results/ProcessBatch.md.

.DESCRIPTION
Every PowerShell (workload, contender) pair runs in a fresh pwsh of the same installation, started
with -NoProfile. Inside that child the time is taken with a Stopwatch around the batch alone: module
import, item generation and a short warm-up of the same contender (first-call JIT and command
discovery of the calling process) are excluded. A process batch still starts its own worker
processes inside the timed run (every batch has its own pool), as Start-Job starts its processes
and Python its pool. The warm-pool rows (Invoke-ProcessBatch -Pool) are the exception: their child
starts the pool with Start-WorkerPool and runs one warm-up batch on it, both untimed, then times
the second batch on the pool. Each pair runs Repetitions times (3; 1 with -Quick), the repetitions
of a workload interleaved across contenders, and the report gives medians.

Python runs bench/_processPool.py: ProcessPoolExecutor(max_workers=2), timed inside Python around
the pool (creation, map, shutdown) and, separately, from outside (interpreter start included).
For the CPU script Python runs the same loop in pure Python, calibrated separately (in its own
interpreter, before the runs) so that one Python item takes the CPU time one PowerShell item takes
sequentially.

Workloads:
  1. trivial items     { $_ } x 20,000 (Start-ThreadJob 200, Start-Job 10, Python 20,000 with
                       Python's default chunksize of 1); Invoke-ProcessBatch at -ThrottleLimit 2
  2. CPU script        32 items of a loop calibrated once to ~0.5 s (sequentially, child scope);
                       Invoke-ProcessBatch at -ThrottleLimit 2 cold and on a warm pool of 2
                       (its second batch, and its third: the steady state),
                       ForEach-Object -Parallel -ThrottleLimit 2, Start-Job, Python's pool of 2 and
                       the same Python loop sequentially; and the floor of any two processes
                       started cold: two bare pwsh started together, each running half the items,
                       and warm: the same two timed from a common start after their start-up
  3. allocation-heavy  16 items of ~0.15 s building small hashtables/arrays/strings, threads and
                       processes side by side at -ThrottleLimit 2, and the same floor
  4. first result      a 10-item batch of { $_ }: time from the call to the first output, against
                       one cold 'pwsh -NoProfile -c 1' timed from outside in the same run; and the
                       second batch on a warm pool
  5. channel           -Workload IsPrime on 1..200,000 and { $_ } on 1..100,000 (automatic chunk
                       size and -ChunkSize 1000), -ThrottleLimit 2: items per second
  6. the seed's primes 10000019, 10000079, 10000103, 10000129, every contender and Python

A full run takes about 20 minutes on 2 cores. The module is copied to a temporary folder first,
so that a rebuild of out/PSParallel during the run does not mix two builds.

.PARAMETER Quick
One repetition and smaller counts, for a smoke test (about 4 minutes). Writes to
out/bench/ProcessBatch.quick.md instead of bench/results unless -OutFile is given.

.PARAMETER Case
Run only these workloads (Trivial, Cpu, Alloc, First, Channel, Primes). A partial run writes to
out/bench/ unless -OutFile is given.

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/ProcessBatch.ps1

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/ProcessBatch.ps1 -Quick -Case First, Channel
#>
[CmdletBinding()]
param(
    [switch] $Quick,

    # Names, or one comma-separated string (as 'pwsh -File' passes them).
    [string[]] $Case = @('Trivial', 'Cpu', 'Alloc', 'First', 'Channel', 'Primes'),

    [ValidateRange(1, 15)]
    [int] $Repetitions = 0,

    # Path of the module manifest; by default the one build.ps1 lays out in out/PSParallel.
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1'),

    [string] $OutFile,

    # The Python interpreter for the ProcessPoolExecutor rows.
    [string] $Python = 'python3',

    # A child still running after this many seconds is killed and its measurement counted as failed.
    [double] $ChildTimeoutSeconds = 300,

    # Before starting, wait up to this many minutes for the machine to be quiet (1-minute load
    # average below the core count); the results are unreliable on a busy machine.
    [double] $WaitForQuietMinutes = 0,

    # Rewrite the report from the raw measurements a run saved (out/bench/ProcessBatch.raw.json), without measuring.
    [string] $FromRawFile
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot '_BenchCommon.ps1')   # shared helpers; the ones defined below are this script's own

$AllCases = @('Trivial', 'Cpu', 'Alloc', 'First', 'Channel', 'Primes')
$Case = @($Case -split ',' | ForEach-Object Trim | Where-Object { $_ })
foreach ($c in $Case) { if ($c -notin $AllCases) { throw "Unknown case '$c'; the cases are $($AllCases -join ', ')." } }
$Case = @($AllCases | Where-Object { $_ -in $Case })
if ($Repetitions -eq 0) { $Repetitions = if ($Quick) { 1 } else { 3 } }
$Partial = $Quick -or $Case.Count -lt $AllCases.Count
if (-not $OutFile) { $OutFile = Get-ReportPath 'ProcessBatch' $Quick $Partial }
if (-not $FromRawFile -and -not (Test-Path -LiteralPath $ModulePath)) { throw "No module at ${ModulePath}: run ./build.ps1 Build first." }

$ChildScript = Join-Path $PSScriptRoot '_processChild.ps1'
$PoolScript = Join-Path $PSScriptRoot '_processPool.py'
$Cores = [Environment]::ProcessorCount

#region Sizes and scripts

$Size = if ($Quick) {
    @{
        TrivialItems = 2000; TrivialThreadJob = 20; TrivialJob = 3; TrivialPython = 2000
        CpuItems = 4; AllocItems = 4; FirstItems = 10
        ChannelPrime = 20000; ChannelTrivial = 10000; ChannelChunk = 1000; PythonChunk = 1000
    }
}
else {
    @{
        TrivialItems = 20000; TrivialThreadJob = 200; TrivialJob = 10; TrivialPython = 20000
        CpuItems = 32; AllocItems = 16; FirstItems = 10
        ChannelPrime = 200000; ChannelTrivial = 100000; ChannelChunk = 1000; PythonChunk = 1000
    }
}
$CpuTargetSeconds = 0.5
$AllocTargetSeconds = 0.15
$SeedPrimes = '10000019, 10000079, 10000103, 10000129'

# The seed's trial division, as a script (Example 2 of the help of Invoke-ProcessBatch).
$PrimeBody = @'
$n = $_; if ($n -lt 2) { return $false }
if ($n % 2 -eq 0) { return $n -eq 2 }
$limit = [long][Math]::Sqrt($n)
for ($f = 3; $f -le $limit; $f += 2) {
    if ($n % $f -eq 0) { return $false }
}
$true
'@

# The compiled consumer every contender's output goes into (compiled once, loaded by each child).
$HelperSource = @'
using System;
using System.Diagnostics;
using System.Management.Automation;

namespace PSParallelProcessBench
{
    public sealed class ArrivalStats
    {
        public long Count;
        public long Trues;
        public double Sum;
        public double FirstSeconds = -1;
        public double LastSeconds = -1;
    }

    // Notes when the first and the last output arrived (on the caller's Stopwatch), counts the
    // outputs, counts $true and sums numbers, so that checks cost about a microsecond per output.
    [Cmdlet(VerbsDiagnostic.Measure, "BenchArrival")]
    public sealed class MeasureBenchArrivalCommand : PSCmdlet
    {
        [Parameter(ValueFromPipeline = true)]
        public PSObject InputObject { get; set; }

        [Parameter(Mandatory = true)]
        public Stopwatch Clock { get; set; }

        private readonly ArrivalStats _stats = new ArrivalStats();

        protected override void ProcessRecord()
        {
            double t = Clock.Elapsed.TotalSeconds;
            if (_stats.FirstSeconds < 0) _stats.FirstSeconds = t;
            _stats.LastSeconds = t;
            _stats.Count++;
            object v = InputObject == null ? null : InputObject.BaseObject;
            if (v is bool) { if ((bool)v) _stats.Trues++; }
            else if (v is int || v is long || v is double || v is short || v is byte || v is uint || v is ulong || v is decimal)
                _stats.Sum += Convert.ToDouble(v);
        }

        protected override void EndProcessing() { WriteObject(_stats); }
    }
}
'@

#endregion

#region Child processes

# One measurement of a row: a pwsh child running _processChild.ps1, a Python run, or a command
# timed from outside.
function Invoke-Row($Row) {
    switch ($Row.Kind) {
        'pwsh' {
            $spec = @{} + $Row.Spec
            $spec.HelperPath = $script:HelperPath
            $spec.ClkTck = $script:ClkTck
            $json = $spec | ConvertTo-Json -Compress -Depth 5
            $encoded = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
            $run = Invoke-Timed (Get-PwshCommand) @('-NoProfile', '-NonInteractive', '-File', $ChildScript, '-ModulePath', $script:ModuleCopy, '-Spec', $encoded) -TimeoutSeconds $ChildTimeoutSeconds
            Read-ResultLine $run
        }
        'python' {
            $run = Invoke-Timed @($Python) (@($PoolScript) + [string[]]$Row.Spec.Arguments) -TimeoutSeconds $ChildTimeoutSeconds
            Read-ResultLine $run
        }
        'outside' {
            $command = if ($Row.Spec.Program -eq 'pwsh') { Get-PwshCommand } else { , @($Python) }
            # A row with StartAfter times its copies from a common moment that many seconds after they are
            # started (@START@, in UTC ticks), to the last '##END## <ticks>' they print: their start-up is not timed.
            $startAt = if ($Row.Spec.ContainsKey('StartAfter')) { [DateTime]::UtcNow.AddSeconds([double]$Row.Spec.StartAfter).Ticks } else { 0L }
            $arguments = [string[]]@($Row.Spec.Arguments | ForEach-Object { $_.Replace('@MODULE@', $script:ModuleCopy.Replace("'", "''")).Replace('@START@', "$startAt") })
            $copies = if ($Row.Spec.ContainsKey('Copies')) { [int]$Row.Spec.Copies } else { 1 }
            $run = Invoke-Timed $command $arguments -TimeoutSeconds $ChildTimeoutSeconds -Copies $copies
            if ($run.TimedOut) { return @{ Ok = $false; Failure = "killed after $ChildTimeoutSeconds s" } }
            if ($run.ExitCode -ne 0) {
                $tail = (($run.Stderr + $run.Stdout) -split "`r?`n" | Where-Object { $_ } | Select-Object -Last 3) -join ' | '
                return @{ Ok = $false; Failure = "exit code $($run.ExitCode): $tail" }
            }
            $lines = @($run.Stdout -split "`r?`n" | Where-Object { $_ })
            $seconds = $run.Seconds
            if ($startAt) {
                $ready = @($lines | Where-Object { $_ -like '##READY## *' } | ForEach-Object { [long]($_ -split ' ')[1] })
                $ends = @($lines | Where-Object { $_ -like '##END## *' } | ForEach-Object { [long]($_ -split ' ')[1] })
                if ($ends.Count -ne $copies -or ($ready | Where-Object { $_ -gt $startAt })) { return @{ Ok = $false; Failure = "a copy was not ready at the common start ($($Row.Spec.StartAfter) s after launch) or did not finish" } }
                $seconds = (($ends | Measure-Object -Maximum).Maximum - $startAt) / 1e7
                $lines = @($lines | Where-Object { $_ -notlike '##*' })
            }
            @{
                Ok = $true; Seconds = $seconds; OuterSeconds = $run.Seconds; Items = [int]$Row.Spec.Items
                Outputs = $lines.Count; Check = $(if ($Row.Spec.Check -eq 'true') { @($lines | Where-Object { $_.Trim() -eq 'True' }).Count } else { $null })
                Errors = $(if ($run.Stderr.Trim()) { 1 } else { 0 }); FirstError = $(if ($run.Stderr.Trim()) { ($run.Stderr.Trim() -split "`r?`n")[0] } else { $null })
            }
        }
        default { throw "Unknown row kind '$($Row.Kind)'." }
    }
}

#endregion

#region Measurement plan

# The floor of any two processes on the work: two bare pwsh, each running its half of the items
# sequentially (no PSParallel, no channel), timed from outside. Cold, they start together and their
# start-up is timed; -Warm, they start, run one { $_ } item (as a warm pool's warm-up batch) and are
# timed from a common start 4 s after launch (what a warm pool of 2 could do at best).
function New-FloorRow([string] $Body, [int] $Items, [switch] $Warm) {
    $half = [int]($Items / 2)
    $run = "1..$half | ForEach-Object { & `$b }"
    $script = "`$b = [scriptblock]::Create('$($Body.Replace("'", "''"))'); " + $(if ($Warm) {
            "`$null = 1 | ForEach-Object { `$_ }; [Console]::WriteLine('##READY## ' + [DateTime]::UtcNow.Ticks); while ([DateTime]::UtcNow.Ticks -lt @START@) { Start-Sleep -Milliseconds 1 }; $run; [Console]::WriteLine('##END## ' + [DateTime]::UtcNow.Ticks)"
        }
        else { $run })
    $spec = @{ Program = 'pwsh'; Arguments = @('-NoProfile', '-NonInteractive', '-Command', $script); Items = $Items; Copies = 2 }
    if ($Warm) {
        $spec.StartAfter = 4
        New-Row WarmFloor "floor, warm: two bare ``pwsh -NoProfile`` started and idle, each running $half of the items sequentially from a common start (their start-up untimed): what any two warm processes cost here" -Kind outside -Spec $spec -Throttle '2'
    }
    else {
        New-Row BareFloor "floor: two bare ``pwsh -NoProfile`` started together, each running $half of the items sequentially (``ForEach-Object { & `$body }``), from outside: what any two processes started cold cost here" -Kind outside -Spec $spec -Throttle '2'
    }
}

# One row of a workload table: a contender and how it is run.
function New-Row {
    param([string] $Contender, [string] $Label, [string] $Kind = 'pwsh', [hashtable] $Spec, [string] $Throttle = '', [long] $Expected = -1)
    if ($Kind -eq 'pwsh') {
        $Spec.Kind = 'script'
        $Spec.Contender = $Contender
        foreach ($k in 'Throttle', 'ChunkSize') { if (-not $Spec.ContainsKey($k)) { $Spec[$k] = 0 } }
        foreach ($k in 'Body', 'Workload') { if (-not $Spec.ContainsKey($k)) { $Spec[$k] = '' } }
        if (-not $Spec.ContainsKey('NoWarm')) { $Spec.NoWarm = $false }
        if (-not $Spec.ContainsKey('WarmBody')) { $Spec.WarmBody = '$_' }
        if (-not $Spec.ContainsKey('WarmItems')) { $Spec.WarmItems = $(if ($Contender -in 'StartJob', 'ThreadJob') { '1..2' } else { '1..20' }) }
    }
    if (-not $Spec.ContainsKey('Check')) { $Spec.Check = '' }
    [pscustomobject]@{
        Contender = $Contender; Label = $Label; Kind = $Kind; Spec = $Spec; Throttle = $Throttle; Expected = $Expected
        Runs = [System.Collections.Generic.List[hashtable]]::new()
    }
}

$Labels = @{
    Sequential           = 'ForEach-Object { & $body }, sequential'
    SequentialDot        = '& { ForEach-Object $body }, sequential'
    ProcessBatch         = 'Invoke-ProcessBatch'
    ProcessBatchWorkload = 'Invoke-ProcessBatch -Workload IsPrime'
    ProcessBatchPool     = 'Invoke-ProcessBatch -Pool (warm pool: Start-WorkerPool and one warm-up batch untimed)'
    ProcessBatchPoolSteady = 'Invoke-ProcessBatch -Pool, steady state (the pool''s third batch: Start-WorkerPool, a warm-up batch and one run of the same batch untimed)'
    ForEachParallel      = 'ForEach-Object -Parallel'
    ThreadBatch          = 'Invoke-ThreadBatch'
    ThreadBatchWorkload  = 'Invoke-ThreadBatch -Workload IsPrime'
    ThreadJob            = 'Start-ThreadJob (one job per item)'
    StartJob             = 'Start-Job (one job per item)'
    Python               = 'Python ProcessPoolExecutor(max_workers=2)'
}

function Get-Sum([long] $n) { $n * ($n + 1) / 2 }

# The value of the CPU script ($CpuTemplate, and Python's cpu_loop) for n iterations: the sum of
# i * i % 7 for i below n, whose residues repeat every 7 (0 1 4 2 2 4 1, 14 a period).
function Get-CpuLoopValue([long] $n) {
    $r = @(0, 1, 4, 2, 2, 4, 1)
    $v = 14 * [Math]::Floor($n / 7)
    for ($i = 0; $i -lt $n % 7; $i++) { $v += $r[$i] }
    [long]$v
}

# The number of primes in 1..n (a sieve), to check the IsPrime rows.
function Get-PrimeCount([int] $n) {
    $composite = [bool[]]::new($n + 1)
    $count = 0
    for ($i = 2; $i -le $n; $i++) {
        if ($composite[$i]) { continue }
        $count++
        for ($j = [long]$i * $i; $j -le $n; $j += $i) { $composite[$j] = $true }
    }
    $count
}

function Get-Plan([hashtable] $Calibration) {
    $z = $Size
    $plan = [ordered]@{}
    $default = "default ($Cores)"
    if ('Trivial' -in $Case) {
        $n = $z.TrivialItems
        $plan.Trivial = @(
            New-Row Sequential $Labels.Sequential -Spec @{ Body = '$_'; Items = "1..$n"; Check = 'sum' } -Throttle '1' -Expected (Get-Sum $n)
            New-Row SequentialDot $Labels.SequentialDot -Spec @{ Body = '$_'; Items = "1..$n"; Check = 'sum' } -Throttle '1' -Expected (Get-Sum $n)
            New-Row ProcessBatch $Labels.ProcessBatch -Spec @{ Body = '$_'; Items = "1..$n"; Throttle = 2; Check = 'sum' } -Throttle '2' -Expected (Get-Sum $n)
            New-Row ThreadBatch $Labels.ThreadBatch -Spec @{ Body = '$_'; Items = "1..$n"; Check = 'sum' } -Throttle 'default' -Expected (Get-Sum $n)
            New-Row ThreadJob $Labels.ThreadJob -Spec @{ Body = '$_'; Items = "1..$($z.TrivialThreadJob)"; Check = 'sum' } -Throttle 'default (5)' -Expected (Get-Sum $z.TrivialThreadJob)
            New-Row StartJob $Labels.StartJob -Spec @{ Body = '$_'; Items = "1..$($z.TrivialJob)"; Check = 'sum' } -Throttle 'none' -Expected (Get-Sum $z.TrivialJob)
            New-Row Python "$($Labels.Python), chunksize 1 (default)" -Kind python -Spec @{ Arguments = @('--mode', 'trivial', '--items', "$($z.TrivialPython)", '--chunksize', '1', '--workers', '2') } -Throttle '2' -Expected (Get-Sum $z.TrivialPython)
        )
    }
    if ('Cpu' -in $Case) {
        $body = $CpuTemplate.Replace('@N@', "$($Calibration.Cpu.Iterations)")
        $n = $z.CpuItems
        $items = "1..$n"
        $expected = $n * (Get-CpuLoopValue $Calibration.Cpu.Iterations)
        $py = $Calibration.PythonCpu
        $pyExpected = $n * (Get-CpuLoopValue $py.Iterations)
        $plan.Cpu = @(
            New-Row Sequential $Labels.Sequential -Spec @{ Body = $body; Items = $items; Check = 'sum' } -Throttle '1' -Expected $expected
            New-Row ProcessBatch "$($Labels.ProcessBatch) (cold: starting its 2 workers is timed)" -Spec @{ Body = $body; Items = $items; Throttle = 2; Check = 'sum' } -Throttle '2' -Expected $expected
            New-Row ProcessBatchPool $Labels.ProcessBatchPool -Spec @{ Body = $body; Items = $items; Throttle = 2; Check = 'sum' } -Throttle '2' -Expected $expected
            New-Row ProcessBatchPoolSteady $Labels.ProcessBatchPoolSteady -Spec @{ Body = $body; Items = $items; Throttle = 2; Check = 'sum' } -Throttle '2' -Expected $expected
            New-FloorRow $body $n
            New-FloorRow $body $n -Warm
            New-Row ThreadBatch $Labels.ThreadBatch -Spec @{ Body = $body; Items = $items; Check = 'sum' } -Throttle 'default' -Expected $expected
            New-Row ForEachParallel $Labels.ForEachParallel -Spec @{ Body = $body; Items = $items; Throttle = 2; Check = 'sum' } -Throttle '2' -Expected $expected
            New-Row ThreadJob $Labels.ThreadJob -Spec @{ Body = $body; Items = $items; Check = 'sum' } -Throttle 'default (5)' -Expected $expected
            New-Row StartJob $Labels.StartJob -Spec @{ Body = $body; Items = $items; Check = 'sum' } -Throttle 'none' -Expected $expected
            New-Row PythonSequential "Python, the same loop in pure Python sequentially (map, no pool; $(Format-Count $py.Iterations) iterations an item)" -Kind python -Spec @{ Arguments = @('--mode', 'cpu', '--items', "$n", '--iterations', "$($py.Iterations)", '--workers', '0'); Check = 'sum' } -Throttle '1' -Expected $pyExpected
            New-Row Python "$($Labels.Python), the same loop in pure Python, chunksize 1" -Kind python -Spec @{ Arguments = @('--mode', 'cpu', '--items', "$n", '--iterations', "$($py.Iterations)", '--workers', '2', '--chunksize', '1'); Check = 'sum' } -Throttle '2' -Expected $pyExpected
        )
    }
    if ('Alloc' -in $Case) {
        $body = $AllocTemplate.Replace('@N@', "$($Calibration.Alloc.Iterations)")
        $items = "1..$($z.AllocItems)"
        $plan.Alloc = @(
            New-Row Sequential $Labels.Sequential -Spec @{ Body = $body; Items = $items } -Throttle '1'
            New-Row ThreadBatch "$($Labels.ThreadBatch) (threads)" -Spec @{ Body = $body; Items = $items; Throttle = 2 } -Throttle '2'
            New-Row ProcessBatch "$($Labels.ProcessBatch) (processes, cold: starting its 2 workers is timed)" -Spec @{ Body = $body; Items = $items; Throttle = 2 } -Throttle '2'
            New-Row ProcessBatchPool "$($Labels.ProcessBatchPool) (processes)" -Spec @{ Body = $body; Items = $items; Throttle = 2 } -Throttle '2'
            New-FloorRow $body $z.AllocItems
        )
    }
    if ('First' -in $Case) {
        $n = $z.FirstItems
        $plan.First = @(
            New-Row ProcessBatch "$($Labels.ProcessBatch) (after a warm-up batch in the same session)" -Spec @{ Body = '$_'; Items = "1..$n"; Check = 'sum' } -Throttle $default -Expected (Get-Sum $n)
            New-Row ProcessBatchCold "$($Labels.ProcessBatch) (first batch of the session)" -Spec @{ Body = '$_'; Items = "1..$n"; Check = 'sum'; NoWarm = $true } -Throttle $default -Expected (Get-Sum $n)
            New-Row ProcessBatchOne "$($Labels.ProcessBatch) -ThrottleLimit 1 (one worker, after a warm-up batch)" -Spec @{ Body = '$_'; Items = "1..$n"; Throttle = 1; Check = 'sum' } -Throttle '1' -Expected (Get-Sum $n)
            New-Row ProcessBatchPool "$($Labels.ProcessBatch) -Pool (the second batch on a warm pool: Start-WorkerPool and a warm-up batch on it untimed)" -Spec @{ Body = '$_'; Items = "1..$n"; Check = 'sum' } -Throttle $default -Expected (Get-Sum $n)
            New-Row ThreadBatch "$($Labels.ThreadBatch) (after a warm-up batch)" -Spec @{ Body = '$_'; Items = "1..$n"; Check = 'sum' } -Throttle 'default' -Expected (Get-Sum $n)
            New-Row StartJob "$($Labels.StartJob) (after a warm-up job)" -Spec @{ Body = '$_'; Items = "1..$n"; Check = 'sum' } -Throttle 'none' -Expected (Get-Sum $n)
            New-Row Python "$($Labels.Python), submit + as_completed" -Kind python -Spec @{ Arguments = @('--mode', 'first', '--items', "$n", '--workers', '2') } -Throttle '2' -Expected (Get-Sum $n)
            New-Row ColdPwsh 'one cold `pwsh -NoProfile -c 1`, from outside' -Kind outside -Spec @{ Program = 'pwsh'; Arguments = @('-NoProfile', '-c', '1'); Items = 1 } -Throttle ''
            New-Row TwoColdPwsh 'two cold `pwsh -NoProfile -c 1` started at once, from outside (two workers'' start-up competing for the cores)' -Kind outside -Spec @{ Program = 'pwsh'; Arguments = @('-NoProfile', '-c', '1'); Items = 2; Copies = 2 } -Throttle ''
            New-Row ColdImport 'one cold `pwsh -NoProfile -NonInteractive -NoLogo -c "Import-Module PSParallel"`, from outside (the manifest, format data included, as a user imports it; a worker imports only the assembly)' -Kind outside -Spec @{ Program = 'pwsh'; Arguments = @('-NoProfile', '-NonInteractive', '-NoLogo', '-c', "Import-Module '@MODULE@'"); Items = 1 } -Throttle ''
        )
        # The Invoke-ProcessBatch constructor for the first (cold) row is the ProcessBatch contender without warm-up.
        $plan.First[1].Spec.Contender = 'ProcessBatch'
        $plan.First[2].Spec.Contender = 'ProcessBatch'
    }
    if ('Channel' -in $Case) {
        $np = $z.ChannelPrime; $nt = $z.ChannelTrivial
        $primes = Get-PrimeCount $np
        $plan.Channel = @(
            New-Row ProcessBatchWorkload "$($Labels.ProcessBatch) -Workload IsPrime, automatic chunk size" -Spec @{ Workload = 'IsPrime'; Items = "1..$np"; Throttle = 2; Check = 'true'; WarmItems = '1..200' } -Throttle '2' -Expected $primes
            New-Row ThreadBatchWorkload "$($Labels.ThreadBatch) -Workload IsPrime (no process boundary)" -Spec @{ Workload = 'IsPrime'; Items = "1..$np"; Throttle = 2; Check = 'true'; WarmItems = '1..200' } -Throttle '2' -Expected $primes
            New-Row Python "$($Labels.Python), is_prime, chunksize $($z.PythonChunk)" -Kind python -Spec @{ Arguments = @('--mode', 'isprime', '--items', "$np", '--chunksize', "$($z.PythonChunk)", '--workers', '2') } -Throttle '2' -Expected $primes
            New-Row ProcessBatch "$($Labels.ProcessBatch) { `$_ }, automatic chunk size" -Spec @{ Body = '$_'; Items = "1..$nt"; Throttle = 2; Check = 'sum' } -Throttle '2' -Expected (Get-Sum $nt)
            New-Row ProcessBatchChunk "$($Labels.ProcessBatch) { `$_ } -ChunkSize $($z.ChannelChunk)" -Spec @{ Body = '$_'; Items = "1..$nt"; Throttle = 2; ChunkSize = $z.ChannelChunk; Check = 'sum' } -Throttle '2' -Expected (Get-Sum $nt)
            New-Row PythonTrivial "$($Labels.Python), identity, chunksize $($z.PythonChunk)" -Kind python -Spec @{ Arguments = @('--mode', 'trivial', '--items', "$nt", '--chunksize', "$($z.PythonChunk)", '--workers', '2') } -Throttle '2' -Expected (Get-Sum $nt)
        )
        $plan.Channel[4].Spec.Contender = 'ProcessBatch'
    }
    if ('Primes' -in $Case) {
        $items = $SeedPrimes
        $plan.Primes = @(
            New-Row Sequential $Labels.Sequential -Spec @{ Body = $PrimeBody; Items = $items; Check = 'true' } -Throttle '1' -Expected 3
            New-Row ProcessBatch "$($Labels.ProcessBatch) (script)" -Spec @{ Body = $PrimeBody; Items = $items; Check = 'true' } -Throttle $default -Expected 3
            New-Row ProcessBatchWorkload $Labels.ProcessBatchWorkload -Spec @{ Workload = 'IsPrime'; Items = $items; Check = 'true' } -Throttle $default -Expected 3
            New-Row ThreadBatch "$($Labels.ThreadBatch) (script)" -Spec @{ Body = $PrimeBody; Items = $items; Check = 'true' } -Throttle 'default' -Expected 3
            New-Row ThreadBatchWorkload $Labels.ThreadBatchWorkload -Spec @{ Workload = 'IsPrime'; Items = $items; Check = 'true' } -Throttle 'default' -Expected 3
            New-Row ThreadJob $Labels.ThreadJob -Spec @{ Body = $PrimeBody; Items = $items; Check = 'true' } -Throttle 'default (5)' -Expected 3
            New-Row StartJob $Labels.StartJob -Spec @{ Body = $PrimeBody; Items = $items; Check = 'true' } -Throttle 'none' -Expected 3
            New-Row Python "$($Labels.Python), the seed's code" -Kind python -Spec @{ Arguments = @('--mode', 'primes', '--workers', '2') } -Throttle '2' -Expected 3
            New-Row OutsideWorkload "``pwsh -NoProfile -c 'Import-Module PSParallel; <primes> | Invoke-ProcessBatch -Workload IsPrime'``, from outside" -Kind outside -Spec @{
                Program = 'pwsh'; Items = 4; Check = 'true'
                Arguments = @('-NoProfile', '-c', "Import-Module '@MODULE@'; $items | Invoke-ProcessBatch -Workload IsPrime")
            } -Throttle $default -Expected 3
            New-Row OutsideScript "``pwsh -NoProfile -c 'Import-Module PSParallel; <primes> | Invoke-ProcessBatch { <trial division> }'``, from outside" -Kind outside -Spec @{
                Program = 'pwsh'; Items = 4; Check = 'true'
                Arguments = @('-NoProfile', '-c', "Import-Module '@MODULE@'; $items | Invoke-ProcessBatch {`n$PrimeBody`n}")
            } -Throttle $default -Expected 3
        )
    }
    $plan
}

#endregion

#region Statistics and report

function Get-Field($Run, [string] $Name) { if ($Run.ContainsKey($Name) -and $null -ne $Run[$Name]) { [double]$Run[$Name] } else { [double]::NaN } }

function Get-RowStat($Row) {
    $ok = @($Row.Runs | Where-Object { $_.Ok })
    if (-not $ok) {
        $why = ($Row.Runs | Select-Object -First 1).Failure
        return [pscustomobject]@{ Ok = $false; Failure = $why; Seconds = [double]::NaN; PerItemUs = [double]::NaN; Items = 0; First = [double]::NaN; Outer = [double]::NaN; Cpu = [double]::NaN; ItemsPerSecond = [double]::NaN; SteadyRate = [double]::NaN; Throttle = $Row.Throttle; ThrottleNumber = $null; Min = [double]::NaN; Max = [double]::NaN; Runs = @() }
    }
    $seconds = Get-Median @($ok | ForEach-Object { [double]$_.Seconds })
    $items = [int]$ok[0].Items
    $failures = @($Row.Runs | Where-Object { -not $_.Ok })
    # Items per second after the first result: the channel without the start-up of the workers.
    $steady = Get-Median @($ok | ForEach-Object {
            $f = Get-Field $_ 'FirstSeconds'; $l = Get-Field $_ 'LastSeconds'
            if ($l -gt $f -and [int]$_.Outputs -gt 1) { ([int]$_.Outputs - 1) / ($l - $f) } else { [double]::NaN }
        } | Where-Object { -not [double]::IsNaN($_) })
    $throttle = $Row.Throttle
    $tl = @($ok | ForEach-Object { if ($_.ContainsKey('ThrottleLimit') -and $_.ThrottleLimit) { [int]$_.ThrottleLimit } }) | Select-Object -First 1
    if ($tl) { $throttle = if ($Row.Throttle -like 'default*') { "default ($tl)" } else { "$tl" } }
    [pscustomobject]@{
        Ok = $true; Seconds = $seconds; Items = $items; PerItemUs = $seconds / $items * 1e6; ItemsPerSecond = $items / $seconds
        Min = ($ok | ForEach-Object { [double]$_.Seconds } | Measure-Object -Minimum).Minimum
        Max = ($ok | ForEach-Object { [double]$_.Seconds } | Measure-Object -Maximum).Maximum
        First = Get-Median @($ok | ForEach-Object { Get-Field $_ 'FirstSeconds' } | Where-Object { -not [double]::IsNaN($_) })
        Outer = Get-Median @($ok | ForEach-Object { Get-Field $_ 'OuterSeconds' } | Where-Object { -not [double]::IsNaN($_) })
        Cpu = Get-Median @($ok | ForEach-Object { Get-Field $_ 'CpuSeconds' } | Where-Object { -not [double]::IsNaN($_) })
        SteadyRate = $steady
        ThrottleNumber = $tl
        Throttle = $throttle
        Runs = $ok
        Failure = $(if ($failures) { "$($failures.Count) run(s) failed: $($failures[0].Failure)" })
    }
}

function Format-Count([double] $Value) {
    if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { return 'n/a' }
    $Value.ToString('N0', [cultureinfo]::InvariantCulture)
}

# What went wrong in a row's runs (errors, wrong or missing outputs, processes left behind): '' if nothing.
function Get-RowProblem($Row) {
    $st = Get-RowStat $Row
    if (-not $st.Ok) { return "FAILED: $($st.Failure)" }
    $bad = @(foreach ($r in $st.Runs) {
            if ($r.ContainsKey('Errors') -and $r.Errors) { "$($r.Errors) errors, e.g. '$($r.FirstError)'" }
            if ($Row.Kind -ne 'outside' -and $r.ContainsKey('Outputs') -and [int]$r.Outputs -ne [int]$r.Items) { "$($r.Outputs) outputs for $($r.Items) items" }
            if ($Row.Expected -ge 0 -and $r.ContainsKey('Check') -and $null -ne $r.Check -and [double]$r.Check -ne [double]$Row.Expected) { "WRONG OUTPUT: check $($r.Check), expected $($Row.Expected)" }
            if ($r.ContainsKey('Succeeded') -and $null -ne $r.Succeeded -and [int]$r.Succeeded -ne [int]$r.Items) { "$($r.Succeeded) of $($r.Items) succeeded" }
            if ($r.ContainsKey('StillAlive') -and $r.StillAlive) { "$($r.StillAlive) child process(es) still alive 10 s after the batch returned" }
        })
    if ($st.Failure) { $bad += $st.Failure }
    ($bad | Select-Object -Unique) -join '; '
}

# Notes on a row: its problems, and child processes alive when the batch returned.
function Get-RowNote($Row) {
    $st = Get-RowStat $Row
    $notes = @()
    $p = Get-RowProblem $Row
    if ($p) { $notes += $p }
    if ($st.Ok) {
        $left = @($st.Runs | Where-Object { $_.ContainsKey('LeftAtReturn') -and $_.LeftAtReturn })
        if ($left) {
            $n = ($left | ForEach-Object { [int]$_.LeftAtReturn } | Measure-Object -Maximum).Maximum
            $s = ($left | ForEach-Object { [double]$_.LingerSeconds } | Measure-Object -Maximum).Maximum
            $notes += "$($left.Count) of $($st.Runs.Count) runs returned with up to $n child process(es) alive, gone $(Format-Number $s 2) s later"
        }
        $pool = @($st.Runs | Where-Object { $_.ContainsKey('PoolStartSeconds') -and $null -ne $_.PoolStartSeconds })
        if ($pool) {
            $ps = Get-Median @($pool | ForEach-Object { [double]$_.PoolStartSeconds })
            $wu = Get-Median @($pool | ForEach-Object { Get-Field $_ 'WarmUpSeconds' } | Where-Object { -not [double]::IsNaN($_) })
            $notes += "untimed: Start-WorkerPool $(Format-Number $ps) s, warm-up batch $(Format-Number $wu) s (medians)$(if ($Row.Contender -eq 'ProcessBatchPoolSteady') { ', then the same batch once' }); CPU s includes the pool's workers during the timed batch"
            $started = @($pool | Where-Object { $_.ContainsKey('PoolWorkersStarted') -and [int]$_.PoolWorkersStarted -gt 0 })
            if ($started) {
                $before = ($started | ForEach-Object { "$($_.PoolWorkersBefore)" }) -join ', '
                $notes += "in $($started.Count) of $($pool.Count) runs the pool started $(($started | ForEach-Object { [int]$_.PoolWorkersStarted } | Measure-Object -Sum).Sum) worker(s) during the timed batch (workers open before it: $before), replacing a worker it had closed, so that start is inside the time"
            }
        }
    }
    $notes -join '; '
}

$script:DoneWhen = [System.Collections.Generic.List[object]]::new()
# One row of a 'Done when' table; -Issue: the issue whose table it goes in (4, the first targets; 13, warm pools).
function Add-Target([string] $Target, [string] $Measured, [string] $Limit, $Pass, [string] $Problem, [int] $Issue = 4) {
    $verdict = if ($null -eq $Pass) { 'n/a' } elseif ($Pass -and -not $Problem) { 'PASS' } else { 'FAIL' }
    if ($Problem) { $Measured += "; Invoke-ProcessBatch: $Problem" }
    $script:DoneWhen.Add([pscustomobject]@{ Target = $Target; Measured = $Measured; Limit = $Limit; Result = $verdict; Issue = $Issue })
}

function Get-Row($Rows, [string] $Contender) { $Rows | Where-Object Contender -eq $Contender | Select-Object -First 1 }

# The faster sequential form of a table (the stricter baseline).
function Get-BestSequential($Rows) {
    $best = $null
    foreach ($c in 'Sequential', 'SequentialDot') {
        $row = Get-Row $Rows $c
        if (-not $row) { continue }
        $st = Get-RowStat $row
        if ($st.Ok -and (-not $best -or $st.PerItemUs -lt $best.PerItemUs)) { $best = $st }
    }
    $best
}

# A markdown table of a workload. $Reference: the contender the ratio column compares with.
# $Ideal: a script block giving a row's ideal seconds (adds overhead columns).
function Write-Table($Rows, [string] $Reference = 'ProcessBatch', [scriptblock] $Ideal, [switch] $Rate) {
    $ref = Get-RowStat (Get-Row $Rows $Reference)
    $seq = Get-BestSequential $Rows
    $head = '| contender | items | throttle | median s | min-max s | per item µs |'
    $rule = '| --- | ---: | --- | ---: | ---: | ---: |'
    if ($Rate) { $head += ' items/s | items/s after the first result |'; $rule += ' ---: | ---: |' }
    if ($Ideal) { $head += ' ideal s | overhead per item ms |'; $rule += ' ---: | ---: |' }
    $head += ' first result s | vs Invoke-ProcessBatch (per item) |'; $rule += ' ---: | ---: |'
    if ($seq) { $head += ' vs best sequential |'; $rule += ' ---: |' }
    $head += ' CPU s | note |'; $rule += ' ---: | --- |'
    $head; $rule
    foreach ($row in $Rows) {
        $st = Get-RowStat $row
        $line = "| $($row.Label.Replace('|', '\|')) | $(Format-Count $st.Items) | $($st.Throttle) | $(Format-Number $st.Seconds) | " +
        $(if ($st.Ok) { "$(Format-Number $st.Min)-$(Format-Number $st.Max)" } else { 'n/a' }) + " | $(Format-Number $st.PerItemUs 1) |"
        if ($Rate) { $line += " $(Format-Count $st.ItemsPerSecond) | $(Format-Count $st.SteadyRate) |" }
        if ($Ideal) {
            $i = & $Ideal $row $st
            $line += " $(Format-Number $i) | $(Format-Number (($st.Seconds - $i) / $st.Items * 1000) 1) |"
        }
        $line += " $(Format-Number $st.First) | $(Format-Ratio ($st.PerItemUs / $ref.PerItemUs)) |"
        if ($seq) { $line += " $(Format-Ratio ($st.PerItemUs / $seq.PerItemUs)) |" }
        $line += " $(Format-Number $st.Cpu) | $(Get-RowNote $row) |"
        $line
    }
}

function Test-Busy([string[]] $Loads) {
    foreach ($l in $Loads) {
        if ($l -and $l -ne 'n/a' -and [double]($l -split ' ')[0] -ge 1.5 * $Cores) { return $true }
    }
    $false
}

# Machine paths out of the report (it is committed): the repository, the temporary module copy,
# $PSHOME and the home folder, wherever an error message quoted them.
function Hide-Path([string] $Text) {
    $repo = [IO.Path]::GetFullPath((Join-Path $PSScriptRoot '..')).TrimEnd('/', '\')
    $Text = $Text.Replace($repo + [IO.Path]::DirectorySeparatorChar, '').Replace($repo, '.')
    $Text = $Text -replace '[^\s''"`(]*psparallel-pbench-[0-9a-f]{32}', '<temp>'
    $Text = $Text.Replace($PSHOME.TrimEnd('/', '\'), '$PSHOME')
    $homeDir = [Environment]::GetFolderPath('UserProfile')
    if ($homeDir -and $homeDir.Length -gt 1) { $Text = $Text.Replace($homeDir, '~') }
    $Text
}

function Write-Report($Plan, [hashtable] $Calibration, [hashtable] $Info) {
    $settles = @(foreach ($rows in $Plan.Values) { foreach ($row in $rows) { foreach ($run in $row.Runs) { if ($run.ContainsKey('SettleSeconds') -and $null -ne $run.SettleSeconds) { [double]$run.SettleSeconds } } } })
    $settleText = if ($settles) { "$(Format-Number (Get-Median $settles) 2) s, longest $(Format-Number ($settles | Measure-Object -Maximum).Maximum 2) s" } else { 'n/a' }
    $z = $Size
    $sections = [System.Collections.Generic.List[string]]::new()
    $add = { param($text) foreach ($t in @($text)) { $sections.Add([string]$t) } }
    $allocSentence = $null

    if ($Plan.Contains('Trivial')) {
        $rows = $Plan.Trivial
        $pb = Get-RowStat (Get-Row $rows 'ProcessBatch')
        & $add @('', "## 1. Trivial items: ``{ `$_ }``", '', (Get-LoadNote 'Trivial'), '',
            "``1..N | <contender> | <consumer>``: $(Format-Count $z.TrivialItems) items for the sequential rows and the batches, Start-ThreadJob $(Format-Count $z.TrivialThreadJob), Start-Job $(Format-Count $z.TrivialJob), Python $(Format-Count $z.TrivialPython) (``pool.map(identity, range)`` with Python's default chunksize of 1); compare the per-item column. Invoke-ProcessBatch runs at -ThrottleLimit 2 (the target's 2 workers) with the automatic chunk size; its time includes starting its 2 worker processes. Every output is checked (their sum).", '')
        & $add (Write-Table $rows -Rate)
        $best = Get-BestSequential $rows
        & $add @('', "Invoke-ProcessBatch: **$(Format-Count $pb.ItemsPerSecond) items/s** over the whole batch of $(Format-Count $pb.Items) (start of the workers included), $(Format-Count $pb.SteadyRate) items/s after its first result; $(Format-Ratio ($pb.PerItemUs / $best.PerItemUs)) the per-item cost of the faster sequential form.")
    }
    if ($Plan.Contains('Cpu')) {
        $rows = $Plan.Cpu
        $seqRow = Get-Row $rows 'Sequential'; $seq = Get-RowStat $seqRow
        $perItem = $seq.Seconds / $seq.Items
        $pySeq = Get-RowStat (Get-Row $rows 'PythonSequential')
        $pyPerItem = if ($pySeq.Ok) { $pySeq.Seconds / $pySeq.Items } else { $perItem }
        $nCores = $Cores
        # Ideal: the items' sequential time spread over min(cores, the contender's concurrency);
        # Python's rows from Python's own sequential row.
        $ideal = {
            param($row, $st)
            $conc = switch ($row.Contender) {
                'Sequential' { 1 } 'PythonSequential' { 1 } 'StartJob' { $st.Items } 'ThreadJob' { 5 }
                default {
                    if ($st.ThrottleNumber) { [int]$st.ThrottleNumber }
                    elseif ($row.Throttle -match '^\d+$') { [int]$row.Throttle }
                    else { $nCores }
                }
            }
            $unit = if ($row.Contender -like 'Python*') { $pyPerItem } else { $perItem }
            $st.Items * $unit / [Math]::Max(1, [Math]::Min($nCores, $conc))
        }.GetNewClosure()
        $py = $Calibration.PythonCpu
        & $add @('', '## 2. CPU script', '', (Get-LoadNote 'Cpu'), '',
            "$($z.CpuItems) items of ``$($CpuTemplate.Replace('@N@', "$($Calibration.Cpu.Iterations)"))``, calibrated once (in its own child, before the runs) to ~$CpuTargetSeconds s of CPU per item sequentially in a child scope (calibration: $(Format-Number $Calibration.Cpu.SecondsPerItem) CPU s per item). Invoke-ProcessBatch runs at -ThrottleLimit 2 twice: cold (a new batch, starting its 2 worker processes inside the timed run) and on a warm pool of 2 (``Start-WorkerPool -Model Process -ThrottleLimit 2`` and one warm-up batch of ``{ `$_ }`` on it, both untimed, then the timed batch on the pool; the steady-state row runs the same batch once more, untimed, before the timed one, so that the calling process has compiled what a long batch runs). ``ForEach-Object -Parallel`` at -ThrottleLimit 2; the other PowerShell rows at their default throttle; Start-Job starts all $($z.CpuItems) jobs at once. Start-ThreadJob, Start-Job and ForEach-Object -Parallel run the body in a child scope (``& `$body``) like the other rows, so the loop runs at the same speed everywhere (in the global scope, where ForEach-Object -Parallel would otherwise run it, this loop is several times slower). Every output is checked (their sum).", '',
            "Python runs the same loop in pure Python (``s += i * i % 7`` for ``i in range($($py.Iterations))``), with its own calibration: in its own interpreter, before the runs, to the CPU time one PowerShell item took in the PowerShell calibration ($(Format-Number $Calibration.Cpu.SecondsPerItem) s; Python's calibration: $(Format-Number $py.SecondsPerItem) s), so that a Python item costs what a PowerShell item costs sequentially. Python's sequential row is that loop mapped in one interpreter, without a pool; its pool row is ``ProcessPoolExecutor(max_workers=2).map(..., chunksize=1)``, the pool's creation and shutdown timed.", '',
            "**Ideal s** = items x (sequential median / items) / min(cores, concurrency of the contender), with the sequential row of this run: $(Format-Number ($perItem * 1000) 1) ms per item (for Python's rows, Python's sequential row: $(Format-Number ($pyPerItem * 1000) 1) ms). **Overhead per item** = (median - ideal) / items. CPU s counts the worker and job processes too.", '')
        & $add (Write-Table $rows -Ideal $ideal)

        # Speedups over sequential: PowerShell's rows against ForEach-Object, Python's against its own loop.
        $speed = [ordered]@{}
        foreach ($row in $rows) {
            if ($row.Contender -in 'Sequential', 'PythonSequential') { continue }
            $st = Get-RowStat $row
            $base = if ($row.Contender -like 'Python*') { $pySeq } else { $seq }
            $speed[$row.Contender] = if ($st.Ok -and $base.Ok) { $base.Seconds / $st.Seconds } else { [double]::NaN }
        }
        $pyVsPs = Get-RowStat (Get-Row $rows 'Python')
        & $add @('', "Speedup over sequential (median sequential / median batch, same run): Invoke-ProcessBatch cold **$(Format-Ratio $speed.ProcessBatch)**, on a warm pool **$(Format-Ratio $speed.ProcessBatchPool)** (its third batch, steady state: $(Format-Ratio $speed.ProcessBatchPoolSteady)); ForEach-Object -Parallel $(Format-Ratio $speed.ForEachParallel); Start-Job $(Format-Ratio $speed.StartJob); Invoke-ThreadBatch $(Format-Ratio $speed.ThreadBatch); Start-ThreadJob $(Format-Ratio $speed.ThreadJob); Python's ProcessPoolExecutor $(Format-Ratio $speed.Python) over Python's sequential loop ($(Format-Ratio ($seq.Seconds / $pyVsPs.Seconds)) over PowerShell's sequential row, whose items cost the same by calibration).")

        $peers = "peers on the same work: ForEach-Object -Parallel $(Format-Ratio $speed.ForEachParallel), Start-Job $(Format-Ratio $speed.StartJob), Python ProcessPoolExecutor(2) $(Format-Ratio $speed.Python) over Python's own sequential loop"
        $pbRow = Get-Row $rows 'ProcessBatch'; $pb = Get-RowStat $pbRow
        $r = $speed.ProcessBatch
        $floorNote = if (Get-Row $rows 'BareFloor') { "; the floor, two bare pwsh started together each running half the items: $(Format-Number (Get-RowStat (Get-Row $rows 'BareFloor')).Seconds) s = $(Format-Ratio $speed.BareFloor)" }
        Add-Target "CPU script of $($z.CpuItems) items x ~$CpuTargetSeconds s: Invoke-ProcessBatch at 2 workers, start-up included, speedup over sequential ForEach-Object" "$(Format-Number $seq.Seconds) s / $(Format-Number $pb.Seconds) s = $(Format-Ratio $r) ($peers$floorNote)" '>= 1.6x' $(if ([double]::IsNaN($r)) { $null } else { $r -ge 1.6 }) (Get-RowProblem $pbRow) -Issue 13
        $poolRow = Get-Row $rows 'ProcessBatchPool'; $pool = Get-RowStat $poolRow
        $r = $speed.ProcessBatchPool
        $warmNote = if (Get-Row $rows 'WarmFloor') { "; the floor, two warm bare pwsh each running half the items from a common start: $(Format-Number (Get-RowStat (Get-Row $rows 'WarmFloor')).Seconds) s = $(Format-Ratio $speed.WarmFloor)" }
        $warmNote += "; the pool's third batch (steady state): $(Format-Number (Get-RowStat (Get-Row $rows 'ProcessBatchPoolSteady')).Seconds) s = $(Format-Ratio $speed.ProcessBatchPoolSteady)"
        Add-Target "CPU script, same run: Invoke-ProcessBatch on a warm pool of 2 workers (pool start and a warm-up batch untimed), speedup over sequential ForEach-Object" "$(Format-Number $seq.Seconds) s / $(Format-Number $pool.Seconds) s = $(Format-Ratio $r) ($peers$warmNote)" '>= 1.8x' $(if ([double]::IsNaN($r)) { $null } else { $r -ge 1.8 }) (Get-RowProblem $poolRow) -Issue 13

        $sj = Get-RowStat (Get-Row $rows 'StartJob')
        $pbOver = ($pb.Seconds - (& $ideal $pbRow $pb)) / $pb.Items
        $sjOver = ($sj.Seconds - (& $ideal (Get-Row $rows 'StartJob') $sj)) / $sj.Items
        $ratio = if ($pbOver -le 0) { [double]::PositiveInfinity } else { $sjOver / $pbOver }
        $measured = if ($pbOver -le 0) {
            "Start-Job $(Format-Number ($sjOver * 1000) 1) ms; Invoke-ProcessBatch $(Format-Number ($pbOver * 1000) 2) ms (at or below the ideal: no measurable overhead)"
        }
        else { "Start-Job $(Format-Number ($sjOver * 1000) 1) ms / Invoke-ProcessBatch $(Format-Number ($pbOver * 1000) 2) ms = $(Format-Ratio $ratio)" }
        $pass = if ([double]::IsNaN($ratio) -or [double]::IsNaN($sjOver)) { $null } else { $ratio -ge 100 }
        Add-Target "CPU script ($($z.CpuItems) x ~$CpuTargetSeconds s): per-item **overhead** (median - ideal) / items, Start-Job / Invoke-ProcessBatch (cold, 2 workers; the measure used for this target)" $measured '>= 100x' $pass (Get-RowProblem $pbRow)
        $wall = $sj.PerItemUs / $pb.PerItemUs
        Add-Target 'CPU script: plain per-item wall time, Start-Job / Invoke-ProcessBatch (for comparison; includes the compute)' "$(Format-Number ($sj.PerItemUs / 1000) 1) ms / $(Format-Number ($pb.PerItemUs / 1000) 1) ms = $(Format-Ratio $wall)" '>= 100x' $(if ([double]::IsNaN($wall)) { $null } else { $wall -ge 100 }) (Get-RowProblem $pbRow)
    }
    if ($Plan.Contains('Alloc')) {
        $rows = $Plan.Alloc
        $th = Get-RowStat (Get-Row $rows 'ThreadBatch'); $pr = Get-RowStat (Get-Row $rows 'ProcessBatch'); $seq = Get-RowStat (Get-Row $rows 'Sequential')
        if ($th.Ok -and $pr.Ok) {
            $allocSentence = if ($pr.Seconds -le $th.Seconds) {
                "On the allocation-heavy script ($($z.AllocItems) x ~$AllocTargetSeconds s, -ThrottleLimit 2 both) **processes win**: Invoke-ProcessBatch $(Format-Number $pr.Seconds) s against Invoke-ThreadBatch $(Format-Number $th.Seconds) s, **$(Format-Ratio ($th.Seconds / $pr.Seconds)) faster** (sequential: $(Format-Number $seq.Seconds) s; speedup over sequential: processes $(Format-Ratio ($seq.Seconds / $pr.Seconds)), threads $(Format-Ratio ($seq.Seconds / $th.Seconds)))."
            }
            else {
                "On the allocation-heavy script ($($z.AllocItems) x ~$AllocTargetSeconds s, -ThrottleLimit 2 both) **threads win**: Invoke-ThreadBatch $(Format-Number $th.Seconds) s against Invoke-ProcessBatch $(Format-Number $pr.Seconds) s, **$(Format-Ratio ($pr.Seconds / $th.Seconds)) faster** (sequential: $(Format-Number $seq.Seconds) s; speedup over sequential: threads $(Format-Ratio ($seq.Seconds / $th.Seconds)), processes $(Format-Ratio ($seq.Seconds / $pr.Seconds)))."
            }
        }
        & $add @('', '## 3. Allocation-heavy script: threads and processes side by side', '', (Get-LoadNote 'Alloc'), '',
            "$($z.AllocItems) items, each building small hashtables, arrays, PSCustomObjects and strings in a loop of $($Calibration.Alloc.Iterations) iterations (calibrated like the CPU script to ~$AllocTargetSeconds CPU s sequentially: $(Format-Number $Calibration.Alloc.SecondsPerItem) s). All batches at -ThrottleLimit 2: the threads share one process and its garbage-collected heap, each worker process has its own. The cold process batch's time includes starting its workers; the pool row runs on a warm pool of 2 (``Start-WorkerPool -Model Process -ThrottleLimit 2`` and a warm-up batch of ``{ `$_ }``, both untimed), as in the CPU script.", '',
            '```powershell', $AllocTemplate.Replace('@N@', "$($Calibration.Alloc.Iterations)"), '```', '')
        & $add (Write-Table $rows)
        if ($allocSentence) { & $add @('', $allocSentence) }
        $prRow = Get-Row $rows 'ProcessBatch'
        $r = $pr.Seconds / $th.Seconds
        $floorNote = if (Get-Row $rows 'BareFloor') { $floor = Get-RowStat (Get-Row $rows 'BareFloor'); " (the floor, two bare pwsh started together each running half the items: $(Format-Number $floor.Seconds) s = $(Format-Ratio ($floor.Seconds / $th.Seconds)) threads)" }
        Add-Target "The allocation-heavy script ($($z.AllocItems) x ~$AllocTargetSeconds s, -ThrottleLimit 2 both, the start of the worker processes included): processes at least as fast as threads, Invoke-ProcessBatch time / Invoke-ThreadBatch time" "$(Format-Number $pr.Seconds) s / $(Format-Number $th.Seconds) s = $(Format-Ratio $r)$floorNote" '<= 1.00x' $(if ([double]::IsNaN($r)) { $null } else { $r -le 1.0 }) (Get-RowProblem $prRow) -Issue 13
        $poolRow = Get-Row $rows 'ProcessBatchPool'; $pool = Get-RowStat $poolRow
        $rp = $pool.Seconds / $th.Seconds
        Add-Target "The allocation-heavy script, same run: processes on a warm pool of 2 (pool start and a warm-up batch untimed) at least as fast as threads, Invoke-ProcessBatch -Pool time / Invoke-ThreadBatch time" "$(Format-Number $pool.Seconds) s / $(Format-Number $th.Seconds) s = $(Format-Ratio $rp)" '<= 1.00x' $(if ([double]::IsNaN($rp)) { $null } else { $rp -le 1.0 }) (Get-RowProblem $poolRow) -Issue 13
    }
    if ($Plan.Contains('First')) {
        $rows = $Plan.First
        $cold = Get-RowStat (Get-Row $rows 'ColdPwsh')
        & $add @('', '## 4. Time to the first result', '', (Get-LoadNote 'First'), '',
            "A batch of $($z.FirstItems) items ``{ `$_ }``: the time from the call to the first output, inside the child (the ``first result s`` column; ``median s`` is the whole batch). The cold ``pwsh`` rows are timed from outside, from the start of the process to its exit, in the same run, interleaved with the other rows. The warm rows ran one small batch of the same contender first (the calling process's JIT); the ``first batch of the session`` row did not (module imported, nothing else). The ``-Pool`` row started a pool of worker processes with ``Start-WorkerPool -Model Process`` and ran that warm-up batch on it, both untimed: its batch is the pool's second and starts no process. Python's time includes creating the pool.", '',
            '| contender | throttle | first result s (median) | min-max s | whole batch s | first result / cold pwsh | note |',
            '| --- | --- | ---: | ---: | ---: | ---: | --- |')
        foreach ($row in $rows) {
            $st = Get-RowStat $row
            $firsts = @($st.Runs | ForEach-Object { if ($row.Kind -eq 'outside') { [double]$_.Seconds } else { Get-Field $_ 'FirstSeconds' } })
            $f = if ($row.Kind -eq 'outside') { $st.Seconds } else { $st.First }
            $range = if ($firsts) { "$(Format-Number ($firsts | Measure-Object -Minimum).Minimum)-$(Format-Number ($firsts | Measure-Object -Maximum).Maximum)" } else { 'n/a' }
            & $add "| $($row.Label.Replace('|', '\|')) | $($st.Throttle) | $(Format-Number $f) | $range | $(Format-Number $st.Seconds) | $(Format-Ratio ($f / $cold.Seconds)) | $(Get-RowNote $row) |"
        }
        foreach ($c in 'ProcessBatch', 'ProcessBatchCold') {
            $row = Get-Row $rows $c; $st = Get-RowStat $row
            $r = $st.First / $cold.Seconds
            $what = if ($c -eq 'ProcessBatch') { 'First result of a 10-item batch (after a warm-up batch in the session)' } else { 'First result, first batch of the session (extra)' }
            Add-Target "$what vs one cold ``pwsh -NoProfile -c 1``" "$(Format-Number $st.First) s / $(Format-Number $cold.Seconds) s = $(Format-Ratio $r)" '<= 1.5x' $(if ([double]::IsNaN($r)) { $null } else { $r -le 1.5 }) (Get-RowProblem $row)
        }
        $poolRow = Get-Row $rows 'ProcessBatchPool'; $pool = Get-RowStat $poolRow
        Add-Target "A second batch on a warm process pool (Start-WorkerPool, default size, and one warm-up batch untimed) returns its first result: seconds from the call to the first output of a $($z.FirstItems)-item batch" "$(Format-Number $pool.First) s (whole batch $(Format-Number $pool.Seconds) s)" '<= 0.15 s' $(if ([double]::IsNaN($pool.First)) { $null } else { $pool.First -le 0.15 }) (Get-RowProblem $poolRow) -Issue 13
        # Where the time goes: one worker alone, and the floor for the default two (two cold pwsh at once).
        $one = Get-RowStat (Get-Row $rows 'ProcessBatchOne')
        $r = $one.First / $cold.Seconds
        Add-Target 'First result with one worker (-ThrottleLimit 1; extra) vs one cold `pwsh -NoProfile -c 1`' "$(Format-Number $one.First) s / $(Format-Number $cold.Seconds) s = $(Format-Ratio $r)" '<= 1.5x' $(if ([double]::IsNaN($r)) { $null } else { $r -le 1.5 }) (Get-RowProblem (Get-Row $rows 'ProcessBatchOne'))
        $two = Get-RowStat (Get-Row $rows 'TwoColdPwsh')
        $st = Get-RowStat (Get-Row $rows 'ProcessBatch')
        & $add @('', "Two cold pwsh started at once take $(Format-Number $two.Seconds) s, $(Format-Ratio ($two.Seconds / $cold.Seconds)) one: a cold start of this PowerShell (the dotnet tool package, not ReadyToRun-compiled) burns more than one core of JIT, so two workers starting together on $([Environment]::ProcessorCount) cores slow each other down before either runs an item. The default two workers' first result is $(Format-Ratio ($st.First / $two.Seconds)) that floor; one worker alone gives its first result at $(Format-Ratio $r) one cold pwsh.")
    }
    if ($Plan.Contains('Channel')) {
        $rows = $Plan.Channel
        & $add @('', '## 5. Items per second of the channel', '', (Get-LoadNote 'Channel'), '',
            "-ThrottleLimit 2 (2 workers). ``-Workload IsPrime`` on 1..$(Format-Count $z.ChannelPrime) (compiled work of well under a microsecond per item, so the time is the channel: encoding, frames, pipes, decoding, results) and ``{ `$_ }`` on 1..$(Format-Count $z.ChannelTrivial) with the automatic chunk size and with -ChunkSize $($z.ChannelChunk). ``items/s`` is items / whole batch (the start of the workers included); ``items/s after the first result`` is (outputs - 1) / (last output - first output), the channel alone. The Invoke-ThreadBatch row is the same workload without a process boundary; Python's rows are ``pool.map(..., chunksize=$($z.PythonChunk))``.", '')
        & $add (Write-Table $rows -Rate)
        $row = Get-Row $rows 'ProcessBatch'; $st = Get-RowStat $row
        Add-Target "Trivial items ``{ `$_ }``, 2 workers, automatic chunk size, $(Format-Count $st.Items) items: items/s over the whole batch, start of the workers included (the measure used for this target)" "$(Format-Count $st.ItemsPerSecond) items/s ($(Format-Number $st.Seconds) s)" '>= 20,000 items/s' $(if ([double]::IsNaN($st.ItemsPerSecond)) { $null } else { $st.ItemsPerSecond -ge 20000 }) (Get-RowProblem $row)
        Add-Target 'Trivial items, same runs: items/s after the first result (the channel alone; extra)' "$(Format-Count $st.SteadyRate) items/s" '>= 20,000 items/s' $(if ([double]::IsNaN($st.SteadyRate)) { $null } else { $st.SteadyRate -ge 20000 }) (Get-RowProblem $row)
        $row = Get-Row $rows 'ProcessBatchChunk'; $st = Get-RowStat $row
        Add-Target "Trivial items, 2 workers, -ChunkSize $($z.ChannelChunk): items/s over the whole batch (extra)" "$(Format-Count $st.ItemsPerSecond) items/s ($(Format-Number $st.Seconds) s; after the first result $(Format-Count $st.SteadyRate) items/s)" '>= 20,000 items/s' $(if ([double]::IsNaN($st.ItemsPerSecond)) { $null } else { $st.ItemsPerSecond -ge 20000 }) (Get-RowProblem $row)
        if ($Plan.Contains('Trivial')) {
            $row = Get-Row $Plan.Trivial 'ProcessBatch'; $st = Get-RowStat $row
            Add-Target "Trivial items, 2 workers, automatic chunk size, $(Format-Count $st.Items) items (section 1): items/s over the whole batch (extra)" "$(Format-Count $st.ItemsPerSecond) items/s ($(Format-Number $st.Seconds) s; after the first result $(Format-Count $st.SteadyRate) items/s)" '>= 20,000 items/s' $(if ([double]::IsNaN($st.ItemsPerSecond)) { $null } else { $st.ItemsPerSecond -ge 20000 }) (Get-RowProblem $row)
        }
    }
    if ($Plan.Contains('Primes')) {
        $rows = $Plan.Primes
        & $add @('', "## 6. The seed's primes", '', (Get-LoadNote 'Primes'), '',
            "$SeedPrimes (the seed calls them primes, but 10000129 = 89 x 112361, so 3 of the 4 answers are ``True``; checked for every row). Trial division by the odd numbers up to the square root, about 1,600 divisions per item, so these times are start-up, not computation. The PowerShell rows inside a child are timed around the batch (after a warm-up of the same contender); Python's row inside the interpreter, around the pool (``with ProcessPoolExecutor(max_workers=2)``: creating the pool, the map, the shutdown). The ``from outside`` column and rows include the start of the interpreter: for Python the whole ``python3 _processPool.py``, for the two ``pwsh -c`` rows a fresh pwsh that imports the module and runs one batch, the way one would run the seed's script.", '')
        & $add (Write-Table $rows)
        $py = Get-RowStat (Get-Row $rows 'Python')
        $pb = Get-RowStat (Get-Row $rows 'ProcessBatchWorkload')
        $ow = Get-RowStat (Get-Row $rows 'OutsideWorkload')
        & $add @('', "Python, including the interpreter's start (timed from outside): **$(Format-Number $py.Outer) s** (pool alone $(Format-Number $py.Seconds) s). ``pwsh -c`` with Invoke-ProcessBatch -Workload IsPrime from outside: **$(Format-Number $ow.Seconds) s** ($(Format-Ratio ($ow.Seconds / $py.Outer)) Python's); the batch alone inside a warm session: $(Format-Number $pb.Seconds) s ($(Format-Ratio ($pb.Seconds / $py.Seconds)) Python's pool alone).")
    }

    $header = @(
        '# Invoke-ProcessBatch benchmark', ''
        "Written by ``bench/ProcessBatch.ps1`` ($(if ($Quick) { '-Quick: smoke test, 1 repetition, smaller counts' } elseif ($Partial) { "partial run: $($Case -join ', ')" } else { 'full run' }))."
        '', '| | |', '| --- | --- |'
        "| date | $($Info.Started) (run took $(Format-Number $Info.Minutes 1) min) |"
        "| PowerShell | $($Info.PSVersion) ($($Info.OS)) |"
        "| .NET | $($Info.Framework) |"
        "| Python | $($Info.PythonVersion) |"
        "| cores | $($Info.Cores) |"
        "| load average (1/5/15 min) at start, end | $($Info.StartLoad); $($Info.EndLoad) |"
        "| repetitions | $Repetitions per contender, medians reported |"
        $(if (Test-Busy @($Info.StartLoad)) { '', '> **The machine was busy when this run started** (1-minute load average at or above 1.5x the core count): other processes took CPU, so absolute times are inflated; treat ratios with care.' })
        '', "The load averages given per workload count this benchmark's own processes too: Start-Job starts one pwsh per item at once ($($z.CpuItems) for the CPU script), which alone drives the 1-minute load average above 10 on 2 cores; so they are an upper bound on other work on the machine, not a measure of it."
        '', ('Each PowerShell (workload, contender) runs in a fresh `pwsh -NoProfile`; the time is measured inside it around the batch only (module import, item generation and a short warm-up of the same contender on a few items are excluded, unless a row says otherwise). After the warm-up the child waits, untimed, until its own CPU use is under 5% of a core over a quarter of a second (at most 5 s; median wait in this run: ' + $settleText + '): a fresh pwsh''s runtime goes on compiling in the background what its start-up and warm-up ran, which a timed batch keeping both cores busy would otherwise pay as its own (the warm floor''s two pwsh likewise start 4 s after their launch). The warm-up only warms the calling process: an Invoke-ProcessBatch call starts its own worker processes, and that start is inside every timed Invoke-ProcessBatch run, as the start of the job processes is inside Start-Job''s and the start of the pool inside Python''s; except the rows marked `-Pool`, whose child starts a warm pool (`Start-WorkerPool -Model Process`) and runs the warm-up batch on it, both untimed, then times the second batch on that pool. Every contender''s output goes into the same compiled consumer, which notes the arrival of the first and last output and checks the values. Sequential `ForEach-Object` runs in a child scope per item (`$items | ForEach-Object { & $body }`), and for trivial items also dot-sourced (`& { $items | ForEach-Object $body }`); "vs best sequential" uses the faster. `Start-ThreadJob` and `Start-Job` get one job per item (the item is made `$_`), then `Receive-Job -Wait -AutoRemoveJob`. Progress is silenced in every child. "per item µs" is median seconds / items, so rows with different item counts compare; "vs Invoke-ProcessBatch" divides a row''s per-item cost by Invoke-ProcessBatch''s in the same table (above 1: Invoke-ProcessBatch is cheaper per item). CPU s includes the child''s reaped child processes (workers, jobs), and for the `-Pool` rows the CPU time of the pool''s workers during the timed batch. Notes name child processes still alive when a batch returned, and how long after they were gone. The machine is shared and noisy: see min-max.')
    )
    foreach ($issue in @($script:DoneWhen | ForEach-Object Issue | Sort-Object -Unique)) {
        $header += @('', "## Done when (issue $issue)", '', '| target | measured | limit | result |', '| --- | --- | --- | --- |')
        foreach ($t in @($script:DoneWhen | Where-Object Issue -eq $issue)) { $header += "| $($t.Target) | $($t.Measured) | $($t.Limit) | **$($t.Result)** |" }
    }
    if ($allocSentence) { $header += @('', $allocSentence) }
    Hide-Path (($header + $sections) -join "`n")
}

#endregion

#region Main

if ($FromRawFile) {
    $raw = Get-Content -LiteralPath $FromRawFile -Raw | ConvertFrom-Json -AsHashtable
    $Size = $raw.Size
    $Quick = [bool]$raw.Quick
    $Repetitions = $raw.Repetitions
    $plan = [ordered]@{}
    foreach ($c in $raw.Plan) {
        $plan[$c.Case] = @(foreach ($r in $c.Rows) {
                $row = [pscustomobject]@{ Contender = $r.Contender; Label = $r.Label; Kind = $r.Kind; Spec = $r.Spec; Throttle = $r.Throttle; Expected = [long]$r.Expected; Runs = [System.Collections.Generic.List[hashtable]]::new() }
                foreach ($run in $r.Runs) { $row.Runs.Add($run) }
                $row
            })
    }
    $Case = @($plan.Keys)
    $script:CaseLoad = $raw.CaseLoad
    $Partial = $Quick -or $Case.Count -lt $AllCases.Count
    $Cores = [int]$raw.Info.Cores
    $report = Write-Report $plan $raw.Calibration $raw.Info
    $dir = Split-Path -Parent $OutFile
    if ($dir -and -not (Test-Path -LiteralPath $dir)) { $null = New-Item -ItemType Directory -Path $dir -Force }
    Set-Content -LiteralPath $OutFile -Value $report -Encoding utf8NoBOM
    Write-Host "Results: $((Resolve-Path -LiteralPath $OutFile).ProviderPath)"
    return
}

if ($WaitForQuietMinutes -gt 0 -and (Test-Path -LiteralPath '/proc/loadavg')) {
    $deadline = (Get-Date).AddMinutes($WaitForQuietMinutes)
    while ([double]((Get-LoadAverage) -split ' ')[0] -ge $Cores -and (Get-Date) -lt $deadline) {
        Write-Host "Waiting for a quiet machine (load average $(Get-LoadAverage))..."
        Start-Sleep -Seconds 20
    }
}
$started = Get-Date
$startLoad = Get-LoadAverage
if ($startLoad -ne 'n/a' -and [double]($startLoad -split ' ')[0] -ge $Cores) {
    Write-Warning "The machine is busy (load average $startLoad on $Cores cores): times and ratios will be distorted."
}
$clockAll = [Diagnostics.Stopwatch]::StartNew()
Write-Host "Invoke-ProcessBatch benchmark: $($Case -join ', '); $Repetitions repetition(s)$(if ($Quick) { ', quick' })"

$pythonVersion = try { ((& $Python --version 2>&1) -join ' ').Trim() } catch { throw "No Python at '$Python' (-Python): $_" }
$script:ClkTck = 0
if (-not $IsWindows) { try { $script:ClkTck = [int](& getconf CLK_TCK) } catch { $script:ClkTck = 0 } }

# A private copy of the module, so that a rebuild of out/PSParallel during the run cannot mix builds,
# and the consumer cmdlet compiled once into the same folder.
$copyRoot = Join-Path ([IO.Path]::GetTempPath()) ("psparallel-pbench-" + [guid]::NewGuid().ToString('N'))
$moduleDir = Split-Path -Parent (Resolve-Path -LiteralPath $ModulePath).ProviderPath
$null = New-Item -ItemType Directory -Path $copyRoot
Copy-Item -LiteralPath $moduleDir -Destination (Join-Path $copyRoot 'PSParallel') -Recurse
$script:ModuleCopy = Join-Path $copyRoot (Join-Path 'PSParallel' (Split-Path -Leaf $ModulePath))
$script:HelperPath = Join-Path $copyRoot 'PSParallelProcessBench.dll'
Add-Type -TypeDefinition $HelperSource -OutputAssembly $script:HelperPath -OutputType Library

$script:CaseLoad = [ordered]@{}
try {
    $calibration = @{ Cpu = @{ Iterations = 0; SecondsPerItem = 0 }; Alloc = @{ Iterations = 0; SecondsPerItem = 0 } }
    if ('Cpu' -in $Case -or 'Alloc' -in $Case) {
        Write-Host 'Calibrating the CPU and allocation scripts...'
        $spec = @{ Kind = 'calibrate'; CpuTemplate = $CpuTemplate; AllocTemplate = $AllocTemplate; CpuSeconds = $CpuTargetSeconds; AllocSeconds = $AllocTargetSeconds; ClkTck = $script:ClkTck }
        $json = $spec | ConvertTo-Json -Compress -Depth 5
        $run = Invoke-Timed (Get-PwshCommand) @('-NoProfile', '-NonInteractive', '-File', $ChildScript, '-ModulePath', $script:ModuleCopy, '-Spec', [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))) -TimeoutSeconds $ChildTimeoutSeconds
        $c = Read-ResultLine $run
        if (-not $c.Ok) { throw "Calibration failed: $($c.Failure)" }
        $calibration = @{ Cpu = $c.Cpu; Alloc = $c.Alloc }
        Write-Host ("  CPU loop: {0} iterations ({1:F3} s); allocation loop: {2} iterations ({3:F3} s)" -f $c.Cpu.Iterations, $c.Cpu.SecondsPerItem, $c.Alloc.Iterations, $c.Alloc.SecondsPerItem)
    }
    if ('Cpu' -in $Case) {
        # Python's loop to the CPU time a PowerShell item took in the calibration above, so that the
        # work per item is the same on both sides.
        $target = ([double]$calibration.Cpu.SecondsPerItem).ToString('R', [cultureinfo]::InvariantCulture)
        $run = Invoke-Timed @($Python) @($PoolScript, '--mode', 'calibrate', '--seconds', $target) -TimeoutSeconds $ChildTimeoutSeconds
        $c = Read-ResultLine $run
        if (-not $c.Ok) { throw "Calibration of the Python loop failed: $($c.Failure)" }
        $calibration.PythonCpu = @{ Iterations = [long]$c.Iterations; SecondsPerItem = [double]$c.SecondsPerItem; TargetSeconds = [double]$c.TargetSeconds }
        Write-Host ("  Python CPU loop: {0} iterations ({1:F3} s)" -f $c.Iterations, $c.SecondsPerItem)
    }

    $plan = Get-Plan $calibration
    foreach ($name in $plan.Keys) {
        $script:CaseLoad[$name] = Get-LoadAverage
        for ($rep = 1; $rep -le $Repetitions; $rep++) {
            foreach ($row in $plan[$name]) {
                $result = Invoke-Row $row
                $row.Runs.Add($result)
                $shown = if ($result.Ok) {
                    $first = if ($result.ContainsKey('FirstSeconds') -and $null -ne $result.FirstSeconds) { ' (first {0:F3} s)' -f [double]$result.FirstSeconds } else { '' }
                    ('{0,8:F3} s' -f [double]$result.Seconds) + $first
                }
                else { "FAILED: $($result.Failure)" }
                Write-Host ("[{0,-7} {1}/{2}] {3,-60} {4}" -f $name, $rep, $Repetitions, $(if ($row.Label.Length -gt 60) { $row.Label.Substring(0, 57) + '...' } else { $row.Label }), $shown)
            }
        }
    }
}
finally {
    Remove-Item -LiteralPath $copyRoot -Recurse -Force -ErrorAction SilentlyContinue
}

$info = @{
    Started = $started.ToString('yyyy-MM-dd HH:mm', [cultureinfo]::InvariantCulture)
    Minutes = $clockAll.Elapsed.TotalMinutes
    PSVersion = "$($PSVersionTable.PSVersion)"; OS = "$($PSVersionTable.OS)"
    Framework = [Runtime.InteropServices.RuntimeInformation]::FrameworkDescription
    PythonVersion = $pythonVersion; Cores = $Cores
    StartLoad = $startLoad; EndLoad = Get-LoadAverage
}

# The raw measurements first, so that a failure of the report does not lose the run.
$rawFile = Join-Path $PSScriptRoot '../out/bench/ProcessBatch.raw.json'
$null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $rawFile)
@{
    Size = $Size; Calibration = $calibration; Quick = [bool]$Quick; Repetitions = $Repetitions
    CaseLoad = $script:CaseLoad; Info = $info
    Plan = @(foreach ($k in $plan.Keys) { @{ Case = $k; Rows = @($plan[$k] | Select-Object Contender, Label, Kind, Spec, Throttle, Expected, Runs) } })
} | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $rawFile -Encoding utf8NoBOM

$report = Write-Report $plan $calibration $info
Save-Report $OutFile $report
Write-Host ''
foreach ($t in $script:DoneWhen) { Write-Host "$($t.Result): $($t.Target) -- $($t.Measured)" }
#endregion
