#requires -Version 7.2
# Invoke-ProcessBatch on other hosts over PowerShell remoting (SSH), against real sshd servers this
# file starts on loopback addresses (127.0.0.2, 127.0.0.3, ...: each address stands for a host), with
# keys made for the run. Losing a host is killing its sshd and its session processes mid-batch.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'TestSshd.psm1') -Force
    Import-PSParallel
    $reason = Get-SshdMissingReason
    if ($reason) { throw "The remote-host tests cannot run: $reason." }

    # Two hosts on one port, so that -HostName names both with one -Port.
    $script:HostA = Start-TestSshHost -Address 127.0.0.2
    $script:HostB = Start-TestSshHost -Address 127.0.0.3 -Port $HostA.Port
    $script:Both = Get-TestSshConnection $HostA, $HostB
    $script:OnlyA = Get-TestSshConnection $HostA

    function Get-ResultHost([object] $Result) { ($Result.Worker -split ':')[0] }
    function Get-ResultPid([object] $Result) { [int](($Result.Worker -split ':')[1]) }
}

AfterAll {
    Stop-AllTestSshHosts
}

Describe 'Invoke-ProcessBatch -HostName' {
    It 'spreads the items over both hosts, stamps the output as Invoke-Command does and reports each host' {
        # Items flow to whichever session is free, so one host connecting first could take all 40
        # trivial items before the other is up. Each item marks its host (the address its sshd
        # answered on) and the first ones wait until both hosts have marked, so that the spread
        # asserted below does not hang on which handshake wins.
        $marks = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'spread-marks')
        $out = 1..40 | Invoke-ProcessBatch {
            $server = ($env:SSH_CONNECTION -split ' ')[2]
            New-Item -ItemType File -Path (Join-Path $using:marks $server) -Force | Out-Null
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while (@(Get-ChildItem -LiteralPath $using:marks).Count -lt 2 -and [DateTime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 50
            }
            [pscustomobject]@{ N = $_ * 2 }
        } @Both -ThrottleLimit 2 -SummaryVariable summary
        @(Get-ChildItem -LiteralPath $marks).Name | Sort-Object | Should -Be @('127.0.0.2', '127.0.0.3')
        @($out).Count | Should -Be 40
        ($out.N | Sort-Object) | Should -Be (1..40 | ForEach-Object { $_ * 2 })
        @($out.PSComputerName | Sort-Object -Unique) | Should -Be @('127.0.0.2', '127.0.0.3')
        $summary.Model | Should -Be 'Remote'
        $summary.Succeeded | Should -Be 40
        $summary.Hosts.Count | Should -Be 2
        foreach ($row in $summary.Hosts) {
            $row.State | Should -Be 'Ok'
            $row.Sessions | Should -Be 2
            $row.Succeeded | Should -BeGreaterThan 0
        }
        ($summary.Hosts.Succeeded | Measure-Object -Sum).Sum | Should -Be 40
    }

    It 'counts connecting to the hosts in the summary''s Duration, as the call''s time' {
        $called = [DateTime]::UtcNow
        $results = 1..2 | Invoke-ProcessBatch { $_ } @OnlyA -ThrottleLimit 1 -AsResult -SummaryVariable summary
        $firstStart = ($results.StartTime | ForEach-Object { $_.ToUniversalTime() } | Measure-Object -Minimum).Minimum
        # The first item starts only once the host is connected (an SSH handshake and a PowerShell
        # started there, over a second), so a Duration that spans the call reaches past that start.
        # Before, Duration began after the connecting and was far shorter. The 0.2 s allows for
        # binding the call before its clock starts.
        ($firstStart - $called).TotalSeconds - 0.2 | Should -BeLessOrEqual $summary.Duration.TotalSeconds
    }

    It "gives each result the worker as 'host:pid', a session process of that host; the sessions end with the batch" {
        $results = 1..12 | Invoke-ProcessBatch { $PID } @Both -ThrottleLimit 1 -AsResult
        $results.Status | Sort-Object -Unique | Should -Be 'Succeeded'
        foreach ($r in $results) {
            $r.Worker | Should -BeOfType [string]
            $r.Worker | Should -Match '^127\.0\.0\.[23]:\d+$'
            # The item itself wrote its $PID: the worker named is the process that ran it.
            [int]$r.Output[0] | Should -Be (Get-ResultPid $r)
        }
        Wait-Until { -not (Get-TestSshSessionProcessId $HostA) -and -not (Get-TestSshSessionProcessId $HostB) } -TimeoutSeconds 15 |
            Should -BeTrue -Because 'the sessions the batch opened are closed when it ends'
    }

    It 'defines $using: values, -Variable, -Function and -Module in the remote sessions' {
        $moduleDir = Join-Path $TestDrive 'RemoteTestModule'
        $null = New-Item -ItemType Directory -Path $moduleDir
        Set-Content -LiteralPath (Join-Path $moduleDir 'RemoteTestModule.psm1') -Value 'function Get-RemoteMarker { "marked" }'
        function Get-Doubled([int] $x) { 2 * $x }
        $factor = 3
        $out = 1..4 | Invoke-ProcessBatch { "$((Get-Doubled $_) * $using:factor + $offset) $(Get-RemoteMarker)" } @OnlyA -ThrottleLimit 2 `
            -Variable @{ offset = 1 } -Function Get-Doubled -Module (Join-Path $moduleDir 'RemoteTestModule.psm1')
        ($out | Sort-Object) | Should -Be @('13 marked', '19 marked', '25 marked', '7 marked')
    }

    It 'fails an item that throws with an error naming the host and the item, and goes on with the rest' {
        $out = 1..4 | Invoke-ProcessBatch { if ($_ -eq 2) { throw "bad item $_" }; $_ } @OnlyA -ThrottleLimit 1 `
            -ErrorVariable failures -ErrorAction SilentlyContinue -SummaryVariable summary
        ($out | Sort-Object) | Should -Be @(1, 3, 4)
        $failures.Count | Should -Be 1
        "$($failures[0])" | Should -Match '^\[127\.0\.0\.2\] .*bad item 2'
        $failures[0].TargetObject | Should -Be 2
        $summary.Failed | Should -Be 1
        ($summary.Hosts | Where-Object HostName -EQ '127.0.0.2').Failed | Should -Be 1
    }

    It 'attributes errors and streams to the item that wrote them' {
        $results = 1..6 | Invoke-ProcessBatch { Write-Error "error of $_"; Write-Output "out of $_" } @OnlyA -ThrottleLimit 1 -AsResult -ErrorAction SilentlyContinue
        foreach ($r in $results) {
            $r.Status | Should -Be 'Failed'
            "$($r.Output)" | Should -Be "out of $($r.Input)"
            $r.Errors.Count | Should -Be 1
            "$($r.Errors[0])" | Should -Match "error of $($r.Input)$"
        }
    }

    It 'reports a host that cannot be reached as a non-terminating error naming it, and runs everything on the other' {
        $out = 1..10 | Invoke-ProcessBatch { $_ } -HostName 127.0.0.2, 127.0.0.9 -Port $HostA.Port -UserName $HostA.UserName `
            -KeyFilePath $HostA.KeyFilePath -SSHOption $HostA.SSHOption -ThrottleLimit 1 -ConnectTimeoutSeconds 10 `
            -ErrorVariable failures -ErrorAction SilentlyContinue -SummaryVariable summary
        ($out | Sort-Object) | Should -Be (1..10)
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HostUnreachable*'
        "$($failures[0])" | Should -Match "127\.0\.0\.9"
        $unreachable = $summary.Hosts | Where-Object HostName -EQ '127.0.0.9'
        $unreachable.State | Should -Be 'Unreachable'
        $unreachable.Sessions | Should -Be 0
        $summary.Succeeded | Should -Be 10
    }

    It 'fails every item with one reason when no host can be reached' {
        $results = 1..5 | Invoke-ProcessBatch { $_ } -HostName 127.0.0.9 -Port $HostA.Port -KeyFilePath $HostA.KeyFilePath `
            -SSHOption $HostA.SSHOption -ConnectTimeoutSeconds 10 -AsResult -ErrorAction SilentlyContinue -SummaryVariable summary
        @($results).Count | Should -Be 5
        $results.Status | Sort-Object -Unique | Should -Be 'Failed'
        foreach ($r in $results) {
            $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'NoHostLeft*'
            "$($r.Errors[0])" | Should -Match "127\.0\.0\.9' is unreachable"
        }
        $summary.Failed | Should -Be 5
    }

    It "journals remote items with the worker as 'host:pid', and resumes them" {
        $journal = Join-Path $TestDrive 'remote.jsonl'
        $null = 1..6 | Invoke-ProcessBatch { $_ } @OnlyA -ThrottleLimit 1 -JournalPath $journal
        $lines = @(Get-Content -LiteralPath $journal | Select-Object -Skip 1 | ConvertFrom-Json)
        $lines.Count | Should -Be 6
        foreach ($line in $lines) { $line.worker | Should -Match '^127\.0\.0\.2:\d+$' }
        $null = 1..8 | Invoke-ProcessBatch { $_ } @OnlyA -ThrottleLimit 1 -JournalPath $journal -Resume -SummaryVariable again
        $again.Resumed | Should -Be 6
        $again.Succeeded | Should -Be 2
    }

    It 'runs on sessions the user opened (-Session) and leaves them open' {
        $sessions = @(1..2 | ForEach-Object {
                New-PSSession -HostName $HostA.HostName -Port $HostA.Port -UserName $HostA.UserName -KeyFilePath $HostA.KeyFilePath -Options $HostA.SSHOption
            })
        try {
            $out = 1..10 | Invoke-ProcessBatch { $_ + 100 } -Session $sessions -SummaryVariable summary
            ($out | Sort-Object) | Should -Be (101..110)
            $summary.Model | Should -Be 'Remote'
            $summary.ThrottleLimit | Should -Be 2
            $sessions.State | Sort-Object -Unique | Should -Be 'Opened'
            (Invoke-Command -Session $sessions[0] { 'still open' }) | Should -Be 'still open'
        }
        finally {
            $sessions | Remove-PSSession
        }
    }

    It 'refuses -HostName with -Session, and worker-process parameters with a host' {
        $session = New-PSSession -HostName $HostA.HostName -Port $HostA.Port -UserName $HostA.UserName -KeyFilePath $HostA.KeyFilePath -Options $HostA.SSHOption
        try {
            $err = Get-FirstError { 1 | Invoke-ProcessBatch { $_ } -HostName $HostA.HostName -Session $session }
            $err.FullyQualifiedErrorId | Should -BeLike 'RemoteTargetsConflict*'
        }
        finally { $session | Remove-PSSession }
        $err = Get-FirstError { 1 | Invoke-ProcessBatch { $_ } @OnlyA -MaxItemsPerProcess 3 }
        $err.FullyQualifiedErrorId | Should -BeLike 'NotForRemote*'
    }
}

Describe 'A warm pool on remote hosts' {
    It 'opens the sessions once (Start-WorkerPool -HostName); batches reuse them; Stop-WorkerPool closes them' {
        $pool = Start-WorkerPool -Model Process @Both -ThrottleLimit 1 -Variable @{ base = 1000 }
        try {
            $pool.Model | Should -Be 'Remote'
            $pool.ThrottleLimit | Should -Be 2
            (Get-WorkerPool | Where-Object Id -EQ $pool.Id).WorkersAlive | Should -Be 2
            $first = 1..10 | Invoke-ProcessBatch { $base + $_ } -Pool $pool -AsResult -SummaryVariable summary
            $second = 1..10 | Invoke-ProcessBatch { $PID } -Pool $pool -AsResult
            ($first.Output | Sort-Object) | Should -Be (1001..1010)
            $summary.Model | Should -Be 'Remote'
            @($second.Worker | Sort-Object -Unique) | ForEach-Object { $_ | Should -BeIn @($first.Worker | Sort-Object -Unique) }
            $pool.WorkersAlive | Should -Be 2 -Because 'the batches opened no session of their own'
            $err = Get-FirstError { 1 | Invoke-ThreadBatch { $_ } -Pool $pool }
            $err.FullyQualifiedErrorId | Should -BeLike 'WorkerPoolModelMismatch*'
        }
        finally { Stop-WorkerPool $pool }
        Wait-Until { -not (Get-TestSshSessionProcessId $HostA) -and -not (Get-TestSshSessionProcessId $HostB) } -TimeoutSeconds 15 | Should -BeTrue
    }
}

Describe 'Faults on remote hosts' {
    It 'stops an item past -ItemTimeoutSeconds; a session that does not stop is closed, its remote process ends, and the rest run' {
        $results = 1..4 | Invoke-ProcessBatch { if ($_ -eq 2) { [System.Threading.Thread]::Sleep(600000) }; $_ } @OnlyA -ThrottleLimit 1 `
            -ItemTimeoutSeconds 2 -AsResult -ErrorAction SilentlyContinue
        ($results | Where-Object Status -EQ 'Succeeded').Input | Sort-Object | Should -Be @(1, 3, 4)
        $stuck = $results | Where-Object Input -EQ 2
        $stuck.Status | Should -Be 'TimedOut'
        $stuckPid = Get-ResultPid $stuck
        Wait-Until { -not (Test-Path "/proc/$stuckPid") } -TimeoutSeconds 15 | Should -BeTrue -Because 'the stuck remote process must be gone within 15 s'
    }

    It '-TimeoutSeconds leaves no remote process of the batch running' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $null = 1..4 | Invoke-ProcessBatch { Start-Sleep -Seconds 60 } @OnlyA -ThrottleLimit 2 -TimeoutSeconds 3 -ErrorAction SilentlyContinue -SummaryVariable summary
        # Not a timing: the items sleep 60 s, so a batch that did not stop them would take that long.
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 30
        $summary.TimedOut | Should -Be 4
        Wait-Until { -not (Get-TestSshSessionProcessId $HostA) } -TimeoutSeconds 15 | Should -BeTrue
    }

    It 'Ctrl+C <When> leaves no remote process of the batch running' -ForEach @(
        @{ When = 'while the sessions open'; DelayMs = 200 }
        @{ When = 'mid-batch'; DelayMs = 4000 }
    ) {
        $ps = New-PSParallelInstance
        try {
            $null = $ps.AddScript('param($c) 1..4 | Invoke-ProcessBatch { Start-Sleep -Seconds 60 } @c -ThrottleLimit 2').AddArgument($OnlyA)
            $async = $ps.BeginInvoke()
            Wait-Until { @(Get-TestSshSessionProcessId $HostA).Count -ge 2 } -TimeoutSeconds 30 | Should -BeTrue
            Start-Sleep -Milliseconds $DelayMs
            $ps.Stop()
            $async.IsCompleted | Should -BeTrue
        }
        finally { Remove-PSParallelInstance $ps }
        Wait-Until { -not (Get-TestSshSessionProcessId $HostA) } -TimeoutSeconds 15 | Should -BeTrue
    }

    It '<How> closes the sessions the batch opened' -ForEach @(
        @{ How = 'Select-Object -First'; Run = { param($c) 1..50 | Invoke-ProcessBatch { Start-Sleep -Milliseconds 200; $_ } @c -ThrottleLimit 2 | Select-Object -First 2 } }
        @{ How = '-ErrorAction Stop'; Run = { param($c) try { 1..50 | Invoke-ProcessBatch { Start-Sleep -Milliseconds 200; if ($_ -eq 3) { throw 'stop here' }; $_ } @c -ThrottleLimit 2 -ErrorAction Stop } catch { 'stopped' } } }
    ) {
        $out = @(& $Run $OnlyA)
        $out.Count | Should -BeGreaterThan 0
        Wait-Until { -not (Get-TestSshSessionProcessId $HostA) } -TimeoutSeconds 15 | Should -BeTrue
    }

    It 'shows the hosts in the progress bar' {
        $ps = New-PSParallelInstance
        try {
            $null = $ps.AddScript('param($c) 1..30 | Invoke-ProcessBatch { Start-Sleep -Milliseconds 100; $_ } @c -ThrottleLimit 1').AddArgument($Both)
            $null = $ps.Invoke()
            @($ps.Streams.Progress | Where-Object StatusDescription -Match '2 host\(s\) up').Count | Should -BeGreaterThan 0
        }
        finally { Remove-PSParallelInstance $ps }
    }

    It 'fails only the items of a host lost mid-batch, names it, and marks it Lost (<Name>)' -ForEach @(
        @{ Name = 'without retry'; Retry = 0 }
        @{ Name = 'with -RetryCount: they run on the other host'; Retry = 2 }
    ) {
        $port = $HostA.Port
        $lost = Start-TestSshHost -Address 127.0.0.4 -Port $port
        $kept = Start-TestSshHost -Address 127.0.0.5 -Port $port
        $marks = Join-Path $TestDrive "starts-$Retry.txt"
        $killer = Start-ThreadJob -ScriptBlock {
            Import-Module $using:PSScriptRoot/TestSshd.psm1
            # Once an item has started on the host (a start mark with the pid of one of its sessions),
            # mid-item: kill its sshd and its session processes at once.
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while ([DateTime]::UtcNow -lt $deadline) {
                $sessions = @(Get-TestSshSessionProcessId $using:lost)
                $started = @(Get-Content -LiteralPath $using:marks -ErrorAction Ignore)
                if ($sessions | Where-Object { "$_" -in $started }) { break }
                Start-Sleep -Milliseconds 50
            }
            Start-Sleep -Milliseconds 400
            Stop-TestSshHost $using:lost
        }
        $pair = Get-TestSshConnection $lost, $kept
        $results = 1..20 | Invoke-ProcessBatch { Add-Content -LiteralPath $using:marks -Value $PID; Start-Sleep -Seconds 1; $_ } @pair -ThrottleLimit 1 `
            -RetryCount $Retry -RetryDelaySeconds 0 -AsResult -ErrorAction SilentlyContinue -SummaryVariable summary
        $killer | Wait-Job -Timeout 60 | Remove-Job -Force

        @($results).Count | Should -Be 20 -Because 'nothing is lost'
        $failed = @($results | Where-Object Status -NE 'Succeeded')
        if ($Retry -eq 0) {
            $failed.Count | Should -BeGreaterThan 0
            $failed.Count | Should -Be 1 -Because 'only the item the lost host was running fails (one session there)'
            foreach ($f in $failed) { "$($f.Errors[0])" | Should -Match "127\.0\.0\.4" }
        }
        else {
            $failed.Count | Should -Be 0
            @($results | Where-Object Attempts -GT 1).Count | Should -BeGreaterThan 0
            @($results | Where-Object Attempts -GT 1 | ForEach-Object { Get-ResultHost $_ } | Sort-Object -Unique) | Should -Be '127.0.0.5'
        }
        ($summary.Hosts | Where-Object HostName -EQ '127.0.0.4').State | Should -Be 'Lost'
        ($summary.Hosts | Where-Object HostName -EQ '127.0.0.5').State | Should -Be 'Ok'
        $summary.Total | Should -Be 20
    }
}

Describe 'Measure-ConcurrencyModel -HostName' {
    It 'adds Remote trials, counts opening the sessions once, recommends Remote where it finishes first and says how to run it' {
        $report = 1..8 | Measure-ConcurrencyModel { Start-Sleep -Milliseconds 250; $_ } -Model Sequential, Remote @Both -ThrottleLimit 2 `
            -TotalItems 400 -WarningAction SilentlyContinue
        $remote = @($report.Trials | Where-Object Model -EQ 'Remote')
        $remote.Count | Should -BeGreaterOrEqual 1
        ($remote | Measure-Object ThrottleLimit -Maximum).Maximum | Should -Be 4
        $remote[0].StartupSeconds | Should -BeGreaterThan 0 -Because 'opening the sessions is the remote start-up'
        $report.Recommendation | Should -Be 'Remote'
        $report.Command | Should -Match 'Invoke-ProcessBatch'
        $report.Command | Should -Match '-HostName'
        $report.Command | Should -Match '-ThrottleLimit 2'
        Wait-Until { -not (Get-TestSshSessionProcessId $HostA) -and -not (Get-TestSshSessionProcessId $HostB) } -TimeoutSeconds 15 |
            Should -BeTrue -Because 'the measurement closes the sessions it opened'
    }
}

Describe 'Compiled workloads on remote hosts' {
    It 'runs a built-in workload where PSParallel is installed on the host' {
        $withModule = Start-TestSshHost -Address 127.0.0.6 -ModulePath (Split-Path (Split-Path (Get-PSParallelManifest)))
        $connection = Get-TestSshConnection $withModule
        $remote = 1..50 | Invoke-ProcessBatch -Workload IsPrime @connection -ThrottleLimit 1 -Ordered
        $local = 1..50 | Invoke-ThreadBatch -Workload IsPrime -Ordered
        @($remote) | Should -Be @($local)
        $mixed = 7, 'not a number', 8 | Invoke-ProcessBatch -Workload IsPrime @connection -ThrottleLimit 1 -AsResult -ErrorAction SilentlyContinue
        ($mixed | Where-Object Status -EQ 'Failed').Input | Should -Be 'not a number'
        ($mixed | Where-Object Input -EQ 7).Output | Should -Be $true
        ($mixed | Where-Object Input -EQ 7).Worker | Should -Match '^127\.0\.0\.6:\d+$'
    }

    It 'says which host lacks PSParallel when a compiled workload cannot run there' {
        $err = Get-FirstError { 1..3 | Invoke-ProcessBatch -Workload IsPrime @OnlyA }
        $err.FullyQualifiedErrorId | Should -BeLike 'ModuleNotOnHost*'
        "$err" | Should -Match "127\.0\.0\.2"
    }
}
