# The module's assembly layout: cmdlets and public types in the default load context, the engine
# and MessagePack in the module's own AssemblyLoadContext, loaded from Dependencies/.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel
    # Running one batch makes sure the engine is loaded.
    $null = 1 | Invoke-ThreadBatch { $_ }
    $script:engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PSParallel.Engine' }
}

Describe 'Module layout' {
    It 'loads the public types into the default load context' {
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([PSParallel.ItemResult].Assembly).Name | Should -Be 'Default'
    }

    It 'loads the engine once, into the module''s own load context, from Dependencies' {
        @($engine).Count | Should -Be 1
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).Name | Should -Be 'PSParallel'
        Split-Path -Leaf (Split-Path -Parent $engine.Location) | Should -Be 'Dependencies'
    }

    It 'resolves MessagePack 2.5.307 from Dependencies inside the module''s load context' {
        $context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine)
        $messagePack = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('MessagePack'))
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($messagePack).Name | Should -Be 'PSParallel'
        Split-Path -Leaf (Split-Path -Parent $messagePack.Location) | Should -Be 'Dependencies'
        [System.Diagnostics.FileVersionInfo]::GetVersionInfo($messagePack.Location).ProductVersion | Should -BeLike '2.5.307*'
    }

    It 'does not expose engine types to PowerShell type resolution' {
        'PSParallel.Engine.Scheduling.BatchRunner' -as [type] | Should -BeNullOrEmpty
    }

    It 'exports only the built-in workloads and the runspace driver from the engine' {
        # Everything else is internal to the engine and the cmdlet assembly (InternalsVisibleTo).
        $exported = @($engine.GetExportedTypes() | ForEach-Object FullName | Sort-Object)
        $unexpected = @($exported | Where-Object { $_ -notlike 'PSParallel.Workloads.*' -and $_ -ne 'PSParallel.Engine.Lanes.Threads.ChunkDriver' })
        $unexpected | Should -BeNullOrEmpty
        $exported | Should -Contain 'PSParallel.Workloads.SpinWorkload'
    }
}
