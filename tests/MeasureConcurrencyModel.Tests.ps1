#requires -Version 7.2
# Behaviour tests for Measure-ConcurrencyModel (CONTRACT.md "Measure-ConcurrencyModel", issue 5):
# real trials on real runspaces and worker processes. Workloads are chosen so the right answer is
# not in doubt on a loaded 2-core machine: sleeping items (waiting), a compiled spin (computing),
# { $_ } (tiny). Timing bounds are generous; the measurement's own speed is in bench/Decision.ps1.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel
    $script:modelNames = 'Sequential', 'Thread', 'Process'
}

Describe 'Measure-ConcurrencyModel on waiting work (all three models)' {
    BeforeAll {
        $script:warnings = $null
        $script:report = 1..16 | Measure-ConcurrencyModel { Start-Sleep -Milliseconds 60; $_ } -WarningVariable script:warnings -WarningAction SilentlyContinue
    }

    It 'classifies sleeping items as IoBound' {
        $report.Classification | Should -Be 'IoBound'
        $report.CpuUtilization | Should -BeLessOrEqual 0.3
    }

    It 'recommends threads at more than one degree, and says why with the numbers' {
        $report.Recommendation | Should -Be 'Thread'
        $report.ThrottleLimit | Should -BeGreaterThan 1
        $report.Reason | Should -Match '^Threads at \d+ finished 16 items in [\d.]+ s'
        $report.Reason | Should -Match 'faster than sequential'
        $report.Reason | Should -Match 'waits \d+% of its time\.$'
    }

    It 'ran every model, with every field of a trial filled in' {
        @($report.Trials.Model | Select-Object -Unique) | Should -Be $modelNames
        foreach ($trial in $report.Trials) {
            $trial.Items | Should -Be 16
            $trial.Duration | Should -BeOfType [timespan]
            $trial.Duration.TotalSeconds | Should -BeGreaterThan 0
            $trial.ItemsPerSecond | Should -BeGreaterThan 0
            $trial.PeakMemoryMB | Should -BeGreaterThan 10
            $trial.Failed | Should -Be 0
        }
        $sequential = $report.Trials | Where-Object Model -EQ 'Sequential'
        $sequential.ThrottleLimit | Should -Be 1
        $sequential.Speedup | Should -Be 1
        $sequential.Duration.TotalSeconds | Should -BeGreaterThan (16 * 0.06 * 0.9)
        $process = @($report.Trials | Where-Object Model -EQ 'Process')[0]
        $process.StartupSeconds | Should -BeGreaterThan 0.05 -Because 'starting worker processes takes time, measured apart'
        $process.CpuSeconds | Should -BeGreaterThan 0
    }

    It 'tries more threads than cores for waiting work' {
        $threadDegrees = @($report.Trials | Where-Object Model -EQ 'Thread' | ForEach-Object ThrottleLimit)
        ($threadDegrees | Measure-Object -Maximum).Maximum | Should -BeGreaterThan ([Environment]::ProcessorCount)
    }

    It 'projects the whole job for every model, start-up included' {
        @($report.Projected.Keys) | Should -Be $modelNames
        foreach ($model in $modelNames) { $report.Projected[$model] | Should -BeOfType [timespan] }
        $process = @($report.Trials | Where-Object Model -EQ 'Process' | Sort-Object { $report.Projected.Process })[0]
        $report.Projected.Process.TotalSeconds | Should -BeGreaterThan ($process.StartupSeconds * 0.99)
        $report.Projected.Thread | Should -BeLessThan $report.Projected.Sequential
    }

    It 'warns that the work runs several times on the sample items' {
        @($warnings) -join "`n" | Should -Match 'several times on each of the 16 sample items'
    }

    It 'gives a command line that starts with the caller''s input and the chosen throttle' {
        $report.Command | Should -BeLike '1..16 | Invoke-ThreadBatch { Start-Sleep -Milliseconds 60; $_ } -ThrottleLimit *'
        $report.Command | Should -Match "-ThrottleLimit $($report.ThrottleLimit)$"
    }

    It 'has a default view with the verdict, the reason and one bar per trial, within 80 columns' {
        $lines = ($report | Out-String -Width 200) -split '\r?\n'
        $lines | Should -Contain "Recommendation : Thread, ThrottleLimit $($report.ThrottleLimit)   (IoBound, CPU $('{0:0}' -f (100 * $report.CpuUtilization))% of wall time)"
        $bars = @($lines | Where-Object { $_ -match '^[ *] (Sequential|Thread|Process)\s+\d+\s+#+\s' })
        $bars.Count | Should -Be $report.Trials.Count
        @($bars | Where-Object { $_.StartsWith('*') }).Count | Should -Be 1 -Because 'the recommended trial is marked'
        ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 80
    }
}

Describe 'Measure-ConcurrencyModel classification' {
    It 'classifies a compiled spin as CpuBound' {
        $report = 1..8 | ForEach-Object { 40 } | Measure-ConcurrencyModel -Workload Spin -Model Sequential, Thread -WarningAction SilentlyContinue
        $report.Classification | Should -Be 'CpuBound'
        $report.CpuUtilization | Should -BeGreaterOrEqual 0.7
        $report.Command | Should -Match '^1\.\.8 \| ForEach-Object \{ 40 \} \| Invoke-ThreadBatch -Workload Spin -ThrottleLimit \d+$' -Because 'the upstream pipeline is written as the input'
    }

    It 'finds that trivial items do not wait, and that a short job of them is best run sequentially' {
        # 100 of them take about 10 ms sequentially, less than opening two runspaces. (On 500, threads
        # already win here: 26-34 ms against 34-50 ms.)
        $report = 1..100 | Measure-ConcurrencyModel { $_ } -Model Sequential, Thread -WarningAction SilentlyContinue
        # CpuBound on a quiet machine; on a very busy one, pauses the thread does not control (garbage
        # collection of other threads) can push it into Mixed. It never waits.
        $report.Classification | Should -BeIn 'CpuBound', 'Mixed'
        $report.Recommendation | Should -Be 'Sequential'
        $report.ThrottleLimit | Should -Be 1
        $report.Reason | Should -Match '^Sequential finished 64 items'
        $report.SampleSize | Should -Be 64 -Because 'the default sample is at most 64 items'
        $report.TotalItems | Should -Be 100 -Because 'the job is every item given'
        $report.Command | Should -Be '1..100 | ForEach-Object { & { $_ } }'
    }
}

Describe 'Measure-ConcurrencyModel parameters' {
    It '-Model limits the trials to the models named' {
        $report = 1..8 | Measure-ConcurrencyModel { Start-Sleep -Milliseconds 20 } -Model Thread -WarningAction SilentlyContinue
        @($report.Trials.Model | Select-Object -Unique) | Should -Be @('Thread')
        @($report.Projected.Keys) | Should -Be @('Thread')
        $report.Recommendation | Should -Be 'Thread'
        $report.Trials[0].Speedup | Should -Be 0 -Because 'without a sequential trial there is no baseline'
    }

    It '-Verbose says when each trial started, in the order the trials ran' {
        $all = @(1..8 | Measure-ConcurrencyModel { Start-Sleep -Milliseconds 20 } -Model Sequential, Thread -MaxThrottleLimit 4 -Verbose -WarningAction SilentlyContinue 4>&1)
        $report = $all | Where-Object { $_ -is [PSParallel.ConcurrencyReport] }
        $verbose = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $verbose.Count | Should -Be ($report.Trials.Count + 1) -Because 'one line a trial, and one when they are done'
        $verbose[0] | Should -Match '^0[.,]\d s: trial 1, sequential\.$'
        $verbose[1] | Should -Match '^\d+[.,]\d s: trial 2, threads at 2\.$'
        $verbose[-1] | Should -Match '^\d+[.,]\d s: trials done\.$'
        $seconds = @($verbose | ForEach-Object { [double](($_ -replace ' s:.*$', '') -replace ',', '.') })
        $seconds[-1] | Should -BeGreaterThan $seconds[0] -Because 'the clock runs from the first trial'
    }

    It 'starts every trial, and hands the session back, with the garbage collected' {
        # So that one trial's garbage does not slow the next, nor the job run right after measuring.
        $before = [GC]::CollectionCount(2)
        $report = 1..8 | Measure-ConcurrencyModel { $_ } -Model Sequential, Thread -MaxThrottleLimit 2 -WarningAction SilentlyContinue
        [GC]::CollectionCount(2) - $before | Should -BeGreaterOrEqual ($report.Trials.Count + 1)
    }

    It 'runs the trials that decide a computing job once more, each keeping its place' {
        # A compiled spin runs at the same rate sequentially and on one thread: the two are close,
        # so both run again (a burst of other work on the machine must not decide the verdict). The
        # job is long, so that opening the runspace does not set them apart.
        $all = @(1..8 | ForEach-Object { 10 } | Measure-ConcurrencyModel -Workload Spin -Model Sequential, Thread -MaxThrottleLimit 1 -TotalItems 10000 -Verbose -WarningAction SilentlyContinue 4>&1)
        $report = $all | Where-Object { $_ -is [PSParallel.ConcurrencyReport] }
        $ran = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { if ($_.Message -match 'trial \d+, (.+)\.$') { $Matches[1] } })
        $ran | Should -Be @('sequential', 'threads at 1', 'sequential again, warm', 'threads at 1 again')
        @($report.Trials.Model) | Should -Be @('Sequential', 'Thread') -Because 'a trial run again is reported once, with its faster run'
    }

    It 'does not run again a model far slower than the fastest' {
        # Worker processes take a second or more to start; 8 items of 10 ms take 80 ms sequentially.
        $all = @(1..8 | ForEach-Object { 10 } | Measure-ConcurrencyModel -Workload Spin -Model Sequential, Process -Verbose -WarningAction SilentlyContinue 4>&1)
        $ran = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { if ($_.Message -match 'trial \d+, (.+)\.$') { $Matches[1] } })
        $ran | Should -Contain 'sequential again, warm' -Because 'computing work gets a second look'
        @($ran -match '^processes at \d+ again$') | Should -HaveCount 0
    }

    It 'does not run the sequential trial again when, even warm, it could not come close' {
        # Items that wait 30 ms and then compute 20 ms: work that computes (Mixed, so it gets a
        # second look), and several times faster on threads than one after the other, far more than
        # the sequential trial's cold run can account for.
        $body = { Start-Sleep -Milliseconds 30; $end = [DateTime]::UtcNow.AddMilliseconds(20); while ([DateTime]::UtcNow -lt $end) { } }
        $all = @(1..32 | Measure-ConcurrencyModel $body -Model Sequential, Thread -MaxThrottleLimit 8 -TotalItems 2000 -Verbose -WarningAction SilentlyContinue 4>&1)
        $report = $all | Where-Object { $_ -is [PSParallel.ConcurrencyReport] }
        $ran = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { if ($_.Message -match 'trial \d+, (.+)\.$') { $Matches[1] } })
        $report.Classification | Should -Be 'Mixed' -Because 'the rule is for work that gets a second look'
        $report.Projected.Sequential.TotalSeconds | Should -BeGreaterThan ($report.Projected.Thread.TotalSeconds * 1.25 * 1.4)
        $ran | Should -Not -Contain 'sequential again, warm'
        $ran[0] | Should -Be 'sequential'
    }

    It 'warms up a trial''s lanes without holding a thread-pool thread each' {
        # In a fresh pwsh, whose thread pool starts with one thread a core. Each item needs a pool
        # thread to finish (Task.Delay completes on one), as Invoke-RestMethod's do. Warm-ups that
        # each held a pool thread while 32 lanes warmed up grew the pool to 22-23 threads (and, on a
        # loaded machine, made the start-up seconds long); awaited warm-ups leave it at 5-6.
        $degree, $poolThreads, $cores = Get-FreshPwshCount -Line @(
            '$report = 1..64 | Measure-ConcurrencyModel { [System.Threading.Tasks.Task]::Delay(20).Wait() } -Model Thread -MaxThrottleLimit 32 -WarningAction SilentlyContinue'
            '"{0} {1} {2}" -f ($report.Trials.ThrottleLimit | Measure-Object -Maximum).Maximum, [Threading.ThreadPool]::ThreadCount, [Environment]::ProcessorCount'
        )
        $degree | Should -Be 32
        $poolThreads | Should -BeLessThan ($cores + 10) -Because 'no lane holds a pool thread while it warms up'
    }

    It '-SampleSize, -TotalItems and -MaxThrottleLimit shape the trials and the projection' {
        $report = 1..50 | Measure-ConcurrencyModel { Start-Sleep -Milliseconds 20 } -SampleSize 10 -TotalItems 1000 -MaxThrottleLimit 4 -Model Sequential, Thread -WarningAction SilentlyContinue
        $report.SampleSize | Should -Be 10
        $report.TotalItems | Should -Be 1000
        $report.Trials.Items | Sort-Object -Unique | Should -Be 10
        ($report.Trials.ThrottleLimit | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 4
        $report.Projected.Sequential.TotalSeconds | Should -BeGreaterThan (1000 * 0.02 * 0.9) -Because '1000 items of 20 ms one after the other'
    }

    It 'gives a Command that parses and runs the whole job' {
        $report = 1..40 | Measure-ConcurrencyModel { Start-Sleep -Milliseconds 15; $_ * 2 } -Model Thread -WarningAction SilentlyContinue
        $errors = $null
        $null = [System.Management.Automation.Language.Parser]::ParseInput($report.Command, [ref] $null, [ref] $errors)
        $errors | Should -BeNullOrEmpty
        $output = Invoke-Expression $report.Command
        ($output | Measure-Object -Sum).Sum | Should -Be ((1..40 | Measure-Object -Sum).Sum * 2)
    }

    It 'measures a script with $using:, -Variable and -Function, and writes them into the command' {
        $factor = 3
        function Add-Offset([int] $n) { $n + $offset }
        $report = 1..6 | Measure-ConcurrencyModel { Add-Offset ($_ * $using:factor) } -Variable @{ offset = 100 } -Function Add-Offset -Model Sequential, Thread -WarningAction SilentlyContinue
        ($report.Trials | Measure-Object -Property Failed -Sum).Sum | Should -Be 0
        $report.Command | Should -Match "Invoke-ThreadBatch \{ Add-Offset \(\`$_ \* \`$using:factor\) \} -ThrottleLimit \d+ -Function 'Add-Offset' -Variable @\{ 'offset' = 100 \}$"
        $output = Invoke-Expression $report.Command
        ($output | Measure-Object -Sum).Sum | Should -Be ((1..6 | ForEach-Object { $_ * 3 + 100 } | Measure-Object -Sum).Sum)
    }

    It 'warns with the first error when sample items fail, and still reports' {
        $warnings = $null
        $report = 1..6 | Measure-ConcurrencyModel { if ($_ -eq 4) { throw 'four is broken' }; $_ } -Model Sequential, Thread -WarningVariable warnings -WarningAction SilentlyContinue
        $report | Should -Not -BeNullOrEmpty
        ($report.Trials | Where-Object Model -EQ 'Sequential').Failed | Should -Be 1
        @($warnings) -join "`n" | Should -Match '1 of 6 sample items failed in the Sequential trial.*item 4: four is broken'
    }
}

Describe 'Measure-ConcurrencyModel bad input' {
    It 'refuses to measure without items, saying how to give them' {
        $err = $null
        try { @() | Measure-ConcurrencyModel { $_ } -WarningAction SilentlyContinue } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'NoSampleItems,*'
        $err.Exception.Message | Should -BeLike '*got no sample items*Pipe the items*'
    }

    It 'refuses -SampleSize 0 before running anything' {
        $err = $null
        try { 1..3 | Measure-ConcurrencyModel { $_ } -SampleSize 0 } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError,*'
        $err.Exception.Message | Should -BeLike "*SampleSize*0*less than the minimum*1*"
    }

    It 'refuses an unknown model name, listing the known ones' {
        $err = $null
        try { 1..3 | Measure-ConcurrencyModel { $_ } -Model Fibers } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError,*'
        $err.Exception.Message | Should -BeLike '*Fibers*Sequential,Thread,Process*'
    }

    It 'completes model names with Tab' {
        $line = 'Measure-ConcurrencyModel { $_ } -Model Th'
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'Thread'
    }

    It 'reports an unknown workload as the batch cmdlets do' {
        $err = $null
        try { 1..3 | Measure-ConcurrencyModel -Workload NoSuchThing -WarningAction SilentlyContinue } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'UnknownWorkload,*'
    }
}

Describe 'Measure-ConcurrencyModel stopping' {
    It 'Ctrl+C during the process trials returns promptly and leaves no worker' {
        $dir = Join-Path $TestDrive 'ctrlc'
        $null = New-Item -ItemType Directory -Path $dir
        $ps = New-PSParallelInstance
        try {
            # -Model Process: every item runs in a worker process, which writes its pid.
            $null = $ps.AddScript('param($d) 1..4 | Measure-ConcurrencyModel { Set-Content -LiteralPath (Join-Path $using:d "pid-$PID") -Value $PID; Start-Sleep -Seconds 20 } -Model Process -WarningAction SilentlyContinue').AddArgument($dir)
            $handle = $ps.BeginInvoke()
            Wait-Until { @(Get-ChildItem -LiteralPath $dir -File).Count -ge 1 } -TimeoutSeconds 90 | Should -BeTrue -Because 'the process trial must start its items'
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'Ctrl+C stops the trial that runs'
            $handle.IsCompleted | Should -BeTrue
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            $pids = @(Get-ChildItem -LiteralPath $dir -File | ForEach-Object { [int](Get-Content -LiteralPath $_.FullName) })
            $pids | Should -Not -Contain $PID -Because 'only worker processes ran items'
            Assert-NoWorkerLeft -ProcessId $pids
        }
        finally { Remove-PSParallelInstance $ps }
    }
}
