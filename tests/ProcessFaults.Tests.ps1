#requires -Version 7.2
# Fault tests for Invoke-ProcessBatch (CONTRACT.md, "Invoke-ProcessBatch"): a worker that dies
# (killed, exits, overflows its stack) fails only the item it held; a hung item is killed with its
# worker; console garbage cannot corrupt the message stream; a big output comes back intact;
# stopping a batch in any way (Ctrl+C, timeout, -ErrorAction Stop, Select-Object -First, killing
# the caller) leaves no process; a worker executable that never says hello or speaks garbage
# fails with a clear error instead of a hang. Every test ends checking, by parent pid and by the
# pids the items reported, that no worker process is left.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel

    # A real stack overflow needs compiled code: PowerShell turns deep script recursion into an
    # error before the stack runs out.
    $script:crashNs = 'PProcCrash' + [guid]::NewGuid().ToString('N')
    $script:crashDll = Join-Path $TestDrive "$crashNs.dll"
    Add-Type -OutputAssembly $crashDll -OutputType Library -TypeDefinition @"
namespace $crashNs
{
    public static class Crasher
    {
        public static int Recurse(int depth) { return Recurse(depth + 1) + depth % 7; }
    }
}
"@

    function New-TestDirectory([string] $Name) {
        (New-Item -ItemType Directory -Path (Join-Path $TestDrive $Name) -Force).FullName
    }
}

Describe 'Invoke-ProcessBatch faults: a worker that dies fails only the item it held' {
    It 'items doing Stop-Process -Id $PID, [Environment]::Exit(3) and a stack overflow each fail alone with WorkerFailed naming pid and exit code; the others succeed' {
        # The stack overflow is unbounded recursion in compiled code. Not `function f { f }; f`:
        # PowerShell turns that into a CallDepthOverflow error (no crash), and unwinding it takes
        # more than a minute on a small machine.
        $dir = New-TestDirectory 'crashes'
        $r = 0..9 | Invoke-ProcessBatch {
            Set-Content -LiteralPath (Join-Path $using:dir "pid-$_") -Value $PID
            switch ($_) {
                2 { Stop-Process -Id $PID }
                5 { [Environment]::Exit(3) }
                7 { Add-Type -LiteralPath $using:crashDll; $null = ("$using:crashNs.Crasher" -as [type])::Recurse(0) }
            }
            Start-Sleep -Milliseconds 50
            "ok $_"
        } -ThrottleLimit 2 -AsResult -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -HaveCount 10
        $crashed = 2, 5, 7
        @($r | Where-Object Index -NotIn $crashed | Where-Object Status -NE 'Succeeded') | Should -HaveCount 0 -Because 'only the items that killed their worker fail; items queued on a dead worker run elsewhere'
        ($r | Where-Object Index -NotIn $crashed | ForEach-Object { $_.Output[0] } | Sort-Object) | Should -Be @(0, 1, 3, 4, 6, 8, 9 | ForEach-Object { "ok $_" })
        foreach ($i in $crashed) {
            $x = $r | Where-Object Index -EQ $i
            $deadPid = [int](Get-Content -LiteralPath (Join-Path $dir "pid-$i"))
            $x.Status | Should -Be 'Failed' -Because "item $i took its worker down"
            $x.Errors[0].FullyQualifiedErrorId | Should -BeLike 'WorkerFailed*'
            $x.Errors[0].Exception.Message | Should -Match "worker process $deadPid exited with code -?\d+"
            if ($i -eq 5) { $x.Errors[0].Exception.Message | Should -BeLike "*worker process $deadPid exited with code 3*" }
        }
        @($ev) | Should -HaveCount 3
        ($ev.TargetObject | Sort-Object) | Should -Be $crashed
        Assert-BatchSummary $s -Total 10 -Succeeded 7 -Failed 3
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }

    It 'with -RetryCount 1 an item that crashes its worker once succeeds on a healthy worker' {
        $dir = New-TestDirectory 'crashonce'
        $marker = Join-Path $dir 'crashed-pid'
        $r = 'x', 'y', 'z' | Invoke-ProcessBatch {
            if ($_ -eq 'x' -and -not (Test-Path -LiteralPath $using:marker)) {
                Set-Content -LiteralPath $using:marker -Value $PID
                [Environment]::Exit(7)
            }
            Set-Content -LiteralPath (Join-Path $using:dir "pid-$_") -Value $PID
            "ok $_ $PID"
        } -RetryCount 1 -RetryDelaySeconds 0.1 -ThrottleLimit 2 -AsResult -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $crashedPid = [int](Get-Content -LiteralPath $marker)
        $x = $r | Where-Object Input -EQ 'x'
        $x.Status | Should -Be 'Succeeded'
        $x.Attempts | Should -Be 2
        @($x.Output) | Should -HaveCount 1
        $x.Output[0] | Should -BeLike 'ok x *'
        $x.Worker | Should -Not -Be $crashedPid -Because 'the retry runs on a healthy worker'
        @($ev) | Should -HaveCount 0 -Because 'the item succeeded on retry'
        Assert-BatchSummary $s -Total 3 -Succeeded 3
        Assert-NoWorkerLeft -ProcessId @((Get-PidFromFile $dir) + $crashedPid)
    }
}

Describe 'Invoke-ProcessBatch faults: hangs' {
    It 'an item hanging past -ItemTimeoutSeconds is TimedOut, its worker (and its child process) killed and replaced' {
        $dir = New-TestDirectory 'hang'
        $sleeperPidFile = Join-Path $dir 'sleeper'
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $r = 0..4 | Invoke-ProcessBatch {
            Set-Content -LiteralPath (Join-Path $using:dir "pid-$_") -Value $PID
            if ($_ -eq 2) {
                if ($IsWindows) { Start-Sleep -Seconds 60 }
                else { & /bin/sh -c "echo `$`$ > '$using:sleeperPidFile'; exec sleep 60" }
            }
            "ok $_"
        } -ItemTimeoutSeconds 3 -ThrottleLimit 1 -AsResult -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 40 -Because 'the hung item is bounded to 3 s'
        $hung = $r | Where-Object Index -EQ 2
        $hung.Status | Should -Be 'TimedOut'
        $hung.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ItemTimedOut*'
        @($ev) | Should -HaveCount 1
        $ev[0].TargetObject | Should -Be 2
        foreach ($i in 0, 1, 3, 4) { ($r | Where-Object Index -EQ $i).Output | Should -Be "ok $i" }
        $hungPid = [int](Get-Content -LiteralPath (Join-Path $dir 'pid-2'))
        @($r | Where-Object { $_.Index -gt 2 } | Where-Object Worker -EQ $hungPid) | Should -HaveCount 0 -Because 'the hung worker is killed; the items after it run on its replacement'
        Assert-BatchSummary $s -Total 5 -Succeeded 4 -TimedOut 1
        if (-not $IsWindows) { Get-PidFromFile $dir -Filter 'sleeper' | Should -HaveCount 1 -Because 'the hung item started a native child process' }
        $left = @((Get-PidFromFile $dir) + (Get-PidFromFile $dir -Filter 'sleeper'))
        Assert-NoWorkerLeft -ProcessId $left
    }
}

Describe 'Invoke-ProcessBatch faults: the message stream' {
    It 'console output of items (Console, Write-Host, native commands, raw bytes on stdout) cannot corrupt it' {
        $kinds = 'writeline', 'outwrite', 'host', 'native', 'nativehost', 'rawbytes', 'flood', 'stderr', 'plain'
        $r = $kinds | Invoke-ProcessBatch {
            switch ($_) {
                'writeline' { [Console]::WriteLine('garbage line') }
                'outwrite' { [Console]::Out.Write([string][char]0 + [char]0x7f + 'garbage without newline'); [Console]::Out.Flush() }
                'host' { Write-Host 'garbage via Write-Host' }
                'native' {
                    $p = if ($IsWindows) { [System.Diagnostics.Process]::Start('cmd.exe', '/c echo garbage from a native command') }
                    else { [System.Diagnostics.Process]::Start('/bin/echo', 'garbage from a native command') }
                    $p.WaitForExit()
                }
                'nativehost' {
                    if ($IsWindows) { cmd /c echo garbage | Out-Host } else { /bin/echo 'garbage through the host' | Out-Host }
                }
                'rawbytes' {
                    $bytes = [byte[]](@(0xFF, 0xFF, 0xFF, 0x7F, 5, 0, 0, 0) + (0..255))
                    $stdout = [Console]::OpenStandardOutput()
                    $stdout.Write($bytes, 0, $bytes.Length)
                    $stdout.Flush()
                }
                'flood' { [Console]::Out.Write('x' * 300KB); [Console]::Out.Flush() }
                'stderr' { [Console]::Error.WriteLine('garbage on stderr') }
            }
            "clean $_"
        } -ThrottleLimit 2 -ChunkSize 1 -AsResult -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue 6>&1
        $results = @($r | Where-Object { $_ -is [PSParallel.ItemResult] })
        $results | Should -HaveCount $kinds.Count
        foreach ($x in $results) {
            $x.Status | Should -Be 'Succeeded' -Because "item '$($x.Input)' only wrote to the console"
            @($x.Output) | Should -Be @("clean $($x.Input)")
        }
        @($ev) | Should -HaveCount 0
        Assert-BatchSummary $s -Total $kinds.Count -Succeeded $kinds.Count
        # The workers are still usable after all that: a second batch on fresh workers is not the
        # point; the items after the garbage in the same worker (ChunkSize 1, throttle 2) succeeded.
        Assert-NoWorkerLeft -ProcessId @($results.Worker)
    }

    It 'a 50 MB output (byte[] and string) comes back intact' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $r = 'bytes', 'string' | Invoke-ProcessBatch {
            if ($_ -eq 'bytes') {
                $data = [byte[]]::new(50MB)
                [System.Random]::new(50).NextBytes($data)
                [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($data))
                , $data
            }
            else {
                $data = ('0123456789abcdef' * 3MB) + ([string][char]0x2713 * 2MB)
                [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes($data)))
                $data
            }
        } -ThrottleLimit 2 -AsResult -SummaryVariable s
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 90
        $bytes = $r | Where-Object Input -EQ 'bytes'
        $bytes.Status | Should -Be 'Succeeded'
        $bytes.Output[1] -is [byte[]] | Should -BeTrue -Because 'a byte[] comes back as a byte[]'
        $bytes.Output[1].Length | Should -Be 50MB
        [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($bytes.Output[1])) | Should -Be $bytes.Output[0]
        $text = $r | Where-Object Input -EQ 'string'
        $text.Status | Should -Be 'Succeeded'
        $text.Output[1] -is [string] | Should -BeTrue
        $text.Output[1].Length | Should -Be 50MB
        [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes($text.Output[1]))) | Should -Be $text.Output[0]
        Assert-BatchSummary $s -Total 2 -Succeeded 2
        Assert-NoWorkerLeft -ProcessId @($r.Worker)
    }
}

Describe 'Invoke-ProcessBatch faults: stopping leaves no process' {
    It 'Ctrl+C (StopProcessing) returns within 5 s and leaves no worker' {
        $dir = New-TestDirectory 'ctrlc'
        $ps = New-PSParallelInstance
        try {
            $null = $ps.AddScript('param($d) 1..6 | Invoke-ProcessBatch { Set-Content -LiteralPath (Join-Path $using:d "pid-$_") -Value $PID; Start-Sleep -Seconds 30; "end $_" } -ThrottleLimit 2 -SummaryVariable s').AddArgument($dir)
            $handle = $ps.BeginInvoke()
            Wait-Until { (Get-PidFromFile $dir).Count -ge 2 } -TimeoutSeconds 60 | Should -BeTrue -Because 'items must start'
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'Ctrl+C stops all running items within about a second'
            $handle.IsCompleted | Should -BeTrue
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
            $summary = $ps.Runspace.SessionStateProxy.GetVariable('s')
            if ($null -ne $summary) {
                $summary.Total | Should -Be ($summary.Succeeded + $summary.Failed + $summary.TimedOut + $summary.Cancelled + $summary.Skipped)
                $summary.Succeeded | Should -Be 0
            }
        }
        finally { Remove-PSParallelInstance $ps }
    }

    It '-TimeoutSeconds stops the batch, reports every unfinished item TimedOut and leaves no worker' {
        $dir = New-TestDirectory 'batchtimeout'
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 0..5 | Invoke-ProcessBatch {
            Set-Content -LiteralPath (Join-Path $using:dir "pid-$_") -Value $PID
            if ($_ -eq 0) { return 'quick' }
            Start-Sleep -Seconds 30
            "slow $_"
        } -ThrottleLimit 2 -TimeoutSeconds 5 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 15 -Because 'the batch is bounded to 5 s'
        @($out | Where-Object { $_ -like 'slow*' }) | Should -HaveCount 0
        @($ev | Where-Object FullyQualifiedErrorId -Like 'BatchTimedOut*') | Should -HaveCount 1
        Assert-BatchSummary $s -Total 6 -Failed 0 -Cancelled 0
        $s.TimedOut | Should -BeGreaterOrEqual 5
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }

    It '-ErrorAction Stop stops the batch at the first failure, throws, and leaves no worker' {
        $dir = New-TestDirectory 'erroractionstop'
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $caught = $null
        try {
            $null = 0..5 | Invoke-ProcessBatch {
                Set-Content -LiteralPath (Join-Path $using:dir "pid-$_") -Value $PID
                if ($_ -eq 0) { Start-Sleep -Milliseconds 500; Write-Error 'zero failed' -ErrorId 'StopMe' }
                else { Start-Sleep -Seconds 30 }
            } -ThrottleLimit 3 -ChunkSize 1 -ErrorAction Stop -SummaryVariable s
        }
        catch { $caught = $_ }
        # Not stopping would take 30 s at least (items 1 and 2 start with item 0); the margin below that is for slow worker starts on a busy machine.
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 28 -Because 'the batch stops at the first failure instead of waiting for the 30 s items'
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'StopMe*'
        Assert-BatchSummary $s -Total 6 -Failed 1 -Succeeded 0
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }

    It 'Select-Object -First 1 stops the batch early and leaves no worker' {
        $dir = New-TestDirectory 'first'
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 1..10 | Invoke-ProcessBatch {
            Set-Content -LiteralPath (Join-Path $using:dir "pid-$_") -Value $PID
            if ($_ -ne 1) { Start-Sleep -Seconds 30 }
            $_
        } -ThrottleLimit 2 -SummaryVariable s | Select-Object -First 1
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 28 -Because 'the whole batch would take minutes (the second item alone sleeps 30 s)'
        $out | Should -Be 1
        $s | Should -Not -BeNullOrEmpty -Because 'the summary is stored even when the batch is stopped early'
        $s.Total | Should -Be ($s.Succeeded + $s.Failed + $s.TimedOut + $s.Cancelled + $s.Skipped)
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }

    It 'when the caller is killed, its workers exit within 5 s' {
        $dir = New-TestDirectory 'killcaller'
        $manifest = (Resolve-Path (Get-PSParallelManifest)).Path
        $command = @"
Import-Module '$($manifest -replace "'", "''")' -ErrorAction Stop
`$d = '$($dir -replace "'", "''")'
1..4 | Invoke-ProcessBatch { Set-Content -LiteralPath (Join-Path `$using:d "pid-`$_") -Value `$PID; Start-Sleep -Seconds 60 } -ThrottleLimit 2
"@
        $caller = Start-ChildPwsh -Command $command
        try {
            Wait-Until { (Get-PidFromFile $dir).Count -ge 2 -or $caller.HasExited } -TimeoutSeconds 90 | Should -BeTrue
            $caller.HasExited | Should -BeFalse -Because "the child caller must be running its batch (stderr: $(if ($caller.HasExited) { $caller.PSParallelOutput.StdErr.Result }))"
            $workers = Get-PidFromFile $dir
            $workers | Should -HaveCount 2
            $byParent = @(Get-PSParallelWorker -ParentId $caller.Id)
            foreach ($w in $workers) { $byParent | Should -Contain $w -Because 'the workers are children of the caller' }
            $caller.Kill()   # the caller only, not its process tree
            $caller.WaitForExit(10000) | Should -BeTrue
            Assert-NoWorkerLeft -ParentId $caller.Id -ProcessId $workers -TimeoutSeconds 5
        }
        finally {
            if (-not $caller.HasExited) { $caller.Kill($true) }
            $caller.Dispose()
            foreach ($w in (Get-PidFromFile $dir)) { if (Test-ProcessAlive $w) { Stop-Process -Id $w -Force -ErrorAction SilentlyContinue } }
        }
    }
}

Describe 'Invoke-ProcessBatch faults: broken worker executables (-PowerShellPath)' {
    BeforeAll {
        # Runs a batch with the given -PowerShellPath in a separate runspace, so that a hang fails
        # the test instead of blocking the run. Returns what happened.
        function Invoke-BrokenWorkerBatch {
            param([string] $PowerShellPath, [double] $WaitSeconds)
            $ps = New-PSParallelInstance
            try {
                $null = $ps.AddScript('param($p) 1..3 | Invoke-ProcessBatch { $_ } -PowerShellPath $p -ThrottleLimit 2 -SummaryVariable s').AddArgument($PowerShellPath)
                $sw = [System.Diagnostics.Stopwatch]::StartNew()
                $handle = $ps.BeginInvoke()
                $finished = $handle.AsyncWaitHandle.WaitOne([timespan]::FromSeconds($WaitSeconds))
                $elapsed = $sw.Elapsed.TotalSeconds
                $thrown = $null; $out = @()
                if ($finished) {
                    try { $out = @($ps.EndInvoke($handle)) } catch { $thrown = $_ }
                }
                else { $ps.Stop() }
                $errors = @(@($ps.Streams.Error) + @(if ($thrown) { $thrown.Exception.InnerException.ErrorRecord ?? $thrown }) | Where-Object { $_ })
                [pscustomobject]@{
                    Finished = $finished
                    Seconds  = $elapsed
                    Output   = $out
                    Errors   = $errors
                    Summary  = $ps.Runspace.SessionStateProxy.GetVariable('s')
                }
            }
            finally { Remove-PSParallelInstance $ps }
        }
    }

    It 'a worker that never says hello fails the batch with a clear error within about 30 s, every item accounted for' {
        $dir = New-TestDirectory 'nohello'
        $fake = New-FakePowerShell -Directory $dir -Kind Sleep
        $result = Invoke-BrokenWorkerBatch -PowerShellPath $fake -WaitSeconds 75
        $result.Finished | Should -BeTrue -Because 'a worker that never says hello must not hang the batch'
        $result.Seconds | Should -BeLessThan 45
        $result.Errors | Should -Not -BeNullOrEmpty
        $message = ($result.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }) -join "`n"
        $message | Should -Match 'worker process \d+.*hello' -Because 'the error names the worker and says that it never said hello'
        @($result.Output) | Should -HaveCount 0
        Assert-BatchSummary $result.Summary -Total 3 -Succeeded 0
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }

    It 'a worker that writes random bytes and exits fails the batch with a clear error, no hang' {
        $dir = New-TestDirectory 'garbagebytes'
        $fake = New-FakePowerShell -Directory $dir -Kind Garbage
        $result = Invoke-BrokenWorkerBatch -PowerShellPath $fake -WaitSeconds 60
        $result.Finished | Should -BeTrue -Because 'a worker that speaks garbage must not hang the batch'
        $result.Seconds | Should -BeLessThan 30
        $result.Errors | Should -Not -BeNullOrEmpty
        ($result.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }) -join "`n" |
            Should -Match 'worker process \d+.*(frame|protocol)' -Because 'the error names the worker and says what went wrong'
        @($result.Output) | Should -HaveCount 0
        Assert-BatchSummary $result.Summary -Total 3 -Succeeded 0
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }

    It 'a worker that sends a well-formed frame of random bytes fails the batch with a clear protocol error, no hang' {
        $dir = New-TestDirectory 'garbageframe'
        # A 4-byte little-endian length of 64, 64 random bytes (not a MessagePack hello), more random bytes, exit.
        $payload = [byte[]]::new(64 + 1000)
        [System.Random]::new(64).NextBytes($payload)
        $fake = New-FakePowerShell -Directory $dir -Kind Garbage -Bytes ([byte[]](@(64, 0, 0, 0) + $payload))
        $result = Invoke-BrokenWorkerBatch -PowerShellPath $fake -WaitSeconds 60
        $result.Finished | Should -BeTrue
        $result.Seconds | Should -BeLessThan 30
        $result.Errors | Should -Not -BeNullOrEmpty
        ($result.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }) -join "`n" |
            Should -Match 'worker process \d+.*(protocol|hello|message|frame)'
        @($result.Output) | Should -HaveCount 0
        Assert-BatchSummary $result.Summary -Total 3 -Succeeded 0
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }

    It 'a worker that announces a frame past the bound, then stays silent, fails at once with a clear error' {
        $dir = New-TestDirectory 'hugeframe'
        # The worker's preamble 'PSPRL', 0x01, CR, LF (so the parent starts reading frames), then a length past the bound.
        $fake = New-FakePowerShell -Directory $dir -Kind Garbage -Bytes ([byte[]](@(0x50, 0x53, 0x50, 0x52, 0x4C, 0x01, 0x0D, 0x0A) + @(0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3))) -ThenSleep
        $result = Invoke-BrokenWorkerBatch -PowerShellPath $fake -WaitSeconds 60
        $result.Finished | Should -BeTrue
        $result.Seconds | Should -BeLessThan 45
        $result.Errors | Should -Not -BeNullOrEmpty
        ($result.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }) -join "`n" |
            Should -Match 'worker process \d+.*bound' -Because 'the error says that the frame is past the bound'
        Assert-BatchSummary $result.Summary -Total 3 -Succeeded 0
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }

    It 'a worker whose first frame is cut short fails the batch with a clear error, no hang' {
        $dir = New-TestDirectory 'truncated'
        # The preamble, a 4-byte little-endian length of 100, then 10 bytes, then the process exits.
        $fake = New-FakePowerShell -Directory $dir -Kind Garbage -Bytes ([byte[]](@(0x50, 0x53, 0x50, 0x52, 0x4C, 0x01, 0x0D, 0x0A) + @(100, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)))
        $result = Invoke-BrokenWorkerBatch -PowerShellPath $fake -WaitSeconds 60
        $result.Finished | Should -BeTrue
        $result.Seconds | Should -BeLessThan 30
        $result.Errors | Should -Not -BeNullOrEmpty
        ($result.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }) -join "`n" |
            Should -Match 'worker process \d+.*(truncat|cut short|ended)' -Because 'the error says that the frame was cut short'
        Assert-BatchSummary $result.Summary -Total 3 -Succeeded 0
        Assert-NoWorkerLeft -ProcessId (Get-PidFromFile $dir)
    }
}

AfterAll {
    # Belt and braces: nothing this file started may outlive it.
    foreach ($w in @(Get-PSParallelWorker)) { Stop-Process -Id $w -Force -ErrorAction SilentlyContinue }
}
