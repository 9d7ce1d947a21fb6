#requires -Version 7.2
# Help and default views of every cmdlet (issue 3, "Help and views"): Get-Help has a real
# synopsis, every parameter is described, at least three examples (including piping a URL list
# and the seed's CPU example), about_PSParallel exists, ItemResult, BatchSummary and ConcurrencyReport have default views.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel
    $script:help = Get-Help Invoke-ThreadBatch -Full
    $script:commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters +
        [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Get-Help <name>' -ForEach @(
    @{ name = 'Invoke-ThreadBatch' }
    @{ name = 'Invoke-ProcessBatch' }
    @{ name = 'Measure-ConcurrencyModel' }
    @{ name = 'Start-WorkerPool' }
    @{ name = 'Stop-WorkerPool' }
    @{ name = 'Get-WorkerPool' }
) {
    BeforeAll {
        $help = Get-Help $name -Full
    }

    It 'has a written synopsis, not the generated syntax line' {
        $synopsis = "$($help.Synopsis)".Trim()
        $synopsis | Should -Not -BeNullOrEmpty
        $synopsis | Should -Not -Match "^$name\s+\[" -Because 'without a help file Get-Help shows the syntax as the synopsis'
        $synopsis.Length | Should -BeGreaterThan 15
    }

    It 'has a description' {
        ($help.description | ForEach-Object Text) -join ' ' | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter' {
        $names = (Get-Command $name).Parameters.Keys | Where-Object { $_ -notin $commonParameters }
        if ($name -notlike '*-WorkerPool') { $names | Should -Contain 'ScriptBlock' }
        $missing = foreach ($n in $names) {
            $p = $help.parameters.parameter | Where-Object name -EQ $n
            $text = if ($p) { ($p.description | ForEach-Object Text) -join ' ' } else { '' }
            if ([string]::IsNullOrWhiteSpace($text)) { $n }
        }
        $missing | Should -BeNullOrEmpty -Because 'every parameter must be described in help'
    }

    It 'has examples (at least three for the commands that run work)' {
        @($help.examples.example).Count | Should -BeGreaterOrEqual ($name -like '*-WorkerPool' ? 2 : 3)
    }
}

Describe 'Get-Help Invoke-ThreadBatch examples' {
    It 'include piping a URL list and the seed''s CPU example' {
        $examples = @($help.examples.example)
        $codes = $examples | ForEach-Object { "$($_.code) $(($_.remarks | ForEach-Object Text) -join ' ')" }
        @($codes | Where-Object { $_ -match 'url' -and $_ -match '\|\s*Invoke-ThreadBatch' }) | Should -Not -BeNullOrEmpty -Because 'an example pipes a URL list'
        @($codes | Where-Object { $_ -match '10000019' }) | Should -Not -BeNullOrEmpty -Because 'the seed''s CPU example is shown'
    }
}

Describe 'about_PSParallel' {
    It 'is available through Get-Help' {
        $about = Get-Help about_PSParallel -ErrorAction SilentlyContinue
        $about | Should -Not -BeNullOrEmpty
        ($about | Out-String) | Should -BeLike '*Invoke-ThreadBatch*'
    }
}

Describe 'Default views' {
    It 'ItemResult has a default table view' {
        Get-FormatData -TypeName PSParallel.ItemResult | Should -Not -BeNullOrEmpty
        $text = 1 | Invoke-ThreadBatch { $_ } -AsResult | Out-String
        $text | Should -BeLike '*Status*'
        $text | Should -BeLike '*Succeeded*'
    }

    It 'BatchSummary has a default table view' {
        Get-FormatData -TypeName PSParallel.BatchSummary | Should -Not -BeNullOrEmpty
        $null = 1 | Invoke-ThreadBatch { $_ } -SummaryVariable s
        $text = $s | Out-String
        $text | Should -BeLike '*Succeeded*'
        $text | Should -BeLike '*Thread*'
    }

    It 'WorkerPool has a default table view' {
        Get-FormatData -TypeName PSParallel.WorkerPool | Should -Not -BeNullOrEmpty
        $pool = Start-WorkerPool Thread -ThrottleLimit 1
        try { ($pool | Out-String) | Should -Match 'WorkersAlive\s+BatchesRun\s+State' }
        finally { $pool | Stop-WorkerPool }
    }

    It 'ConcurrencyReport has a default view (its rendering is tested with Measure-ConcurrencyModel)' {
        Get-FormatData -TypeName PSParallel.ConcurrencyReport | Should -Not -BeNullOrEmpty
    }
}
