<#
.SYNOPSIS
One measurement of bench/ThreadBatch.ps1, run in a fresh pwsh: one case, one contender.

.DESCRIPTION
Not a benchmark on its own (the leading '_' keeps build.ps1 Bench from running it). The parent
passes a specification as Base64-encoded JSON; this script builds the items, warms the contender
up on a few items, times the batch alone with a Stopwatch (module import, item generation and
warm-up excluded) and writes one line '##RESULT## {json}' to standard output.

Kinds:
  script    Sequential | ThreadBatch | ThreadBatchWorkload | ForEachParallel | ThreadJob over items
  compiled  Invoke-ThreadBatch -Workload on many small items against the pipeline's own cost
  memory    1..N | Invoke-ThreadBatch -Workload IsPrime | Out-Null with working set sampling
  journal   { $_ } on N items with and without -JournalPath, paired in the same process
  calibrate iteration counts for the CPU and allocation scripts
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


# The C# helpers: a pass-through cmdlet (the pipeline's own cost of feeding a compiled cmdlet and
# taking its output), a direct single-thread loop over a workload (the work itself) and a
# working-set sampler on a timer (PowerShell cannot run a timer callback while the pipeline is busy).
function Add-BenchHelpers {
    # No reference to PSParallel.Contracts (built for an older runtime): workloads are bound by signature.
    $references = @('System.Management.Automation', 'System.Diagnostics.Process', 'System.ComponentModel.Primitives', 'System.Threading', 'System.Threading.Thread', 'System.Threading.Tasks.Parallel', 'System.Linq', 'System.Runtime')
    $source = @'
using System;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace PSParallelBench
{
    [Cmdlet("Invoke", "BenchPassThrough")]
    public sealed class InvokeBenchPassThroughCommand : PSCmdlet
    {
        [Parameter(ValueFromPipeline = true)]
        public PSObject InputObject { get; set; }
        protected override void ProcessRecord() { WriteObject(InputObject); }
    }

    public static class Direct
    {
        // Runs the workload on the first n items on this thread; returns the elapsed seconds.
        public static double Run(object workload, object[] items, int n)
        {
            var sync = BindSync(workload);
            var async = sync == null ? BindAsync(workload) : null;
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < n; i++)
            {
                if (sync != null) sync(items[i], CancellationToken.None);
                else async(items[i], CancellationToken.None).GetAwaiter().GetResult();
            }
            return clock.Elapsed.TotalSeconds;
        }

        // Runs the workload on the first n items with .NET's own parallel loop at the given degree
        // (what the work costs at the batch's concurrency with no PowerShell and no engine):
        // Parallel.For for a synchronous workload, Parallel.ForEachAsync for an asynchronous one.
        public static double RunParallel(object workload, object[] items, int n, int degree)
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = degree };
            var sync = BindSync(workload);
            var async = sync == null ? BindAsync(workload) : null;
            var clock = Stopwatch.StartNew();
            if (sync != null) Parallel.For(0, n, options, i => sync(items[i], CancellationToken.None));
            else Parallel.ForEachAsync(Enumerable.Range(0, n), options, async (i, token) => await async(items[i], token)).GetAwaiter().GetResult();
            return clock.Elapsed.TotalSeconds;
        }

        // IWorkload.Invoke or IAsyncWorkload.InvokeAsync, bound as a delegate: no reflection per call.
        private static Func<object, CancellationToken, object> BindSync(object workload)
        {
            var method = workload.GetType().GetMethod("Invoke", new[] { typeof(object), typeof(CancellationToken) });
            return method == null ? null : (Func<object, CancellationToken, object>)Delegate.CreateDelegate(typeof(Func<object, CancellationToken, object>), workload, method);
        }

        private static Func<object, CancellationToken, Task<object>> BindAsync(object workload)
        {
            var method = workload.GetType().GetMethod("InvokeAsync", new[] { typeof(object), typeof(CancellationToken) });
            return (Func<object, CancellationToken, Task<object>>)Delegate.CreateDelegate(typeof(Func<object, CancellationToken, Task<object>>), workload, method);
        }
    }

    public sealed class Sampler : IDisposable
    {
        private readonly Timer _timer;
        private long _maxWorkingSet, _maxGcHeap;
        public int Samples;
        public Sampler(int periodMs)
        {
            Sample();
            _timer = new Timer(_ => Sample(), null, periodMs, periodMs);
        }
        private void Sample()
        {
            long ws;
            using (var p = Process.GetCurrentProcess()) ws = p.WorkingSet64;
            Max(ref _maxWorkingSet, ws);
            Max(ref _maxGcHeap, GC.GetTotalMemory(false));
            Interlocked.Increment(ref Samples);
        }
        private static void Max(ref long target, long value)
        {
            long seen = Interlocked.Read(ref target);
            while (value > seen)
            {
                long was = Interlocked.CompareExchange(ref target, value, seen);
                if (was == seen) break;
                seen = was;
            }
        }
        public long MaxWorkingSet { get { return Interlocked.Read(ref _maxWorkingSet); } }
        public long MaxGcHeap { get { return Interlocked.Read(ref _maxGcHeap); } }
        public void Dispose()
        {
            using (var done = new ManualResetEvent(false)) { _timer.Dispose(done); done.WaitOne(); }
            Sample();
        }
    }
}
'@
    $assembly = Add-Type -TypeDefinition $source -ReferencedAssemblies $references -PassThru |
        Select-Object -First 1 -ExpandProperty Assembly
    Import-Module -Assembly $assembly -WarningAction SilentlyContinue
}

# A built-in workload's instance, from the engine assembly (it lives in the module's own load context).
function Get-WorkloadInstance([string] $Name) {
    $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PSParallel.Engine' } |
        Select-Object -First 1
    if (-not $engine) { throw 'PSParallel.Engine is not loaded.' }
    $type = $engine.GetType("PSParallel.Engine.Workloads.${Name}Workload", $true)
    [Activator]::CreateInstance($type)
}

#region Script contenders

# Runs one contender over the items; returns the output. Called for warm-up and for the timed run.
function Invoke-Contender {
    param([string] $Contender, [object[]] $Items, [scriptblock] $Body, [string] $Workload, [int] $Throttle)
    $tl = @{}
    if ($Throttle -gt 0) { $tl.ThrottleLimit = $Throttle }
    switch ($Contender) {
        # Sequential ForEach-Object, each item's body in its own child scope, as Invoke-ThreadBatch runs its items.
        'Sequential' { $Items | ForEach-Object { & $Body } }
        # Sequential ForEach-Object inside a child scope: the body is dot-sourced into that one scope.
        'SequentialDot' { & { $Items | ForEach-Object $Body } }
        'ThreadBatch' { $Items | Invoke-ThreadBatch $Body @tl }
        'ThreadBatchWorkload' { $Items | Invoke-ThreadBatch -Workload $Workload @tl }
        'ForEachParallel' { $Items | ForEach-Object -Parallel $Body @tl }
        'ThreadJob' {
            # Start-ThreadJob does not bind $_: the item comes as an argument and is made $_.
            $jobBody = [scriptblock]::Create("param(`$__item) foreach (`$_ in @(`$__item)) {`n$Body`n}")
            $jobs = foreach ($x in $Items) { Start-ThreadJob -ScriptBlock $jobBody -ArgumentList $x @tl }
            $jobs | Receive-Job -Wait -AutoRemoveJob
        }
        default { throw "Unknown contender '$Contender'." }
    }
}

function Invoke-ScriptKind {
    $items = New-Items $S.Items
    $body = [scriptblock]::Create($S.Body)
    $throttle = [int]$S.Throttle
    $workload = [string]$S.Workload
    if ($S.Contender -eq 'ThreadJob') { Import-Module Microsoft.PowerShell.ThreadJob }

    # Warm-up: the same contender on a few items of the same script (JIT, command discovery,
    # autoloading), so that the timed run measures the batch rather than first-call costs.
    $warmItems = New-Items $S.WarmItems
    $null = Invoke-Contender -Contender $S.Contender -Items $warmItems -Body ([scriptblock]::Create($S.WarmBody)) -Workload $workload -Throttle $throttle
    [GC]::Collect(); [GC]::WaitForPendingFinalizers()

    $Error.Clear()
    $cpu0 = Get-OwnCpuSeconds
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $out = Invoke-Contender -Contender $S.Contender -Items $items -Body $body -Workload $workload -Throttle $throttle
    $elapsed = $clock.Elapsed.TotalSeconds
    $cpu = (Get-OwnCpuSeconds) - $cpu0
    $out = @($out)
    $check = $null
    if ($S.Check) { $check = (& ([scriptblock]::Create($S.Check)) $out) }
    @{
        Seconds = $elapsed; CpuSeconds = $cpu; Items = $items.Count; Outputs = $out.Count
        Errors = $Error.Count; FirstError = $(if ($Error.Count) { "$($Error[-1])" } else { $null })
        Check = $check
    }
}

#endregion

#region Compiled workloads against the pipeline's own cost

function Invoke-CompiledKind {
    $items = New-Items $S.Items
    $n = $items.Count
    $warm = New-Items $S.WarmItems
    $w = $S.Workload
    Add-BenchHelpers

    # Warm-up of every measured path.
    1..$warm.Count | Out-Null
    $warm | Out-Null
    $warm | Invoke-BenchPassThrough | Out-Null
    $warm | Invoke-ThreadBatch -Workload $w | Out-Null
    $instance = Get-WorkloadInstance $w
    $null = [PSParallelBench.Direct]::Run($instance, $warm, [Math]::Min($warm.Count, 1000))
    $null = [PSParallelBench.Direct]::RunParallel($instance, $warm, [Math]::Min($warm.Count, 1000), 2)
    [GC]::Collect(); [GC]::WaitForPendingFinalizers()

    # The issue's baseline: '1..N | Out-Null' in the same process.
    $clock = [Diagnostics.Stopwatch]::StartNew()
    1..$n | Out-Null
    $pipeline = $clock.Elapsed.TotalSeconds

    # Context: a compiled cmdlet that only passes each item through (pipeline binding + output).
    [GC]::Collect()
    $clock.Restart()
    $items | Invoke-BenchPassThrough | Out-Null
    $passThrough = $clock.Elapsed.TotalSeconds

    [GC]::Collect(); [GC]::WaitForPendingFinalizers()
    $Error.Clear()
    $cpu0 = Get-OwnCpuSeconds
    $clock.Restart()
    $items | Invoke-ThreadBatch -Workload $w -SummaryVariable summary | Out-Null
    $batch = $clock.Elapsed.TotalSeconds
    $cpu = (Get-OwnCpuSeconds) - $cpu0

    # The work itself, one thread, no engine: on a sample of the items.
    $sample = [Math]::Min($n, [int]$S.DirectSample)
    $direct = [PSParallelBench.Direct]::Run($instance, $items, $sample)

    # The work at the batch's concurrency, with .NET's own parallel loop: what is left of the batch
    # over this is the engine's cost.
    [GC]::Collect(); [GC]::WaitForPendingFinalizers()
    $parallel = [PSParallelBench.Direct]::RunParallel($instance, $items, $n, $summary.ThrottleLimit)

    @{
        Seconds = $batch; CpuSeconds = $cpu; Items = $n; PipelineSeconds = $pipeline; PassThroughSeconds = $passThrough
        DirectSeconds = $direct; DirectItems = $sample; ParallelWorkSeconds = $parallel
        Succeeded = $summary.Succeeded; Failed = $summary.Failed; Total = $summary.Total; ThrottleLimit = $summary.ThrottleLimit
        Errors = $Error.Count; FirstError = $(if ($Error.Count) { "$($Error[-1])" } else { $null })
    }
}

#endregion

#region Journal: what -JournalPath costs on trivial items

# The same batch of trivial items with and without a journal, in pairs in the same process (the
# order alternating from pair to pair), so that both see the same moment's load; the ratio of each
# pair, then their median. The journal is a temporary file, started afresh by every run.
function Invoke-JournalKind {
    $items = New-Items $S.Items
    $warm = New-Items $S.WarmItems
    $journal = Join-Path ([IO.Path]::GetTempPath()) ("psparallel-bench-journal-$([guid]::NewGuid().ToString('N')).jsonl")
    try {
        $null = $warm | Invoke-ThreadBatch { $_ }
        $null = $warm | Invoke-ThreadBatch { $_ } -JournalPath $journal
        $plain = [System.Collections.Generic.List[double]]::new()
        $journaled = [System.Collections.Generic.List[double]]::new()
        $ratios = [System.Collections.Generic.List[double]]::new()
        $cpu0 = Get-OwnCpuSeconds
        $Error.Clear()
        for ($pair = 0; $pair -lt [int]$S.Pairs; $pair++) {
            $times = @{}
            foreach ($withJournal in $(if ($pair % 2) { $true, $false } else { $false, $true })) {
                [GC]::Collect(); [GC]::WaitForPendingFinalizers()
                $clock = [Diagnostics.Stopwatch]::StartNew()
                if ($withJournal) { $null = $items | Invoke-ThreadBatch { $_ } -JournalPath $journal -SummaryVariable summary }
                else { $null = $items | Invoke-ThreadBatch { $_ } }
                $times[$withJournal] = $clock.Elapsed.TotalSeconds
            }
            $plain.Add($times[$false]); $journaled.Add($times[$true]); $ratios.Add($times[$true] / $times[$false])
        }
        $cpu = (Get-OwnCpuSeconds) - $cpu0
        $lines = [IO.File]::ReadAllLines($journal).Count - 1
        $median = { param([double[]] $v) $o = [double[]]($v | Sort-Object); $m = [int][Math]::Floor($o.Count / 2); if ($o.Count % 2) { $o[$m] } else { ($o[$m - 1] + $o[$m]) / 2 } }
        @{
            Seconds = (& $median $journaled.ToArray()); PlainSeconds = (& $median $plain.ToArray()); Ratio = (& $median $ratios.ToArray())
            Ratios = $ratios.ToArray(); Items = $items.Count; CpuSeconds = $cpu; JournalLines = $lines
            Succeeded = $summary.Succeeded; Total = $summary.Total
            Errors = $Error.Count; FirstError = $(if ($Error.Count) { "$($Error[-1])" } else { $null })
        }
    }
    finally { Remove-Item -LiteralPath $journal -ErrorAction SilentlyContinue }
}

#endregion

#region Memory: a million piped items

function Invoke-MemoryKind {
    $n = [int]$S.Count
    Add-BenchHelpers
    1..[int]$S.WarmCount | Invoke-ThreadBatch -Workload IsPrime | Out-Null
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()

    $process = [Diagnostics.Process]::GetCurrentProcess()
    $process.Refresh()
    $wsBefore = $process.WorkingSet64
    $peakBefore = $process.PeakWorkingSet64
    $heapBefore = [GC]::GetTotalMemory($false)

    $sampler = [PSParallelBench.Sampler]::new(50)
    $clock = [Diagnostics.Stopwatch]::StartNew()
    1..$n | Invoke-ThreadBatch -Workload IsPrime -SummaryVariable summary | Out-Null
    $elapsed = $clock.Elapsed.TotalSeconds
    $sampler.Dispose()

    $process.Refresh()
    @{
        Seconds = $elapsed; Items = $n
        WorkingSetBeforeMB = $wsBefore / 1MB; MaxWorkingSetMB = $sampler.MaxWorkingSet / 1MB
        PeakWorkingSetBeforeMB = $peakBefore / 1MB; PeakWorkingSetAfterMB = $process.PeakWorkingSet64 / 1MB
        GcHeapBeforeMB = $heapBefore / 1MB; MaxGcHeapMB = $sampler.MaxGcHeap / 1MB
        Samples = $sampler.Samples; Succeeded = $summary.Succeeded; Total = $summary.Total
    }
}

#endregion

Invoke-ChildKind -ModulePath $ModulePath -Kind $S.Kind -Handlers @{ script = { Invoke-ScriptKind }; compiled = { Invoke-CompiledKind }; memory = { Invoke-MemoryKind }; journal = { Invoke-JournalKind }; calibrate = { Invoke-CalibrateKind } }
