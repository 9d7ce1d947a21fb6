#requires -Version 7.2
# Behaviour tests for warm pools (CONTRACT.md, Wave 2, "Warm pools"): Start-WorkerPool, -Pool and
# -NoWait on both Invoke cmdlets, Stop-WorkerPool, Get-WorkerPool. Real runspaces and real worker
# processes; the time a pool saves is measured in bench/ProcessBatch.ps1, not here.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel
}

Describe 'Start-WorkerPool -Model Thread' {
    BeforeAll {
        function Get-Double([int] $x) { 2 * $x }
        $script:pool = Start-WorkerPool -Model Thread -ThrottleLimit 2 -Variable @{ Base = 100 } -Function Get-Double
    }
    AfterAll { $pool | Stop-WorkerPool }

    It 'returns an open pool of that size with every runspace open' {
        $pool | Should -BeOfType ([PSParallel.WorkerPool])
        $pool.Model | Should -Be 'Thread'
        $pool.ThrottleLimit | Should -Be 2
        $pool.WorkersAlive | Should -Be 2
        $pool.State | Should -Be 'Open'
    }

    It 'runs batch after batch on the same runspaces, with the pool''s -Variable and each batch''s $using:' {
        $before = $pool.BatchesRun
        $offset = 1
        $first = 1..20 | Invoke-ThreadBatch { [pscustomobject]@{ V = $Base + $_ + $using:offset; R = [runspace]::DefaultRunspace.Id } } -Pool $pool
        $offset = 2
        $second = 1..20 | Invoke-ThreadBatch { [pscustomobject]@{ V = $Base + $_ + $using:offset; R = [runspace]::DefaultRunspace.Id } } -Pool $pool
        ($first.V | Sort-Object) | Should -Be (1..20 | ForEach-Object { 101 + $_ })
        ($second.V | Sort-Object) | Should -Be (1..20 | ForEach-Object { 102 + $_ })
        $runspaces = @($first.R + $second.R | Sort-Object -Unique)
        $runspaces.Count | Should -BeLessOrEqual 2
        @($second.R | Sort-Object -Unique | Where-Object { $_ -notin $first.R }) | Should -BeNullOrEmpty -Because 'the second batch runs on the first batch''s runspaces'
        $pool.BatchesRun | Should -Be ($before + 2)
    }

    It 'gives every batch the pool''s -Function' {
        (1..3 | Invoke-ThreadBatch { Get-Double $_ } -Pool $pool | Sort-Object) | Should -Be @(2, 4, 6)
    }

    It 'does not let an item''s variables leak into the next batch' {
        $null = 1..4 | Invoke-ThreadBatch { $leaked = "from $_"; $global:notInScope = 1 } -Pool $pool
        $seen = 1..4 | Invoke-ThreadBatch { "[$leaked]" } -Pool $pool
        $seen | Should -Be @('[]', '[]', '[]', '[]')
    }

    It 'runs a compiled workload with the pool, and reports the pool''s size in the summary' {
        $out = 1..5 | Invoke-ThreadBatch -Workload IsPrime -Pool $pool -SummaryVariable s
        ($out | Where-Object { $_ }).Count | Should -Be 3
        $s.ThrottleLimit | Should -Be 2
        $s.Model | Should -Be 'Thread'
    }

    It 'refuses -Variable, -Function, -Module and -UseNewRunspace with -Pool, naming the parameter' {
        foreach ($case in @(@{ Variable = @{ a = 1 } }, @{ Module = 'Microsoft.PowerShell.Utility' }, @{ UseNewRunspace = $true })) {
            $err = $null
            try { 1 | Invoke-ThreadBatch { $_ } -Pool $pool @case } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -BeLike 'PoolOwnsSetup*'
            "$err" | Should -BeLike "*-$(@($case.Keys)[0]) cannot be given with -Pool*"
        }
    }

    It 'refuses a pool of the other model' {
        $err = $null
        try { 1 | Invoke-ProcessBatch { $_ } -Pool $pool } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'WorkerPoolModelMismatch*'
    }

    It 'measures on the pool with Measure-ConcurrencyModel -Pool, and gives a command that runs on it' {
        $before = $pool.BatchesRun
        $report = 1..16 | Measure-ConcurrencyModel { Start-Sleep -Milliseconds 20; $_ } -Pool $pool -TotalItems 1000 -WarningAction SilentlyContinue
        @($report.Trials.Model | Sort-Object -Unique) | Should -Be @('Sequential', 'Thread')
        ($report.Trials | Where-Object Model -eq 'Thread').ThrottleLimit | Should -Be 2
        $pool.BatchesRun | Should -BeGreaterThan $before
        $report.Recommendation | Should -Be 'Thread' -Because 'two threads wait in parallel'
        $report.Command | Should -Be '1..16 | Invoke-ThreadBatch { Start-Sleep -Milliseconds 20; $_ } -Pool $pool'
        (Invoke-Expression $report.Command | Sort-Object) | Should -Be (1..16)
        $err = $null
        try { 1..4 | Measure-ConcurrencyModel { $_ } -Pool $pool -Model Process -WarningAction SilentlyContinue } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'WorkerPoolModelMismatch*'
    }

    It 'lists the pool in Get-WorkerPool' {
        Get-WorkerPool | Where-Object Id -eq $pool.Id | Should -Not -BeNullOrEmpty
    }
}

Describe 'Start-WorkerPool -Model Process' {
    BeforeAll {
        $script:pool = Start-WorkerPool -Model Process -ThrottleLimit 2 -Variable @{ Base = 100 }
        $script:workers = @(Get-PSParallelWorker)
    }
    AfterAll { $pool | Stop-WorkerPool }

    It 'starts its worker processes at once' {
        $pool.Model | Should -Be 'Process'
        $pool.WorkersAlive | Should -Be 2
        $workers.Count | Should -Be 2
    }

    # The caller's own setting would win over the module's (either spelling), so there is nothing to check then.
    It 'starts its workers without tiered compilation, unlike a batch''s own workers' -Skip:([bool]($env:DOTNET_TieredCompilation + $env:COMPlus_TieredCompilation)) {
        $setting = { "[$([Environment]::GetEnvironmentVariable('DOTNET_TieredCompilation'))]" }
        @(1..4 | Invoke-ProcessBatch $setting -Pool $pool | Sort-Object -Unique) | Should -Be @('[0]')
        @(1..2 | Invoke-ProcessBatch $setting -ThrottleLimit 1 | Sort-Object -Unique) | Should -Be @('[]')
    }

    It 'has both kinds of worker compact gen2 garbage (GCConserveMemory), the caller untouched' -Skip:([bool]($env:DOTNET_GCConserveMemory + $env:COMPlus_GCConserveMemory)) {
        $setting = { "[$([Environment]::GetEnvironmentVariable('DOTNET_GCConserveMemory'))] $([GC]::GetConfigurationVariables()['GCConserveMem'])" }
        @(1..4 | Invoke-ProcessBatch $setting -Pool $pool | Sort-Object -Unique) | Should -Be @('[5] 5')
        @(1..2 | Invoke-ProcessBatch $setting -ThrottleLimit 1 | Sort-Object -Unique) | Should -Be @('[5] 5')
        [GC]::GetConfigurationVariables()['GCConserveMem'] | Should -Be 0 -Because 'the caller''s own runtime is not ours to tune'
    }

    It 'runs batch after batch on the same worker processes: script, compiled workload, script again' {
        $offset = 5
        $first = 1..12 | Invoke-ProcessBatch { [pscustomobject]@{ V = $Base + $_ + $using:offset; P = $PID } } -Pool $pool
        $primes = 1..10 | Invoke-ProcessBatch -Workload IsPrime -Pool $pool -AsResult
        $again = 1..12 | Invoke-ProcessBatch { [pscustomobject]@{ V = "[$leaked]"; P = $PID }; $leaked = 'x' } -Pool $pool
        ($first.V | Sort-Object) | Should -Be (1..12 | ForEach-Object { 105 + $_ })
        @($primes | Where-Object { $_.Output[0] }).Count | Should -Be 4
        @($again.V | Sort-Object -Unique) | Should -Be @('[]')
        $pids = @($first.P + $primes.Worker + $again.P | Sort-Object -Unique)
        $pids | Where-Object { $_ -notin $workers } | Should -BeNullOrEmpty -Because 'every batch runs on the pool''s workers'
        @(Get-PSParallelWorker | Where-Object { $_ -notin $workers }) | Should -BeNullOrEmpty -Because 'no batch starts workers of its own'
    }

    It 'replaces a worker that dies in a batch, and only its item fails' {
        $results = 1..6 | Invoke-ProcessBatch { if ($_ -eq 3) { [Environment]::Exit(7) }; $_ } -Pool $pool -AsResult -ErrorAction SilentlyContinue
        @($results | Where-Object Status -eq 'Failed').Input | Should -Be @(3)
        $next = 1..4 | Invoke-ProcessBatch { $PID } -Pool $pool
        $next.Count | Should -Be 4
        Wait-Until { $pool.WorkersAlive -eq 2 -or $pool.WorkersAlive -eq 1 } | Should -BeTrue
        $script:workers = @(Get-PSParallelWorker)
    }

    It 'stays usable after a pooled batch is stopped with Ctrl+C' {
        $other = New-PSParallelInstance
        try {
            $null = $other.AddScript('param($p) 1..20 | Invoke-ProcessBatch { Start-Sleep -Seconds 30 } -Pool $p').AddArgument($pool)
            $running = $other.BeginInvoke()
            Wait-Until { $pool.State -eq 'Busy' } -TimeoutSeconds 20 | Should -BeTrue
            Start-Sleep -Milliseconds 500
            $other.Stop()
            $out = 1..4 | Invoke-ProcessBatch { $_ * 3 } -Pool $pool -NoWait
            ($out | Sort-Object) | Should -Be @(3, 6, 9, 12)
            $pool.WorkersAlive | Should -BeGreaterThan 0
        }
        finally { Remove-PSParallelInstance $other }
    }

    It 'ends its workers when stopped' {
        $before = @(Get-PSParallelWorker)
        $p = Start-WorkerPool -Model Process -ThrottleLimit 1
        $mine = @(Get-PSParallelWorker | Where-Object { $_ -notin $before })
        $mine.Count | Should -Be 1
        Stop-WorkerPool $p
        Assert-NoWorkerLeft -ProcessId $mine -ParentId 0 -TimeoutSeconds 10
    }

    It 'ends its workers when the process that started them dies' {
        $caller = Start-ChildPwsh @"
Import-Module '$(Get-PSParallelManifest)'
`$p = Start-WorkerPool -Model Process -ThrottleLimit 2
'ready'
Start-Sleep -Seconds 120
"@
        try {
            Wait-Until { @(Get-PSParallelWorker -ParentId $caller.Id).Count -eq 2 } -TimeoutSeconds 60 | Should -BeTrue
            $theirs = @(Get-PSParallelWorker -ParentId $caller.Id)
            $caller.Kill()
            $caller.WaitForExit()
            Assert-NoWorkerLeft -ProcessId $theirs -ParentId 0 -TimeoutSeconds 15
        }
        finally { if (-not $caller.HasExited) { $caller.Kill($true) } }
    }
}

Describe 'One batch at a time' {
    BeforeAll {
        $script:pool = Start-WorkerPool -Model Thread -ThrottleLimit 2
        $script:other = New-PSParallelInstance
    }
    AfterAll {
        Remove-PSParallelInstance $other
        $pool | Stop-WorkerPool
    }

    It 'makes a second batch wait for the first, or fail at once with -NoWait' {
        $null = $other.AddScript('param($p) 1..2 | Invoke-ThreadBatch { Start-Sleep -Milliseconds 1500; [datetime]::UtcNow } -Pool $p').AddArgument($pool)
        $running = $other.BeginInvoke()
        Wait-Until { $pool.State -eq 'Busy' } -TimeoutSeconds 20
        $err = $null
        try { 1 | Invoke-ThreadBatch { $_ } -Pool $pool -NoWait } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'WorkerPoolBusy*'

        $started = 1 | Invoke-ThreadBatch { [datetime]::UtcNow } -Pool $pool
        $firstEnded = @($other.EndInvoke($running)) | Sort-Object | Select-Object -Last 1
        $started | Should -BeGreaterOrEqual $firstEnded -Because 'the waiting batch ran only after the first gave the pool back'
        $pool.State | Should -Be 'Open'
    }

    It 'stays usable after a pooled batch is stopped with Ctrl+C' {
        $other.Commands.Clear()
        $null = $other.AddScript('param($p) 1..20 | Invoke-ThreadBatch { Start-Sleep -Seconds 30 } -Pool $p').AddArgument($pool)
        $running = $other.BeginInvoke()
        Wait-Until { $pool.State -eq 'Busy' } -TimeoutSeconds 20
        Start-Sleep -Milliseconds 300
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $other.Stop()
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $out = 1..4 | Invoke-ThreadBatch { $_ * 3 } -Pool $pool -NoWait
        ($out | Sort-Object) | Should -Be @(3, 6, 9, 12)
        $pool.WorkersAlive | Should -Be 2
    }
}

Describe 'Stop-WorkerPool' {
    It 'stops pools from the pipeline; a stopped pool is refused and no longer listed' {
        $a = Start-WorkerPool Thread -ThrottleLimit 1
        $b = Start-WorkerPool Thread -ThrottleLimit 1
        $a, $b | Stop-WorkerPool
        $a.State | Should -Be 'Stopped'
        $b.WorkersAlive | Should -Be 0
        Get-WorkerPool | Where-Object Id -in $a.Id, $b.Id | Should -BeNullOrEmpty
        $err = $null
        try { 1 | Invoke-ThreadBatch { $_ } -Pool $a } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'WorkerPoolStopped*'
    }

    It 'ends a pool with the runspace that made it' {
        $ps = New-PSParallelInstance
        try {
            $made = $ps.AddScript('Start-WorkerPool Thread -ThrottleLimit 1').Invoke()[0]
            $made.State | Should -Be 'Open'
            $ps.Runspace.Close()
            Wait-Until { $made.State -eq 'Stopped' } -TimeoutSeconds 10
            $made.WorkersAlive | Should -Be 0
        }
        finally { Remove-PSParallelInstance $ps }
    }
}
