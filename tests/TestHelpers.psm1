#requires -Version 7.2
# Shared helpers for the PSParallel Pester behaviour tests.
# Nothing here fakes the module: the helpers import the built module, start a real HTTP
# listener on 127.0.0.1 and start real child PowerShell processes.

Set-StrictMode -Version Latest


function Get-PSParallelManifest {
    <# The manifest of the built module (out/PSParallel), produced by ./build.ps1 Build. #>
    Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1'
}

function Import-PSParallel {
    <# Imports the built module into the global scope, so the test scripts see its commands. #>
    $manifest = Get-PSParallelManifest
    if (-not (Test-Path -LiteralPath $manifest)) {
        throw "The module is not built: '$manifest' does not exist. Run ./build.ps1 Build first."
    }
    Import-Module (Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1') -Force -Global -ErrorAction Stop
}

# --- a real HTTP server on 127.0.0.1 -------------------------------------------------------

$script:ServerSource = @'
using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace PSParallelTests
{
    /// <summary>
    /// A real HttpListener on 127.0.0.1 (free port). Every request is handled on its own task,
    /// so concurrent requests are served concurrently. Routes:
    ///   /delay/{ms}    waits ms, then answers JSON {"delayMs":ms,"path":"..."}
    ///   /bytes/{n}     answers n bytes ('x')
    ///   /status/{code} answers that status code
    ///   anything else  answers "ok"
    /// It counts requests and the highest number served at once.
    /// </summary>
    public sealed class TestHttpServer : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly CancellationTokenSource _cts = new CancellationTokenSource();
        private readonly Task _acceptLoop;
        private int _current, _max, _count;

        public string BaseUrl { get; }
        public int Port { get; }
        public int MaxConcurrent => Volatile.Read(ref _max);
        public int RequestCount => Volatile.Read(ref _count);
        public int InFlight => Volatile.Read(ref _current);

        public TestHttpServer()
        {
            Exception last = null;
            for (int attempt = 0; attempt < 20; attempt++)
            {
                int port = FreePort();
                var listener = new HttpListener();
                listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
                try
                {
                    listener.Start();
                    _listener = listener;
                    Port = port;
                    BaseUrl = "http://127.0.0.1:" + port;
                    break;
                }
                catch (Exception e)
                {
                    last = e;
                    try { listener.Close(); } catch { }
                }
            }
            if (_listener == null) throw new InvalidOperationException("could not start the test HTTP listener", last);
            _acceptLoop = Task.Run(AcceptLoop);
        }

        private static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            int port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        public void ResetCounters()
        {
            Volatile.Write(ref _max, Volatile.Read(ref _current));
            Volatile.Write(ref _count, 0);
        }

        private async Task AcceptLoop()
        {
            while (!_cts.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync().ConfigureAwait(false); }
                catch { if (_cts.IsCancellationRequested || !_listener.IsListening) break; continue; }
                _ = Task.Run(() => Handle(ctx));
            }
        }

        private async Task Handle(HttpListenerContext ctx)
        {
            int now = Interlocked.Increment(ref _current);
            Interlocked.Increment(ref _count);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen) { }
            try
            {
                string path = ctx.Request.Url.AbsolutePath;
                string[] parts = path.Trim('/').Split('/');
                int status = 200;
                byte[] body;
                string contentType = "text/plain";
                if (parts.Length == 2 && parts[0] == "delay" && int.TryParse(parts[1], out int ms))
                {
                    await Task.Delay(ms, _cts.Token).ConfigureAwait(false);
                    body = Encoding.UTF8.GetBytes("{\"delayMs\":" + ms + ",\"path\":\"" + path + "\"}");
                    contentType = "application/json";
                }
                else if (parts.Length == 2 && parts[0] == "bytes" && int.TryParse(parts[1], out int n))
                {
                    body = new byte[n];
                    for (int i = 0; i < n; i++) body[i] = (byte)'x';
                    contentType = "application/octet-stream";
                }
                else if (parts.Length == 2 && parts[0] == "status" && int.TryParse(parts[1], out int code))
                {
                    status = code;
                    body = Encoding.UTF8.GetBytes("status " + code);
                }
                else
                {
                    body = Encoding.UTF8.GetBytes("ok");
                }
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = contentType;
                ctx.Response.ContentLength64 = body.Length;
                await ctx.Response.OutputStream.WriteAsync(body, 0, body.Length).ConfigureAwait(false);
            }
            catch
            {
                try { ctx.Response.StatusCode = 500; } catch { }
            }
            finally
            {
                Interlocked.Decrement(ref _current);
                try { ctx.Response.Close(); } catch { }
            }
        }

        public void Dispose()
        {
            _cts.Cancel();
            try { _listener.Stop(); } catch { }
            try { _listener.Close(); } catch { }
            try { _acceptLoop.Wait(2000); } catch { }
        }
    }
}
'@

function Start-TestHttpServer {
    <#
    Starts a real HttpListener on 127.0.0.1 on a free port, serving requests concurrently on
    background tasks. Returns the server; its BaseUrl is e.g. http://127.0.0.1:41234 and
    "$($server.BaseUrl)/delay/200" answers after 200 ms. Stop it with Stop-TestHttpServer.
    #>
    if (-not ('PSParallelTests.TestHttpServer' -as [type])) {
        Add-Type -TypeDefinition $script:ServerSource -Language CSharp
    }
    [PSParallelTests.TestHttpServer]::new()
}

function Stop-TestHttpServer {
    param([Parameter(ValueFromPipeline)] $Server)
    process { if ($null -ne $Server) { $Server.Dispose() } }
}

# --- a child PowerShell like the current one ----------------------------------------------

function Get-ChildPwsh {
    <#
    How to start a PowerShell like the one running the tests: $PSHOME/pwsh when it is an
    executable, else `dotnet $PSHOME/pwsh.dll` (PowerShell installed as a .NET tool).
    Returns FilePath and the arguments that must precede pwsh's own.
    #>
    $exe = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
    $runnable = $false
    if (Test-Path -LiteralPath $exe -PathType Leaf) {
        if ($IsWindows) { $runnable = $true }
        else { $runnable = ((Get-Item -LiteralPath $exe).UnixFileMode -band [System.IO.UnixFileMode]::UserExecute) -ne 0 }
    }
    if ($runnable) {
        return [pscustomobject]@{ FilePath = $exe; PrefixArguments = @() }
    }
    $dotnet = Get-Command dotnet -CommandType Application -ErrorAction Stop | Select-Object -First 1
    [pscustomobject]@{ FilePath = $dotnet.Source; PrefixArguments = @((Join-Path $PSHOME 'pwsh.dll')) }
}

function New-ChildPwshStartInfo {
    <# The start info of a fresh `pwsh -NoProfile -NonInteractive` running $Command, all three streams redirected. #>
    param([Parameter(Mandatory)] [string] $Command)
    $child = Get-ChildPwsh
    $psi = [System.Diagnostics.ProcessStartInfo]::new($child.FilePath)
    foreach ($a in $child.PrefixArguments) { $psi.ArgumentList.Add($a) }
    foreach ($a in @('-NoProfile', '-NonInteractive', '-EncodedCommand',
            [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Command)))) {
        $psi.ArgumentList.Add($a)
    }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.RedirectStandardInput = $true
    $psi.UseShellExecute = $false
    $psi.WorkingDirectory = (Get-Location -PSProvider FileSystem).ProviderPath
    $psi
}

function Invoke-CapturedProcess {
    <#
    Starts $StartInfo (its streams redirected here), closes its stdin, waits up to $TimeoutSeconds
    (then kills the process tree and throws, naming $What) and returns its exit code, stdout and stderr.
    #>
    param(
        [Parameter(Mandatory)] [System.Diagnostics.ProcessStartInfo] $StartInfo,
        [int] $TimeoutSeconds = 120,
        [string] $What = 'the process'
    )
    $StartInfo.RedirectStandardOutput = $true
    $StartInfo.RedirectStandardError = $true
    $StartInfo.RedirectStandardInput = $true
    $StartInfo.UseShellExecute = $false
    $p = [System.Diagnostics.Process]::Start($StartInfo)
    try {
        $p.StandardInput.Close()
        $out = $p.StandardOutput.ReadToEndAsync()
        $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit($TimeoutSeconds * 1000)) {
            $p.Kill($true)
            throw "$What did not finish within $TimeoutSeconds s"
        }
        $p.WaitForExit()
        [pscustomobject]@{ ExitCode = $p.ExitCode; StdOut = $out.Result; StdErr = $err.Result }
    }
    finally { $p.Dispose() }
}

function Invoke-ChildPwsh {
    <#
    Runs a command in a fresh `pwsh -NoProfile -NonInteractive` and returns its exit code and
    its standard output and error as text.
    #>
    param(
        [Parameter(Mandatory)] [string] $Command,
        [int] $TimeoutSeconds = 120
    )
    Invoke-CapturedProcess -StartInfo (New-ChildPwshStartInfo $Command) -TimeoutSeconds $TimeoutSeconds -What 'child pwsh'
}

function Get-FreshPwshCount {
    <#
    Runs $Line in a fresh pwsh with PSParallel imported, a process whose runtime counters (garbage
    collections, thread-pool threads) are the test's alone, and returns the whole numbers its
    output's last line gives, separated by spaces. Throws with the child's errors when it fails.
    #>
    param([Parameter(Mandatory)] [string[]] $Line)
    $r = Invoke-ChildPwsh -Command ((@("Import-Module '$(Get-PSParallelManifest)' -ErrorAction Stop") + $Line) -join "`n")
    if ($r.ExitCode -ne 0) { throw "the child pwsh exited with $($r.ExitCode): $($r.StdErr)" }
    $last = ($r.StdOut.Trim() -split '\r?\n')[-1]
    @($last.Trim() -split '\s+' | ForEach-Object { [int]$_ })
}

# --- in-process PowerShell instances (for Ctrl+C and progress) -----------------------------

function New-PSParallelInstance {
    <#
    A [powershell] in a fresh runspace with PSParallel imported, its location set to $Location.
    The caller adds a script and invokes it (BeginInvoke + Stop() is how Ctrl+C is delivered).
    #>
    param([string] $Location = (Get-Location -PSProvider FileSystem).ProviderPath)
    $rs = [runspacefactory]::CreateRunspace()
    $rs.Open()
    $ps = [powershell]::Create()
    $ps.Runspace = $rs
    $null = $ps.AddScript('param($m, $l) Import-Module $m -ErrorAction Stop; Set-Location -LiteralPath $l').
        AddArgument((Get-PSParallelManifest)).AddArgument($Location)
    $null = $ps.Invoke()
    if ($ps.HadErrors) { throw "could not import PSParallel in a new runspace: $($ps.Streams.Error[0])" }
    $ps.Commands.Clear()
    $ps.Streams.ClearStreams()
    $ps
}

function Remove-PSParallelInstance {
    param($Instance)
    if ($null -eq $Instance) { return }
    $rs = $Instance.Runspace
    try { $Instance.Stop() } catch { }
    $Instance.Dispose()
    if ($rs) { $rs.Dispose() }
}

# --- small analysis helpers ----------------------------------------------------------------

function Get-MaxOverlap {
    <#
    The largest number of intervals open at once. Each interval has Start and End (ticks or
    DateTime). An interval ending exactly when another starts does not overlap it.
    #>
    param([Parameter(Mandatory)] [object[]] $Interval)
    $events = foreach ($i in $Interval) {
        [pscustomobject]@{ T = [long]([datetime]$i.Start).Ticks; D = 1 }
        [pscustomobject]@{ T = [long]([datetime]$i.End).Ticks; D = -1 }
    }
    $max = 0; $cur = 0
    foreach ($e in ($events | Sort-Object T, D)) {
        $cur += $e.D
        if ($cur -gt $max) { $max = $cur }
    }
    $max
}

function Get-BusyRunspaceCount {
    <# Runspaces in this process that are running something, other than the caller's own. #>
    $me = [runspace]::DefaultRunspace.InstanceId
    @(Get-Runspace | Where-Object { $_.InstanceId -ne $me -and $_.RunspaceAvailability -eq 'Busy' }).Count
}

function Wait-Until {
    <# Polls $Condition every 50 ms until it is true or $TimeoutSeconds passed; returns whether it became true. #>
    param([Parameter(Mandatory)] [scriptblock] $Condition, [double] $TimeoutSeconds = 10)
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    while ($sw.Elapsed.TotalSeconds -lt $TimeoutSeconds) {
        if (& $Condition) { return $true }
        Start-Sleep -Milliseconds 50
    }
    [bool](& $Condition)
}

function Get-FirstError {
    <#
    Runs $ScriptBlock and returns the first error it produced: a terminating error (caught) or
    the first non-terminating error record it wrote. $null when there was none.
    #>
    param([Parameter(Mandatory)] [scriptblock] $ScriptBlock)
    try {
        $all = @(& $ScriptBlock 2>&1)
        $errs = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        if ($errs.Count -gt 0) { return $errs[0] }
        return $null
    }
    catch {
        return $_
    }
}

function Assert-BatchSummary {
    <#
    Checks that a BatchSummary accounts for every input: Total equals $Total and the five
    states add up to it; optional expected counts per state.
    #>
    param(
        [Parameter(Mandatory)] [AllowNull()] $Summary,
        [Parameter(Mandatory)] [long] $Total,
        [Nullable[long]] $Succeeded, [Nullable[long]] $Failed, [Nullable[long]] $TimedOut,
        [Nullable[long]] $Cancelled, [Nullable[long]] $Skipped
    )
    $Summary | Should -Not -BeNullOrEmpty -Because '-SummaryVariable must store a BatchSummary'
    $Summary.GetType().FullName | Should -Be 'PSParallel.BatchSummary'
    $Summary.Total | Should -Be $Total -Because 'every input item must be accounted for'
    ($Summary.Succeeded + $Summary.Failed + $Summary.TimedOut + $Summary.Cancelled + $Summary.Skipped) |
        Should -Be $Total -Because 'the states must add up to the number of inputs'
    foreach ($name in 'Succeeded', 'Failed', 'TimedOut', 'Cancelled', 'Skipped') {
        $expected = Get-Variable -Name $name -ValueOnly
        if ($null -ne $expected) {
            $Summary.$name | Should -Be $expected -Because "$name count in the summary"
        }
    }
}

Export-ModuleMember -Function Get-PSParallelManifest, Import-PSParallel, Start-TestHttpServer,
    Stop-TestHttpServer, Get-ChildPwsh, Invoke-ChildPwsh, Get-FreshPwshCount, New-PSParallelInstance,
    Remove-PSParallelInstance, Get-MaxOverlap, Get-BusyRunspaceCount, Wait-Until, Get-FirstError,
    Assert-BatchSummary

# --- worker processes of Invoke-ProcessBatch ----------------------------------------------
# A worker is a child process of the caller started with -EncodedCommand and a command that
# loads PSParallel. Child PowerShells that the tests start themselves put the marker
# 'PSParallelTestCaller' in their command, so they are never mistaken for workers.

function Get-ProcessArgument {
    <# The command-line arguments of a process (program first), or $null when it is gone. #>
    param([Parameter(Mandatory)] [int] $Id)
    if ($IsLinux) {
        try { $raw = [System.IO.File]::ReadAllBytes("/proc/$Id/cmdline") } catch { return $null }
        if ($raw.Length -eq 0) { return , [string[]]@() }
        return , [string[]]([System.Text.Encoding]::UTF8.GetString($raw).TrimEnd([char]0) -split [char]0)
    }
    if ($IsWindows) {
        $p = Get-CimInstance Win32_Process -Filter "ProcessId = $Id" -ErrorAction SilentlyContinue
        if (-not $p) { return $null }
        return , [string[]]("$($p.CommandLine)".Trim() -split '\s+')
    }
    $line = & ps -o args= -p $Id 2>$null
    if ($LASTEXITCODE -ne 0 -or -not $line) { return $null }
    , [string[]]("$line".Trim() -split '\s+')
}

function Test-ProcessAlive {
    <# Whether the process runs (a zombie, dead but not yet reaped by its parent, does not count). #>
    param([Parameter(Mandatory)] [int] $Id)
    if ($IsLinux) {
        try { $stat = [System.IO.File]::ReadAllText("/proc/$Id/stat") } catch { return $false }
        $state = $stat.Substring($stat.LastIndexOf(')') + 2, 1)
        return $state -ne 'Z' -and $state -ne 'X'
    }
    $p = Get-Process -Id $Id -ErrorAction SilentlyContinue
    if (-not $p) { return $false }
    try { -not $p.HasExited } catch { $true }
}

function Get-ChildProcessId {
    <# Ids of the live child processes of $ParentId (default: this process). #>
    param([int] $ParentId = $PID)
    if ($IsLinux) {
        foreach ($dir in [System.IO.Directory]::GetDirectories('/proc')) {
            $name = [System.IO.Path]::GetFileName($dir)
            if ($name -notmatch '^\d+$') { continue }
            try { $stat = [System.IO.File]::ReadAllText("$dir/stat") } catch { continue }
            $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
            if ([int]$fields[1] -eq $ParentId -and $fields[0] -ne 'Z' -and $fields[0] -ne 'X') { [int]$name }
        }
        return
    }
    Get-Process | Where-Object { $_.Parent -and $_.Parent.Id -eq $ParentId } | ForEach-Object Id
}

function Get-PSParallelWorker {
    <#
    Ids of the Invoke-ProcessBatch workers of $ParentId (default: this process): its children
    started with -EncodedCommand whose command loads PSParallel.
    #>
    param([int] $ParentId = $PID)
    foreach ($id in @(Get-ChildProcessId -ParentId $ParentId)) {
        $argv = Get-ProcessArgument -Id $id
        if ($null -eq $argv) { continue }
        for ($i = 0; $i -lt $argv.Count - 1; $i++) {
            if ($argv[$i] -notin '-EncodedCommand', '-enc', '-e', '-ec') { continue }
            try { $command = [System.Text.Encoding]::Unicode.GetString([Convert]::FromBase64String($argv[$i + 1])) }
            catch { continue }
            if ($command -like '*PSParallel*' -and $command -notlike '*PSParallelTestCaller*') { $id }
            break
        }
    }
}

function Assert-NoWorkerLeft {
    <#
    Waits up to $TimeoutSeconds until no worker of $ParentId (default: this process) runs and
    none of the processes $ProcessId (e.g. the pids items reported) runs; fails the test with
    their command lines otherwise.
    #>
    param([int] $ParentId = $PID, [int[]] $ProcessId = @(), [double] $TimeoutSeconds = 5)
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    do {
        $left = @(@(Get-PSParallelWorker -ParentId $ParentId) + @($ProcessId | Where-Object { $_ -gt 0 -and (Test-ProcessAlive $_) }) |
                Sort-Object -Unique)
        if ($left.Count -eq 0) { return }
        Start-Sleep -Milliseconds 100
    } while ($sw.Elapsed.TotalSeconds -lt $TimeoutSeconds)
    $described = foreach ($id in $left) { "$id ($((Get-ProcessArgument -Id $id) -join ' ' -replace '(?<=.{160}).+', '...'))" }
    $described | Should -BeNullOrEmpty -Because "no worker process may be left $TimeoutSeconds s after the batch"
}

function Get-PidFromFile {
    <# The process ids written (one per line) into the files of $Path matching $Filter. #>
    param([Parameter(Mandatory)] [string] $Path, [string] $Filter = '*')
    @(Get-ChildItem -LiteralPath $Path -Filter $Filter -File -ErrorAction SilentlyContinue |
            ForEach-Object { Get-Content -LiteralPath $_.FullName -ErrorAction SilentlyContinue } |
            Where-Object { $_ -match '^\s*\d+\s*$' } | ForEach-Object { [int]$_ } | Sort-Object -Unique)
}

function New-FakePowerShell {
    <#
    Writes an executable script to $Directory that stands in for pwsh (for -PowerShellPath):
    'Sleep' never says hello (it records its pid in $Directory/fake-pids, then sleeps 60 s);
    'Garbage' writes $Bytes (random bytes by default) to stdout, then exits, or with -ThenSleep
    sleeps 60 s (its pid recorded like Sleep's).
    Returns the script's path. On Windows it is a .cmd file.
    #>
    param(
        [Parameter(Mandatory)] [string] $Directory,
        [Parameter(Mandatory)] [ValidateSet('Sleep', 'Garbage')] [string] $Kind,
        [byte[]] $Bytes,
        [switch] $ThenSleep
    )
    $null = New-Item -ItemType Directory -Path $Directory -Force
    $pidFile = Join-Path $Directory 'fake-pids'
    if ($Kind -eq 'Garbage') {
        if (-not $Bytes) {
            $Bytes = [byte[]]::new(4096)
            [System.Random]::new(20240229).NextBytes($Bytes)
        }
        $dataFile = Join-Path $Directory 'garbage.bin'
        [System.IO.File]::WriteAllBytes($dataFile, $Bytes)
    }
    if ($IsWindows) {
        $path = Join-Path $Directory "fake-$($Kind.ToLower()).cmd"
        $body = if ($Kind -eq 'Sleep') { "@ping -n 61 127.0.0.1 >nul`r`n" }
        elseif ($ThenSleep) { "@type `"$dataFile`"`r`n@ping -n 61 127.0.0.1 >nul`r`n" }
        else { "@type `"$dataFile`"`r`n" }
        Set-Content -LiteralPath $path -Value $body -NoNewline
        return $path
    }
    $path = Join-Path $Directory "fake-$($Kind.ToLower())$(if ($ThenSleep) { '-sleep' }).sh"
    $quote = { param($s) "'" + ($s -replace "'", "'\''") + "'" }
    $body = if ($Kind -eq 'Sleep') {
        "#!/bin/sh`necho `$`$ >> $(& $quote $pidFile)`nexec sleep 60`n"
    }
    else {
        "#!/bin/sh`necho `$`$ >> $(& $quote $pidFile)`ncat $(& $quote $dataFile)`n" + $(if ($ThenSleep) { "exec sleep 60`n" } else { "exit 0`n" })
    }
    [System.IO.File]::WriteAllText($path, $body)
    [System.IO.File]::SetUnixFileMode($path, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute, GroupRead, GroupExecute, OtherRead, OtherExecute')
    $path
}

function Start-ChildPwsh {
    <#
    Starts a fresh `pwsh -NoProfile -NonInteractive` running $Command, without waiting, and returns
    the System.Diagnostics.Process (stdin, stdout and stderr redirected; stdout and stderr are read
    in the background into the returned object's PSParallelOutput note). The command is marked so
    that Get-PSParallelWorker never counts this process as a worker.
    #>
    param([Parameter(Mandatory)] [string] $Command)
    $p = [System.Diagnostics.Process]::Start((New-ChildPwshStartInfo ("# PSParallelTestCaller`n" + $Command)))
    $p.StandardInput.Close()
    $out = $p.StandardOutput.ReadToEndAsync()
    $err = $p.StandardError.ReadToEndAsync()
    $p | Add-Member -NotePropertyName PSParallelOutput -NotePropertyValue ([pscustomobject]@{ StdOut = $out; StdErr = $err }) -PassThru
}

Export-ModuleMember -Function Get-ProcessArgument, Test-ProcessAlive, Get-ChildProcessId, Get-PSParallelWorker,
    Assert-NoWorkerLeft, Get-PidFromFile, New-FakePowerShell, Start-ChildPwsh

# --- a real headless browser (for the HTML report) ----------------------------------------

function Get-HeadlessBrowser {
    <#
    Finds a Chromium-family browser (chromium, chromium-browser, google-chrome on PATH, or
    /usr/bin/chromium). When there is none and this is a Debian-like system where we are root
    and have apt-get, installs Debian's chromium package (no recommends, quiet), running
    `apt-get update` and trying again when the first install fails (no or stale package lists).
    The whole install is bounded by $InstallTimeoutSeconds. Returns Path ($null when there is no
    browser), Reason (why not, for Set-ItResult -Skipped), Installed and Seconds.
    #>
    param([int] $InstallTimeoutSeconds = 360)
    $find = {
        foreach ($name in 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable') {
            $cmd = Get-Command $name -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
            if ($cmd) { return $cmd.Source }
        }
        if (Test-Path -LiteralPath '/usr/bin/chromium' -PathType Leaf) { return '/usr/bin/chromium' }
        $null
    }
    $result = { param($Path, $Reason, $Installed) [pscustomobject]@{ Path = $Path; Reason = $Reason; Installed = [bool]$Installed; Seconds = [math]::Round($sw.Elapsed.TotalSeconds, 1) } }
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $path = & $find
    if ($path) { return & $result $path $null $false }

    if (-not $IsLinux) { return & $result $null 'no chromium or google-chrome found, and installing one is only automated on Debian-like Linux' $false }
    $aptGet = Get-Command apt-get -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $aptGet) { return & $result $null 'no chromium or google-chrome found, and there is no apt-get to install one' $false }
    $uid = (& id -u 2>$null | Select-Object -First 1)
    if ("$uid".Trim() -ne '0') { return & $result $null "no chromium or google-chrome found, and installing one needs root (uid is $uid)" $false }

    # One apt-get run, killed when the install's time budget runs out. Output is captured, not shown.
    $apt = {
        param([string[]] $Arguments)
        $left = $InstallTimeoutSeconds - $sw.Elapsed.TotalSeconds
        if ($left -lt 5) { return [pscustomobject]@{ ExitCode = -1; Output = 'no time left' } }
        $psi = [System.Diagnostics.ProcessStartInfo]::new($aptGet.Source)
        foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
        $psi.Environment['DEBIAN_FRONTEND'] = 'noninteractive'
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.RedirectStandardInput = $true
        $psi.UseShellExecute = $false
        $p = [System.Diagnostics.Process]::Start($psi)
        try {
            $p.StandardInput.Close()
            $out = $p.StandardOutput.ReadToEndAsync()
            $err = $p.StandardError.ReadToEndAsync()
            if (-not $p.WaitForExit([int]($left * 1000))) {
                $p.Kill($true)
                $p.WaitForExit()
                return [pscustomobject]@{ ExitCode = -1; Output = "apt-get $($Arguments -join ' ') still running after the install's $InstallTimeoutSeconds s: killed" }
            }
            $p.WaitForExit()
            [pscustomobject]@{ ExitCode = $p.ExitCode; Output = ($out.Result + $err.Result).Trim() }
        }
        finally { $p.Dispose() }
    }
    # Another test run may hold the dpkg lock (installing the same package): wait for it.
    $install = @('install', '-y', '-qq', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=120', 'chromium')
    Write-Host "    no headless browser found: installing Debian's chromium with apt-get (at most $InstallTimeoutSeconds s)"
    $run = & $apt $install
    if ($run.ExitCode -ne 0 -and -not (& $find)) {
        # Usually "Unable to locate package" (no package lists) or 404s (stale lists).
        $update = & $apt @('update', '-qq', '-o', 'DPkg::Lock::Timeout=120')
        $run = if ($update.ExitCode -eq 0) { & $apt $install } else { $update }
    }
    $path = & $find
    if ($path) {
        Write-Host "    installed $path in $([math]::Round($sw.Elapsed.TotalSeconds)) s"
        return & $result $path $null $true
    }
    $tail = (@($run.Output -split "`n" | Where-Object { $_.Trim() }) | Select-Object -Last 3) -join ' | '
    & $result $null "no chromium or google-chrome found, and installing chromium with apt-get failed (exit code $($run.ExitCode)): $tail" $false
}

Export-ModuleMember -Function Get-HeadlessBrowser, Invoke-CapturedProcess
