<#
.SYNOPSIS
Benchmarks Invoke-ThreadBatch against sequential ForEach-Object, ForEach-Object -Parallel and
Start-ThreadJob, and writes bench/results/ThreadBatch.md.

.DESCRIPTION
Every (workload, contender) pair runs in a fresh pwsh of the same installation, started with
-NoProfile. Inside that child the time is taken with a Stopwatch around the batch alone: module
import, item generation and a short warm-up of the same contender (first-call JIT and command
discovery) are excluded. Each pair runs Repetitions times (3; 1 with -Quick), the repetitions of a
workload interleaved across contenders, and the report gives medians.

Workloads:
  1. trivial items            { $_ } x 20,000 (ForEach-Object -Parallel 1,000, Start-ThreadJob 200)
  2. CPU script               16 items of a loop calibrated to ~0.25 s sequentially, default throttle
  3. allocation-heavy script  16 items building small hashtables/arrays/strings, ~0.15 s each
     and a long job in one batch: 600 items of the same loop, ~25 ms each (sequential, threads and
     ForEach-Object -Parallel only), where the garbage piles up
  4. Start-Sleep 50 ms x 200 at throttle 50           (ideal 200 / 50 x 50 ms = 0.2 s)
  5. HTTP GET of a local 100 ms endpoint x 100 at throttle 20 (ideal 0.5 s), Invoke-RestMethod
     in the script and -Workload HttpGet
  6. the seed's primes, -Workload IsPrime and the script version (trial division)
  7. each compiled built-in on 1,000,000 small items (HttpGet: 10,000 against the endpoint with no
     delay): engine cost per item = batch - '1..N | Out-Null' - the same work at the same throttle
     in .NET's own parallel loop, all in the same process
  8. 1..1e6 | Invoke-ThreadBatch -Workload IsPrime | Out-Null: growth of the working set
  9. the journal's cost: { $_ } x 100,000 with -JournalPath against the same without, paired in one
     process (issue 15: at most 10 % more)

Sequential ForEach-Object runs in two forms: '$items | ForEach-Object { & $body }' (each item in its
own child scope, as Invoke-ThreadBatch runs its items) and '& { $items | ForEach-Object $body }' (the
body dot-sourced into one child scope). Script loops run several times slower dot-sourced (dynamic
variable lookup) while trivial bodies run faster, so the targets use the faster form of each workload.
Progress is silenced ($ProgressPreference) in every child.

A full run takes about 15 minutes on 2 cores. The module is copied to a temporary folder first,
so that a rebuild of out/PSParallel during the run does not mix two builds.

.PARAMETER Quick
One repetition and smaller counts, for a smoke test (about 3 minutes). Writes to
out/bench/ThreadBatch.quick.md instead of bench/results unless -OutFile is given.

.PARAMETER Case
Run only these workloads (Trivial, Cpu, Alloc, LongAlloc, Sleep, Http, Primes, Compiled, Memory, Journal). A partial
run writes to out/bench/ unless -OutFile is given.

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/ThreadBatch.ps1

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/ThreadBatch.ps1 -Quick -Case Trivial, Sleep

.EXAMPLE
dotnet pwsh -NoProfile -File ./bench/ThreadBatch.ps1 -Quick -Case Journal
#>
[CmdletBinding()]
param(
    [switch] $Quick,

    # Names, or one comma-separated string (as 'pwsh -File' passes them).
    [string[]] $Case = @('Trivial', 'Cpu', 'Alloc', 'LongAlloc', 'Sleep', 'Http', 'Primes', 'Compiled', 'Memory', 'Journal'),

    [ValidateRange(1, 15)]
    [int] $Repetitions = 0,

    # Path of the module manifest; by default the one build.ps1 lays out in out/PSParallel.
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1'),

    [string] $OutFile,

    # A child still running after this many seconds is killed and its measurement counted as failed.
    [double] $ChildTimeoutSeconds = 300,

    # Before starting, wait up to this many minutes for the machine to be quiet (1-minute load
    # average below the core count); the results are unreliable on a busy machine.
    [double] $WaitForQuietMinutes = 0,

    # Rewrite the report from the raw measurements a run saved (out/bench/ThreadBatch.raw.json), without measuring.
    [string] $FromRawFile
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot '_BenchCommon.ps1')   # shared helpers; the ones defined below are this script's own

$AllCases = @('Trivial', 'Cpu', 'Alloc', 'LongAlloc', 'Sleep', 'Http', 'Primes', 'Compiled', 'Memory', 'Journal')
$Case = @($Case -split ',' | ForEach-Object Trim | Where-Object { $_ })
foreach ($c in $Case) { if ($c -notin $AllCases) { throw "Unknown case '$c'; the cases are $($AllCases -join ', ')." } }
$Case = @($AllCases | Where-Object { $_ -in $Case })
if ($Repetitions -eq 0) { $Repetitions = if ($Quick) { 1 } else { 3 } }
$Partial = $Quick -or $Case.Count -lt $AllCases.Count
if (-not $OutFile) { $OutFile = Get-ReportPath 'ThreadBatch' $Quick $Partial }
if (-not (Test-Path -LiteralPath $ModulePath)) { throw "No module at ${ModulePath}: run ./build.ps1 Build first." }

$ChildScript = Join-Path $PSScriptRoot '_ThreadBatchChild.ps1'

#region Sizes

$Size = if ($Quick) {
    @{
        TrivialItems = 2000; TrivialFep = 200; TrivialJob = 50
        CpuItems = 8; AllocItems = 8; LongAllocItems = 100
        SleepItems = 100; SleepThrottle = 50; SleepMs = 50
        HttpItems = 40; HttpThrottle = 20; HttpMs = 100
        CompiledItems = 100000; CompiledHttp = 2000; CompiledWarm = 2000; DirectSample = 50000
        MemoryItems = 100000
        JournalItems = 20000; JournalPairs = 2
    }
}
else {
    @{
        TrivialItems = 20000; TrivialFep = 1000; TrivialJob = 200
        CpuItems = 16; AllocItems = 16; LongAllocItems = 600
        SleepItems = 200; SleepThrottle = 50; SleepMs = 50
        HttpItems = 100; HttpThrottle = 20; HttpMs = 100
        CompiledItems = 1000000; CompiledHttp = 10000; CompiledWarm = 10000; DirectSample = 100000
        MemoryItems = 1000000
        JournalItems = 100000; JournalPairs = 5
    }
}
$CpuTargetSeconds = 0.25
$AllocTargetSeconds = 0.15
# The long allocation-heavy job's items are the same loop, a sixth as long (~25 ms).
$LongAllocShare = 6

# The seed's script version (trial division), as in the help of Invoke-ThreadBatch.
$PrimeBody = @'
$n = $_; if ($n -lt 2) { return $false }
if ($n % 2 -eq 0) { return $n -eq 2 }
$limit = [long][Math]::Sqrt($n)
for ($f = 3; $f -le $limit; $f += 2) {
    if ($n % $f -eq 0) { return $false }
}
$true
'@

#endregion

#region Child processes

# Runs _ThreadBatchChild.ps1 with a spec; returns its result hashtable (Ok = $false on failure).
function Invoke-Child([hashtable] $Spec) {
    Invoke-PwshChild $ChildScript $script:ModuleCopy $Spec $ChildTimeoutSeconds
}

#endregion

#region Measurement plan

# One row of a workload table: a contender and the spec its child runs.
function New-Row {
    param([string] $Contender, [string] $Label, [hashtable] $Spec)
    $Spec.Contender = $Contender
    if (-not $Spec.ContainsKey('Kind')) { $Spec.Kind = 'script' }
    [pscustomobject]@{ Contender = $Contender; Label = $Label; Spec = $Spec; Runs = [System.Collections.Generic.List[hashtable]]::new() }
}

$Labels = [ordered]@{
    Sequential          = 'ForEach-Object { & $body }, sequential'
    SequentialDot       = '& { ForEach-Object $body }, sequential'
    ThreadBatch         = 'Invoke-ThreadBatch (script)'
    ThreadBatchWorkload = 'Invoke-ThreadBatch -Workload'
    ForEachParallel     = 'ForEach-Object -Parallel'
    ThreadJob           = 'Start-ThreadJob (one job per item)'
}

# Rows for a script workload, one per contender. $Counts overrides the item expression per contender.
function New-ScriptRows {
    param(
        [string] $Body, [string] $Items, [int] $Throttle = 0, [string] $Workload, [string] $WorkloadItems,
        [hashtable] $Counts = @{}, [string] $WarmBody = '$_', [string] $WarmItems = '1..20',
        # A script given the outputs; its result is compared with the expected count of the table.
        [string] $Check = 'param($o) @($o | Where-Object { $null -ne $_ }).Count',
        [bool] $ExpectOutputs = $true,
        [string[]] $Contenders = @('Sequential', 'SequentialDot', 'ThreadBatch', 'ForEachParallel', 'ThreadJob')
    )
    foreach ($c in $Contenders) {
        $itemExpr = if ($Counts.ContainsKey($c)) { $Counts[$c] } elseif ($c -eq 'ThreadBatchWorkload' -and $WorkloadItems) { $WorkloadItems } else { $Items }
        $label = $Labels[$c]
        if ($c -eq 'ThreadBatchWorkload') { $label = "Invoke-ThreadBatch -Workload $Workload" }
        New-Row $c $label @{
            Body = $Body; Items = $itemExpr; Throttle = $Throttle; Workload = $Workload; Check = $Check; ExpectOutputs = $ExpectOutputs
            WarmBody = $(if ($c -eq 'ThreadBatchWorkload') { '$_' } else { $WarmBody })
            WarmItems = $(if ($c -eq 'ThreadJob') { "@(& { $WarmItems } | Select-Object -First 2)" } else { $WarmItems })
        }
    }
}

function Get-LongAllocIterations([hashtable] $Calibration) {
    [Math]::Max(1, [int]($Calibration.Alloc.Iterations / $LongAllocShare))
}

function Get-Plan([hashtable] $Calibration, [string] $BaseUri) {
    $z = $Size
    $plan = [ordered]@{}
    if ('Trivial' -in $Case) {
        $plan.Trivial = @(New-ScriptRows -Body '$_' -Items "1..$($z.TrivialItems)" -Counts @{
                ForEachParallel = "1..$($z.TrivialFep)"; ThreadJob = "1..$($z.TrivialJob)"
            } -Check 'param($o) @($o | Where-Object { $null -ne $_ } | Sort-Object -Unique).Count')
    }
    if ('Cpu' -in $Case) {
        $plan.Cpu = @(New-ScriptRows -Body $CpuTemplate.Replace('@N@', "$($Calibration.Cpu.Iterations)") -Items "1..$($z.CpuItems)")
    }
    if ('Alloc' -in $Case) {
        $plan.Alloc = @(New-ScriptRows -Body $AllocTemplate.Replace('@N@', "$($Calibration.Alloc.Iterations)") -Items "1..$($z.AllocItems)")
    }
    if ('LongAlloc' -in $Case) {
        $plan.LongAlloc = @(New-ScriptRows -Body $AllocTemplate.Replace('@N@', "$(Get-LongAllocIterations $Calibration)") -Items "1..$($z.LongAllocItems)" -Contenders Sequential, ThreadBatch, ForEachParallel)
    }
    if ('Sleep' -in $Case) {
        $plan.Sleep = @(New-ScriptRows -Body 'Start-Sleep -Milliseconds $_' -Items "@($($z.SleepMs)) * $($z.SleepItems)" `
                -Throttle $z.SleepThrottle -Workload Sleep -WarmBody 'Start-Sleep -Milliseconds $_' -WarmItems '@(1) * 4' -Check '' -ExpectOutputs $false `
                -Contenders Sequential, ThreadBatch, ThreadBatchWorkload, ForEachParallel, ThreadJob)
    }
    if ('Http' -in $Case) {
        $url = "$($BaseUri)?ms=$($z.HttpMs)"
        $plan.Http = @(New-ScriptRows -Body 'Invoke-RestMethod -Uri $_' -Items "@('$url') * $($z.HttpItems)" `
                -Throttle $z.HttpThrottle -Workload HttpGet -WarmBody 'Invoke-RestMethod -Uri $_' -WarmItems "@('$($BaseUri)?ms=0') * 4" `
                -Check 'param($o) @($o | Where-Object { "$_" -eq "ok" -or ($_.PSObject.Properties["StatusCode"] -and $_.StatusCode -eq 200) }).Count' `
                -Contenders Sequential, ThreadBatch, ThreadBatchWorkload, ForEachParallel, ThreadJob)
    }
    if ('Primes' -in $Case) {
        $plan.Primes = @(New-ScriptRows -Body $PrimeBody -Items '10000019, 10000079, 10000103, 10000129' -Workload IsPrime `
                -Check 'param($o) @($o | Where-Object { $_ -eq $true }).Count' `
                -Contenders Sequential, SequentialDot, ThreadBatch, ThreadBatchWorkload, ForEachParallel, ThreadJob)
    }
    if ('Compiled' -in $Case) {
        $n = $z.CompiledItems
        $strings = "`$a = [object[]]::new($n); for (`$i = 0; `$i -lt $n; `$i++) { `$a[`$i] = ""item-`$i"" }; `$a"
        $compiled = [ordered]@{
            Sleep   = "@(0) * $n"
            Spin    = "@(0) * $n"
            IsPrime = "1..$n"
            Sha256  = $strings
            GZip    = $strings
            HttpGet = "@('$($BaseUri)?ms=0') * $($z.CompiledHttp)"
        }
        $plan.Compiled = @(foreach ($w in $compiled.Keys) {
                $warm = if ($w -eq 'HttpGet') { "@('$($BaseUri)?ms=0') * 50" } else { $compiled[$w].Replace("$n", "$($z.CompiledWarm)") }
                New-Row $w "-Workload $w" @{
                    Kind = 'compiled'; Workload = $w; Items = $compiled[$w]; WarmItems = $warm
                    DirectSample = $(if ($w -eq 'HttpGet') { 200 } else { $z.DirectSample })
                }
            })
    }
    if ('Journal' -in $Case) {
        $plan.Journal = @(New-Row 'Journal' "{ `$_ } x $($z.JournalItems) with -JournalPath / without" @{
                Kind = 'journal'; Items = "1..$($z.JournalItems)"; WarmItems = '1..5000'; Pairs = $z.JournalPairs
            })
    }
    if ('Memory' -in $Case) {
        $plan.Memory = @(New-Row 'Memory' '1..N | Invoke-ThreadBatch -Workload IsPrime | Out-Null' @{
                Kind = 'memory'; Count = $z.MemoryItems; WarmCount = 10000
            })
    }
    $plan
}

#endregion

#region Statistics and report

function Get-OkRuns($Row) { @($Row.Runs | Where-Object { $_.Ok }) }

function Get-RowStat($Row) {
    $ok = @(Get-OkRuns $Row)
    if (-not $ok) {
        $why = ($Row.Runs | Select-Object -First 1).Failure
        return [pscustomobject]@{ Ok = $false; Failure = $why; Seconds = [double]::NaN; PerItemUs = [double]::NaN; Items = 0 }
    }
    $seconds = Get-Median @($ok | ForEach-Object { [double]$_.Seconds })
    $items = [int]$ok[0].Items
    $failures = @($Row.Runs | Where-Object { -not $_.Ok })
    [pscustomobject]@{
        Ok = $true; Seconds = $seconds; Items = $items; PerItemUs = $seconds / $items * 1e6
        Min = ($ok | ForEach-Object { [double]$_.Seconds } | Measure-Object -Minimum).Minimum
        Max = ($ok | ForEach-Object { [double]$_.Seconds } | Measure-Object -Maximum).Maximum
        Cpu = Get-Median @($ok | ForEach-Object { [double]$_['CpuSeconds'] })
        Runs = $ok
        Failure = $(if ($failures) { "$($failures.Count) run(s) failed: $($failures[0].Failure)" })
    }
}

# Notes on a script row: errors, lost outputs, failed checks.
function Get-RowNote($Row, $Stat, [int] $Expected) {
    if (-not $Stat.Ok) { return "FAILED: $($Stat.Failure)" }
    $notes = @()
    $r = $Stat.Runs[0]
    if ($r.ContainsKey('Errors') -and $r.Errors) { $notes += "$($r.Errors) errors, e.g. '$($r.FirstError)'" }
    if ($Row.Spec.ExpectOutputs -and $r.ContainsKey('Outputs') -and $r.Outputs -ne $Stat.Items) { $notes += "$($r.Outputs) outputs for $($Stat.Items) items" }
    if ($r.ContainsKey('Check') -and $null -ne $r.Check -and $r.Check -ne $Expected) { $notes += "WRONG OUTPUT: $($r.Check) right answers, expected $Expected" }
    if ($Stat.Failure) { $notes += $Stat.Failure }
    $notes -join '; '
}

# Whether a row's runs produced what they should (no errors, right outputs): '' or the problem.
function Get-RowProblem($Row, [int] $Expected = -1) {
    $st = Get-RowStat $Row
    if (-not $st.Ok) { return 'failed' }
    $bad = @(foreach ($r in $st.Runs) {
            $exp = if ($Expected -ge 0) { $Expected } else { [int]$r.Items }
            if ($r.ContainsKey('Errors') -and $r.Errors) { "$($r.Errors) errors" }
            if ($r.ContainsKey('Check') -and $null -ne $r.Check -and $r.Check -ne $exp) { "wrong output ($($r.Check) right of $exp)" }
            if ($r.ContainsKey('Succeeded') -and $r.Succeeded -ne $r.Items) { "$($r.Succeeded) of $($r.Items) succeeded" }
        })
    ($bad | Select-Object -Unique) -join ', '
}

$script:DoneWhen = [System.Collections.Generic.List[object]]::new()
function Add-Target([string] $Target, [string] $Measured, [string] $Limit, $Pass, [string] $Problem) {
    $verdict = if ($null -eq $Pass) { 'n/a' } elseif ($Pass -and -not $Problem) { 'PASS' } else { 'FAIL' }
    if ($Problem) { $Measured += "; Invoke-ThreadBatch: $Problem" }
    $script:DoneWhen.Add([pscustomobject]@{ Target = $Target; Measured = $Measured; Limit = $Limit; Result = $verdict })
}

function Get-Row($Rows, [string] $Contender) { $Rows | Where-Object Contender -eq $Contender | Select-Object -First 1 }

# The faster of the two sequential forms (the stricter baseline): its row and stats.
function Get-BestSequential($Rows) {
    $best = $null
    foreach ($c in 'Sequential', 'SequentialDot') {
        $row = Get-Row $Rows $c
        if (-not $row) { continue }
        $st = Get-RowStat $row
        if (-not $st.Ok) { continue }
        if (-not $best -or $st.PerItemUs -lt $best.Stat.PerItemUs) { $best = [pscustomobject]@{ Row = $row; Stat = $st } }
    }
    if (-not $best) { $best = [pscustomobject]@{ Row = (Get-Row $Rows 'Sequential'); Stat = (Get-RowStat (Get-Row $Rows 'Sequential')) } }
    $best
}

# A markdown table of a script workload; $Ideal (seconds) adds a ratio-to-ideal column.
function Write-ScriptTable($Rows, [double] $Ideal = 0, [int] $Expected = -1) {
    $seq = (Get-BestSequential $Rows).Stat
    $itb = Get-RowStat (Get-Row $Rows 'ThreadBatch')
    $head = '| contender | items | median s | min-max s | per item µs | vs best sequential | vs Invoke-ThreadBatch |'
    $rule = '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
    if ($Ideal -gt 0) { $head += ' vs ideal |'; $rule += ' ---: |' }
    $head += ' CPU s | note |'; $rule += ' ---: | --- |'
    $head; $rule
    foreach ($row in $Rows) {
        $st = Get-RowStat $row
        $exp = if ($Expected -ge 0) { $Expected } else { $st.Items }
        $line = "| $($row.Label) | $(Format-Count $st.Items) | $(Format-Number $st.Seconds) | " +
        $(if ($st.Ok) { "$(Format-Number $st.Min)-$(Format-Number $st.Max)" } else { 'n/a' }) + ' | ' +
        "$(Format-Number $st.PerItemUs 1) | $(Format-Ratio ($st.PerItemUs / $seq.PerItemUs)) | $(Format-Ratio ($st.PerItemUs / $itb.PerItemUs)) |"
        if ($Ideal -gt 0) { $line += " $(Format-Ratio ($st.Seconds / $Ideal)) |" }
        $line += " $(if ($st.Ok) { Format-Number $st.Cpu } else { 'n/a' }) | $(Get-RowNote $row $st $exp) |"
        $line
    }
}

function Write-Report($Plan, [hashtable] $Calibration, [string] $StartLoad, [datetime] $Started, [string] $EndLoad, [double] $Minutes) {
    $z = $Size
    $sections = [System.Collections.Generic.List[string]]::new()
    $add = { param($text) foreach ($t in @($text)) { $sections.Add([string]$t) } }

    if ($Plan.Contains('Trivial')) {
        $rows = $Plan.Trivial
        $best = Get-BestSequential $rows; $seq = $best.Stat
        $itb = Get-RowStat (Get-Row $rows 'ThreadBatch'); $fep = Get-RowStat (Get-Row $rows 'ForEachParallel')
        $r1 = $itb.PerItemUs / $seq.PerItemUs
        Add-Target 'Trivial items: per-item cost vs sequential ForEach-Object (the faster form)' "$(Format-Number $itb.PerItemUs 1) µs vs $(Format-Number $seq.PerItemUs 1) µs (``$($best.Row.Label)``) = $(Format-Ratio $r1)" '<= 4x' $(if ([double]::IsNaN($r1)) { $null } else { $r1 -le 4 }) (Get-RowProblem (Get-Row $rows 'ThreadBatch'))
        $r2 = $fep.PerItemUs / $itb.PerItemUs
        Add-Target 'Trivial items: ForEach-Object -Parallel per-item cost / Invoke-ThreadBatch' "$(Format-Number $fep.PerItemUs 1) µs / $(Format-Number $itb.PerItemUs 1) µs = $(Format-Ratio $r2)" '>= 50x' $(if ([double]::IsNaN($r2)) { $null } else { $r2 -ge 50 }) (Get-RowProblem (Get-Row $rows 'ThreadBatch'))
        & $add @('', "## 1. Trivial items: ``{ `$_ }``", '', (Get-LoadNote 'Trivial'), '',
            "$(Format-Count $z.TrivialItems) items (ForEach-Object -Parallel $(Format-Count $z.TrivialFep), Start-ThreadJob $(Format-Count $z.TrivialJob): per-item cost compares the rows), default throttle.", '')
        & $add (Write-ScriptTable $rows)
    }
    if ($Plan.Contains('Cpu')) {
        $rows = $Plan.Cpu
        $best = Get-BestSequential $rows; $seq = $best.Stat
        $itb = Get-RowStat (Get-Row $rows 'ThreadBatch')
        $speedup = $seq.Seconds / $itb.Seconds
        Add-Target 'CPU script: speedup over sequential ForEach-Object (the faster form)' "$(Format-Number $seq.Seconds) s (``$($best.Row.Label)``) / $(Format-Number $itb.Seconds) s = $(Format-Ratio $speedup)" '>= 1.8x' $(if ([double]::IsNaN($speedup)) { $null } else { $speedup -ge 1.8 }) (Get-RowProblem (Get-Row $rows 'ThreadBatch'))
        & $add @('', '## 2. CPU script', '', (Get-LoadNote 'Cpu'), '',
            "$($z.CpuItems) items of ``$($CpuTemplate.Replace('@N@', "$($Calibration.Cpu.Iterations)"))``, calibrated once (in its own child, before the runs) to ~$CpuTargetSeconds s of CPU per item sequentially with each item in a child scope (``1 | ForEach-Object { & `$body }``; calibration: $(Format-Number $Calibration.Cpu.SecondsPerItem) CPU s per item; CPU time rather than wall time, so that other load on the machine does not shrink the items); default throttle of each contender (Invoke-ThreadBatch $([Math]::Min(32, [Environment]::ProcessorCount + 4)), ForEach-Object -Parallel 5, Start-ThreadJob 5). Speedup of Invoke-ThreadBatch over the faster sequential form: **$(Format-Ratio $speedup)**. The dot-sourced form is several times slower per item on this loop: that is script scope (dynamic versus local variable lookup), not parallelism; ForEach-Object -Parallel and Start-ThreadJob run their script in the runspace's global scope and pay the same.", '')
        & $add (Write-ScriptTable $rows)
    }
    if ($Plan.Contains('Alloc')) {
        $rows = $Plan.Alloc
        $seq = (Get-BestSequential $rows).Stat; $itb = Get-RowStat (Get-Row $rows 'ThreadBatch')
        & $add @('', '## 3. Allocation-heavy script', '', (Get-LoadNote 'Alloc'), '',
            "$($z.AllocItems) items, each building small hashtables, arrays, PSCustomObjects and strings in a loop of $($Calibration.Alloc.Iterations) iterations (calibrated like the CPU script to ~$AllocTargetSeconds CPU s sequentially: $(Format-Number $Calibration.Alloc.SecondsPerItem) s), default throttle. Speedup of Invoke-ThreadBatch over the faster sequential form: **$(Format-Ratio ($seq.Seconds / $itb.Seconds))** (no target: one shared GC heap).", '',
            '```powershell', $AllocTemplate.Replace('@N@', "$($Calibration.Alloc.Iterations)"), '```', '')
        & $add (Write-ScriptTable $rows)
    }
    if ($Plan.Contains('LongAlloc')) {
        $rows = $Plan.LongAlloc
        $seq = Get-RowStat (Get-Row $rows 'Sequential'); $itb = Get-RowStat (Get-Row $rows 'ThreadBatch'); $fep = Get-RowStat (Get-Row $rows 'ForEachParallel')
        & $add @('', '### A long allocation-heavy job', '', (Get-LoadNote 'LongAlloc'), '',
            "$(Format-Count $z.LongAllocItems) items of the same loop a ${LongAllocShare}th as long ($(Get-LongAllocIterations $Calibration) iterations, ~$(Format-Number ($Calibration.Alloc.SecondsPerItem / $LongAllocShare)) s each), default throttle, in one batch: a session that runs allocation-heavy script for a while. Its garbage piles up in the oldest generation, which .NET here leaves there, and every later collection pauses longer; Invoke-ThreadBatch compacts the heap while its items run (once the collector's pauses since its last compaction cost 4 times that compaction), sequential ForEach-Object and ForEach-Object -Parallel leave it to the runtime. Invoke-ThreadBatch: **$(Format-Ratio ($seq.Seconds / $itb.Seconds))** sequential, ForEach-Object -Parallel $(Format-Ratio ($seq.Seconds / $fep.Seconds)).", '')
        & $add (Write-ScriptTable $rows)
    }
    if ($Plan.Contains('Sleep')) {
        $rows = $Plan.Sleep
        $ideal = $z.SleepItems / $z.SleepThrottle * $z.SleepMs / 1000
        $expected = -1
        foreach ($c in 'ThreadBatch', 'ThreadBatchWorkload') {
            $st = Get-RowStat (Get-Row $rows $c)
            $r = $st.Seconds / $ideal
            $what = if ($c -eq 'ThreadBatch') { 'Start-Sleep 50 ms script' } else { '-Workload Sleep (extra)' }
            Add-Target "Sleep: $what, $($z.SleepItems) items at throttle $($z.SleepThrottle), wall time vs ideal $(Format-Number $ideal) s" "$(Format-Number $st.Seconds) s = $(Format-Ratio $r)" '<= 1.15x' $(if ([double]::IsNaN($r)) { $null } else { $r -le 1.15 }) (Get-RowProblem (Get-Row $rows $c) $expected)
        }
        & $add @('', '## 4. Start-Sleep 50 ms', '', (Get-LoadNote 'Sleep'), '',
            "$($z.SleepItems) items at throttle $($z.SleepThrottle) (sequential: no throttle); ideal = $($z.SleepItems) / $($z.SleepThrottle) x $($z.SleepMs) ms = $(Format-Number $ideal) s. The -Workload Sleep row sleeps the same $($z.SleepMs) ms per item in compiled code.", '')
        & $add (Write-ScriptTable $rows -Ideal $ideal)
    }
    if ($Plan.Contains('Http')) {
        $rows = $Plan.Http
        $ideal = $z.HttpItems / $z.HttpThrottle * $z.HttpMs / 1000
        $expected = $z.HttpItems
        foreach ($c in 'ThreadBatch', 'ThreadBatchWorkload') {
            $st = Get-RowStat (Get-Row $rows $c)
            $r = $st.Seconds / $ideal
            $what = if ($c -eq 'ThreadBatch') { 'Invoke-RestMethod script' } else { '-Workload HttpGet' }
            Add-Target "HTTP: $what, $($z.HttpItems) x $($z.HttpMs) ms at throttle $($z.HttpThrottle), wall time vs ideal $(Format-Number $ideal) s" "$(Format-Number $st.Seconds) s = $(Format-Ratio $r)" '<= 1.15x' $(if ([double]::IsNaN($r)) { $null } else { $r -le 1.15 }) (Get-RowProblem (Get-Row $rows $c) $expected)
        }
        & $add @('', '## 5. HTTP GET of a local 100 ms endpoint', '', (Get-LoadNote 'Http'), '',
            "$($z.HttpItems) GETs of ``http://127.0.0.1:<port>/?ms=$($z.HttpMs)`` (a System.Net.HttpListener in a separate pwsh, answering each request after $($z.HttpMs) ms, concurrently) at throttle $($z.HttpThrottle); scripts call ``Invoke-RestMethod -Uri `$_``. Ideal = $($z.HttpItems) / $($z.HttpThrottle) x $($z.HttpMs) ms = $(Format-Number $ideal) s.", '')
        & $add (Write-ScriptTable $rows -Ideal $ideal -Expected $z.HttpItems)
    }
    if ($Plan.Contains('Primes')) {
        $rows = $Plan.Primes
        & $add @('', "## 6. The seed's primes", '', (Get-LoadNote 'Primes'), '',
            '10000019, 10000079, 10000103, 10000129, default throttle; the seed calls them primes, but 10000129 = 89 x 112361, so 3 of the 4 answers are `$true` (checked for every row). The script version is trial division by the odd numbers up to the square root (Example 3 of the help); four items of about 1,600 divisions each, so these times are mostly start-up of the batch, not computation.', '')
        & $add (Write-ScriptTable $rows -Expected 3)
    }
    if ($Plan.Contains('Compiled')) {
        & $add @('', '## 7. Compiled built-ins on many small items', '', (Get-LoadNote 'Compiled'), '',
            "Each built-in on $(Format-Count $z.CompiledItems) small items (Sleep 0 ms, Spin 0 ms, IsPrime of 1..N, Sha256 and GZip of strings 'item-<i>', HttpGet: $(Format-Count $z.CompiledHttp) GETs of the local endpoint with no delay), default throttle, piped from an array: ``` `$items | Invoke-ThreadBatch -Workload <name> | Out-Null ```. Engine cost per item = (batch - ``1..N | Out-Null`` - the same work at the batch's throttle without the engine) / N, all three measured in the same process: the pipeline's own cost is the issue's baseline, and the work itself (a SHA-256, a compression, a GET) is not the engine's cost. The work alone is the workload called by .NET's own parallel loop (``Parallel.For``; ``Parallel.ForEachAsync`` for the asynchronous HttpGet) at the batch's throttle on the same items; the 1-thread column is the same work in a plain loop (sample of up to $(Format-Count $z.DirectSample) items; HttpGet 200), and 'batch - pipeline' is the cost with the work counted in (the stricter reading; for Sleep, Spin and IsPrime of 0 ms and small numbers the two agree). PowerShell compiles ``<expression> | Out-Null`` to a discard, so that baseline is close to zero; the pass-through column is a compiled cmdlet that only writes each piped item on (``ProcessRecord => WriteObject(InputObject)``): PowerShell's own cost of feeding a compiled cmdlet and taking its output.", '',
            '| workload | items | batch s (median) | min-max s | `1..N \| Out-Null` s | pass-through s | work per item µs (1 thread) | work alone at the throttle s | batch - pipeline per item µs | **engine cost per item µs** | over pass-through µs | note |',
            '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
        foreach ($row in $Plan.Compiled) {
            $st = Get-RowStat $row
            if (-not $st.Ok) {
                Add-Target "Compiled -Workload $($row.Contender): engine cost per item" 'failed' '<= 5 µs' $null
                & $add "| $($row.Contender) | | | | | | | | | n/a | | FAILED: $($st.Failure) |"
                continue
            }
            $pipe = Get-Median @($st.Runs | ForEach-Object { [double]$_.PipelineSeconds })
            $pass = Get-Median @($st.Runs | ForEach-Object { [double]$_.PassThroughSeconds })
            $work = Get-Median @($st.Runs | ForEach-Object { [double]$_.DirectSeconds / [double]$_.DirectItems * 1e6 })
            $parallelWork = Get-Median @($st.Runs | ForEach-Object { [double]$_.ParallelWorkSeconds })
            $gross = ($st.Seconds - $pipe) / $st.Items * 1e6
            # Paired within each run (same process, same moment's load), then the median.
            $engine = Get-Median @($st.Runs | ForEach-Object { ([double]$_.Seconds - [double]$_.PipelineSeconds - [double]$_.ParallelWorkSeconds) / [double]$_.Items * 1e6 })
            $overPass = ($st.Seconds - $pass) / $st.Items * 1e6
            $r = $st.Runs[0]
            $notes = @()
            if ($r.Succeeded -ne $st.Items) { $notes += "summary: $($r.Succeeded) succeeded, $($r.Failed) failed of $($r.Total)" }
            if ($r.Errors) { $notes += "$($r.Errors) errors, e.g. '$($r.FirstError)'" }
            if ($st.Failure) { $notes += $st.Failure }
            $notes += "throttle $($r.ThrottleLimit), CPU $(Format-Number $st.Cpu) s"
            Add-Target "Compiled -Workload $($row.Contender) on $(Format-Count $st.Items) items: engine cost per item" "$(Format-Number $engine 2) µs (batch $(Format-Number $st.Seconds) s - work alone at throttle $($r.ThrottleLimit) $(Format-Number $parallelWork) s; with the work counted in: $(Format-Number $gross 2) µs)" '<= 5 µs' ($engine -le 5) (Get-RowProblem $row)
            & $add ("| $($row.Contender) | $(Format-Count $st.Items) | $(Format-Number $st.Seconds) | $(Format-Number $st.Min)-$(Format-Number $st.Max) | $(Format-Number $pipe) | $(Format-Number $pass) | " +
                "$(Format-Number $work 2) | $(Format-Number $parallelWork) | $(Format-Number $gross 2) | **$(Format-Number $engine 2)** | $(Format-Number $overPass 2) | $($notes -join '; ') |")
        }
    }
    if ($Plan.Contains('Memory')) {
        $row = $Plan.Memory[0]
        $st = Get-RowStat $row
        & $add @('', '## 8. Memory: a million piped items', '', (Get-LoadNote 'Memory'), '',
            "``1..$($z.MemoryItems) | Invoke-ThreadBatch -Workload IsPrime | Out-Null`` after a 10,000-item warm-up. Growth = the larger of (highest working set sampled every 50 ms by a timer during the batch - working set before) and (PeakWorkingSet64 after - before; the process peak, which only moves when the batch exceeds every earlier peak).", '',
            '| repetition | seconds | working set before MB | max sampled MB | peak before MB | peak after MB | GC heap before MB | max GC heap MB | growth MB | samples | succeeded |',
            '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
        $growths = @()
        $i = 0
        foreach ($run in $row.Runs) {
            $i++
            if (-not $run.Ok) { & $add "| $i | FAILED: $($run.Failure) | | | | | | | | | |"; continue }
            $g = [Math]::Max($run.MaxWorkingSetMB - $run.WorkingSetBeforeMB, $run.PeakWorkingSetAfterMB - $run.PeakWorkingSetBeforeMB)
            $growths += $g
            & $add ("| $i | $(Format-Number $run.Seconds) | $(Format-Number $run.WorkingSetBeforeMB 1) | $(Format-Number $run.MaxWorkingSetMB 1) | $(Format-Number $run.PeakWorkingSetBeforeMB 1) | " +
                "$(Format-Number $run.PeakWorkingSetAfterMB 1) | $(Format-Number $run.GcHeapBeforeMB 1) | $(Format-Number $run.MaxGcHeapMB 1) | $(Format-Number $g 1) | $($run.Samples) | $($run.Succeeded) of $($run.Total) |")
        }
        if ($growths) {
            $median = Get-Median $growths
            $max = ($growths | Measure-Object -Maximum).Maximum
            & $add @('', "Median growth **$(Format-Number $median 1) MB**, largest $(Format-Number $max 1) MB.")
            Add-Target "$(Format-Count $z.MemoryItems) piped items: working set growth" "median $(Format-Number $median 1) MB (largest $(Format-Number $max 1) MB)" '<= 100 MB' ($median -le 100)
        }
        else { Add-Target "$(Format-Count $z.MemoryItems) piped items: working set growth" 'failed' '<= 100 MB' $null }
    }
    if ($Plan.Contains('Journal')) {
        $row = $Plan.Journal[0]
        & $add @('', '## 9. The journal on trivial items', '', (Get-LoadNote 'Journal'), '',
            "``$(Format-Count $z.JournalItems) items | Invoke-ThreadBatch { `$_ } -JournalPath <file>`` against the same without a journal, default throttle, in pairs in one process (the order alternating from pair to pair, so that both halves of a pair see the same moment's load), $($z.JournalPairs) pairs per repetition; ratio = the median of the pairs' ratios. The journal gets one JSON line per item; the pump writes the queued lines as one write at most every 2 ms before it emits their items.", '',
            '| repetition | without s (median) | with journal s (median) | ratio (median of pairs) | pairs | journal lines | note |',
            '| ---: | ---: | ---: | ---: | --- | ---: | --- |')
        $ratios = @()
        $i = 0
        foreach ($run in $row.Runs) {
            $i++
            if (-not $run.Ok) { & $add "| $i | | | | | | FAILED: $($run.Failure) |"; continue }
            $ratios += [double]$run.Ratio
            $note = @()
            if ($run.Errors) { $note += "$($run.Errors) errors, e.g. '$($run.FirstError)'" }
            if ($run.Succeeded -ne $run.Items) { $note += "$($run.Succeeded) of $($run.Items) succeeded" }
            if ($run.JournalLines -ne $run.Items) { $note += "$($run.JournalLines) journal lines for $($run.Items) items" }
            & $add "| $i | $(Format-Number $run.PlainSeconds) | $(Format-Number $run.Seconds) | $(Format-Ratio $run.Ratio) | $((@($run.Ratios) | ForEach-Object { Format-Ratio $_ }) -join ', ') | $(Format-Count $run.JournalLines) | $($note -join '; ') |"
        }
        if ($ratios) {
            $median = Get-Median $ratios
            Add-Target "Journal: $(Format-Count $z.JournalItems) trivial items with -JournalPath / without" "$(Format-Ratio $median)" '<= 1.10x' ($median -le 1.10) (Get-RowProblem $row)
        }
        else { Add-Target "Journal: $(Format-Count $z.JournalItems) trivial items with -JournalPath / without" 'failed' '<= 1.10x' $null }
    }

    $header = @(
        '# Invoke-ThreadBatch benchmark', ''
        "Written by ``bench/ThreadBatch.ps1`` ($(if ($Quick) { '-Quick: smoke test, 1 repetition, smaller counts' } elseif ($Partial) { "partial run: $($Case -join ', ')" } else { 'full run' }))."
        '', '| | |', '| --- | --- |'
        "| date | $($Started.ToString('yyyy-MM-dd HH:mm', [cultureinfo]::InvariantCulture)) (run took $(Format-Number $Minutes 1) min) |"
        "| PowerShell | $($PSVersionTable.PSVersion) ($($PSVersionTable.OS)) |"
        "| .NET | $([Runtime.InteropServices.RuntimeInformation]::FrameworkDescription) |"
        "| cores | $([Environment]::ProcessorCount) |"
        "| load average (1/5/15 min) at start, end | $StartLoad; $EndLoad |"
        "| repetitions | $Repetitions per contender, medians reported |"
        '', (Get-StartNote $StartLoad)
        '', 'Each (workload, contender) runs in a fresh `pwsh -NoProfile`; the time is measured inside it around the batch only (module import, item generation and a short warm-up of the same contender on a few items are excluded). Sequential `ForEach-Object` runs in two forms: `$items | ForEach-Object { & $body }` (each item in its own child scope, as Invoke-ThreadBatch runs its items) and `& { $items | ForEach-Object $body }` (the body dot-sourced into one child scope; slower for script loops, faster for trivial bodies); "vs best sequential" and the targets use whichever is faster in that workload (the stricter baseline). Sleep and HTTP rows use the first form only. `Start-ThreadJob` gets one job per item (the item is made `$_`), then `Receive-Job -Wait`. Progress is silenced in every child. "per item µs" is median seconds / items, so rows with different item counts compare; the ratio columns compare per-item cost. The machine is shared and noisy: see min-max.'
        '', '## Done when (issue 3)', ''
        '| target | measured | limit | result |', '| --- | --- | --- | --- |'
    )
    foreach ($t in $script:DoneWhen) { $header += "| $($t.Target) | $($t.Measured) | $($t.Limit) | **$($t.Result)** |" }
    ($header + $sections) -join "`n"
}

# A run is judged by the load when it started: the later loads count its own threads and processes
# (Start-Job alone starts one pwsh per item). Under 1 is quiet, as the benchmarking rule asks.
function Get-StartNote([string] $StartLoad) {
    $first = if ($StartLoad -and $StartLoad -ne 'n/a') { [double]($StartLoad -split ' ')[0] } else { [double]::NaN }
    if ($first -lt 1) { return '_The machine was quiet when the run started (1-minute load average under 1); the loads at the end and per workload count this run''s own threads and processes._' }
    if ($first -ge 1.5 * [Environment]::ProcessorCount) { return '> **The machine was busy when this run started** (1-minute load average at or above 1.5x the core count): other processes took CPU, so absolute times are inflated and parallel contenders can get a larger share of the contended cores than a sequential one; this report is a draft.' }
    '> **This run started at a 1-minute load average of 1 or more**: something else was running, so this report is a draft, not a figure.'
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
                $row = [pscustomobject]@{ Contender = $r.Contender; Label = $r.Label; Spec = $r.Spec; Runs = [System.Collections.Generic.List[hashtable]]::new() }
                foreach ($run in $r.Runs) { $row.Runs.Add($run) }
                $row
            })
    }
    $Case = @($plan.Keys)
    $script:CaseLoad = if ($raw.ContainsKey('CaseLoad')) { $raw.CaseLoad } else { @{} }
    $Partial = $Quick -or $Case.Count -lt $AllCases.Count
    $report = Write-Report $plan $raw.Calibration $raw.StartLoad ([datetime]::Parse($raw.Started, [cultureinfo]::InvariantCulture)) $raw.EndLoad ([double]$raw.Minutes)
    Set-Content -LiteralPath $OutFile -Value $report -Encoding utf8NoBOM
    Write-Host "Results: $((Resolve-Path -LiteralPath $OutFile).ProviderPath)"
    return
}

if ($WaitForQuietMinutes -gt 0 -and (Test-Path -LiteralPath '/proc/loadavg')) {
    $deadline = (Get-Date).AddMinutes($WaitForQuietMinutes)
    while ([double]((Get-LoadAverage) -split ' ')[0] -ge [Environment]::ProcessorCount -and (Get-Date) -lt $deadline) {
        Write-Host "Waiting for a quiet machine (load average $(Get-LoadAverage))..."
        Start-Sleep -Seconds 20
    }
}
$started = Get-Date
$startLoad = Get-LoadAverage
if ($startLoad -ne 'n/a' -and [double]($startLoad -split ' ')[0] -ge [Environment]::ProcessorCount) {
    Write-Warning "The machine is busy (load average $startLoad on $([Environment]::ProcessorCount) cores): times and speedups will be distorted."
}
$clockAll = [Diagnostics.Stopwatch]::StartNew()
Write-Host "Invoke-ThreadBatch benchmark: $($Case -join ', '); $Repetitions repetition(s)$(if ($Quick) { ', quick' })"

# A private copy of the module, so that a rebuild of out/PSParallel during the run cannot mix builds.
$copyRoot = Join-Path ([IO.Path]::GetTempPath()) ("psparallel-bench-" + [guid]::NewGuid().ToString('N'))
$moduleDir = Split-Path -Parent (Resolve-Path -LiteralPath $ModulePath).ProviderPath
$null = New-Item -ItemType Directory -Path $copyRoot
Copy-Item -LiteralPath $moduleDir -Destination (Join-Path $copyRoot 'PSParallel') -Recurse
$script:ModuleCopy = Join-Path $copyRoot (Join-Path 'PSParallel' (Split-Path -Leaf $ModulePath))

$server = $null
$script:CaseLoad = [ordered]@{}
try {
    $calibration = @{ Cpu = @{ Iterations = 0; SecondsPerItem = 0 }; Alloc = @{ Iterations = 0; SecondsPerItem = 0 } }
    if ('Cpu' -in $Case -or 'Alloc' -in $Case -or 'LongAlloc' -in $Case) {
        Write-Host 'Calibrating the CPU and allocation scripts...'
        $c = Invoke-Child @{ Kind = 'calibrate'; CpuTemplate = $CpuTemplate; AllocTemplate = $AllocTemplate; CpuSeconds = $CpuTargetSeconds; AllocSeconds = $AllocTargetSeconds }
        if (-not $c.Ok) { throw "Calibration failed: $($c.Failure)" }
        $calibration = $c
        Write-Host ("  CPU loop: {0} iterations ({1:F3} s); allocation loop: {2} iterations ({3:F3} s)" -f $c.Cpu.Iterations, $c.Cpu.SecondsPerItem, $c.Alloc.Iterations, $c.Alloc.SecondsPerItem)
    }
    $baseUri = 'http://127.0.0.1:1/'
    if ('Http' -in $Case -or 'Compiled' -in $Case) {
        $server = Start-HttpServer
        $baseUri = $server.BaseUri
        Write-Host "Local endpoint on 127.0.0.1, port $(([uri]$baseUri).Port)"
    }

    $plan = Get-Plan $calibration $baseUri
    foreach ($name in $plan.Keys) {
        $script:CaseLoad[$name] = Get-LoadAverage
        for ($rep = 1; $rep -le $Repetitions; $rep++) {
            foreach ($row in $plan[$name]) {
                $result = Invoke-Child $row.Spec
                $row.Runs.Add($result)
                $shown = if ($result.Ok) { '{0,8:F3} s' -f [double]$result.Seconds } else { "FAILED: $($result.Failure)" }
                Write-Host ("[{0,-8} {1}/{2}] {3,-42} {4}" -f $name, $rep, $Repetitions, $row.Label, $shown)
            }
        }
    }
}
finally {
    Stop-HttpServer $server
    Remove-Item -LiteralPath $copyRoot -Recurse -Force -ErrorAction SilentlyContinue
}

# The raw measurements first, so that a failure of the report does not lose the run.
$rawFile = Join-Path $PSScriptRoot '../out/bench/ThreadBatch.raw.json'
$null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $rawFile)
$endLoad = Get-LoadAverage
$minutes = $clockAll.Elapsed.TotalMinutes
@{
    Size = $Size; Calibration = $calibration; Quick = [bool]$Quick; Repetitions = $Repetitions
    CaseLoad = $script:CaseLoad
    Started = $started.ToString('o', [cultureinfo]::InvariantCulture); StartLoad = $startLoad; EndLoad = $endLoad; Minutes = $minutes
    Plan = @(foreach ($k in $plan.Keys) { @{ Case = $k; Rows = @($plan[$k] | Select-Object Contender, Label, Spec, Runs) } }) } |
    ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $rawFile -Encoding utf8NoBOM

$report = Write-Report $plan $calibration $startLoad $started $endLoad $minutes
$dir = Split-Path -Parent $OutFile
if ($dir -and -not (Test-Path -LiteralPath $dir)) { $null = New-Item -ItemType Directory -Path $dir -Force }
Set-Content -LiteralPath $OutFile -Value $report -Encoding utf8NoBOM
Write-Host ''
foreach ($t in $script:DoneWhen) { Write-Host ("{0,-4}  {1}: {2} (limit {3})" -f $t.Result, $t.Target, $t.Measured, $t.Limit) }
Write-Host "Results: $((Resolve-Path -LiteralPath $OutFile).ProviderPath) ($(Format-Number $clockAll.Elapsed.TotalMinutes 1) min)"

#endregion
