#requires -Version 7.2
# Behaviour tests for Invoke-ThreadBatch: the contract's common section and the Invoke-ThreadBatch
# section (CONTRACT.md). Everything is real: real runspaces, real files, a real HTTP listener.
# Timing bounds are deliberately generous (2 noisy cores); timing itself belongs to bench/.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel

    # Reference primality test, run sequentially in the test itself.
    function Test-PrimeReference([long] $n) {
        if ($n -lt 2) { return $false }
        if ($n % 2 -eq 0) { return $n -eq 2 }
        for ($d = 3; $d * $d -le $n; $d += 2) { if ($n % $d -eq 0) { return $false } }
        $true
    }
}

Describe 'Invoke-ThreadBatch: script block and input' {
    It 'runs the script block once per piped item with $_ as the item (position 0)' {
        $out = 1..10 | Invoke-ThreadBatch { $_ * 2 } -SummaryVariable s
        ($out | Sort-Object) | Should -Be (1..10 | ForEach-Object { $_ * 2 })
        Assert-BatchSummary $s -Total 10 -Succeeded 10
    }

    It 'also exposes the item as $PSItem, and -ScriptBlock works by name' {
        $out = 'a', 'b', 'c' | Invoke-ThreadBatch -ScriptBlock { $PSItem.ToUpper() } -SummaryVariable s
        ($out | Sort-Object) | Should -Be @('A', 'B', 'C')
        Assert-BatchSummary $s -Total 3 -Succeeded 3
    }

    It 'accepts script text given as a string to -ScriptBlock' {
        $out = 1..3 | Invoke-ThreadBatch -ScriptBlock '$_ + 100' -SummaryVariable s
        ($out | Sort-Object) | Should -Be @(101, 102, 103)
        Assert-BatchSummary $s -Total 3 -Succeeded 3
    }

    It 'takes a single item from -InputObject' {
        $out = Invoke-ThreadBatch -InputObject 7 -ScriptBlock { $_ + 1 } -SummaryVariable s
        $out | Should -Be 8
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }

    It 'passes objects as they are, with their properties' {
        $items = 1..4 | ForEach-Object { [pscustomobject]@{ Name = "n$_"; Size = $_ * 10 } }
        $out = $items | Invoke-ThreadBatch { '{0}={1}' -f $_.Name, $_.Size } -SummaryVariable s
        ($out | Sort-Object) | Should -Be @('n1=10', 'n2=20', 'n3=30', 'n4=40')
        Assert-BatchSummary $s -Total 4 -Succeeded 4
    }

    It 'starts the batch before the pipeline ends (input streams)' {
        $t = @{}
        $out = & { 1; Start-Sleep -Milliseconds 2500; $t.UpstreamEnd = [datetime]::UtcNow; 2 } |
            Invoke-ThreadBatch { [pscustomobject]@{ Item = $_; Ran = [datetime]::UtcNow } } -SummaryVariable s
        $first = $out | Where-Object Item -EQ 1
        $first | Should -Not -BeNullOrEmpty
        ($t.UpstreamEnd - $first.Ran).TotalSeconds | Should -BeGreaterThan 1 -Because 'item 1 must run while the upstream is still producing (it pauses 2.5 s before its last item)'
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'loses nothing and duplicates nothing over 20000 tiny items' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 1..20000 | Invoke-ThreadBatch { $_ } -SummaryVariable s
        $sw.Stop()
        $out.Count | Should -Be 20000
        @($out | Sort-Object -Unique).Count | Should -Be 20000 -Because 'no output may be duplicated or lost'
        ($out | Measure-Object -Sum).Sum | Should -Be (20000 * 20001 / 2)
        Assert-BatchSummary $s -Total 20000 -Succeeded 20000
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 60 -Because 'tiny items must not be dominated by invocation cost (generous bound; real numbers are in bench/)'
    }
}

Describe 'Invoke-ThreadBatch: -ThrottleLimit' {
    It 'never runs more than ThrottleLimit items at once, and does run them concurrently' {
        $out = 1..12 | Invoke-ThreadBatch {
            $start = [datetime]::UtcNow
            Start-Sleep -Milliseconds 300
            [pscustomobject]@{ Start = $start; End = [datetime]::UtcNow }
        } -ThrottleLimit 3 -SummaryVariable s
        $out | Should -HaveCount 12
        $overlap = Get-MaxOverlap -Interval $out
        $overlap | Should -BeLessOrEqual 3 -Because 'ThrottleLimit is the most items running at once'
        $overlap | Should -BeGreaterOrEqual 2 -Because 'items must actually run in parallel'
        $s.ThrottleLimit | Should -Be 3
        Assert-BatchSummary $s -Total 12 -Succeeded 12
    }

    It 'defaults to min(32, cores + 4) for threads' {
        $null = 1..3 | Invoke-ThreadBatch { $_ } -SummaryVariable s
        $s.ThrottleLimit | Should -Be ([Math]::Min(32, [Environment]::ProcessorCount + 4))
        $s.Model | Should -Be 'Thread'
        Assert-BatchSummary $s -Total 3 -Succeeded 3
    }

    It 'is per call: two batches in one pipeline each keep their own limit' {
        $out = 1..8 | Invoke-ThreadBatch {
            $start = [datetime]::UtcNow
            Start-Sleep -Milliseconds 100
            [pscustomobject]@{ Item = $_; Start = $start; End = [datetime]::UtcNow }
        } -ThrottleLimit 1 -SummaryVariable s1 |
            Invoke-ThreadBatch {
                $start = [datetime]::UtcNow
                Start-Sleep -Milliseconds 1000
                [pscustomobject]@{ First = $_; Start = $start; End = [datetime]::UtcNow }
            } -ThrottleLimit 4 -SummaryVariable s2
        $out | Should -HaveCount 8
        Get-MaxOverlap -Interval @($out | ForEach-Object First) | Should -Be 1 -Because 'the first stage has -ThrottleLimit 1'
        $second = Get-MaxOverlap -Interval $out
        $second | Should -BeLessOrEqual 4 -Because 'the second stage has -ThrottleLimit 4'
        $second | Should -BeGreaterOrEqual 3 -Because 'the second stage must not be held to the first stage''s limit of 1'
        Assert-BatchSummary $s1 -Total 8 -Succeeded 8
        Assert-BatchSummary $s2 -Total 8 -Succeeded 8
    }
}

Describe 'Invoke-ThreadBatch: backpressure' {
    It 'makes the upstream wait when all slots are busy with slow items' {
        $produced = [System.Collections.Concurrent.ConcurrentQueue[datetime]]::new()
        $done = 1..600 | ForEach-Object { $produced.Enqueue([datetime]::UtcNow); $_ } |
            Invoke-ThreadBatch { Start-Sleep -Milliseconds 1500; [datetime]::UtcNow } -ThrottleLimit 2 -TimeoutSeconds 3.5 -SummaryVariable s -ErrorAction SilentlyContinue
        $firstDone = ($done | Sort-Object)[0]
        $firstDone | Should -Not -BeNullOrEmpty
        $before = @($produced.ToArray() | Where-Object { $_ -lt $firstDone }).Count
        $before | Should -BeLessThan 600 -Because 'with throttle 2 and 1.5 s items the upstream must not have produced all 600 items before the first completes'
        Assert-BatchSummary $s -Total 600   # items that arrive after the batch timed out are reported TimedOut
    }
}

Describe 'Invoke-ThreadBatch: -Ordered' {
    It 'emits in input order with -Ordered, in completion order without' {
        $sb = { Start-Sleep -Milliseconds (300 * (5 - $_)); $_ }
        $unordered = 0..5 | Invoke-ThreadBatch $sb -ThrottleLimit 6 -SummaryVariable s1
        $ordered = 0..5 | Invoke-ThreadBatch $sb -ThrottleLimit 6 -Ordered -SummaryVariable s2
        ($unordered -join ',') | Should -Not -Be '0,1,2,3,4,5' -Because 'without -Ordered the fastest (last) items come out first; otherwise this test proves nothing'
        ($ordered -join ',') | Should -Be '0,1,2,3,4,5'
        Assert-BatchSummary $s1 -Total 6 -Succeeded 6
        Assert-BatchSummary $s2 -Total 6 -Succeeded 6
    }

    It 'with -AsResult gives results in Index order' {
        $r = 0..5 | Invoke-ThreadBatch { Start-Sleep -Milliseconds (100 * (5 - $_)); $_ } -ThrottleLimit 6 -Ordered -AsResult -SummaryVariable s
        $r.Index | Should -Be @(0, 1, 2, 3, 4, 5)
        $r.Input | Should -Be @(0, 1, 2, 3, 4, 5)
        Assert-BatchSummary $s -Total 6 -Succeeded 6
    }

    It 'holds a bounded window: a slow first item makes the upstream wait instead of running ahead' {
        # Item 1 holds one of the two slots for 2 s; the other 1999 items are trivial and finish on
        # the other slot, but their output must wait for item 1. Without a bounded window the
        # upstream produces all 2000 items meanwhile (and their outputs pile up in memory).
        $produced = [System.Collections.Concurrent.ConcurrentQueue[datetime]]::new()
        $done = 1..2000 | ForEach-Object { $produced.Enqueue([datetime]::UtcNow); $_ } |
            Invoke-ThreadBatch {
                if ($_ -eq 1) { Start-Sleep -Milliseconds 2000 }
                [pscustomobject]@{ N = $_; End = [datetime]::UtcNow }
            } -ThrottleLimit 2 -Ordered -SummaryVariable s
        $done | Should -HaveCount 2000
        ($done.N -join ',') | Should -Be ((1..2000) -join ',')
        $firstEnd = $done[0].End
        $before = @($produced.ToArray() | Where-Object { $_ -lt $firstEnd }).Count
        $before | Should -BeLessThan 1000 -Because 'the ordered window is bounded (by the throttle limit), so the upstream must wait for item 1'
        Assert-BatchSummary $s -Total 2000 -Succeeded 2000
    }
}

Describe 'Invoke-ThreadBatch: timeouts' {
    It '-TimeoutSeconds stops running items, does not run unstarted ones, reports all unfinished as TimedOut with one error' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'batchtimeout')).FullName
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 0..7 | Invoke-ThreadBatch {
            if ($_ -le 1) { return "fast$_" }
            $null = New-Item -ItemType File -Path (Join-Path $using:dir "start-$_")
            Start-Sleep -Seconds 4
            $null = New-Item -ItemType File -Path (Join-Path $using:dir "end-$_")
            "slow$_"
        } -ThrottleLimit 2 -TimeoutSeconds 1.5 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $elapsed = $sw.Elapsed.TotalSeconds
        $elapsed | Should -BeLessThan 4 -Because 'the batch is bounded to 1.5 s; items sleep 4 s'
        ($out | Sort-Object) | Should -Be @('fast0', 'fast1')
        @($ev) | Should -HaveCount 1 -Because 'a batch timeout is reported by one error'
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'BatchTimedOut*'
        Assert-BatchSummary $s -Total 8 -Succeeded 2 -TimedOut 6
        @(Get-ChildItem $dir -Filter 'start-*').Count | Should -BeLessOrEqual 2 -Because 'only the items running at expiry (throttle 2) may have started; unstarted ones are not run'
        Start-Sleep -Milliseconds ([Math]::Max(0, 5000 - $sw.ElapsedMilliseconds))
        @(Get-ChildItem $dir -Filter 'end-*').Count | Should -Be 0 -Because 'running items are stopped at expiry'
    }

    It '-TimeoutSeconds with -AsResult marks every unfinished item TimedOut' {
        $r = 0..4 | Invoke-ThreadBatch { if ($_ -eq 0) { 'ok' } else { Start-Sleep -Seconds 5 } } -ThrottleLimit 2 -TimeoutSeconds 1 -AsResult -SummaryVariable s -ErrorAction SilentlyContinue
        $r | Should -HaveCount 5
        ($r.Index | Sort-Object) | Should -Be @(0, 1, 2, 3, 4)
        ($r | Where-Object Index -EQ 0).Status | Should -Be ([PSParallel.ItemStatus]::Succeeded)
        @($r | Where-Object Index -NE 0 | Where-Object Status -NE ([PSParallel.ItemStatus]::TimedOut)) | Should -HaveCount 0
        Assert-BatchSummary $s -Total 5 -Succeeded 1 -TimedOut 4
    }

    It '-ItemTimeoutSeconds stops the one slow item, reports it TimedOut with ItemTimedOut, and the batch goes on' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 0..5 | Invoke-ThreadBatch {
            if ($_ -eq 2) { Start-Sleep -Seconds 30 }
            Start-Sleep -Milliseconds 100
            "done$_"
        } -ThrottleLimit 2 -ItemTimeoutSeconds 1 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        ($out | Sort-Object) | Should -Be @('done0', 'done1', 'done3', 'done4', 'done5')
        @($ev) | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'ItemTimedOut*'
        $ev[0].TargetObject | Should -Be 2 -Because 'the error names the input item'
        Assert-BatchSummary $s -Total 6 -Succeeded 5 -TimedOut 1
    }
}

Describe 'Invoke-ThreadBatch: retry' {
    BeforeAll {
        # An item script whose behaviour depends on the attempt number, counted in a file per item.
        $script:attemptScript = {
            $f = Join-Path $using:dir "$_.count"
            $n = 1 + $(if (Test-Path $f) { [int](Get-Content $f) } else { 0 })
            Set-Content -Path $f -Value $n
            "$_$n"
            if ($_ -eq 'b' -and $n -lt 3) { throw "b fails on attempt $n" }
            if ($_ -eq 'c') { Write-Error -Message "c fails on attempt $n" -ErrorId 'CAlwaysFails' }
        }
    }

    It 'retries failed items; a retried item emits only its last attempt''s output' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'retry1')).FullName
        $out = 'a', 'b', 'c' | Invoke-ThreadBatch $attemptScript -RetryCount 2 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        ($out | Sort-Object) | Should -Be @('a1', 'b3', 'c3')
        @($ev | Where-Object TargetObject -EQ 'b') | Should -HaveCount 0 -Because 'b succeeded on retry: its earlier attempts are not reported'
        @($ev | Where-Object TargetObject -EQ 'c').Count | Should -BeGreaterOrEqual 1 -Because 'c failed on every attempt'
        Assert-BatchSummary $s -Total 3 -Succeeded 2 -Failed 1
    }

    It 'reports attempts in ItemResult' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'retry2')).FullName
        $r = 'a', 'b', 'c' | Invoke-ThreadBatch $attemptScript -RetryCount 2 -AsResult -SummaryVariable s -ErrorAction SilentlyContinue
        $a = $r | Where-Object Input -EQ 'a'; $b = $r | Where-Object Input -EQ 'b'; $c = $r | Where-Object Input -EQ 'c'
        $a.Attempts | Should -Be 1
        $a.Status | Should -Be ([PSParallel.ItemStatus]::Succeeded)
        $b.Attempts | Should -Be 3
        $b.Status | Should -Be ([PSParallel.ItemStatus]::Succeeded)
        @($b.Output) | Should -Be @('b3')
        $c.Attempts | Should -Be 3
        $c.Status | Should -Be ([PSParallel.ItemStatus]::Failed)
        $c.Errors[-1].FullyQualifiedErrorId | Should -BeLike 'CAlwaysFails*'
        Assert-BatchSummary $s -Total 3 -Succeeded 2 -Failed 1
    }

    It 'does not retry without -RetryCount' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'retry3')).FullName
        $r = 'b' | Invoke-ThreadBatch $attemptScript -AsResult -SummaryVariable s -ErrorAction SilentlyContinue
        $r.Attempts | Should -Be 1
        $r.Status | Should -Be ([PSParallel.ItemStatus]::Failed)
        Assert-BatchSummary $s -Total 1 -Failed 1
    }

    It 'backs off exponentially from -RetryDelaySeconds' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'retry4')).FullName
        $r = 'x' | Invoke-ThreadBatch {
            Add-Content -Path (Join-Path $using:dir 'times') -Value ([datetime]::UtcNow.Ticks)
            throw 'always'
        } -RetryCount 3 -RetryDelaySeconds 0.2 -AsResult -SummaryVariable s -ErrorAction SilentlyContinue
        $r.Attempts | Should -Be 4
        $r.Status | Should -Be ([PSParallel.ItemStatus]::Failed)
        $t = @(Get-Content (Join-Path $dir 'times') | ForEach-Object { [long]$_ })
        $t | Should -HaveCount 4
        $gaps = 1..3 | ForEach-Object { [timespan]::FromTicks($t[$_] - $t[$_ - 1]).TotalSeconds }
        $gaps[0] | Should -BeGreaterOrEqual (0.2 * 0.9) -Because 'first retry waits the delay'
        $gaps[1] | Should -BeGreaterOrEqual (0.4 * 0.9) -Because 'second retry waits twice the delay'
        $gaps[2] | Should -BeGreaterOrEqual (0.8 * 0.9) -Because 'third retry waits four times the delay'
        ($gaps | Measure-Object -Sum).Sum | Should -BeLessThan 10
        Assert-BatchSummary $s -Total 1 -Failed 1
    }

    It 'retries a timed-out item' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'retry5')).FullName
        $r = 'slow' | Invoke-ThreadBatch {
            $f = Join-Path $using:dir 'n'
            $n = 1 + $(if (Test-Path $f) { [int](Get-Content $f) } else { 0 })
            Set-Content -Path $f -Value $n
            if ($n -eq 1) { Start-Sleep -Seconds 30 }
            "attempt$n"
        } -ItemTimeoutSeconds 1 -RetryCount 1 -AsResult -SummaryVariable s -ErrorAction SilentlyContinue
        $r.Status | Should -Be ([PSParallel.ItemStatus]::Succeeded)
        $r.Attempts | Should -Be 2
        @($r.Output) | Should -Be @('attempt2')
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }
}

Describe 'Invoke-ThreadBatch: -AsResult and -SummaryVariable' {
    It 'emits one ItemResult per input with every property filled' {
        $r = 10, 11, 12, 13 | Invoke-ThreadBatch {
            if ($_ -eq 12) { throw 'twelve fails' }
            $_ * 2; [runspace]::DefaultRunspace.Id
        } -AsResult -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -HaveCount 4
        foreach ($x in $r) { $x.GetType().FullName | Should -Be 'PSParallel.ItemResult' -Because '-AsResult emits only ItemResult objects, no raw output' }
        ($r | Sort-Object Index).Input | Should -Be @(10, 11, 12, 13) -Because 'Index is the input position from 0'
        ($r.Index | Sort-Object) | Should -Be @(0, 1, 2, 3)
        foreach ($x in $r) {
            $x.Output -is [object[]] | Should -BeTrue
            $x.Errors -is [System.Management.Automation.ErrorRecord[]] | Should -BeTrue
            $x.Attempts | Should -Be 1
            $x.Duration | Should -BeOfType [timespan]
            $x.Duration | Should -BeGreaterOrEqual ([timespan]::Zero)
            $x.Worker | Should -BeOfType [int]
            $x.Worker | Should -BeGreaterThan 0
            $x.StartTime | Should -BeOfType [datetime]
        }
        $ok = $r | Where-Object Input -EQ 11
        $ok.Status | Should -Be ([PSParallel.ItemStatus]::Succeeded)
        $ok.Output[0] | Should -Be 22
        $ok.Output[1] | Should -Be $ok.Worker -Because 'Worker is the id of the runspace that ran the item'
        $ok.Errors | Should -HaveCount 0
        $bad = $r | Where-Object Input -EQ 12
        $bad.Status | Should -Be ([PSParallel.ItemStatus]::Failed)
        $bad.Errors | Should -HaveCount 1
        $bad.Errors[0].Exception.Message | Should -BeLike '*twelve fails*'
        @($ev) | Should -HaveCount 1 -Because 'with -AsResult errors still reach the error stream'
        $ev[0].TargetObject | Should -Be 12
        Assert-BatchSummary $s -Total 4 -Succeeded 3 -Failed 1
    }

    It 'stores the BatchSummary in the caller''s scope' {
        function Invoke-Inner {
            $null = 1..5 | Invoke-ThreadBatch { Start-Sleep -Milliseconds 20; $_ } -SummaryVariable innerSummary -ThrottleLimit 2
            $innerSummary
        }
        $sum = Invoke-Inner
        Assert-BatchSummary $sum -Total 5 -Succeeded 5
        $sum.Model | Should -Be 'Thread'
        $sum.ThrottleLimit | Should -Be 2
        $sum.Duration | Should -BeOfType [timespan]
        $sum.Duration.TotalMilliseconds | Should -BeGreaterThan 0
        $sum.ItemsPerSecond | Should -BeGreaterThan 0
        $sum.CpuSeconds | Should -BeGreaterOrEqual 0
        Test-Path variable:innerSummary | Should -BeFalse -Because 'the variable is set in the calling function''s scope only'
    }
}

Describe 'Invoke-ThreadBatch: errors' {
    It 'a throwing item fails, its error is non-terminating with TargetObject = item and the original id' {
        $out = 1..4 | Invoke-ThreadBatch { if ($_ -eq 3) { throw 'boom three' }; $_ } -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        ($out | Sort-Object) | Should -Be @(1, 2, 4) -Because 'the batch goes on after a failure'
        @($ev) | Should -HaveCount 1
        $ev[0].TargetObject | Should -Be 3
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'boom three*' -Because 'throw ''boom three'' has that id'
        $ev[0].Exception.Message | Should -BeLike '*boom three*'
        Assert-BatchSummary $s -Total 4 -Succeeded 3 -Failed 1
    }

    It 'an item that writes an error record fails, keeping its FullyQualifiedErrorId' {
        $out = 'x', 'y' | Invoke-ThreadBatch {
            if ($_ -eq 'y') { Write-Error -Message 'y is bad' -ErrorId 'MyId' -Category InvalidData }
            "after-$_"
        } -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        ($out | Sort-Object) | Should -Be @('after-x', 'after-y') -Because 'Write-Error is non-terminating inside the item'
        @($ev) | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'MyId*'
        $ev[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $ev[0].TargetObject | Should -Be 'y'
        Assert-BatchSummary $s -Total 2 -Succeeded 1 -Failed 1
    }

    It 'errors reach the caller''s error stream (2>&1)' {
        $all = 1, 2 | Invoke-ThreadBatch { if ($_ -eq 2) { Write-Error 'two' -ErrorId TwoId }; $_ } 2>&1
        $errs = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'TwoId*'
        @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] }) | Should -HaveCount 2
    }

    It '-ErrorAction SilentlyContinue hides the error but still counts the item Failed' {
        $all = 1, 2 | Invoke-ThreadBatch { if ($_ -eq 2) { throw 'quiet' }; $_ } -ErrorAction SilentlyContinue -ErrorVariable ev -SummaryVariable s 2>&1
        @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) | Should -HaveCount 0
        @($ev) | Should -HaveCount 1
        Assert-BatchSummary $s -Total 2 -Succeeded 1 -Failed 1
    }

    It '-ErrorAction Stop stops the batch at the first failure, stops running items and throws' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'erroractionstop')).FullName
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $caught = $null
        try {
            $null = 0..3 | Invoke-ThreadBatch {
                if ($_ -eq 0) { Start-Sleep -Milliseconds 500; Write-Error 'zero failed' -ErrorId 'StopMe' }
                else {
                    $null = New-Item -ItemType File -Path (Join-Path $using:dir "start-$_")
                    Start-Sleep -Seconds 4
                    $null = New-Item -ItemType File -Path (Join-Path $using:dir "end-$_")
                }
            } -ThrottleLimit 4 -ErrorAction Stop -SummaryVariable s
        }
        catch { $caught = $_ }
        $elapsed = $sw.Elapsed.TotalSeconds
        $caught | Should -Not -BeNullOrEmpty -Because '-ErrorAction Stop throws the first failure'
        $caught.FullyQualifiedErrorId | Should -BeLike 'StopMe*'
        $elapsed | Should -BeLessThan 3.5 -Because 'the batch stops at the first failure instead of waiting for the 4 s items'
        Start-Sleep -Milliseconds ([Math]::Max(0, 5500 - $sw.ElapsedMilliseconds))
        @(Get-ChildItem $dir -Filter 'end-*') | Should -HaveCount 0 -Because 'running items are stopped'
        Assert-BatchSummary $s -Total 4 -Failed 1 -Succeeded 0 -TimedOut 0
    }
}

Describe 'Invoke-ThreadBatch: streams' {
    It 'Verbose reaches the caller only when the caller asks for it' {
        $quiet = 1 | Invoke-ThreadBatch { Write-Verbose 'item verbose'; $_ } 4>&1
        @($quiet | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) | Should -HaveCount 0
        $loud = 1 | Invoke-ThreadBatch { Write-Verbose 'item verbose'; $_ } -Verbose -SummaryVariable s 4>&1
        $v = @($loud | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -eq 'item verbose' })
        $v | Should -HaveCount 1
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }

    It 'Verbose follows the caller''s $VerbosePreference' {
        $VerbosePreference = 'Continue'
        $all = 1 | Invoke-ThreadBatch { Write-Verbose 'pref verbose'; $_ } 4>&1
        $VerbosePreference = 'SilentlyContinue'
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -eq 'pref verbose' }) | Should -HaveCount 1
    }

    It 'Warning reaches the caller; -WarningAction SilentlyContinue hides it' {
        $shown = 1 | Invoke-ThreadBatch { Write-Warning 'careful'; $_ } 3>&1
        @($shown | Where-Object { $_ -is [System.Management.Automation.WarningRecord] -and $_.Message -eq 'careful' }) | Should -HaveCount 1
        $hidden = 1 | Invoke-ThreadBatch { Write-Warning 'careful'; $_ } -WarningAction SilentlyContinue 3>&1
        @($hidden | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }) | Should -HaveCount 0
        $WarningPreference = 'SilentlyContinue'
        $hiddenByPreference = 1 | Invoke-ThreadBatch { Write-Warning 'careful'; $_ } 3>&1
        $WarningPreference = 'Continue'
        @($hiddenByPreference | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }) | Should -HaveCount 0
    }

    It '-WarningVariable captures item warnings, also with -WarningAction SilentlyContinue (as for any cmdlet)' {
        $null = 1 | Invoke-ThreadBatch { Write-Warning 'captured'; $_ } -WarningVariable wv1 3>$null
        @($wv1 | ForEach-Object Message) | Should -Be @('captured')
        $null = 1 | Invoke-ThreadBatch { Write-Warning 'captured quietly'; $_ } -WarningAction SilentlyContinue -WarningVariable wv2
        @($wv2 | ForEach-Object Message) | Should -Be @('captured quietly') -Because 'PowerShell fills -WarningVariable even when -WarningAction is SilentlyContinue'
    }

    It 'Debug reaches the caller with -Debug' {
        $all = 1 | Invoke-ThreadBatch { Write-Debug 'dbg msg'; $_ } -Debug 5>&1
        @($all | Where-Object { $_ -is [System.Management.Automation.DebugRecord] -and $_.Message -eq 'dbg msg' }) | Should -HaveCount 1
    }

    It 'Information (Write-Information and Write-Host) reaches the caller: 6>&1 and -InformationVariable' {
        $all = 1 | Invoke-ThreadBatch { Write-Information 'info msg'; Write-Host 'host msg'; $_ } 6>&1
        $info = @($all | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$($_.MessageData)" })
        $info | Should -Contain 'info msg'
        $info | Should -Contain 'host msg'
        $null = 1 | Invoke-ThreadBatch { Write-Information 'iv msg'; $_ } -InformationVariable iv
        @($iv | ForEach-Object { "$($_.MessageData)" }) | Should -Contain 'iv msg'
    }

    It 'forwards stream records as they happen, not at the end' {
        $arrivals = 1 | Invoke-ThreadBatch { Write-Verbose 'early'; Start-Sleep -Milliseconds 2500; 'late' } -Verbose 4>&1 |
            ForEach-Object { [pscustomobject]@{ Record = $_; At = [datetime]::UtcNow } }
        $verbose = $arrivals | Where-Object { $_.Record -is [System.Management.Automation.VerboseRecord] }
        $output = $arrivals | Where-Object { $_.Record -eq 'late' }
        $verbose | Should -Not -BeNullOrEmpty
        $output | Should -Not -BeNullOrEmpty
        ($output.At - $verbose.At).TotalSeconds | Should -BeGreaterThan 1.2 -Because 'the verbose record must be forwarded while the item is still running'
    }
}

Describe 'Invoke-ThreadBatch: where an item runs' {
    It 'runs each item in a child scope: one item''s variables are not seen by the next on the same runspace' {
        $out = 1..6 | Invoke-ThreadBatch {
            $prev = if (Test-Path variable:leakTest) { "$leakTest" } else { 'none' }
            $leakTest = $_
            $prev
        } -ThrottleLimit 1 -SummaryVariable s
        $out | Should -Be @('none', 'none', 'none', 'none', 'none', 'none')
        Assert-BatchSummary $s -Total 6 -Succeeded 6
    }

    It 'runs with the caller''s current location' {
        $here = (Get-Item -LiteralPath $TestDrive).FullName
        Set-Content -Path (Join-Path $here 'relative.txt') -Value 'from the caller''s folder'
        Push-Location -LiteralPath $here
        try {
            $out = 1, 2 | Invoke-ThreadBatch { [pscustomobject]@{ Loc = (Get-Location).Path; Text = Get-Content ./relative.txt } } -SummaryVariable s
        }
        finally { Pop-Location }
        foreach ($o in $out) {
            $o.Loc | Should -Be $here
            $o.Text | Should -Be 'from the caller''s folder'
        }
        Assert-BatchSummary $s -Total 2 -Succeeded 2
    }

    It 'supports -PipelineVariable' {
        $out = 1..3 | Invoke-ThreadBatch { $_ * 10 } -PipelineVariable pv | ForEach-Object { "$pv=$_" }
        ($out | Sort-Object) | Should -Be @('10=10', '20=20', '30=30')
    }

    It '$using: reads plain variables, $using:h[''k''] and $using:o.Prop' {
        $plain = 'P'
        $h = @{ k = 'K' }
        $o = [pscustomobject]@{ Prop = 'O' }
        $out = 1..3 | Invoke-ThreadBatch {
            $a = $using:plain; $b = $using:h['k']; $c = $using:o.Prop
            "$a|$b|$c|$_"
        } -SummaryVariable s
        ($out | Sort-Object) | Should -Be @('P|K|O|1', 'P|K|O|2', 'P|K|O|3')
        Assert-BatchSummary $s -Total 3 -Succeeded 3
    }

    It '$using: values are captured once, at start' {
        $v = 'at start'
        # All begin blocks run before any process block, so the batch has started (and captured)
        # before ForEach-Object changes $v in this scope.
        $out = 1..4 | ForEach-Object { $v = "changed before item $_"; $_ } | Invoke-ThreadBatch { $using:v } -SummaryVariable s
        $v | Should -Be 'changed before item 4'
        $out | Should -Be @('at start', 'at start', 'at start', 'at start')
        Assert-BatchSummary $s -Total 4 -Succeeded 4
    }

    It '-Variable defines variables in every runspace' {
        $out = 1..4 | Invoke-ThreadBatch { "$Label$($_ * $Factor)" } -Variable @{ Factor = 10; Label = 'v' } -ThrottleLimit 2 -SummaryVariable s
        ($out | Sort-Object) | Should -Be @('v10', 'v20', 'v30', 'v40')
        Assert-BatchSummary $s -Total 4 -Succeeded 4
    }

    It '-Function defines the caller''s functions in every runspace' {
        function Get-Tripled { param([int] $N) $N * 3 }
        function Get-Labelled { param($X) "L:$(Get-Tripled $X)" }
        $out = 1..4 | Invoke-ThreadBatch { Get-Labelled $_ } -Function Get-Tripled, Get-Labelled -ThrottleLimit 2 -SummaryVariable s
        ($out | Sort-Object) | Should -Be @('L:12', 'L:3', 'L:6', 'L:9')
        Assert-BatchSummary $s -Total 4 -Succeeded 4
    }

    Context '-Module' {
        BeforeAll {
            $script:modRoot = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'modules')).FullName
            $script:markerDir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'imports')).FullName
            $modDir = New-Item -ItemType Directory -Path (Join-Path $modRoot 'PTestModule')
            $escaped = $markerDir -replace "'", "''"
            Set-Content -Path (Join-Path $modDir 'PTestModule.psm1') -Value @"
`$null = New-Item -ItemType File -Path (Join-Path '$escaped' ([guid]::NewGuid().ToString()))
function Get-PTestValue { param(`$X) "mod:`$X" }
"@
            $script:modPath = Join-Path $modDir 'PTestModule.psm1'
        }

        It 'imports a module (by path) once per runspace, not once per item' {
            Get-ChildItem $markerDir | Remove-Item
            $out = 1..12 | Invoke-ThreadBatch { Get-PTestValue $_ } -Module $modPath -ThrottleLimit 2 -SummaryVariable s
            ($out | Sort-Object) | Should -Be (1..12 | Sort-Object { "mod:$_" } | ForEach-Object { "mod:$_" })
            $imports = @(Get-ChildItem $markerDir).Count
            $imports | Should -BeGreaterOrEqual 1
            $imports | Should -BeLessOrEqual 2 -Because 'the module is imported once per runspace (throttle 2), not per item'
            Assert-BatchSummary $s -Total 12 -Succeeded 12
        }

        It 'imports a module by name from PSModulePath' {
            $saved = $env:PSModulePath
            $env:PSModulePath = $modRoot + [IO.Path]::PathSeparator + $saved
            try {
                $out = 1..3 | Invoke-ThreadBatch { Get-PTestValue $_ } -Module PTestModule -SummaryVariable s
            }
            finally { $env:PSModulePath = $saved }
            ($out | Sort-Object) | Should -Be @('mod:1', 'mod:2', 'mod:3')
            Assert-BatchSummary $s -Total 3 -Succeeded 3
        }
    }
}

Describe 'Invoke-ThreadBatch: runspaces' {
    It 'reuses runspaces across items' {
        $r = 1..10 | Invoke-ThreadBatch { [runspace]::DefaultRunspace.Id } -ThrottleLimit 1 -AsResult -SummaryVariable s
        @($r.Worker | Sort-Object -Unique) | Should -HaveCount 1 -Because 'throttle 1 means one runspace, reused for all 10 items'
        @($r | ForEach-Object { $_.Output[0] } | Sort-Object -Unique) | Should -HaveCount 1
        Assert-BatchSummary $s -Total 10 -Succeeded 10
    }

    It '-UseNewRunspace gives each item a fresh runspace' {
        $r = 1..10 | Invoke-ThreadBatch {
            $global:ptestCounter = 1 + $(if (Test-Path variable:global:ptestCounter) { $global:ptestCounter } else { 0 })
            [runspace]::DefaultRunspace.Id
            $global:ptestCounter
        } -ThrottleLimit 1 -UseNewRunspace -AsResult -SummaryVariable s
        @($r.Worker | Sort-Object -Unique) | Should -HaveCount 10
        @($r | ForEach-Object { $_.Output[0] } | Sort-Object -Unique) | Should -HaveCount 10
        @($r | ForEach-Object { $_.Output[1] }) | Should -Be @(1, 1, 1, 1, 1, 1, 1, 1, 1, 1) -Because 'a fresh runspace has no global state from earlier items'
        Assert-BatchSummary $s -Total 10 -Succeeded 10
    }

    It 'opens a runspace only when no open one is idle: 50 tiny items at -ThrottleLimit 50 need few, and none outlives the call' {
        $openBefore = @(Get-Runspace | Where-Object { $_.RunspaceStateInfo.State -eq 'Opened' }).Count
        # Runspace ids count up in creation order: the ids of two new runspaces bracket the batch's.
        $idBefore = [runspacefactory]::CreateRunspace().Id
        $out = 1..50 | Invoke-ThreadBatch { $_ } -ThrottleLimit 50 -SummaryVariable s
        $opened = [runspacefactory]::CreateRunspace().Id - $idBefore - 1
        ($out | Sort-Object) | Should -Be (1..50)
        # Quiet machine: 6-8. The bound leaves room for a busy one, where each item takes longer and
        # more lanes find work; opening one per item (the old pool) would give 50.
        $opened | Should -BeLessOrEqual 25 -Because 'tiny items are done by a few runspaces long before 50 could be opened'
        $opened | Should -BeGreaterOrEqual 1
        Wait-Until { @(Get-Runspace | Where-Object { $_.RunspaceStateInfo.State -eq 'Opened' }).Count -le $openBefore } -TimeoutSeconds 5 |
            Should -BeTrue -Because 'idle runspaces are closed with the batch'
        Assert-BatchSummary $s -Total 50 -Succeeded 50
    }

    It 'still opens runspaces for concurrency: 20 items sleeping 300 ms at -ThrottleLimit 20 overlap' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 1..20 | Invoke-ThreadBatch {
            $start = [datetime]::UtcNow
            Start-Sleep -Milliseconds 300
            [pscustomobject]@{ Start = $start; End = [datetime]::UtcNow }
        } -ThrottleLimit 20 -SummaryVariable s
        $elapsed = $sw.Elapsed.TotalSeconds
        $out | Should -HaveCount 20
        $elapsed | Should -BeLessThan 3 -Because 'one after the other they would take 6 s'
        Get-MaxOverlap -Interval $out | Should -BeGreaterOrEqual 5 -Because 'slow items get runspaces of their own'
        Assert-BatchSummary $s -Total 20 -Succeeded 20
    }

    It 'compacts the session''s heap under allocation-heavy items, so young collections do not slow down' {
        # In a fresh pwsh, so that the collections counted are this batch's. The runtime alone does
        # one gen2 collection over these items and lets the heap grow; the engine compacts whenever
        # the collector's pauses since its last compaction cost 4 times what that one did (8-9 here).
        $items, $collections = Get-FreshPwshCount -Line @(
            '$body = { $acc = 0; for ($i = 0; $i -lt 3000; $i++) { $h = @{ Id = $i; Name = "item-$i"; Tags = @("a$i", "b$i") }; $o = [pscustomobject]@{ N = $i; Upper = $h.Name.ToUpperInvariant() }; $acc += $h.Tags.Count + "$($o.N):$($o.Upper)".Length }; $acc }'
            '$before = [GC]::CollectionCount(2)'
            '$out = 1..200 | Invoke-ThreadBatch $body -ThrottleLimit 2'
            '"{0} {1}" -f $out.Count, ([GC]::CollectionCount(2) - $before)'
        )
        $items | Should -Be 200
        $collections | Should -BeGreaterOrEqual 5 -Because 'the engine compacts gen2 several times over 200 such items'
    }

    It 'keeps every item''s own output, errors and state over many tiny (chunked) items' {
        $r = 0..999 | Invoke-ThreadBatch {
            if ($_ % 100 -eq 7) { Write-Error "bad $_" -ErrorId 'Every100' }
            $_ * 2
        } -AsResult -ThrottleLimit 2 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -HaveCount 1000
        $wrong = @($r | Where-Object { $_.Output.Count -ne 1 -or $_.Output[0] -ne $_.Input * 2 -or $_.Index -ne $_.Input })
        $wrong | Should -HaveCount 0 -Because 'each item keeps its own output'
        $failed = @($r | Where-Object Status -EQ ([PSParallel.ItemStatus]::Failed))
        ($failed.Input | Sort-Object) | Should -Be (0..9 | ForEach-Object { $_ * 100 + 7 })
        @($failed | Where-Object { $_.Errors.Count -ne 1 -or $_.Errors[0].FullyQualifiedErrorId -notlike 'Every100*' }) | Should -HaveCount 0
        @($r | Where-Object { $_.Status -eq [PSParallel.ItemStatus]::Succeeded -and $_.Errors.Count -ne 0 }) | Should -HaveCount 0
        @($ev) | Should -HaveCount 10
        (@($ev.TargetObject) | Sort-Object) | Should -Be (0..9 | ForEach-Object { $_ * 100 + 7 })
        Assert-BatchSummary $s -Total 1000 -Succeeded 990 -Failed 10
    }
}

Describe 'Invoke-ThreadBatch: stopping' {
    It 'Ctrl+C (StopProcessing) stops the running items and returns promptly' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'ctrlc')).FullName
        $busyBefore = Get-BusyRunspaceCount
        $ps = New-PSParallelInstance
        try {
            $null = $ps.AddScript('param($d) 1..8 | Invoke-ThreadBatch { $null = New-Item -ItemType File -Path (Join-Path $using:d "start-$_"); Start-Sleep -Seconds 3; $null = New-Item -ItemType File -Path (Join-Path $using:d "end-$_") } -ThrottleLimit 4').AddArgument($dir)
            $handle = $ps.BeginInvoke()
            Wait-Until { @(Get-ChildItem $dir -Filter 'start-*').Count -ge 2 } -TimeoutSeconds 30 | Should -BeTrue -Because 'items must start'
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'Ctrl+C stops all running items within about a second'
            $handle.IsCompleted | Should -BeTrue
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Start-Sleep -Milliseconds 3500
            @(Get-ChildItem $dir -Filter 'end-*') | Should -HaveCount 0 -Because 'running items were stopped, not left to finish'
            Wait-Until { (Get-BusyRunspaceCount) -le $busyBefore } -TimeoutSeconds 5 | Should -BeTrue -Because 'no item runspace is left running'
        }
        finally { Remove-PSParallelInstance $ps }
    }

    It 'Select-Object -First stops the batch early and cleans up' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'first')).FullName
        $busyBefore = Get-BusyRunspaceCount
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 1..40 | Invoke-ThreadBatch {
            if ($_ -le 2) { return $_ }
            Start-Sleep -Milliseconds 2500
            $null = New-Item -ItemType File -Path (Join-Path $using:dir "end-$_")
            $_
        } -ThrottleLimit 4 -SummaryVariable s | Select-Object -First 2
        $elapsed = $sw.Elapsed.TotalSeconds
        ($out | Sort-Object) | Should -Be @(1, 2)
        $elapsed | Should -BeLessThan 8 -Because 'the whole batch would take about 25 s'
        Wait-Until { (Get-BusyRunspaceCount) -le $busyBefore } -TimeoutSeconds 5 | Should -BeTrue -Because 'no item runspace is left running'
        Start-Sleep -Milliseconds 3000
        @(Get-ChildItem $dir -Filter 'end-*') | Should -HaveCount 0 -Because 'items still running when Select-Object stopped the pipeline are stopped'
        $s | Should -Not -BeNullOrEmpty -Because 'the summary is stored even when the batch is stopped early'
        $s.Total | Should -Be ($s.Succeeded + $s.Failed + $s.TimedOut + $s.Cancelled + $s.Skipped)
        $s.Succeeded | Should -BeGreaterOrEqual 2
    }
}

Describe 'Invoke-ThreadBatch: progress' {
    It 'writes rate-limited progress records with counts, failures, items/s and an ETA, and completes them' {
        $ps = New-PSParallelInstance
        try {
            $null = $ps.AddScript('1..60 | Invoke-ThreadBatch { Start-Sleep -Milliseconds 60; if ($_ -eq 20) { throw "twenty" }; $_ } -ThrottleLimit 2 -SummaryVariable s -ErrorAction SilentlyContinue; $s')
            $out = $ps.Invoke()
            $summary = $out[-1]
            $summary.Total | Should -Be 60
            $summary.Failed | Should -Be 1
            $records = @($ps.Streams.Progress)
            $processing = @($records | Where-Object RecordType -EQ 'Processing')
            $processing.Count | Should -BeGreaterOrEqual 1 -Because 'a 2 s batch shows progress'
            $processing.Count | Should -BeLessOrEqual ([Math]::Ceiling($summary.Duration.TotalSeconds * 8) + 4) -Because 'progress is updated at most a few times a second'
            $records[-1].RecordType | Should -Be 'Completed' -Because 'the progress bar is closed at the end'
            $text = ($processing | ForEach-Object { "$($_.Activity) $($_.StatusDescription) $($_.CurrentOperation)" }) -join "`n"
            $text | Should -Match '\b60\b' -Because 'progress shows the total once the input has ended'
            $text | Should -Match 'fail' -Because 'progress shows failures'
            $text | Should -Match '/s' -Because 'progress shows items/s'
            @($processing | Where-Object SecondsRemaining -GE 0) | Should -Not -BeNullOrEmpty -Because 'progress shows an ETA'
            # Item 20 fails; once 70 % are done (throttle 2, items in input order) its failure is counted.
            $late = @($processing | Where-Object PercentComplete -GE 70)
            $late | Should -Not -BeNullOrEmpty -Because 'progress is updated until near the end'
            "$($late[-1].StatusDescription) $($late[-1].CurrentOperation)" | Should -Match '(\b1\b\D{0,12}fail)|(fail\D{0,12}\b1\b)' -Because 'progress near the end must show the 1 failure'
        }
        finally { Remove-PSParallelInstance $ps }
    }

    It '$ProgressPreference = SilentlyContinue silences it' {
        $ps = New-PSParallelInstance
        try {
            $null = $ps.AddScript('$ProgressPreference = "SilentlyContinue"; 1..40 | Invoke-ThreadBatch { Start-Sleep -Milliseconds 50; $_ } -ThrottleLimit 2')
            $out = $ps.Invoke()
            $out | Should -HaveCount 40
            @($ps.Streams.Progress) | Should -HaveCount 0
        }
        finally { Remove-PSParallelInstance $ps }
    }
}

Describe 'Invoke-ThreadBatch: the seed''s examples' {
    BeforeAll {
        $script:server = Start-TestHttpServer
    }
    AfterAll {
        $server | Stop-TestHttpServer
    }

    It '$urls | Invoke-ThreadBatch { Invoke-RestMethod $_ } -ThrottleLimit 16 fetches every URL concurrently' {
        $urls = 1..16 | ForEach-Object { "$($server.BaseUrl)/delay/$(400 + $_)" }
        $server.ResetCounters()
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = $urls | Invoke-ThreadBatch { Invoke-RestMethod $_ } -ThrottleLimit 16 -SummaryVariable s
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because '16 requests of ~0.4 s take 6.7 s one after another'
        ($out.delayMs | Sort-Object) | Should -Be (1..16 | ForEach-Object { 400 + $_ })
        $server.RequestCount | Should -Be 16
        $server.MaxConcurrent | Should -BeGreaterOrEqual 4
        $server.MaxConcurrent | Should -BeLessOrEqual 16
        Assert-BatchSummary $s -Total 16 -Succeeded 16
    }

    It 'the script version of the primes example gives the right answers' {
        $numbers = 10000019, 10000079, 10000103, 10000129
        $out = $numbers | Invoke-ThreadBatch {
            $n = $_
            $isPrime = $n -ge 2
            for ($d = 2; $d * $d -le $n; $d++) { if ($n % $d -eq 0) { $isPrime = $false; break } }
            [pscustomobject]@{ N = $n; IsPrime = $isPrime }
        } -Ordered -SummaryVariable s
        $out.N | Should -Be $numbers
        $out.IsPrime | Should -Be @($numbers | ForEach-Object { Test-PrimeReference $_ })
        Assert-BatchSummary $s -Total 4 -Succeeded 4
    }
}
