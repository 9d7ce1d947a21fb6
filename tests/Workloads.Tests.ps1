#requires -Version 7.2
# Behaviour tests for compiled workloads run by Invoke-ThreadBatch: the six built-ins, custom
# IWorkload / IAsyncWorkload types, lookup by name and tab completion (CONTRACT.md,
# "Compiled workloads" and "Invoke-ThreadBatch"). Expected values are computed in the test
# with .NET directly (SHA256, GZipStream, trial division); URLs hit a real local HttpListener.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel

    function Test-PrimeReference([long] $n) {
        if ($n -lt 2) { return $false }
        if ($n % 2 -eq 0) { return $n -eq 2 }
        for ($d = 3; $d * $d -le $n; $d += 2) { if ($n % $d -eq 0) { return $false } }
        $true
    }
    function Get-Sha256Hex([byte[]] $Bytes) {
        [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($Bytes))
    }
    function Get-GZipLength([byte[]] $Bytes) {
        $ms = [System.IO.MemoryStream]::new()
        $gz = [System.IO.Compression.GZipStream]::new($ms, [System.IO.Compression.CompressionMode]::Compress)
        $gz.Write($Bytes, 0, $Bytes.Length)
        $gz.Dispose()
        $ms.ToArray().Length
    }

    # Sample data: a text file, a binary file, a string and a byte[].
    $script:textPath = Join-Path $TestDrive 'sample.txt'
    Set-Content -Path $textPath -Value ((1..400 | ForEach-Object { "line $_ of the sample file, somewhat repetitive" }) -join "`n") -NoNewline
    $script:binPath = Join-Path $TestDrive 'sample.bin'
    $rng = [System.Random]::new(42)
    $script:binBytes = [byte[]]::new(20000)
    for ($i = 0; $i -lt 10000; $i++) { $binBytes[$i] = [byte]$rng.Next(256) }   # half random, half zeros
    [System.IO.File]::WriteAllBytes($binPath, $binBytes)
    $script:sampleString = 'The quick brown fox jumps over the lazy dog. ' * 50
    $script:sampleBytes = [System.Text.Encoding]::UTF8.GetBytes('bytes bytes bytes ' * 100)
}

Describe 'Built-in workload Sleep' {
    It 'sleeps the given milliseconds and returns them' {
        $out = 100, 300 | Invoke-ThreadBatch -Workload Sleep -Ordered -SummaryVariable s
        $out | Should -HaveCount 2
        [double]$out[0] | Should -BeGreaterOrEqual 99
        [double]$out[0] | Should -BeLessThan 1100
        [double]$out[1] | Should -BeGreaterOrEqual 299
        [double]$out[1] | Should -BeLessThan 1300
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'runs ThrottleLimit sleeps at once' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = @(1..16 | ForEach-Object { 500 }) | Invoke-ThreadBatch -Workload Sleep -ThrottleLimit 16 -SummaryVariable s
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 4 -Because '16 x 0.5 s one after another take 8 s; at throttle 16 the ideal is 0.5 s'
        $out | Should -HaveCount 16
        Assert-BatchSummary $s -Total 16 -Succeeded 16
    }
}

Describe 'Built-in workload Spin' {
    It 'burns the given milliseconds of CPU and returns them' {
        $cpuBefore = [System.Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime
        $out = 1000, 1000 | Invoke-ThreadBatch -Workload Spin -ThrottleLimit 2 -SummaryVariable s
        $cpuUsed = ([System.Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime - $cpuBefore).TotalSeconds
        $out | Should -HaveCount 2
        foreach ($o in $out) {
            [double]$o | Should -BeGreaterOrEqual 500
            [double]$o | Should -BeLessThan 10000
        }
        # Spin counts its thread's processor time, so the CPU is burnt however busy the machine is
        # (90 %: Windows reads thread time in 15.6 ms ticks). A workload that slept would use next to none.
        $cpuUsed | Should -BeGreaterOrEqual 1.8 -Because 'two items of 1000 ms CPU each were burnt'
        $s.CpuSeconds | Should -BeGreaterOrEqual 1.8 -Because 'the summary reports the CPU the batch used'
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'cannot finish faster than its CPU spread over the cores, whatever the throttle' {
        # 8 x 250 ms of CPU at throttle 8: at least 2 s / cores of wall time. A spin that watched the
        # wall clock would end all eight in 0.25 s on two cores, as if threads beat the core count.
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 1..8 | ForEach-Object { 250 } | Invoke-ThreadBatch -Workload Spin -ThrottleLimit 8 -SummaryVariable s
        $clock.Stop()
        $out | Should -HaveCount 8
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual (0.9 * 2.0 / [Environment]::ProcessorCount) -Because '2 s of CPU cannot take less than 2 s / cores'
        $s.CpuSeconds | Should -BeGreaterOrEqual 1.8 -Because 'eight items of 250 ms CPU each were burnt'
        Assert-BatchSummary $s -Total 8 -Succeeded 8
    }
}

Describe 'Built-in workload IsPrime' {
    It 'answers the seed''s example: 10000019, 10000079, 10000103, 10000129 | Invoke-ThreadBatch -Workload IsPrime' {
        $numbers = 10000019, 10000079, 10000103, 10000129
        $r = $numbers | Invoke-ThreadBatch -Workload IsPrime -AsResult -SummaryVariable s
        foreach ($x in $r) {
            $x.Output | Should -HaveCount 1
            $x.Output[0] | Should -BeOfType [bool]
            $x.Output[0] | Should -Be (Test-PrimeReference $x.Input) -Because "$($x.Input)"
        }
        Assert-BatchSummary $s -Total 4 -Succeeded 4
    }

    It 'is right for small numbers, in order' {
        $out = 0..30 | Invoke-ThreadBatch -Workload IsPrime -Ordered -SummaryVariable s
        $out | Should -Be @(0..30 | ForEach-Object { Test-PrimeReference $_ })
        Assert-BatchSummary $s -Total 31 -Succeeded 31
    }

    It 'takes longs: 2147483647 is prime, 2147483649 is not' {
        $out = [long]2147483647, [long]2147483649 | Invoke-ThreadBatch -Workload IsPrime -Ordered -SummaryVariable s
        $out | Should -Be @($true, $false)
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'loses nothing over many small items' {
        $out = 1..5000 | Invoke-ThreadBatch -Workload IsPrime -AsResult -SummaryVariable s
        $out | Should -HaveCount 5000
        @($out | Where-Object { $_.Output[0] }).Count | Should -Be 669 -Because 'there are 669 primes below 5000'
        Assert-BatchSummary $s -Total 5000 -Succeeded 5000
    }
}

Describe 'Built-in workload Sha256' {
    It 'hashes a file given by path like Get-FileHash' {
        $out = $textPath, $binPath | Invoke-ThreadBatch -Workload Sha256 -Ordered -SummaryVariable s
        $out[0] | Should -Match '^[0-9a-fA-F]{64}$'
        $out[0] | Should -Be (Get-FileHash -Algorithm SHA256 -LiteralPath $textPath).Hash
        $out[1] | Should -Be (Get-FileHash -Algorithm SHA256 -LiteralPath $binPath).Hash
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'hashes a string (UTF-8)' {
        $out = $sampleString, 'hello' | Invoke-ThreadBatch -Workload Sha256 -Ordered -SummaryVariable s
        $out[0] | Should -Be (Get-Sha256Hex ([System.Text.Encoding]::UTF8.GetBytes($sampleString)))
        $out[1] | Should -Be '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'hashes a byte[]' {
        $out = , $sampleBytes | Invoke-ThreadBatch -Workload Sha256 -SummaryVariable s
        $out | Should -HaveCount 1
        $out | Should -Be (Get-Sha256Hex $sampleBytes)
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }
}

Describe 'Built-in workload GZip' {
    It 'returns the compressed length of a file given by path' {
        $out = $textPath, $binPath | Invoke-ThreadBatch -Workload GZip -Ordered -SummaryVariable s
        [long]$out[0] | Should -Be (Get-GZipLength ([System.IO.File]::ReadAllBytes($textPath)))
        [long]$out[1] | Should -Be (Get-GZipLength $binBytes)
        [long]$out[0] | Should -BeLessThan (Get-Item $textPath).Length -Because 'repetitive text compresses'
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'returns the compressed length of a string (UTF-8)' {
        $out = $sampleString | Invoke-ThreadBatch -Workload GZip -SummaryVariable s
        [long]$out | Should -Be (Get-GZipLength ([System.Text.Encoding]::UTF8.GetBytes($sampleString)))
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }

    It 'returns the compressed length of a byte[]' {
        $out = , $sampleBytes | Invoke-ThreadBatch -Workload GZip -SummaryVariable s
        $out | Should -HaveCount 1
        [long]$out | Should -Be (Get-GZipLength $sampleBytes)
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }
}

Describe 'Built-in workload HttpGet' {
    BeforeAll {
        $script:server = Start-TestHttpServer
    }
    AfterAll {
        $server | Stop-TestHttpServer
    }

    It 'returns Url, StatusCode, Length and Duration' {
        $urls = "$($server.BaseUrl)/bytes/1234", "$($server.BaseUrl)/delay/300"
        $out = $urls | Invoke-ThreadBatch -Workload HttpGet -Ordered -SummaryVariable s
        $out | Should -HaveCount 2
        "$($out[0].Url)" | Should -Be $urls[0]
        [int]$out[0].StatusCode | Should -Be 200
        [long]$out[0].Length | Should -Be 1234
        $out[1].Duration | Should -BeOfType [timespan]
        $out[1].Duration.TotalSeconds | Should -BeGreaterOrEqual 0.25 -Because 'the endpoint waits 300 ms'
        [long]$out[1].Length | Should -Be ([System.Text.Encoding]::UTF8.GetByteCount('{"delayMs":300,"path":"/delay/300"}'))
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'reports a non-success status code in StatusCode' {
        $out = "$($server.BaseUrl)/status/404" | Invoke-ThreadBatch -Workload HttpGet -SummaryVariable s -ErrorAction SilentlyContinue
        [int]$out.StatusCode | Should -Be 404 -Because 'the output carries the status code, so a 404 is data, like HttpClient.GetAsync'
        Assert-BatchSummary $s -Total 1
    }

    It 'keeps ThrottleLimit requests in flight (async)' {
        $urls = 1..12 | ForEach-Object { "$($server.BaseUrl)/delay/600" }
        $server.ResetCounters()
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = $urls | Invoke-ThreadBatch -Workload HttpGet -ThrottleLimit 6 -SummaryVariable s
        $elapsed = $sw.Elapsed.TotalSeconds
        $out | Should -HaveCount 12
        @($out | Where-Object { [int]$_.StatusCode -eq 200 }) | Should -HaveCount 12
        $server.RequestCount | Should -Be 12
        $server.MaxConcurrent | Should -BeLessOrEqual 6 -Because 'ThrottleLimit is the most requests at once'
        $server.MaxConcurrent | Should -BeGreaterOrEqual 4 -Because 'an async workload keeps ThrottleLimit calls in flight'
        $elapsed | Should -BeLessThan 6 -Because '12 x 0.6 s one after another take 7.2 s; the ideal is 1.2 s'
        Assert-BatchSummary $s -Total 12 -Succeeded 12
    }

    It 'fails an unreachable URL with an error naming it, without hanging' {
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
        $bad = "http://127.0.0.1:$port/nothing-listens-here"
        $good = "$($server.BaseUrl)/bytes/10"
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = $bad, $good | Invoke-ThreadBatch -Workload HttpGet -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 30
        @($out) | Should -HaveCount 1
        [long]$out[0].Length | Should -Be 10
        @($ev) | Should -HaveCount 1
        "$($ev[0].TargetObject)" | Should -Be $bad
        Assert-BatchSummary $s -Total 2 -Succeeded 1 -Failed 1
    }
}

Describe 'Workload lookup and tab completion' {
    It 'completes -Workload names: Is -> IsPrime' {
        $c = TabExpansion2 'Invoke-ThreadBatch -Workload Is' 31
        $c.CompletionMatches.CompletionText | Should -Contain 'IsPrime'
        $c.CompletionMatches.CompletionText | Should -Not -Contain 'Sleep'
    }

    It 'completes all six built-ins' {
        $line = 'Invoke-ThreadBatch -Workload '
        $c = TabExpansion2 $line $line.Length
        foreach ($name in 'Sleep', 'Spin', 'IsPrime', 'Sha256', 'HttpGet', 'GZip') {
            $c.CompletionMatches.CompletionText | Should -Contain $name
        }
    }

    It 'finds built-ins by name case-insensitively' {
        $out = 7 | Invoke-ThreadBatch -Workload isprime -SummaryVariable s
        $out | Should -BeTrue
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }
}

Describe 'Custom compiled workloads' {
    BeforeAll {
        $script:ns = 'PTestWorkloads' + [guid]::NewGuid().ToString('N')
        $contracts = [PSParallel.IWorkload].Assembly.Location
        $source = @"
using System;
using System.Threading;
using System.Threading.Tasks;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace $ns
{
    internal static class In
    {
        public static long Long(object input) => LanguagePrimitives.ConvertTo<long>(input);
    }

    public class Doubler : PSParallel.IWorkload
    {
        public object Invoke(object input, CancellationToken token) => In.Long(input) * 2;
    }

    public class WhereAmI : PSParallel.IWorkload
    {
        public object Invoke(object input, CancellationToken token) =>
            "runspace=" + (Runspace.DefaultRunspace == null ? "none" : Runspace.DefaultRunspace.Id.ToString()) +
            ";pool=" + Thread.CurrentThread.IsThreadPoolThread +
            ";tid=" + Environment.CurrentManagedThreadId;
    }

    public class Failer : PSParallel.IWorkload
    {
        public object Invoke(object input, CancellationToken token)
        {
            if (In.Long(input) == 3) throw new InvalidOperationException("custom failure on " + input);
            return input;
        }
    }

    public class Waiter : PSParallel.IWorkload
    {
        public object Invoke(object input, CancellationToken token)
        {
            if (In.Long(input) == 0) return "quick";
            token.WaitHandle.WaitOne(30000);
            token.ThrowIfCancellationRequested();
            return "waited the full 30 s";
        }
    }

    public class ThrowsOnCancel : PSParallel.IWorkload
    {
        public object Invoke(object input, CancellationToken token)
        {
            if (In.Long(input) == 0) return "quick";
            token.Register(() => { throw new InvalidOperationException("the workload's cancel callback failed"); });
            token.WaitHandle.WaitOne(30000);
            token.ThrowIfCancellationRequested();
            return "waited the full 30 s";
        }
    }

    public class AsyncDelay : PSParallel.IAsyncWorkload
    {
        private static int _inFlight, _max;
        public static int Max => Volatile.Read(ref _max);
        public static void Reset() { Volatile.Write(ref _max, 0); }

        public async Task<object> InvokeAsync(object input, CancellationToken token)
        {
            int now = Interlocked.Increment(ref _inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen) { }
            try { await Task.Delay(500, token).ConfigureAwait(false); }
            finally { Interlocked.Decrement(ref _inFlight); }
            return In.Long(input) + 1000;
        }
    }

    public class NeedsArgument : PSParallel.IWorkload
    {
        private readonly int _k;
        public NeedsArgument(int k) { _k = k; }
        public object Invoke(object input, CancellationToken token) => _k;
    }

    public class NotAWorkload
    {
        public object Invoke(object input, CancellationToken token) => input;
    }
}
"@
        $script:dll = Join-Path $TestDrive "$ns.dll"
        Add-Type -TypeDefinition $source -ReferencedAssemblies $contracts, ([psobject].Assembly.Location), 'System.Threading', 'System.Threading.Thread' -OutputAssembly $dll -OutputType Library
        $asm = [System.Reflection.Assembly]::LoadFrom($dll)
        $script:T = @{}
        foreach ($n in 'Doubler', 'WhereAmI', 'Failer', 'Waiter', 'ThrowsOnCancel', 'AsyncDelay', 'NeedsArgument', 'NotAWorkload') { $T[$n] = $asm.GetType("$ns.$n", $true) }
    }

    It 'runs a type that implements PSParallel.IWorkload, given as [type]' {
        $out = 1..20 | Invoke-ThreadBatch -Workload $T.Doubler -SummaryVariable s
        ($out | Sort-Object) | Should -Be (1..20 | ForEach-Object { $_ * 2 })
        Assert-BatchSummary $s -Total 20 -Succeeded 20
    }

    It 'runs on the thread pool with no runspace; Worker is the managed thread id' {
        $r = 1..6 | Invoke-ThreadBatch -Workload $T.WhereAmI -AsResult -SummaryVariable s
        foreach ($x in $r) {
            $x.Output[0] | Should -BeLike 'runspace=none;pool=True;tid=*' -Because 'a compiled workload runs on the thread pool directly, with no runspace'
            $x.Output[0] | Should -Be "runspace=none;pool=True;tid=$($x.Worker)" -Because 'Worker is the managed thread id for compiled workloads'
        }
        Assert-BatchSummary $s -Total 6 -Succeeded 6
    }

    It 'fails an item whose workload throws, with the exception and TargetObject = item' {
        $out = 1..5 | Invoke-ThreadBatch -Workload $T.Failer -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        ($out | Sort-Object) | Should -Be @(1, 2, 4, 5)
        @($ev) | Should -HaveCount 1
        $ev[0].TargetObject | Should -Be 3
        $ev[0].Exception.Message | Should -BeLike '*custom failure on 3*'
        Assert-BatchSummary $s -Total 5 -Succeeded 4 -Failed 1
    }

    It 'cancels the token when an item times out' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 0, 1 | Invoke-ThreadBatch -Workload $T.Waiter -ItemTimeoutSeconds 1 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $out | Should -Be 'quick'
        @($ev) | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'ItemTimedOut*'
        Assert-BatchSummary $s -Total 2 -Succeeded 1 -TimedOut 1
    }

    It 'cancels the token when the batch times out' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 1, 1, 1 | Invoke-ThreadBatch -Workload $T.Waiter -TimeoutSeconds 1 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        @($out) | Should -HaveCount 0
        @($ev) | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'BatchTimedOut*'
        Assert-BatchSummary $s -Total 3 -TimedOut 3
    }

    It 'survives a workload whose cancel callback throws, on a batch timeout and on an item timeout' {
        # In a child process: the callback used to throw on a timer thread, which ends the process.
        $manifest = (Resolve-Path (Get-PSParallelManifest)).Path -replace "'", "''"
        $type = "[System.Reflection.Assembly]::LoadFrom('$($dll -replace "'", "''")').GetType('$($T.ThrowsOnCancel.FullName)', `$true)"
        $r = Invoke-ChildPwsh -Command (@(
                "Import-Module '$manifest' -ErrorAction Stop; `$type = $type"
                '$null = 1, 1 | Invoke-ThreadBatch -Workload $type -TimeoutSeconds 1 -SummaryVariable batch -ErrorAction SilentlyContinue'
                '$null = 0, 1 | Invoke-ThreadBatch -Workload $type -ItemTimeoutSeconds 1 -SummaryVariable item -ErrorAction SilentlyContinue'
                '"batch: $($batch.Total) $($batch.TimedOut); item: $($item.Total) $($item.Succeeded) $($item.TimedOut)"'
            ) -join '; ')
        $r.ExitCode | Should -Be 0 -Because $r.StdErr
        $r.StdOut.Trim() | Should -Be 'batch: 2 2; item: 2 1 1'
    }

    It 'keeps ThrottleLimit IAsyncWorkload calls in flight without holding threads' {
        $asyncType = $T.AsyncDelay
        $asyncType::Reset()
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 1..120 | Invoke-ThreadBatch -Workload $T.AsyncDelay -ThrottleLimit 40 -SummaryVariable s
        $elapsed = $sw.Elapsed.TotalSeconds
        ($out | Sort-Object) | Should -Be (1..120 | ForEach-Object { $_ + 1000 })
        $asyncType::Max | Should -BeLessOrEqual 40 -Because 'ThrottleLimit bounds the calls in flight'
        $asyncType::Max | Should -BeGreaterOrEqual 30 -Because '40 calls at once on 2 cores are only possible without a thread per call'
        $elapsed | Should -BeLessThan 8 -Because '120 x 0.5 s at 40 at once is 1.5 s; holding a thread per call would be far slower'
        Assert-BatchSummary $s -Total 120 -Succeeded 120
    }

    It 'refuses a type that does not implement PSParallel.IWorkload, naming the type and the interface' {
        $err = Get-FirstError { 1 | Invoke-ThreadBatch -Workload $T.NotAWorkload }
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -BeLike "*NotAWorkload*"
        $err.Exception.Message | Should -BeLike '*IWorkload*'
    }

    It 'refuses a workload type without a parameterless constructor, naming the type' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $err = Get-FirstError { 1, 2 | Invoke-ThreadBatch -Workload $T.NeedsArgument }
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 30
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -BeLike '*NeedsArgument*'
        $err.Exception.Message | Should -BeLike '*constructor*' -Because 'the error says what is missing'
    }
}

# What a user types: the contracts named by [PSParallel.IWorkload].Assembly.Location, no
# -IgnoreWarnings. The module loads the contracts built for the running .NET, so the compiler
# has no older System.Runtime to warn about (CS1701, which Add-Type treats as an error).
Describe 'A custom workload compiled without -IgnoreWarnings' {
    BeforeAll {
        $script:plainNs = 'PTestPlain' + [guid]::NewGuid().ToString('N')
        $src = @"
namespace $plainNs
{
    public class Tripler : PSParallel.IWorkload
    {
        public object Invoke(object input, System.Threading.CancellationToken token) =>
            long.Parse(input.ToString()) * 3 + ":" + System.Environment.ProcessId;
    }
}
"@
        $script:plainDll = Join-Path $TestDrive "$plainNs.dll"
        Add-Type -TypeDefinition $src -ReferencedAssemblies ([PSParallel.IWorkload].Assembly.Location) -OutputAssembly $plainDll
        # -OutputAssembly only writes the file.
        Add-Type -Path $plainDll
    }

    It 'compiles to a file that loads as a type' {
        $plainDll | Should -Exist
        "$plainNs.Tripler" -as [type] | Should -Not -BeNullOrEmpty
    }

    It 'runs with Invoke-ThreadBatch -Workload ([TheType])' {
        $type = "$plainNs.Tripler" -as [type]
        $out = 1..5 | Invoke-ThreadBatch -Workload ($type) -Ordered -SummaryVariable s
        $out | Should -Be (1..5 | ForEach-Object { "$($_ * 3):$PID" })
        Assert-BatchSummary $s -Total 5 -Succeeded 5
    }

    It 'runs with Invoke-ProcessBatch -Workload ([TheType]), in the workers' {
        $type = "$plainNs.Tripler" -as [type]
        $out = 1..5 | Invoke-ProcessBatch -Workload ($type) -Ordered -ThrottleLimit 2 -SummaryVariable s
        @($out | ForEach-Object { [long]($_ -split ':')[0] }) | Should -Be (1..5 | ForEach-Object { $_ * 3 })
        @($out | ForEach-Object { [int]($_ -split ':')[1] }) | Should -Not -Contain $PID -Because 'the workload runs in the worker processes'
        Assert-BatchSummary $s -Total 5 -Succeeded 5
    }
}

Describe 'A fresh PowerShell process' {
    It 'imports the module and runs the seed''s CPU example' {
        $manifest = (Resolve-Path (Get-PSParallelManifest)).Path -replace "'", "''"
        $r = Invoke-ChildPwsh -Command "Import-Module '$manifest' -ErrorAction Stop; (10000019, 10000079, 10000103, 10000129 | Invoke-ThreadBatch -Workload IsPrime -Ordered) -join ','"
        $r.ExitCode | Should -Be 0 -Because $r.StdErr
        $expected = (10000019, 10000079, 10000103, 10000129 | ForEach-Object { Test-PrimeReference $_ }) -join ','
        $r.StdOut.Trim() | Should -Be $expected
    }
}
