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

    It 'exports only the built-in workloads from the engine' {
        # Everything else is internal to the engine, the cmdlet assembly and the tests (InternalsVisibleTo).
        $exported = @($engine.GetExportedTypes() | ForEach-Object FullName | Sort-Object)
        @($exported | Where-Object { $_ -notlike 'PSParallel.Engine.Workloads.*' }) | Should -BeNullOrEmpty
        $exported | Should -Contain 'PSParallel.Engine.Workloads.SpinWorkload'
    }
}

# The source layout docs/architecture.md describes: folders are namespaces, and the engine never
# sees the caller's cmdlet (the cmdlet assembly captures the caller and hands plain data down).
Describe 'Source layout' {
    BeforeAll {
        $script:src = Join-Path (Split-Path -Parent $PSScriptRoot) 'src'
        $script:roots = @{ 'PSParallel' = 'PSParallel'; 'PSParallel.Contracts' = 'PSParallel'; 'PSParallel.Engine' = 'PSParallel.Engine' }
        $script:sources = foreach ($project in $roots.Keys) {
            $projectDir = Join-Path $src $project
            Get-ChildItem $projectDir -Recurse -Filter '*.cs' -File |
                Where-Object { $_.FullName -notmatch '[\\/](obj|bin)[\\/]' } |
                ForEach-Object { [pscustomobject]@{ Project = $project; Root = $projectDir; File = $_ } }
        }
    }

    It 'gives every C# file the namespace of its folder' {
        $sources.Count | Should -BeGreaterThan 50
        $wrong = foreach ($s in $sources) {
            $relative = [IO.Path]::GetRelativePath($s.Root, $s.File.DirectoryName)
            $expected = if ($relative -eq '.') { $roots[$s.Project] } else { "$($roots[$s.Project]).$($relative -replace '[\\/]', '.')" }
            $declared = (Select-String -Path $s.File.FullName -Pattern '^namespace ([\w.]+);' | Select-Object -First 1).Matches.Groups[1].Value
            if ($declared -ne $expected) { "$($s.Project)/$relative/$($s.File.Name): $declared, expected $expected" }
        }
        $wrong | Should -BeNullOrEmpty
    }

    It 'keeps PSCmdlet out of the engine' {
        $engineFiles = $sources | Where-Object Project -eq 'PSParallel.Engine' | ForEach-Object { $_.File.FullName }
        Select-String -Path $engineFiles -Pattern '\bPSCmdlet\b' | ForEach-Object { "$($_.Filename):$($_.LineNumber)" } |
            Should -BeNullOrEmpty
    }
}
