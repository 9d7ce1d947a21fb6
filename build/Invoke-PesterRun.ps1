<#
.SYNOPSIS
Runs Pester on the given test files; started by build.ps1 Test in a clean child pwsh.
Writes Pester's normal console output, an NUnit XML report, and a JSON summary of the counts.
Exit code: 0 when every test passed, 1 otherwise.
#>
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $SummaryPath,
    [Parameter(Mandatory)] [string] $ResultPath,
    # Test files, separated by the platform's path separator (':' or ';').
    [Parameter(Mandatory)] [string] $Path
)

$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force

$configuration = New-PesterConfiguration
$configuration.Run.Path = @($Path -split [regex]::Escape([IO.Path]::PathSeparator) | Where-Object { $_ })
$configuration.Run.PassThru = $true
$configuration.Run.Exit = $false
$configuration.Output.Verbosity = 'Normal'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'NUnitXml'
$configuration.TestResult.OutputPath = $ResultPath

$ErrorActionPreference = 'Continue'
$result = Invoke-Pester -Configuration $configuration
if ($null -eq $result) {
    Write-Host 'Invoke-PesterRun: Pester returned no result.'
    exit 2
}

# A file that failed to load is a failure too, and so is a block whose BeforeAll/AfterAll failed
# (unless its failure is already counted through its tests, as Pester does for BeforeAll).
function Test-HasFailedTest($Block) {
    if (@($Block.Tests | Where-Object { $_.Result -eq 'Failed' }).Count -gt 0) { return $true }
    foreach ($child in $Block.Blocks) { if (Test-HasFailedTest $child) { return $true } }
    $false
}
$failedBlocks = @($result.FailedBlocks | Where-Object { -not (Test-HasFailedTest $_) }).Count
$failed = [int]$result.FailedCount + $failedBlocks + [int]$result.FailedContainersCount
$summary = [ordered]@{
    Passed           = [int]$result.PassedCount
    Failed           = $failed
    FailedTests      = [int]$result.FailedCount
    FailedBlocks     = $failedBlocks
    FailedContainers = [int]$result.FailedContainersCount
    Skipped          = [int]$result.SkippedCount
    NotRun           = [int]$result.NotRunCount
    Total            = [int]$result.TotalCount
    Result           = [string]$result.Result
}
$summary | ConvertTo-Json | Set-Content -LiteralPath $SummaryPath -Encoding utf8NoBOM
exit $(if ($failed -gt 0) { 1 } else { 0 })
