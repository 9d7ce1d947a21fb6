<#
What the benchmark children (_ThreadBatchChild.ps1, _processChild.ps1, _DecisionChild.ps1) have in
common: strict settings, reading the spec the parent passes (base64 JSON), writing the one result
line the parent reads ('##RESULT## {json}', see Read-ResultLine in _BenchCommon.ps1), and
calibrating a script template to a CPU time per item.
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
