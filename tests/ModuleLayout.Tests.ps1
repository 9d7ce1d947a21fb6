# The module's assembly layout: cmdlets and public types in the default load context, the engine
# and MessagePack in the module's own AssemblyLoadContext, loaded from Dependencies/. The public
# types are built once per .NET, in contracts/<target framework>/, and the module loads the one
# for the running .NET.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel
    # Running one batch makes sure the engine is loaded.
    $null = 1 | Invoke-ThreadBatch { $_ }
    $script:engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PSParallel.Engine' }
    $script:moduleBase = (Get-Module PSParallel).ModuleBase
    # The build for this .NET: the highest netN.0 not above its major version.
    $script:contractsBuilds = @(Get-ChildItem (Join-Path $moduleBase 'contracts') -Directory |
            Where-Object Name -match '^net(\d+)\.0$' |
            ForEach-Object { [pscustomobject]@{ Major = [int]$Matches[1]; Path = Join-Path $_.FullName 'PSParallel.Contracts.dll' } })
    $script:matchedContracts = ($contractsBuilds | Where-Object Major -le ([Environment]::Version.Major) |
            Sort-Object Major | Select-Object -Last 1).Path
}

Describe 'Module layout' {
    It 'loads the public types into the default load context' {
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([PSParallel.ItemResult].Assembly).Name | Should -Be 'Default'
    }

    It 'ships the public types for .NET 8 and .NET 10 in contracts/, with one identity, and none elsewhere' {
        @($contractsBuilds | ForEach-Object Major | Sort-Object) | Should -Be @(8, 10)
        foreach ($build in $contractsBuilds) {
            $build.Path | Should -Exist
            [System.Reflection.AssemblyName]::GetAssemblyName($build.Path).FullName |
                Should -Be 'PSParallel.Contracts, Version=0.1.0.0, Culture=neutral, PublicKeyToken=null'
            # Each build references the System.Runtime of its own .NET (what CS1701 compares).
            $pe = [System.Reflection.PortableExecutable.PEReader]::new([System.IO.File]::OpenRead($build.Path))
            try {
                $reader = [System.Reflection.Metadata.PEReaderExtensions]::GetMetadataReader($pe)
                $runtime = foreach ($h in $reader.AssemblyReferences) {
                    $r = $reader.GetAssemblyReference($h)
                    if ($reader.GetString($r.Name) -eq 'System.Runtime') { $r.Version }
                }
                $runtime.Major | Should -Be $build.Major
            }
            finally { $pe.Dispose() }
        }
        Join-Path $moduleBase 'PSParallel.Contracts.dll' | Should -Not -Exist -Because 'a copy in the root could be found before the build for the running .NET'
        Join-Path $moduleBase 'Dependencies/PSParallel.Contracts.dll' | Should -Not -Exist
        (Import-PowerShellDataFile (Join-Path $moduleBase 'PSParallel.psd1')).Keys | Should -Not -Contain 'RequiredAssemblies'
    }

    It 'loads the public types built for the running .NET (the highest not above its major version)' {
        $matchedContracts | Should -Not -BeNullOrEmpty
        [PSParallel.IWorkload].Assembly.Location | Should -Be $matchedContracts
        @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PSParallel.Contracts' }) | Should -HaveCount 1
    }

    It 'has them right after Import-Module in a fresh process, and after Remove-Module and Import-Module again' {
        $manifest = (Resolve-Path (Get-PSParallelManifest)).Path -replace "'", "''"
        $r = Invoke-ChildPwsh -Command (@(
                "Import-Module '$manifest' -ErrorAction Stop"
                '[PSParallel.IWorkload].Assembly.Location'
                'Remove-Module PSParallel'
                "Import-Module '$manifest' -ErrorAction Stop"
                '[PSParallel.ItemResult].Assembly.Location'
                '(1..2 | Invoke-ThreadBatch { $_ * 2 } -AsResult | ForEach-Object { $_.GetType().Assembly.Location } | Select-Object -Unique)'
            ) -join '; ')
        $r.ExitCode | Should -Be 0 -Because $r.StdErr
        @($r.StdOut.Trim() -split '\r?\n') | Should -Be @($matchedContracts, $matchedContracts, $matchedContracts)
    }

    It 'gives a worker process the public types built for its own .NET' {
        $locations = 1..2 | Invoke-ProcessBatch { [PSParallel.ItemResult].Assembly.Location + '|' + [Environment]::Version.Major } -ThrottleLimit 2 -ChunkSize 1
        $locations | Should -HaveCount 2
        foreach ($l in $locations) {
            $location, $major = $l -split '\|'
            [int]$major | Should -Be ([Environment]::Version.Major) -Because 'the worker runs the same PowerShell'
            $location | Should -Be $matchedContracts
        }
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
