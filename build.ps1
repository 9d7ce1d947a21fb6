<#
.SYNOPSIS
Builds, tests, benchmarks, demonstrates and packages PSParallel.

.DESCRIPTION
Tasks (each builds what it needs first):
  Build    publish the assemblies and lay the importable module out at out/PSParallel
           (manifest, formats, MAML help from docs/*.md, about_PSParallel); the public types
           go in contracts/<target framework>/, one build per .NET the module runs on
  Test     Build, then the xunit unit tests and the Pester behaviour tests; the last line of
           output is "N passed, N failed" over both; exits 1 if anything failed. The remote-host
           tests start their own sshd on loopback: when openssh-server is missing and this runs as
           root with apt-get, it is installed first (without starting a system sshd)
  Bench    Build, then every bench/*.ps1 not starting with '_', each in a child pwsh
  Demo     Build, then demo/Demo.ps1 in a child pwsh
  Package  Build, then a .nupkg of the module in out/package (Compress-PSResource)
  Clean    remove out/

.EXAMPLE
dotnet tool restore && dotnet pwsh -NoProfile -File ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0, ValueFromRemainingArguments)]
    [ValidateSet('Build', 'Test', 'Bench', 'Demo', 'Package', 'Clean')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # A test runner still running after this many minutes is killed and counted as failed.
    [double] $TestTimeoutMinutes = 20
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'PSParallel'
$PublishOut = Join-Path $Out 'publish'
$TestResults = Join-Path $Out 'test-results'
$PackageOut = Join-Path $Out 'package'
$RootAssemblies = @('PSParallel')
# Built for each of its TargetFrameworks into contracts/<tfm>/; the module loads the one for the
# running .NET (src/PSParallel/ContractsLoader.cs). Never in the module root.
$ContractsAssembly = 'PSParallel.Contracts'
$ContractsProject = Join-Path $Root 'src/PSParallel.Contracts/PSParallel.Contracts.csproj'
$PesterVersion = '6.2.0'

. (Join-Path $Root 'build/Help.ps1')

$script:Done = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)

function Write-Step([string] $Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

# Runs a native command; throws when it exits non-zero.
function Invoke-Native {
    param([Parameter(Mandatory)] [string] $FilePath, [string[]] $ArgumentList = @())
    & $FilePath @ArgumentList | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE." }
}

# The command line that starts a fresh pwsh of the same installation: the pwsh executable when it
# can be run, else 'dotnet pwsh.dll' (under the dotnet tool, the process is dotnet, not pwsh).
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

# Runs a program with its output going straight to this console. Returns the exit code, or $null
# when it was still running after TimeoutMinutes and was killed (with its child processes).
function Invoke-ChildProcess {
    param([string] $FilePath, [string[]] $ArgumentList, [double] $TimeoutMinutes = 0, [hashtable] $Environment = @{})
    $psi = [System.Diagnostics.ProcessStartInfo]::new($FilePath)
    foreach ($a in $ArgumentList) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.WorkingDirectory = $Root
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    $process = [System.Diagnostics.Process]::Start($psi)
    try {
        if ($TimeoutMinutes -gt 0 -and -not $process.WaitForExit([int]($TimeoutMinutes * 60000))) {
            Write-Warning "'$FilePath $($ArgumentList -join ' ')' still running after $TimeoutMinutes minutes: killing it."
            $process.Kill($true)
            $process.WaitForExit()
            return $null
        }
        $process.WaitForExit()
        $process.ExitCode
    }
    finally { $process.Dispose() }
}

function Get-DotnetPath {
    if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { [Environment]::ProcessPath } else { 'dotnet' }
}

# Runs a child pwsh -NoProfile -NonInteractive (a clean process) with the given arguments.
function Invoke-ChildPwsh {
    param([string[]] $ArgumentList, [double] $TimeoutMinutes = 0)
    $command = Get-PwshCommand
    $environment = @{
        # 'Import-Module PSParallel' finds the built module.
        PSModulePath = $Out + [IO.Path]::PathSeparator + $env:PSModulePath
    }
    # The pwsh apphost finds the runtime through DOTNET_ROOT when dotnet is not installed globally.
    if (-not $env:DOTNET_ROOT -and $command[0] -ne (Get-DotnetPath) -and (Get-DotnetPath) -ne 'dotnet') {
        $environment.DOTNET_ROOT = Split-Path -Parent (Get-DotnetPath)
    }
    Invoke-ChildProcess -FilePath $command[0] -TimeoutMinutes $TimeoutMinutes -Environment $environment `
        -ArgumentList (@($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive') + $ArgumentList)
}

function Invoke-Task([string] $Name) {
    if (-not $script:Done.Add($Name)) { return }
    & "Invoke-$Name"
}

# The contracts project's TargetFrameworks (net8.0;net10.0): one build each in the module.
function Get-ContractsTargetFramework {
    $value = & (Get-DotnetPath) msbuild $ContractsProject -nologo '-getProperty:TargetFrameworks'
    if ($LASTEXITCODE -ne 0 -or -not "$value".Trim()) { throw "Could not read the TargetFrameworks of $ContractsProject." }
    @("$value".Trim() -split ';' | ForEach-Object Trim | Where-Object { $_ })
}

#region Tasks

function Invoke-Clean {
    Write-Step 'Clean'
    if (Test-Path $Out) { Remove-Item -Recurse -Force $Out }
}

function Invoke-Build {
    Write-Step "Build ($Configuration)"
    if (Test-Path $PublishOut) { Remove-Item -Recurse -Force $PublishOut }
    Invoke-Native (Get-DotnetPath) @('publish', (Join-Path $Root 'src/PSParallel/PSParallel.csproj'), '-c', $Configuration, '-o', $PublishOut, '-nologo')
    # The public types once per .NET; the cmdlet assembly and the engine compiled against one of them.
    $contractsBuilds = foreach ($tfm in Get-ContractsTargetFramework) {
        $published = Join-Path $PublishOut "contracts/$tfm"
        Invoke-Native (Get-DotnetPath) @('publish', $ContractsProject, '-c', $Configuration, '-f', $tfm, '-o', $published, '-nologo')
        if (-not (Test-Path (Join-Path $published "$ContractsAssembly.dll"))) { throw "The publish output for $tfm has no $ContractsAssembly.dll." }
        [pscustomobject]@{ TargetFramework = $tfm; Folder = $published }
    }
    $compiledAgainst = (Get-FileHash (Join-Path $PublishOut "$ContractsAssembly.dll")).Hash
    if ($compiledAgainst -notin @($contractsBuilds | ForEach-Object { (Get-FileHash (Join-Path $_.Folder "$ContractsAssembly.dll")).Hash })) {
        throw "The $ContractsAssembly.dll the cmdlet assembly was built with is none of the builds in contracts/."
    }

    Write-Step "Module layout in $ModuleOut"
    if (Test-Path $ModuleOut) { Remove-Item -Recurse -Force $ModuleOut }
    $dependencies = Join-Path $ModuleOut 'Dependencies'
    $help = Join-Path $ModuleOut 'en-US'
    $null = New-Item -ItemType Directory -Force -Path $ModuleOut, $dependencies, $help

    # No contracts in the root: PSParallel.dll loads the build for the running .NET from here.
    foreach ($build in $contractsBuilds) {
        $target = Join-Path $ModuleOut "contracts/$($build.TargetFramework)"
        $null = New-Item -ItemType Directory -Force -Path $target
        Copy-Item (Join-Path $build.Folder "$ContractsAssembly.dll") $target
        $pdb = Join-Path $build.Folder "$ContractsAssembly.pdb"
        if (Test-Path $pdb) { Copy-Item $pdb $target }
    }

    foreach ($name in $RootAssemblies) {
        $dll = Join-Path $PublishOut "$name.dll"
        if (-not (Test-Path $dll)) { throw "The publish output has no $name.dll." }
        Copy-Item $dll $ModuleOut
        $pdb = Join-Path $PublishOut "$name.pdb"
        if (Test-Path $pdb) { Copy-Item $pdb $ModuleOut }
    }
    # Everything else the cmdlet assembly needs is loaded by the module into its own
    # AssemblyLoadContext from Dependencies/. PowerShell's own assemblies come from the host.
    foreach ($file in Get-ChildItem $PublishOut -File -Filter '*.dll') {
        if ($file.BaseName -in $RootAssemblies -or $file.BaseName -eq $ContractsAssembly) { continue }
        if ($file.Name -like 'System.Management.Automation*' -or $file.Name -like 'Microsoft.PowerShell*') { continue }
        Copy-Item $file.FullName $dependencies
        $pdb = [IO.Path]::ChangeExtension($file.FullName, '.pdb')
        if (Test-Path $pdb) { Copy-Item $pdb $dependencies }
    }
    if (Test-Path (Join-Path $PublishOut 'runtimes')) {
        Write-Warning 'The publish output has a runtimes/ folder (native or RID-specific assets); it is not part of the module layout.'
    }

    Copy-Item (Join-Path $Root 'module/PSParallel.psd1') $ModuleOut
    Copy-Item (Join-Path $Root 'module/PSParallel.format.ps1xml') $ModuleOut
    $null = [xml](Get-Content -Raw (Join-Path $ModuleOut 'PSParallel.format.ps1xml'))

    Write-Step 'Help from docs/*.md'
    $docs = @(Get-ChildItem (Join-Path $Root 'docs') -Filter '*.md' -File | Sort-Object Name)
    # Command help pages are named Verb-Noun.md; other pages (protocol.md) are plain documentation.
    $commandDocs = @($docs | Where-Object Name -match '^[A-Za-z]+-[A-Za-z]+\.md$')
    if ($commandDocs) {
        $models = ConvertTo-MamlHelp -Path $commandDocs.FullName -OutputPath (Join-Path $help 'PSParallel.dll-Help.xml')
        foreach ($m in $models) { Write-Host "    $($m.Name): $($m.Parameters.Count) parameters, $($m.Examples.Count) examples" }
    }
    foreach ($about in $docs | Where-Object Name -like 'about_*') {
        ConvertTo-AboutHelpText -Path $about.FullName -OutputPath (Join-Path $help "$($about.BaseName).help.txt")
        Write-Host "    $($about.BaseName).help.txt"
    }

    $manifest = Import-PowerShellDataFile (Join-Path $ModuleOut 'PSParallel.psd1')
    foreach ($f in @($manifest.RootModule) + @($manifest.FormatsToProcess)) {
        if (-not (Test-Path (Join-Path $ModuleOut $f))) { throw "The manifest names $f, which the module layout does not have." }
    }
    Write-Host "Module ready: $ModuleOut"
}

# Counts from a VSTest .trx file: @{ Passed; Failed; Total }.
function Read-TrxCount([string] $Path) {
    [xml] $trx = Get-Content -Raw -LiteralPath $Path
    $counters = $trx.TestRun.ResultSummary.Counters
    $failed = 0
    foreach ($name in 'failed', 'error', 'timeout', 'aborted') {
        $value = $counters.GetAttribute($name)
        if ($value) { $failed += [int]$value }
    }
    [pscustomobject]@{ Passed = [int]$counters.GetAttribute('passed'); Failed = $failed; Total = [int]$counters.GetAttribute('total') }
}

function Invoke-UnitTests {
    $project = Join-Path $Root 'tests/PSParallel.Tests'
    if (-not (Test-Path $project)) {
        Write-Warning 'No tests/PSParallel.Tests project: no unit tests run.'
        return [pscustomobject]@{ Passed = 0; Failed = 0 }
    }
    Write-Step 'Unit tests (xunit, dotnet test)'
    $trxName = 'unit-tests.trx'
    $trx = Join-Path $TestResults $trxName
    $exit = Invoke-ChildProcess -FilePath (Get-DotnetPath) -TimeoutMinutes $TestTimeoutMinutes -ArgumentList @(
        'test', $project, '-c', $Configuration, '-nologo',
        '--logger', "trx;LogFileName=$trxName", '--results-directory', $TestResults)

    $counts = if (Test-Path $trx) { Read-TrxCount $trx } else { [pscustomobject]@{ Passed = 0; Failed = 0; Total = 0 } }
    $passed = $counts.Passed
    $failed = $counts.Failed
    if ($null -eq $exit -or ($exit -ne 0 -and $failed -eq 0)) {
        # Build error, crash, hang: the runner itself failed.
        Write-Warning "The unit test run did not complete (exit code $(if ($null -eq $exit) { 'none' } else { $exit })): counted as 1 failed."
        $failed++
    }
    elseif (-not (Test-Path $trx)) {
        Write-Warning "dotnet test wrote no ${trxName}: counted as 1 failed."
        $failed++
    }
    Write-Host "Unit tests: $passed passed, $failed failed"
    [pscustomobject]@{ Passed = $passed; Failed = $failed }
}

function Get-PesterManifest {
    Write-Step "Restore test tools (Pester $PesterVersion)"
    Invoke-Native (Get-DotnetPath) @('restore', (Join-Path $Root 'tests/tools/tools.csproj'), '-nologo')
    $line = (& (Get-DotnetPath) nuget locals global-packages --list) | Where-Object { $_ -match 'global-packages:\s*(.+)$' } | Select-Object -First 1
    if (-not $line) { throw 'Could not find the NuGet global packages folder (dotnet nuget locals global-packages --list).' }
    $null = $line -match 'global-packages:\s*(.+)$'
    $manifest = Join-Path $Matches[1].Trim() "pester/$PesterVersion/tools/Pester.psd1"
    if (-not (Test-Path $manifest)) { throw "Pester $PesterVersion is not at $manifest after the restore of tests/tools/tools.csproj." }
    $manifest
}

function Invoke-BehaviourTests {
    $files = @(Get-ChildItem (Join-Path $Root 'tests') -Filter '*.Tests.ps1' -File | Sort-Object Name)
    if (-not $files) {
        Write-Warning 'No tests/*.Tests.ps1: no Pester tests run.'
        return [pscustomobject]@{ Passed = 0; Failed = 0 }
    }
    $pester = Get-PesterManifest
    Write-Step "Behaviour tests (Pester $PesterVersion, $($files.Count) files, child pwsh)"
    $summary = Join-Path $TestResults 'pester-summary.json'
    $nunit = Join-Path $TestResults 'pester.xml'
    Remove-Item $summary, $nunit -ErrorAction SilentlyContinue
    $exit = Invoke-ChildPwsh -TimeoutMinutes $TestTimeoutMinutes -ArgumentList @(
        '-File', (Join-Path $Root 'build/Invoke-PesterRun.ps1'),
        '-PesterManifest', $pester, '-SummaryPath', $summary, '-ResultPath', $nunit,
        '-Path', ($files.FullName -join [IO.Path]::PathSeparator))

    $passed = 0; $failed = 0; $known = $false
    if (Test-Path $summary) {
        $s = Get-Content -Raw $summary | ConvertFrom-Json
        $passed = [int]$s.Passed
        $failed = [int]$s.Failed
        $known = $true
    }
    elseif (Test-Path $nunit) {
        # The runner died after writing the report: count from the NUnit XML.
        [xml] $x = Get-Content -Raw $nunit
        $r = $x.'test-results'
        $failed = [int]$r.failures + [int]$r.errors + [int]$r.invalid
        $passed = [int]$r.total - $failed - [int]$r.'not-run' - [int]$r.inconclusive - [int]$r.ignored - [int]$r.skipped
        $known = $true
    }
    if ($null -eq $exit -or -not $known -or ($exit -ne 0 -and $failed -eq 0)) {
        Write-Warning "The Pester run did not complete (exit code $(if ($null -eq $exit) { 'none' } else { $exit })): counted as 1 failed."
        $failed++
    }
    Write-Host "Behaviour tests: $passed passed, $failed failed"
    [pscustomobject]@{ Passed = $passed; Failed = $failed }
}

# The remote-host tests start their own sshd (tests/TestSshd.psm1). Installs openssh-server when it is
# missing and this runs as root on a system with apt-get; otherwise says what to install (those tests then fail
# with the same words). The package's own service is kept from starting: the tests need no sshd on port 22.
function Install-SshServer {
    if ($IsWindows -or (Test-Path '/usr/sbin/sshd') -or (Get-Command sshd -CommandType Application -ErrorAction Ignore)) { return }
    $root = (& id -u) -eq '0'
    if (-not $root -or -not (Get-Command apt-get -CommandType Application -ErrorAction Ignore)) {
        Write-Warning 'No sshd: the remote-host tests need openssh-server (Debian/Ubuntu: sudo apt-get install openssh-server).'
        return
    }
    Write-Step 'Install openssh-server for the remote-host tests (apt-get)'
    $policy = '/usr/sbin/policy-rc.d'
    $hadPolicy = Test-Path $policy
    if (-not $hadPolicy) {
        Set-Content -LiteralPath $policy -Value "#!/bin/sh`nexit 101`n" -NoNewline
        & chmod 755 $policy
    }
    $env:DEBIAN_FRONTEND = 'noninteractive'
    try {
        & apt-get install -y -q openssh-server 2>&1 | Out-Host
        if ($LASTEXITCODE -ne 0) {
            & apt-get update -q 2>&1 | Out-Host
            & apt-get install -y -q openssh-server 2>&1 | Out-Host
        }
        if ($LASTEXITCODE -ne 0) { Write-Warning "apt-get could not install openssh-server (exit code $LASTEXITCODE): the remote-host tests will fail." }
    }
    finally {
        if (-not $hadPolicy) { Remove-Item -LiteralPath $policy -ErrorAction Ignore }
    }
}

function Invoke-Test {
    Install-SshServer
    Invoke-Task Build
    if (Test-Path $TestResults) { Remove-Item -Recurse -Force $TestResults }
    $null = New-Item -ItemType Directory -Force -Path $TestResults
    $results = @()
    foreach ($runner in 'Invoke-UnitTests', 'Invoke-BehaviourTests') {
        try { $results += & $runner }
        catch {
            Write-Warning "$runner failed: $_"
            $results += [pscustomobject]@{ Passed = 0; Failed = 1 }
        }
    }
    $passed = ($results | Measure-Object Passed -Sum).Sum
    $failed = ($results | Measure-Object Failed -Sum).Sum
    if ($passed + $failed -eq 0) {
        Write-Warning 'No test ran at all: counted as 1 failed.'
        $failed = 1
    }
    $script:TestSummary = "$passed passed, $failed failed"
    $script:TestFailed = $failed -gt 0
}

function Invoke-Bench {
    Invoke-Task Build
    $scripts = @(Get-ChildItem (Join-Path $Root 'bench') -Filter '*.ps1' -File -ErrorAction SilentlyContinue |
            Where-Object Name -notlike '_*' | Sort-Object Name)
    if (-not $scripts) { Write-Warning 'No bench/*.ps1 to run.'; return }
    $failures = @()
    foreach ($s in $scripts) {
        Write-Step "Bench: $($s.Name)"
        $exit = Invoke-ChildPwsh -ArgumentList @('-File', $s.FullName)
        if ($exit -ne 0) { $failures += "$($s.Name) (exit code $exit)" }
    }
    if ($failures) { throw "Benchmarks failed: $($failures -join ', ')" }
}

function Invoke-Demo {
    Invoke-Task Build
    Write-Step 'Demo'
    $exit = Invoke-ChildPwsh -ArgumentList @('-File', (Join-Path $Root 'demo/Demo.ps1'))
    if ($exit -ne 0) { throw "demo/Demo.ps1 failed with exit code $exit." }
}

function Invoke-Package {
    Invoke-Task Build
    Write-Step 'Package'
    if (Test-Path $PackageOut) { Remove-Item -Recurse -Force $PackageOut }
    $null = New-Item -ItemType Directory -Force -Path $PackageOut
    # In a child pwsh: Compress-PSResource reads the manifest, which must not load the module here.
    $command = "Import-Module Microsoft.PowerShell.PSResourceGet; Compress-PSResource -Path '$($ModuleOut -replace "'", "''")' -DestinationPath '$($PackageOut -replace "'", "''")'"
    $exit = Invoke-ChildPwsh -ArgumentList @('-Command', $command)
    if ($exit -ne 0) { throw "Compress-PSResource failed with exit code $exit." }
    $manifest = Import-PowerShellDataFile (Join-Path $ModuleOut 'PSParallel.psd1')
    $package = Join-Path $PackageOut "PSParallel.$($manifest.ModuleVersion).nupkg"
    if (-not (Test-Path $package)) {
        $found = @(Get-ChildItem $PackageOut -Filter '*.nupkg')
        if ($found.Count -ne 1) { throw "Compress-PSResource made no PSParallel .nupkg in $PackageOut." }
        $package = $found[0].FullName
    }
    # The package must carry every contracts build: the module loads the one for the running .NET.
    $builds = @(Get-ChildItem (Join-Path $ModuleOut 'contracts') -Directory | ForEach-Object { "contracts/$($_.Name)/$ContractsAssembly.dll" })
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $zip = [System.IO.Compression.ZipFile]::OpenRead($package)
    try { $entries = @($zip.Entries | ForEach-Object { [Uri]::UnescapeDataString($_.FullName) -replace '\\', '/' }) }
    finally { $zip.Dispose() }
    $missing = @($builds | Where-Object { $_ -notin $entries })
    if (-not $builds -or $missing) { throw "The package lacks $(if ($missing) { $missing -join ', ' } else { 'any contracts build' })." }
    Write-Host "Package: $package ($([math]::Round((Get-Item $package).Length / 1KB)) KB; $($builds -join ', '))"
}

#endregion

$script:TestSummary = $null
$script:TestFailed = $false
$exitCode = 0
try {
    foreach ($t in $Task) { Invoke-Task $t }
}
catch {
    Write-Host "build.ps1: $($_.Exception.Message)" -ForegroundColor Red
    Write-Host $_.ScriptStackTrace
    $exitCode = 1
    if ($script:Done.Contains('Test') -and -not $script:TestSummary) { $script:TestSummary = '0 passed, 1 failed' }
}
if ($script:TestFailed) { $exitCode = 1 }
if ($script:TestSummary) {
    # The closing line CI reads: alone, last.
    Write-Host $script:TestSummary
}
exit $exitCode
