<#
What the benchmark children (_ThreadBatchChild.ps1, _processChild.ps1, _DecisionChild.ps1) have in
common: strict settings, reading the spec the parent passes (base64 JSON), writing the one result
line the parent reads ('##RESULT## {json}', see Read-ResultLine in _BenchCommon.ps1), and
calibrating a script template to a CPU time per item, and running the kind of work the spec names.
Dot-source it right after the child's param block. Not a benchmark: the leading '_' keeps
build.ps1 Bench from running it.
#>

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Read-Spec([string] $Encoded) {
    [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Encoded)) | ConvertFrom-Json -AsHashtable
}

function Write-Result([hashtable] $Result) {
    '##RESULT## ' + ($Result | ConvertTo-Json -Compress -Depth 6)
}

function Get-OwnCpuSeconds { [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds }

# Waits until this process uses under 5% of a core over a quarter of a second (at most MaxSeconds)
# and returns the seconds waited. A fresh pwsh's runtime goes on compiling what its start-up and a
# warm-up ran, in the background (tiered JIT), for seconds after they return: measured here, 0.6 CPU s
# in the 2 s after a warm pool's start and warm-up batch. A timed batch that keeps both cores busy
# would pay that as its own, so timed runs start from a quiet caller, as the warm floor's two pwsh
# start 4 s after their launch.
function Wait-OwnCpuQuiet([double] $MaxSeconds = 5) {
    $waited = [Diagnostics.Stopwatch]::StartNew()
    $before = Get-OwnCpuSeconds
    while ($waited.Elapsed.TotalSeconds -lt $MaxSeconds) {
        Start-Sleep -Milliseconds 250
        $now = Get-OwnCpuSeconds
        if ($now - $before -lt 0.0125) { break }
        $before = $now
    }
    $waited.Elapsed.TotalSeconds
}

# Iterations of a template ('@N@' = iterations) that make one item take about TargetSeconds when run
# sequentially in a child scope (ForEach-Object { & $body }, as the Sequential contender and the
# batches run items). Measured in CPU time of this process, not wall time, so that a busy machine
# (other processes taking the cores) does not shrink the items: on an idle core the two are the same.
function Find-Iterations([string] $Template, [double] $TargetSeconds) {
    $k = 50000
    $perIteration = 0
    for ($round = 0; $round -lt 6; $round++) {
        $sb = [scriptblock]::Create($Template.Replace('@N@', "$k"))
        $null = 1 | ForEach-Object { & $sb }
        $times = foreach ($i in 1..3) {
            $cpu0 = Get-OwnCpuSeconds
            $null = 1 | ForEach-Object { & $sb }
            (Get-OwnCpuSeconds) - $cpu0
        }
        $t = ($times | Sort-Object)[1]
        $perIteration = $t / $k
        if ([Math]::Abs($t - $TargetSeconds) / $TargetSeconds -lt 0.08) { break }
        $k = [int][Math]::Max(1000, $TargetSeconds / $perIteration)
    }
    # The estimate for the chosen count (the last measurement when it was close enough).
    @{ Iterations = $k; SecondsPerItem = $perIteration * $k }
}

# The 'calibrate' kind: iteration counts of the CPU and allocation templates for their target CPU seconds.
function Invoke-CalibrateKind {
    @{
        Cpu = Find-Iterations $S.CpuTemplate ([double]$S.CpuSeconds)
        Alloc = Find-Iterations $S.AllocTemplate ([double]$S.AllocSeconds)
    }
}

# Imports the module, runs the handler of the spec's kind and writes its result (Ok, PSVersion
# added), or a failure; exits 1 on failure.
function Invoke-ChildKind([string] $ModulePath, [string] $Kind, [hashtable] $Handlers) {
    try {
        Import-Module $ModulePath
        if (-not $Handlers.ContainsKey($Kind)) { throw "Unknown kind '$Kind'." }
        $result = & $Handlers[$Kind]
        $result.Ok = $true
        $result.PSVersion = "$($PSVersionTable.PSVersion)"
        Write-Result $result
    }
    catch {
        # No paths in the message: it ends up in the committed report.
        Write-Result @{ Ok = $false; Failure = "$_ (line $($_.InvocationInfo.ScriptLineNumber) of $([IO.Path]::GetFileName($_.InvocationInfo.ScriptName)))" }
        exit 1
    }
}
