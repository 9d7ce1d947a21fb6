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

function Invoke-ChildPwsh {
    <#
    Runs a command in a fresh `pwsh -NoProfile -NonInteractive` and returns its exit code and
    its standard output and error as text.
    #>
    param(
        [Parameter(Mandatory)] [string] $Command,
        [int] $TimeoutSeconds = 120
    )
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
    $p = [System.Diagnostics.Process]::Start($psi)
    try {
        $p.StandardInput.Close()
        $out = $p.StandardOutput.ReadToEndAsync()
        $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit($TimeoutSeconds * 1000)) {
            $p.Kill($true)
            throw "child pwsh did not finish within $TimeoutSeconds s"
        }
        $p.WaitForExit()
        [pscustomobject]@{ ExitCode = $p.ExitCode; StdOut = $out.Result; StdErr = $err.Result }
    }
    finally { $p.Dispose() }
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
    Stop-TestHttpServer, Get-ChildPwsh, Invoke-ChildPwsh, New-PSParallelInstance,
    Remove-PSParallelInstance, Get-MaxOverlap, Get-BusyRunspaceCount, Wait-Until, Get-FirstError,
    Assert-BatchSummary
