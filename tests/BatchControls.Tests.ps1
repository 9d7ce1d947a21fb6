#requires -Version 7.2
# Behaviour tests for the batch controls (CONTRACT.md, Wave 2, "Batch controls"): -JournalPath and
# -Resume, -MaxFailures and -MaxFailurePercent, -MaxPerSecond, -ItemTimeoutFactor, on threads,
# processes and compiled workloads. Everything is real: child pwsh killed with kill -9, batches
# stopped as Ctrl+C stops them, real files.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel

    # The journal's item entries (not its header lines), as objects. A torn last line (the writer
    # was killed) is left out, as -Resume leaves it out. Read with a FileStream that shares
    # everything: the file may be open in a running batch.
    function Read-JournalEntry([string] $Path) {
        if (-not (Test-Path -LiteralPath $Path)) { return }
        $stream = [System.IO.FileStream]::new($Path, 'Open', 'Read', 'ReadWrite, Delete')
        try { $text = [System.IO.StreamReader]::new($stream).ReadToEnd() } finally { $stream.Dispose() }
        $lines = $text -split "`n"
        # The last element is '' after a final newline, else a torn line.
        foreach ($line in $lines[0..($lines.Count - 2)]) {
            if (-not $line.Trim()) { continue }
            $entry = $line | ConvertFrom-Json
            if ($null -ne $entry.PSObject.Properties['key']) { $entry }
        }
    }

    function Get-SucceededKey([string] $Path) {
        $set = [System.Collections.Generic.HashSet[string]]::new()
        foreach ($e in @(Read-JournalEntry $Path)) { if ($e.status -eq 'Succeeded') { $null = $set.Add("$($e.key)#$($e.occurrence)") } }
        , $set
    }

    # The keys the items of a run wrote: each lane appends to its own file beside $Path
    # ($Path.<pid>.<thread>), as .NET appends from several handles to one file can overwrite each other.
    function Get-Mark([string] $Path) {
        $dir = Split-Path -Parent $Path
        $name = Split-Path -Leaf $Path
        foreach ($file in @(Get-ChildItem -LiteralPath $dir -File | Where-Object { $_.Name -like "$name.*" })) {
            [System.IO.File]::ReadAllLines($file.FullName) | Where-Object { $_ }
        }
    }

    # The script line an item runs to write its mark (see Get-Mark); $marks holds the base path.
    $script:AppendMark = '[System.IO.File]::AppendAllText("$($using:marks).$PID.$([System.Threading.Thread]::CurrentThread.ManagedThreadId)", "$_`n")'

    # Entry lines (complete ones, headers aside) without parsing them: cheap enough to poll.
    function Get-JournalEntryCount([string] $Path) {
        if (-not (Test-Path -LiteralPath $Path)) { return 0 }
        $stream = [System.IO.FileStream]::new($Path, 'Open', 'Read', 'ReadWrite, Delete')
        try { $text = [System.IO.StreamReader]::new($stream).ReadToEnd() } finally { $stream.Dispose() }
        $lines = ($text.Length - $text.Replace("`n", '').Length)
        $headers = ($text.Length - $text.Replace('{"psparallelJournal"', '').Length) / '{"psparallelJournal"'.Length
        $lines - $headers
    }

    function Wait-JournalEntry([string] $Path, [int] $Count, [double] $TimeoutSeconds = 90, [scriptblock] $StillRunning = { $true }) {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        while ($sw.Elapsed.TotalSeconds -lt $TimeoutSeconds) {
            if ((Get-JournalEntryCount $Path) -ge $Count) { return $true }
            if (-not (& $StillRunning)) { return $false }
            Start-Sleep -Milliseconds 10
        }
        $false
    }

    function ConvertTo-Literal([string] $Text) { "'" + ($Text -replace "'", "''") + "'" }

    # The batch every resume test runs: 200 items k1..k200, each appending its key to the marks
    # file of its run, then sleeping a little so that the run can be interrupted mid-way.
    function Get-ResumeBatch([string] $Command, [string] $Journal, [string] $Marks, [int] $Throttle) {
        @"
`$ProgressPreference = 'SilentlyContinue'
`$marks = $(ConvertTo-Literal $Marks)
1..200 | ForEach-Object { "k`$_" } |
    $Command { $AppendMark; Start-Sleep -Milliseconds 25; `$_ } -ThrottleLimit $Throttle -JournalPath $(ConvertTo-Literal $Journal) -Resume -SummaryVariable s |
    Out-Null
"@
    }

    # Checks the runs of one resumed batch: no item the journal recorded as Succeeded before a run
    # started ran again in that run, every item ran at least once, and the last run's summary adds up.
    function Assert-ResumedRun([object[]] $Runs, $Final, [string] $Journal, [string] $Seed) {
        $all = [System.Collections.Generic.HashSet[string]]::new()
        foreach ($run in $Runs) {
            foreach ($key in (Get-Mark $run.Marks)) {
                $run.SucceededBefore.Contains("$key#1") | Should -BeFalse -Because "$key was recorded as Succeeded before run $($run.Number) began, so it must not run again (seed $Seed)"
                $null = $all.Add($key)
            }
        }
        $missing = @(1..200 | ForEach-Object { "k$_" } | Where-Object { -not $all.Contains($_) })
        $missing | Should -BeNullOrEmpty -Because "every item must run at least once over the runs (seed $Seed)"
        $last = $Runs[-1]
        $Final.Total | Should -Be 200
        ($Final.Succeeded + $Final.Skipped) | Should -Be 200 -Because 'the last run accounts for every item'
        $Final.Resumed | Should -Be $last.SucceededBefore.Count -Because 'Resumed counts the items the journal recorded as Succeeded'
        $Final.Skipped | Should -Be $Final.Resumed
        $Final.Succeeded | Should -Be (200 - $last.SucceededBefore.Count)
        (Get-SucceededKey $Journal).Count | Should -Be 200 -Because 'the journal ends up recording every item as Succeeded'
    }

    # kill -9 of the caller (and, for Invoke-ProcessBatch, of its workers with it) at random points.
    function Invoke-KillResumeScenario([string] $Command, [int] $Throttle) {
        $seed = Get-Random
        $random = [System.Random]::new($seed)
        $dir = Join-Path $TestDrive "kill-$Command"
        $null = New-Item -ItemType Directory -Path $dir -Force
        $journal = Join-Path $dir 'journal.jsonl'
        $runs = [System.Collections.Generic.List[object]]::new()
        $final = $null
        foreach ($number in 1..6) {
            $marks = Join-Path $dir "marks-$number.txt"
            $before = Get-SucceededKey $journal
            $entries = Get-JournalEntryCount $journal
            $runs.Add([pscustomobject]@{ Number = $number; Marks = $marks; SucceededBefore = $before })
            $batch = Get-ResumeBatch -Command $Command -Journal $journal -Marks $marks -Throttle $Throttle
            $script = "`$ErrorActionPreference = 'Stop'`nImport-Module $(ConvertTo-Literal (Get-PSParallelManifest))`n$batch`n'##SUMMARY## ' + (`$s | Select-Object Total, Succeeded, Failed, TimedOut, Cancelled, Skipped, Resumed | ConvertTo-Json -Compress)"
            $child = Start-ChildPwsh $script
            try {
                if ($number -le 5) {
                    # A random point of the run: after 10 to 35 more items settled.
                    $target = $entries + $random.Next(10, 36)
                    $reached = Wait-JournalEntry $journal $target -StillRunning { -not $child.HasExited }
                    $reached | Should -BeTrue -Because "run $number must get to $target journal entries before it is killed (stderr: $(if ($child.HasExited) { $child.PSParallelOutput.StdErr.Result }))"
                    if ($number -eq 1) {
                        # Meanwhile, another batch on the same journal is refused.
                        $err = Get-FirstError { 1 | Invoke-ThreadBatch { $_ } -JournalPath $journal }
                        $err.FullyQualifiedErrorId | Should -BeLike 'JournalInUse*'
                    }
                    $workers = @(Get-PSParallelWorker -ParentId $child.Id)
                    $child.Kill()
                    foreach ($w in $workers) { try { [System.Diagnostics.Process]::GetProcessById($w).Kill() } catch { } }
                    $child.WaitForExit()
                    if ($Command -eq 'Invoke-ProcessBatch') {
                        $workers.Count | Should -BeGreaterThan 0 -Because 'the workers are killed with the caller'
                        Assert-NoWorkerLeft -ProcessId $workers
                    }
                }
                else {
                    $child.WaitForExit(120000) | Should -BeTrue -Because 'the last run finishes'
                    $out = $child.PSParallelOutput.StdOut.Result
                    $line = @($out -split "`n" | Where-Object { $_ -like '##SUMMARY## *' })[0]
                    $line | Should -Not -BeNullOrEmpty -Because "the last run prints its summary (stderr: $($child.PSParallelOutput.StdErr.Result))"
                    $final = $line.Substring(12) | ConvertFrom-Json
                }
            }
            finally {
                if (-not $child.HasExited) { $child.Kill($true) }
                $child.Dispose()
            }
        }
        Assert-ResumedRun -Runs $runs -Final $final -Journal $journal -Seed $seed
    }

    # Ctrl+C (StopProcessing through PowerShell.Stop()) at random points, then resumed until done.
    function Invoke-StopResumeScenario([string] $Command, [int] $Throttle, [int] $Stops) {
        $seed = Get-Random
        $random = [System.Random]::new($seed)
        $dir = Join-Path $TestDrive "stop-$Command"
        $null = New-Item -ItemType Directory -Path $dir -Force
        $journal = Join-Path $dir 'journal.jsonl'
        $runs = [System.Collections.Generic.List[object]]::new()
        $final = $null
        foreach ($number in 1..($Stops + 1)) {
            $marks = Join-Path $dir "marks-$number.txt"
            $before = Get-SucceededKey $journal
            $entries = Get-JournalEntryCount $journal
            $runs.Add([pscustomobject]@{ Number = $number; Marks = $marks; SucceededBefore = $before })
            $ps = New-PSParallelInstance
            try {
                $null = $ps.AddScript((Get-ResumeBatch -Command $Command -Journal $journal -Marks $marks -Throttle $Throttle))
                $handle = $ps.BeginInvoke()
                if ($number -le $Stops) {
                    $target = $entries + $random.Next(10, 31)
                    $reached = Wait-JournalEntry $journal $target -StillRunning { -not $handle.IsCompleted }
                    # (Streams.Error is read by index: enumerating it would wait for the pipeline to end.)
                    $reached | Should -BeTrue -Because "run $number must get to $target journal entries before it is stopped ($(if ($ps.Streams.Error.Count) { $ps.Streams.Error[0] }))"
                    $ps.Stop()
                    $summary = $ps.Runspace.SessionStateProxy.GetVariable('s')
                    Assert-BatchSummary $summary -Total 200 -Failed 0 -TimedOut 0
                    $summary.Succeeded | Should -BeLessThan (200 - $summary.Resumed) -Because 'the run was stopped part-way'
                    $written = (Get-JournalEntryCount $journal) - $entries
                    $written | Should -Be ($summary.Total - $summary.Resumed) -Because 'every item the stopped run settled (resumed ones aside) has its journal line'
                    if ($Command -eq 'Invoke-ProcessBatch') { Assert-NoWorkerLeft }
                }
                else {
                    $null = $ps.EndInvoke($handle)
                    $final = $ps.Runspace.SessionStateProxy.GetVariable('s')
                }
            }
            finally { Remove-PSParallelInstance $ps }
        }
        Assert-ResumedRun -Runs $runs -Final $final -Journal $journal -Seed $seed
    }
}

Describe 'Journal and resume' {
    It 'writes one JSON line per settled item: index, key, occurrence, status, attempts, durationMs, worker, endTime' {
        $journal = Join-Path $TestDrive 'fields.jsonl'
        $null = 'a', 'b', 'c' | Invoke-ThreadBatch { if ($_ -eq 'b') { throw 'bad b' }; $_ } -JournalPath $journal -ErrorAction SilentlyContinue -SummaryVariable s
        Assert-BatchSummary $s -Total 3 -Succeeded 2 -Failed 1
        $lines = @(Get-Content -LiteralPath $journal)
        $lines.Count | Should -Be 4
        ($lines[0] | ConvertFrom-Json).psparallelJournal | Should -Be 1
        $entries = @(Read-JournalEntry $journal | Sort-Object index)
        $entries.key | Should -Be @('a', 'b', 'c')
        $entries.status | Should -Be @('Succeeded', 'Failed', 'Succeeded')
        $entries.index | Should -Be @(0, 1, 2)
        foreach ($e in $entries) {
            $e.occurrence | Should -Be 1
            $e.attempts | Should -Be 1
            $e.durationMs | Should -BeGreaterOrEqual 0
            $e.worker | Should -BeGreaterThan 0
            [DateTimeOffset]::Parse($e.endTime) | Should -BeOfType [DateTimeOffset]
        }
        $entries[1].error | Should -BeLike '*bad b*'
    }

    It 'resumes a reordered and extended list by value, duplicates counted in order, reporting Skipped (journal)' {
        $journal = Join-Path $TestDrive 'reorder.jsonl'
        $marks = Join-Path $TestDrive 'reorder-marks.txt'
        $null = 'web1', 'web2', 'web1', 'db1' | Invoke-ThreadBatch { if ($_ -eq 'db1') { throw 'db1 is down' } } -JournalPath $journal -ErrorAction SilentlyContinue
        $results = 'db1', 'web2', 'web3', 'web1', 'web1', 'web1' | Invoke-ThreadBatch ([scriptblock]::Create("$AppendMark; `$_")) -JournalPath $journal -Resume -AsResult -SummaryVariable s
        @(Get-Mark $marks | Sort-Object) | Should -Be @('db1', 'web1', 'web3') -Because 'only the failed item, the new item and the third web1 run'
        Assert-BatchSummary $s -Total 6 -Succeeded 3 -Skipped 3
        $s.Resumed | Should -Be 3
        $skipped = @($results | Where-Object Status -EQ 'Skipped' | Sort-Object Index)
        $skipped.Index | Should -Be @(1, 3, 4)
        $skipped.SkipReason | Should -Be @('journal', 'journal', 'journal')
        ($skipped[0] | Format-Table | Out-String) | Should -BeLike '*Skipped (journal)*'
    }

    It 'ignores a torn last line: that item runs again, the rest are skipped' {
        $journal = Join-Path $TestDrive 'torn.jsonl'
        $null = 1..6 | Invoke-ThreadBatch { $_ } -JournalPath $journal
        $text = [IO.File]::ReadAllText($journal)
        $cut = $text.LastIndexOf("`n", $text.Length - 2) + 1
        $tornKey = ($text.Substring($cut) | ConvertFrom-Json).key
        [IO.File]::WriteAllText($journal, $text.Substring(0, $cut + 25))
        $out = 1..6 | Invoke-ThreadBatch { $_ } -JournalPath $journal -Resume -SummaryVariable s
        "$out" | Should -Be "$tornKey"
        $s.Resumed | Should -Be 5
        @(Get-Content -LiteralPath $journal | ForEach-Object { $_ | ConvertFrom-Json }).Count | Should -Be 8 -Because 'the torn line is cut off, every line parses'
    }

    It 'refuses a file that is not a journal with a clear error, runs nothing and leaves the file untouched' {
        $path = Join-Path $TestDrive 'notes.txt'
        Set-Content -LiteralPath $path -Value 'my precious notes', 'line two'
        $before = Get-Content -LiteralPath $path -Raw
        $marks = Join-Path $TestDrive 'foreign-marks.txt'
        foreach ($resume in $false, $true) {
            $err = Get-FirstError { 1..3 | Invoke-ThreadBatch ([scriptblock]::Create($AppendMark)) -JournalPath $path -Resume:$resume }
            $err.FullyQualifiedErrorId | Should -BeLike 'JournalNotOurs*'
            $err.Exception.Message | Should -BeLike "*not a PSParallel journal*left untouched*"
        }
        Get-Content -LiteralPath $path -Raw | Should -Be $before
        @(Get-Mark $marks) | Should -BeNullOrEmpty -Because 'nothing may run'
    }

    It 'refuses a journal another batch is writing, and the running batch goes on' {
        $journal = Join-Path $TestDrive 'busy.jsonl'
        $ps = New-PSParallelInstance
        try {
            $null = $ps.AddScript("1..40 | Invoke-ThreadBatch { Start-Sleep -Milliseconds 50; `$_ } -ThrottleLimit 2 -JournalPath $(ConvertTo-Literal $journal) -SummaryVariable s")
            $handle = $ps.BeginInvoke()
            Wait-JournalEntry $journal 1 -StillRunning { -not $handle.IsCompleted } | Should -BeTrue
            foreach ($command in 'Invoke-ThreadBatch', 'Invoke-ProcessBatch') {
                $err = Get-FirstError { 1 | & $command { $_ } -JournalPath $journal -Resume }
                $err.FullyQualifiedErrorId | Should -BeLike 'JournalInUse*'
                $err.Exception.Message | Should -BeLike '*in use by another batch*another -JournalPath*'
            }
            # Readers are welcome while it runs.
            @(Get-Content -LiteralPath $journal).Count | Should -BeGreaterThan 0
            $null = $ps.EndInvoke($handle)
            Assert-BatchSummary ($ps.Runspace.SessionStateProxy.GetVariable('s')) -Total 40 -Succeeded 40
        }
        finally { Remove-PSParallelInstance $ps }
        @(Read-JournalEntry $journal).Count | Should -Be 40
    }

    It 'starts an existing journal afresh without -Resume, and creates one with -Resume' {
        $journal = Join-Path $TestDrive 'afresh.jsonl'
        $null = 1..3 | Invoke-ThreadBatch { $_ } -JournalPath $journal -Resume -SummaryVariable s
        Assert-BatchSummary $s -Total 3 -Succeeded 3
        $out = 1..3 | Invoke-ProcessBatch { $_ } -JournalPath $journal -SummaryVariable s -ThrottleLimit 1
        @($out).Count | Should -Be 3
        $s.Resumed | Should -Be 0
        @(Get-Content -LiteralPath $journal).Count | Should -Be 4 -Because 'one header and three entries: the old run is gone'
    }

    It 'says what to do when -Resume has no -JournalPath' {
        $err = Get-FirstError { 1 | Invoke-ThreadBatch { $_ } -Resume }
        $err.FullyQualifiedErrorId | Should -BeLike 'ResumeNeedsJournal*'
        $err.Exception.Message | Should -BeLike '*-Resume needs -JournalPath*'
    }

    It 'resumes after kill -9 at 5 random points (<Command>): nothing settled runs again, every item runs' -ForEach @(
        @{ Command = 'Invoke-ThreadBatch'; Throttle = 4 }
        @{ Command = 'Invoke-ProcessBatch'; Throttle = 2 }
    ) {
        Invoke-KillResumeScenario -Command $Command -Throttle $Throttle
    }

    # Processes are stopped at fewer points: each run starts its workers anew, which is slow on 2 cores.
    It 'resumes after Ctrl+C at <Stops> random points (<Command>): every settled item is journaled, the summaries add up' -ForEach @(
        @{ Command = 'Invoke-ThreadBatch'; Throttle = 4; Stops = 5 }
        @{ Command = 'Invoke-ProcessBatch'; Throttle = 2; Stops = 3 }
    ) {
        Invoke-StopResumeScenario -Command $Command -Throttle $Throttle -Stops $Stops
    }
}

Describe 'Halt on failures' {
    BeforeAll {
        # Start, fail and end marks with their UTC ticks, one file per lane (see Get-Mark).
        $script:HaltItem = {
            $m = "$($using:marks).$PID.$([System.Threading.Thread]::CurrentThread.ManagedThreadId)"
            [System.IO.File]::AppendAllText($m, "S $_ $([DateTime]::UtcNow.Ticks)`n")
            Start-Sleep -Milliseconds 30
            if ($_ % 10 -eq 7) {
                [System.IO.File]::AppendAllText($m, "F $_ $([DateTime]::UtcNow.Ticks)`n")
                throw "item $_ fails"
            }
            $_
        }
    }

    It 'stops starting items once -MaxFailures is reached; running items finish, the rest are skipped (<Command>)' -ForEach @(
        @{ Command = 'Invoke-ThreadBatch' }
        @{ Command = 'Invoke-ProcessBatch' }
    ) {
        $marks = Join-Path $TestDrive "halt-$Command.txt"
        $results = [System.Collections.Generic.List[object]]::new()
        $err = $null
        try {
            0..59 | & $Command $HaltItem -ThrottleLimit 2 -MaxFailures 3 -AsResult -SummaryVariable s -ErrorAction SilentlyContinue |
                ForEach-Object { $results.Add($_) }
        }
        catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty -Because 'reaching the limit ends the call with a terminating error'
        $err.FullyQualifiedErrorId | Should -BeLike 'FailureLimitReached*'
        $err.Exception.Message | Should -BeLike '*-MaxFailures 3 was reached*'
        $s.HaltReason | Should -BeLike '-MaxFailures 3 was reached*'
        Assert-BatchSummary $s -Total 60 -Failed 3 -TimedOut 0 -Cancelled 0

        $events = @(Get-Mark $marks | ForEach-Object { $k, $i, $t = $_ -split ' '; [pscustomobject]@{ Kind = $k; Item = [int]$i; Ticks = [long]$t } })
        $started = @($events | Where-Object Kind -EQ 'S')
        $limit = @($events | Where-Object Kind -EQ 'F' | Sort-Object Ticks)[2].Ticks
        $late = @($started | Where-Object Ticks -GT $limit)
        $late.Count | Should -BeLessOrEqual 1 -Because "at most the other lane's item may begin while the third failure is being reported; began after it: $($late.Item -join ', ')"
        $byIndex = @{}; foreach ($r in $results) { $byIndex[[int]$r.Index] = $r }
        $byIndex.Count | Should -Be 60 -Because 'every item is reported, the skipped ones too'
        foreach ($e in $started) {
            $byIndex[$e.Item].Status | Should -Not -Be 'Skipped' -Because "item $($e.Item) began, so it ran to its end"
        }
        $skipped = @($results | Where-Object Status -EQ 'Skipped')
        $skipped.Count | Should -Be (60 - $started.Count)
        $skipped.SkipReason | Sort-Object -Unique | Should -Be 'halted'
        $skipped.Count | Should -BeGreaterThan 25
        if ($Command -eq 'Invoke-ProcessBatch') { Assert-NoWorkerLeft }
    }

    It 'halts on -MaxFailurePercent once 10 items finished, and a resumed run picks up the rest' {
        $journal = Join-Path $TestDrive 'halt.jsonl'
        $err = $null
        try { $null = 1..40 | Invoke-ThreadBatch { if ($_ % 2) { throw "odd $_" }; $_ } -ThrottleLimit 1 -MaxFailurePercent 50 -JournalPath $journal -SummaryVariable s -ErrorAction SilentlyContinue }
        catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'FailureLimitReached*'
        $s.HaltReason | Should -BeLike '-MaxFailurePercent 50 was reached: 5 of the 10 items*'
        Assert-BatchSummary $s -Total 40 -Succeeded 5 -Failed 5 -Skipped 30
        $out = 1..40 | Invoke-ThreadBatch { $_ } -JournalPath $journal -Resume -SummaryVariable s2
        @($out).Count | Should -Be 35
        $s2.Resumed | Should -Be 5
        $s2.HaltReason | Should -BeNullOrEmpty
    }
}

Describe 'Rate limit' {
    It 'spaces starts evenly with -MaxPerSecond: 50 instant items at 10/s take 4.5-6 s, never more than 11 starts in a second' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $starts = @(1..50 | Invoke-ThreadBatch { [DateTime]::UtcNow.Ticks } -MaxPerSecond 10 -SummaryVariable s | Sort-Object)
        $elapsed = $sw.Elapsed.TotalSeconds
        Assert-BatchSummary $s -Total 50 -Succeeded 50
        $starts.Count | Should -Be 50
        $most = 0
        for ($i = 0; $i -lt $starts.Count; $i++) {
            $n = @($starts | Where-Object { $_ -ge $starts[$i] -and $_ -lt $starts[$i] + [TimeSpan]::TicksPerSecond }).Count
            if ($n -gt $most) { $most = $n }
        }
        $most | Should -BeLessOrEqual 11 -Because 'no one-second window may hold more than 11 starts'
        $elapsed | Should -BeGreaterOrEqual 4.5
        $elapsed | Should -BeLessOrEqual 6
        # Evenly, not in bursts at each second's start: no quarter of a second holds more than 4.
        $quarter = [TimeSpan]::TicksPerSecond / 4
        $burst = 0
        for ($i = 0; $i -lt $starts.Count; $i++) {
            $n = @($starts | Where-Object { $_ -ge $starts[$i] -and $_ -lt $starts[$i] + $quarter }).Count
            if ($n -gt $burst) { $burst = $n }
        }
        $burst | Should -BeLessOrEqual 4
    }
}

Describe 'Relative item timeout' {
    It 'stops the one slow item among fast ones with -ItemTimeoutFactor 3 (<Name>)' -ForEach @(
        @{ Name = 'threads'; Run = { param($items) $items | Invoke-ThreadBatch { Start-Sleep -Milliseconds $_; $_ } -ThrottleLimit 3 -ItemTimeoutFactor 3 -AsResult -SummaryVariable s -ErrorAction SilentlyContinue } }
        @{ Name = 'processes'; Run = { param($items) $items | Invoke-ProcessBatch { Start-Sleep -Milliseconds $_; $_ } -ThrottleLimit 2 -ItemTimeoutFactor 3 -AsResult -SummaryVariable s -ErrorAction SilentlyContinue } }
        @{ Name = 'compiled workload'; Run = { param($items) $items | Invoke-ThreadBatch -Workload Sleep -ThrottleLimit 3 -ItemTimeoutFactor 3 -AsResult -SummaryVariable s -ErrorAction SilentlyContinue } }
    ) {
        # 20 items of 200 ms and one of 60 s: once 5 have succeeded, the slow one is stopped past 3 x 200 ms.
        $items = @(1..21 | ForEach-Object { if ($_ -eq 9) { 60000 } else { 200 } })
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $results = @(. $Run $items)
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 20 -Because 'the slow item must not hold the batch for its 60 s'
        Assert-BatchSummary $s -Total 21 -Succeeded 20 -TimedOut 1
        $slow = $results | Where-Object Index -EQ 8
        $slow.Status | Should -Be 'TimedOut'
        $slow.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ItemTimedOut*'
        $slow.Errors[0].Exception.Message | Should -BeLike '*-ItemTimeoutFactor 3 times the median*'
        if ($Name -eq 'processes') { Assert-NoWorkerLeft }
    }
}
