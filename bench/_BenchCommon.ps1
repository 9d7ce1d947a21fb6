<#
.SYNOPSIS
Helpers shared by the benchmarks in bench/: starting a fresh pwsh child, timing it, reading its
'##RESULT## <json>' line, the local HTTP endpoint, a private copy of the module, medians, number
formatting, the load average and keeping machine paths out of committed reports.

.DESCRIPTION
Dot-source it from a benchmark script ('. (Join-Path $PSScriptRoot _BenchCommon.ps1)'). The leading
'_' keeps build.ps1 Bench from running it. A script that needs a helper to behave differently defines its own after
dot-sourcing this file (ThreadBatch.ps1 and ProcessBatch.ps1 keep a few such variants).
#>

# The command line that starts a fresh pwsh of this installation: the pwsh executable when it can
# be run, else 'dotnet pwsh.dll' (under the dotnet tool the process is dotnet, not pwsh).
function Get-PwshCommand {
    $exe = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
    if (Test-Path -LiteralPath $exe -PathType Leaf) {
        $runnable = $IsWindows -or ((Get-Item -LiteralPath $exe).UnixFileMode -band [System.IO.UnixFileMode]::UserExecute)
        if ($runnable) { return , @($exe) }
    }
    $dotnet = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($dotnet) -ne 'dotnet') { $dotnet = 'dotnet' }
    , @($dotnet, (Join-Path $PSHOME 'pwsh.dll'))
}

function New-StartInfo([string[]] $Command, [string[]] $ArgumentList) {
    $psi = [System.Diagnostics.ProcessStartInfo]::new($Command[0])
    foreach ($a in @($Command | Select-Object -Skip 1) + $ArgumentList) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.WorkingDirectory = $PSScriptRoot
    # The pwsh apphost finds the runtime through DOTNET_ROOT when dotnet is not installed globally.
    $processPath = [Environment]::ProcessPath
    if (-not $env:DOTNET_ROOT -and [IO.Path]::GetFileNameWithoutExtension($processPath) -eq 'dotnet') {
        $psi.Environment['DOTNET_ROOT'] = Split-Path -Parent $processPath
    }
    $psi
}

# Runs a process, or several copies of it started at once, to its end; the wall time is taken from
# just before the first start to the last exit.
function Invoke-Timed([string[]] $Command, [string[]] $ArgumentList, [double] $TimeoutSeconds = 300, [int] $Copies = 1) {
    $infos = @(1..$Copies | ForEach-Object { New-StartInfo $Command $ArgumentList })
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $runs = @(foreach ($psi in $infos) {
            $process = [System.Diagnostics.Process]::Start($psi)
            @{ Process = $process; Stdout = $process.StandardOutput.ReadToEndAsync(); Stderr = $process.StandardError.ReadToEndAsync() }
        })
    try {
        foreach ($run in $runs) {
            $left = [Math]::Max(0, $TimeoutSeconds * 1000 - $clock.ElapsedMilliseconds)
            if (-not $run.Process.WaitForExit([int]$left)) {
                foreach ($r in $runs) { if (-not $r.Process.HasExited) { $r.Process.Kill($true) }; $r.Process.WaitForExit() }
                return @{ TimedOut = $true; TimeoutSeconds = $TimeoutSeconds; Seconds = $clock.Elapsed.TotalSeconds; ExitCode = -1; Stdout = ''; Stderr = '' }
            }
            $run.Process.WaitForExit()
        }
        $seconds = $clock.Elapsed.TotalSeconds
        $failed = @($runs | Where-Object { $_.Process.ExitCode -ne 0 })
        @{
            TimedOut = $false; Seconds = $seconds; ExitCode = $(if ($failed) { $failed[0].Process.ExitCode } else { 0 })
            Stdout = -join @($runs | ForEach-Object { $_.Stdout.Result }); Stderr = -join @($runs | ForEach-Object { $_.Stderr.Result })
        }
    }
    finally { foreach ($r in $runs) { $r.Process.Dispose() } }
}

# The child's '##RESULT## <json>' line as a hashtable (Ok = $false with a Failure when there is none).
function Read-ResultLine($Run) {
    if ($Run.TimedOut) { return @{ Ok = $false; Failure = "killed after $($Run.TimeoutSeconds) s" } }
    $line = $Run.Stdout -split "`r?`n" | Where-Object { $_.StartsWith('##RESULT## ') } | Select-Object -Last 1
    if (-not $line) {
        $tail = (($Run.Stderr + $Run.Stdout) -split "`r?`n" | Where-Object { $_ } | Select-Object -Last 3) -join ' | '
        return @{ Ok = $false; Failure = "exit code $($Run.ExitCode), no result: $tail" }
    }
    $r = $line.Substring(11) | ConvertFrom-Json -AsHashtable
    $r.OuterSeconds = $Run.Seconds
    $r
}

# Runs a child script in a fresh 'pwsh -NoProfile -NonInteractive' with a spec (passed as base64 JSON).
function Invoke-PwshChild([string] $Script, [string] $ModulePath, [hashtable] $Spec, [double] $TimeoutSeconds = 300) {
    $json = $Spec | ConvertTo-Json -Compress -Depth 6
    $encoded = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
    $run = Invoke-Timed (Get-PwshCommand) @('-NoProfile', '-NonInteractive', '-File', $Script, '-ModulePath', $ModulePath, '-Spec', $encoded) $TimeoutSeconds
    Read-ResultLine $run
}

# The local endpoint of bench/_HttpServer.ps1: answers '?ms=N' after N milliseconds.
function Start-HttpServer {
    $psi = New-StartInfo (Get-PwshCommand) @('-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot '_HttpServer.ps1'))
    $psi.RedirectStandardInput = $true
    $process = [System.Diagnostics.Process]::Start($psi)
    $read = $process.StandardOutput.ReadLineAsync()
    while ($true) {
        if (-not $read.Wait(60000)) { $process.Kill($true); throw 'The HTTP endpoint did not start within 60 s.' }
        $line = $read.Result
        if ($null -eq $line) { throw "The HTTP endpoint exited: $($process.StandardError.ReadToEnd())" }
        if ($line -match '^##PORT## (\d+)') { break }
        $read = $process.StandardOutput.ReadLineAsync()
    }
    [pscustomobject]@{ Process = $process; BaseUri = "http://127.0.0.1:$($Matches[1])/" }
}

function Stop-HttpServer($Server) {
    if (-not $Server) { return }
    try { $Server.Process.StandardInput.Close() } catch { }
    if (-not $Server.Process.WaitForExit(10000)) { $Server.Process.Kill($true); $Server.Process.WaitForExit() }
    $Server.Process.Dispose()
}

# A private copy of the module folder in a temporary folder (a rebuild of out/PSParallel during a run
# cannot mix two builds). Returns the copy's manifest path and the folder to remove afterwards.
function New-ModuleCopy([string] $ModulePath, [string] $Prefix = 'psparallel-bench-') {
    $root = Join-Path ([IO.Path]::GetTempPath()) ($Prefix + [guid]::NewGuid().ToString('N'))
    $moduleDir = Split-Path -Parent (Resolve-Path -LiteralPath $ModulePath).ProviderPath
    $null = New-Item -ItemType Directory -Path $root
    Copy-Item -LiteralPath $moduleDir -Destination (Join-Path $root 'PSParallel') -Recurse
    [pscustomobject]@{ Root = $root; Manifest = Join-Path $root (Join-Path 'PSParallel' (Split-Path -Leaf $ModulePath)) }
}

function Get-Median([double[]] $Values) {
    if (-not $Values) { return [double]::NaN }
    $sorted = [double[]]($Values | Sort-Object)
    $m = [int][Math]::Floor($sorted.Count / 2)
    if ($sorted.Count % 2) { $sorted[$m] } else { ($sorted[$m - 1] + $sorted[$m]) / 2 }
}

function Format-Number([double] $Value, [int] $Digits = 3) {
    if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { return 'n/a' }
    $abs = [Math]::Abs($Value)
    if ($abs -ge 1000) { return $Value.ToString('N0', [cultureinfo]::InvariantCulture) }
    if ($abs -ge 100) { return $Value.ToString('F0', [cultureinfo]::InvariantCulture) }
    if ($abs -ge 10) { return $Value.ToString('F1', [cultureinfo]::InvariantCulture) }
    $Value.ToString("F$Digits", [cultureinfo]::InvariantCulture)
}

function Format-Count([double] $Value) {
    if ([double]::IsNaN($Value)) { return 'n/a' }
    $Value.ToString('N0', [cultureinfo]::InvariantCulture)
}

function Format-Ratio([double] $Value) {
    if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { return 'n/a' }
    (Format-Number $Value 2) + 'x'
}

# '1 5 15' minute load averages, or 'n/a' where there is no /proc/loadavg.
function Get-LoadAverage {
    if (Test-Path -LiteralPath '/proc/loadavg') { ((Get-Content -LiteralPath '/proc/loadavg' -Raw) -split ' ')[0..2] -join ' ' } else { 'n/a' }
}


# Machine paths out of the report (it is committed): the repository, temporary module copies,
# $PSHOME and the home folder, wherever an error message quoted them.
function Hide-Path([string] $Text) {
    if (-not $Text) { return $Text }
    $repo = [IO.Path]::GetFullPath((Join-Path $PSScriptRoot '..')).TrimEnd('/', '\')
    $Text = $Text.Replace($repo + [IO.Path]::DirectorySeparatorChar, '').Replace($repo, '.')
    $Text = $Text -replace '[^\s''"`(]*psparallel-[a-z]*bench-[0-9a-f]{32}', '<temp>'
    $Text = $Text.Replace($PSHOME.TrimEnd('/', '\'), '$PSHOME')
    $homeDir = [Environment]::GetFolderPath('UserProfile')
    if ($homeDir -and $homeDir.Length -gt 1) { $Text = $Text.Replace($homeDir, '~') }
    $Text
}


# The line under a workload's heading in a report: the load average when it started ($script:CaseLoad).
function Get-LoadNote([string] $Name) {
    if ($script:CaseLoad -and $script:CaseLoad.Contains($Name)) { "_Load average (1/5/15 min) when this workload started: $($script:CaseLoad[$Name])._" } else { '' }
}

# The CPU and allocation-heavy scripts every benchmark uses ('@N@' = iterations, calibrated per run).
$CpuTemplate = '$s = 0; for ($i = 0; $i -lt @N@; $i++) { $s += $i * $i % 7 }; $s'
$AllocTemplate = @'
$acc = 0
for ($i = 0; $i -lt @N@; $i++) {
    $h = @{ Id = $i; Name = "item-$i"; Tags = @("a$i", "b$i", "c$i") }
    $o = [pscustomobject]@{ N = $i; Upper = $h.Name.ToUpperInvariant(); Parts = $h.Name.Split('-') }
    $acc += $h.Tags.Count + $o.Parts.Count + "$($o.N):$($o.Upper)".Length
}
$acc
'@

# Where a benchmark's report goes: bench/results/<Name>.md for a full run, out/bench/<Name>.quick.md
# or .partial.md for a -Quick or partial one (those are drafts, never committed).
function Get-ReportPath([string] $Name, [bool] $Quick, [bool] $Partial) {
    if ($Quick -or $Partial) { return Join-Path $PSScriptRoot "../out/bench/$Name.$(if ($Quick) { 'quick' } else { 'partial' }).md" }
    Join-Path $PSScriptRoot "results/$Name.md"
}

# Writes a benchmark's markdown report (making its folder) and says where it went.
function Save-Report([string] $Path, [string] $Report) {
    $dir = Split-Path -Parent $Path
    if ($dir -and -not (Test-Path -LiteralPath $dir)) { $null = New-Item -ItemType Directory -Path $dir -Force }
    Set-Content -LiteralPath $Path -Value $Report -Encoding utf8NoBOM
    Write-Host "Results: $((Resolve-Path -LiteralPath $Path).ProviderPath)"
}
