#requires -Version 7.2
# Real SSH servers on loopback for the remote-host tests: one sshd per "host" (its own loopback
# address, e.g. 127.0.0.2, 127.0.0.3), host and client keys made per run, and the 'powershell'
# subsystem pointing at the PowerShell running the tests. Nothing outside the machine is used.

Set-StrictMode -Version Latest

$script:Run = $null

function Get-SshdPath {
    <# The sshd executable, or $null when openssh-server is not installed. #>
    foreach ($candidate in '/usr/sbin/sshd', '/usr/local/sbin/sshd') {
        if (Test-Path -LiteralPath $candidate -PathType Leaf) { return $candidate }
    }
    $command = Get-Command sshd -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    if ($command) { return $command.Source }
    $null
}

function Get-SshdMissingReason {
    <# Why remote tests cannot run here (no sshd, no ssh client, not Linux or macOS), or $null when they can. #>
    if ($IsWindows) { return 'the remote-host tests start their own sshd, which they do on Linux and macOS only' }
    if (-not (Get-Command ssh -CommandType Application -ErrorAction Ignore)) { return 'no ssh client on PATH: install openssh-client (Debian/Ubuntu: apt-get install openssh-client)' }
    if (-not (Get-SshdPath)) { return 'no sshd: install openssh-server (Debian/Ubuntu: apt-get install openssh-server; ./build.ps1 Test does this itself when it runs as root)' }
    $null
}

function Initialize-SshRun {
    <# Once per test file: a folder with the client key pair, authorized_keys and the subsystem wrapper. #>
    if ($script:Run) { return $script:Run }
    $reason = Get-SshdMissingReason
    if ($reason) { throw "Remote-host tests cannot run: $reason." }
    $dir = Join-Path ([IO.Path]::GetTempPath()) "psparallel-sshd-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    $null = New-Item -ItemType Directory -Path $dir
    & chmod 700 $dir
    $clientKey = Join-Path $dir 'client_ed25519'
    & ssh-keygen -q -t ed25519 -N '' -C 'psparallel-test-client' -f $clientKey
    if ($LASTEXITCODE -ne 0) { throw 'ssh-keygen failed to make the client key.' }
    Copy-Item "$clientKey.pub" (Join-Path $dir 'authorized_keys')
    & chmod 600 (Join-Path $dir 'authorized_keys')

    # The subsystem runs this PowerShell; sshd starts it with a bare environment, so the paths are absolute.
    # dotnet runs pwsh.dll; DOTNET_ROOT lets the runtime (and any pwsh apphost) be found without a global install.
    $pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $dotnet = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($dotnet) -ne 'dotnet') {
        $dotnet = (Get-Command dotnet -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
    }
    if (-not $dotnet) { throw "Cannot start '$pwshDll' for the sshd subsystem: no dotnet on PATH." }
    $dotnetRoot = Split-Path -Parent ((Get-Item -LiteralPath $dotnet).ResolvedTarget ?? $dotnet)
    $wrapper = Join-Path $dir 'pwsh-subsystem.sh'
    Set-Content -LiteralPath $wrapper -NoNewline -Value ("#!/bin/sh`nexport DOTNET_ROOT='$dotnetRoot'`n" +
        "exec '$dotnet' '$pwshDll' -sshs -NoLogo -NoProfile`n")
    & chmod 755 $wrapper

    # Privilege separation needs this folder to exist (it does not when sshd was never started here).
    if (-not $IsMacOS -and -not (Test-Path '/run/sshd')) { $null = New-Item -ItemType Directory -Path '/run/sshd' -Force -ErrorAction Ignore }
    $script:Run = [pscustomobject]@{ Dir = $dir; ClientKey = $clientKey; Wrapper = $wrapper; Hosts = [Collections.Generic.List[object]]::new() }
    $script:Run
}

function Get-FreeTcpPort([string] $Address) {
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Parse($Address), 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Start-TestSshHost {
    <#
    Starts an sshd listening on $Address (a loopback address stands for a host) on a free port and
    waits until it accepts connections. Returns the host: HostName, Port, ProcessId, and what
    New-PSSession / Invoke-ProcessBatch need (KeyFilePath, SSHOption).
    #>
    param([string] $Address = '127.0.0.1', [int] $Port,
        # Folders put in front of the remote sessions' PSModulePath (a host where a module is installed).
        [string[]] $ModulePath)
    $run = Initialize-SshRun
    $port = if ($Port) { $Port } else { Get-FreeTcpPort $Address }
    # Unique per start: a host started again on the same address and port (after it was lost) gets new files.
    $name = "sshd-$($Address.Replace('.', '-'))-$port-$($run.Hosts.Count)"
    $hostKey = Join-Path $run.Dir "$name.hostkey"
    & ssh-keygen -q -t ed25519 -N '' -f $hostKey
    $subsystem = $run.Wrapper
    if ($ModulePath) {
        $subsystem = Join-Path $run.Dir "$name.subsystem.sh"
        $paths = ($ModulePath -join [IO.Path]::PathSeparator)
        Set-Content -LiteralPath $subsystem -Value "#!/bin/sh`nexport PSModulePath='$paths'`nexec '$($run.Wrapper)'`n" -NoNewline
        & chmod 755 $subsystem
    }
    $config = Join-Path $run.Dir "$name.config"
    $log = Join-Path $run.Dir "$name.log"
    Set-Content -LiteralPath $config -Value @"
ListenAddress ${Address}:$port
HostKey $hostKey
PidFile $(Join-Path $run.Dir "$name.pid")
AuthorizedKeysFile $(Join-Path $run.Dir 'authorized_keys')
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
StrictModes no
UsePAM no
MaxStartups 100
MaxSessions 100
LogLevel ERROR
Subsystem powershell $subsystem
"@
    $sshd = Get-SshdPath
    $check = & $sshd -t -f $config 2>&1
    if ($LASTEXITCODE -ne 0) { throw "sshd rejects the test configuration $($config): $check" }
    # -D: stay in the foreground, so the process started here is the listener; -e: log to stderr.
    $process = Start-Process -FilePath $sshd -ArgumentList '-D', '-e', '-f', $config -RedirectStandardError $log -PassThru
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ($true) {
        $client = [Net.Sockets.TcpClient]::new()
        try { $client.Connect($Address, $port); break }
        catch {
            if ($process.HasExited -or [DateTime]::UtcNow -gt $deadline) {
                throw "The test sshd on ${Address}:$port did not start: $(Get-Content -Raw -LiteralPath $log -ErrorAction Ignore)"
            }
            Start-Sleep -Milliseconds 50
        }
        finally { $client.Dispose() }
    }
    $sshHost = [pscustomobject]@{
        HostName    = $Address
        Port        = $port
        ProcessId   = $process.Id
        Process     = $process
        UserName    = [Environment]::UserName
        KeyFilePath = $run.ClientKey
        SSHOption   = @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }
        Log         = $log
    }
    $run.Hosts.Add($sshHost)
    $sshHost
}

function Get-TestSshConnection {
    <# The connection parameters of one or more test hosts (same port required for several), to splat. #>
    param([Parameter(Mandatory)] [object[]] $SshHost)
    $ports = @($SshHost.Port | Select-Object -Unique)
    if ($ports.Count -ne 1) { throw 'Test hosts given together must share a port; start them with the same -Port.' }
    @{
        HostName    = [string[]]@($SshHost.HostName)
        Port        = $ports[0]
        UserName    = $SshHost[0].UserName
        KeyFilePath = $SshHost[0].KeyFilePath
        SSHOption   = $SshHost[0].SSHOption
    }
}

function Get-DescendantProcessId([int] $ProcessId) {
    <# Every process below $ProcessId (children, their children, ...), read from /proc or ps. #>
    $children = @(& ps -o pid= --ppid $ProcessId 2>$null | ForEach-Object { [int]$_.Trim() } | Where-Object { $_ })
    foreach ($child in $children) { $child; Get-DescendantProcessId $child }
}

function Get-TestSshSessionProcessId {
    <# The remote PowerShell processes a test host runs now (one per open session). #>
    param([Parameter(Mandatory)] $SshHost)
    Get-DescendantProcessId $SshHost.ProcessId | Where-Object {
        $cmd = Get-Content -Raw -LiteralPath "/proc/$_/cmdline" -ErrorAction Ignore
        $cmd -and $cmd -match '-sshs'
    }
}

function Stop-TestSshHost {
    <# Loses the host: kills its sshd and every session process below it at once (kill -9). #>
    param([Parameter(Mandatory)] $SshHost)
    $all = @(Get-DescendantProcessId $SshHost.ProcessId) + $SshHost.ProcessId
    foreach ($id in $all) { & kill -9 $id 2>$null }
}

function Stop-AllTestSshHosts {
    <# After a test file: stops every test host of the run and removes its folder. #>
    if (-not $script:Run) { return }
    foreach ($h in $script:Run.Hosts) { Stop-TestSshHost $h }
    Remove-Item -Recurse -Force -LiteralPath $script:Run.Dir -ErrorAction Ignore
    $script:Run = $null
}

Export-ModuleMember -Function Get-SshdMissingReason, Start-TestSshHost, Get-TestSshConnection, Get-TestSshSessionProcessId,
    Stop-TestSshHost, Stop-AllTestSshHosts, Get-DescendantProcessId
