#requires -Version 7.2
# Behaviour tests for Invoke-ProcessBatch: the contract's common section, the Invoke-ProcessBatch
# section (the type table, what crosses and what is refused) and Composition (CONTRACT.md).
# Everything is real: real worker processes, real files, a real HTTP listener on 127.0.0.1.
# Faults (crashes, hangs, console garbage, killed callers, broken workers) are in
# ProcessFaults.Tests.ps1. Timing bounds are generous (2 noisy cores); timing belongs to bench/.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel

    function Test-PrimeReference([long] $n) {
        if ($n -lt 2) { return $false }
        if ($n % 2 -eq 0) { return $n -eq 2 }
        for ($d = 3; $d * $d -le $n; $d += 2) { if ($n % $d -eq 0) { return $false } }
        $true
    }

    # Compares a value that crossed to a worker and back with the value sent. Returns the
    # differences as text (nothing when they are the same): exact types for the scalar types of
    # the contract's table, Kind/Offset for dates, elements of arrays and lists, keys (and their
    # order for ordered dictionaries) of dictionaries, property names in order for PSCustomObject.
    function Compare-Crossed {
        param($Expected, $Actual, [string] $Path = 'value')
        if ($null -eq $Expected) {
            if ($null -ne $Actual) { "${Path}: expected null, got [$($Actual.GetType().FullName)] $Actual" }
            return
        }
        if ($null -eq $Actual) { "${Path}: expected [$($Expected.GetType().FullName)] $Expected, got null"; return }
        # (Plain assignments: an if-expression would enumerate arrays.)
        $e = $Expected.PSObject.BaseObject
        $a = $Actual.PSObject.BaseObject

        if ($e -is [System.Management.Automation.PSCustomObject]) {
            if ($a -isnot [System.Management.Automation.PSCustomObject]) { "${Path}: expected a PSCustomObject, got [$($a.GetType().FullName)]"; return }
            $en = @($Expected.PSObject.Properties.Name); $an = @($Actual.PSObject.Properties.Name)
            if (($en -join ',') -cne ($an -join ',')) { "${Path}: expected properties $($en -join ',') in this order, got $($an -join ',')"; return }
            foreach ($n in $en) { Compare-Crossed $Expected.$n $Actual.$n "$Path.$n" }
            return
        }
        if ($e -is [System.Collections.IDictionary]) {
            if ($a.GetType() -ne $e.GetType()) { "${Path}: expected [$($e.GetType().FullName)], got [$($a.GetType().FullName)]"; return }
            $ek = @($e.Keys); $ak = @($a.Keys)
            if ($e -is [System.Collections.Specialized.OrderedDictionary]) {
                if (($ek -join ',') -cne ($ak -join ',')) { "${Path}: expected keys $($ek -join ',') in this order, got $($ak -join ',')"; return }
            }
            elseif ((($ek | Sort-Object) -join ',') -cne (($ak | Sort-Object) -join ',')) { "${Path}: expected keys $($ek -join ','), got $($ak -join ',')"; return }
            foreach ($k in $ek) { Compare-Crossed $e[$k] $a[$k] "$Path[$k]" }
            return
        }
        if ($e -is [byte[]]) {
            if ($a -isnot [byte[]]) { "${Path}: expected byte[], got [$($a.GetType().FullName)]"; return }
            if ([Convert]::ToHexString($e) -ne [Convert]::ToHexString($a)) { "${Path}: byte[] content differs" }
            return
        }
        if ($e -is [System.Collections.IList]) {
            if ($e -is [array] -and $a -isnot [array]) { "${Path}: expected an array, got [$($a.GetType().FullName)]"; return }
            if ($a -isnot [System.Collections.IList]) { "${Path}: expected a list, got [$($a.GetType().FullName)]"; return }
            if ($a.Count -ne $e.Count) { "${Path}: expected $($e.Count) elements, got $($a.Count)"; return }
            for ($i = 0; $i -lt $e.Count; $i++) { Compare-Crossed $e[$i] $a[$i] "$Path[$i]" }
            return
        }
        if ($a.GetType() -ne $e.GetType()) { "${Path}: expected type [$($e.GetType().FullName)], got [$($a.GetType().FullName)] ($a)"; return }
        if ($e -is [datetime]) {
            if ($a.Ticks -ne $e.Ticks -or $a.Kind -ne $e.Kind) { "${Path}: expected $($e.ToString('o')) ($($e.Kind)), got $($a.ToString('o')) ($($a.Kind))" }
            return
        }
        if ($e -is [datetimeoffset]) {
            if ($a.Ticks -ne $e.Ticks -or $a.Offset -ne $e.Offset) { "${Path}: expected $($e.ToString('o')), got $($a.ToString('o'))" }
            return
        }
        if ($e -is [double] -or $e -is [float]) {
            if (-not ($a.Equals($e))) { "${Path}: expected $($e.ToString('R')), got $($a.ToString('R'))" }
            return
        }
        if (-not $a.Equals($e)) { "${Path}: expected '$e', got '$a'" }
    }

    # The values of the contract's table ("What crosses the boundary, both ways").
    $script:typeCases = [ordered]@{
        'null'               = $null
        'bool true'          = $true
        'bool false'         = $false
        'sbyte min'          = [sbyte]::MinValue
        'sbyte small'        = [sbyte]5
        'byte max'           = [byte]::MaxValue
        'byte zero'          = [byte]0
        'int16 min'          = [int16]::MinValue
        'int16 small'        = [int16]7
        'uint16 max'         = [uint16]::MaxValue
        'uint16 small'       = [uint16]1
        'int32 min'          = [int]::MinValue
        'int32'              = 42
        'uint32 max'         = [uint32]::MaxValue
        'uint32 small'       = [uint32]3
        'int64 min'          = [long]::MinValue
        'int64 small'        = [long]5
        'uint64 max'         = [uint64]::MaxValue
        'uint64 small'       = [uint64]1
        'float'              = [float]1.5
        'double'             = [Math]::PI
        'double integral'    = [double]3
        'decimal max'        = [decimal]::MaxValue
        'decimal fraction'   = [decimal]'-12345.678901234567890123'
        'string'             = 'text with ünïcödé ✓ and a "quote"'
        'empty string'       = ''
        'char'               = [char]'é'
        'byte[]'             = [byte[]](0, 1, 2, 127, 128, 255)
        'empty byte[]'       = [byte[]]::new(0)
        'DateTime utc'       = [datetime]::new(2024, 2, 29, 13, 14, 15, 123, [System.DateTimeKind]::Utc).AddTicks(4567)
        'DateTime local'     = [datetime]::new(2023, 7, 1, 8, 0, 0, [System.DateTimeKind]::Local)
        'DateTime unspec'    = [datetime]::new(1999, 12, 31, 23, 59, 59, [System.DateTimeKind]::Unspecified)
        'DateTimeOffset'     = [datetimeoffset]::new(2024, 2, 29, 13, 14, 15, [timespan]::FromMinutes(330)).AddTicks(89)
        'TimeSpan'           = [timespan]::FromTicks(-1234567891011)
        'Guid'               = [guid]'6f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'
        'enum DayOfWeek'     = [System.DayOfWeek]::Friday
        'enum flags'         = [System.IO.FileAttributes]'ReadOnly, Hidden'
        'object[]'           = @(1, 'two', [long]3, $null, 4.5)
        'int[]'              = [int[]](1, 2, 3)
        'empty array'        = @()
        'List[int]'          = [System.Collections.Generic.List[int]]::new([int[]](5, 6, 7))
        'ArrayList'          = [System.Collections.ArrayList]::new(@('a', [long]2, $true))
        'hashtable'          = @{ a = 1; b = 'x'; c = $null; d = [long]4 }
        'ordered'            = [ordered]@{ zeta = 1; alpha = 'two'; mid = [datetime]::new(2020, 1, 1, 0, 0, 0, [System.DateTimeKind]::Utc) }
        'PSCustomObject'     = [pscustomobject]@{ Zeta = 1; Alpha = 'a'; Mid = [long]3; Nothing = $null }
        'nested'             = [pscustomobject]@{
            Name  = 'outer'
            Table = @{ list = @([byte]1, [uint16]2, [guid]'00000000-0000-0000-0000-000000000001'); when = [timespan]::FromSeconds(90) }
            Inner = [pscustomobject]@{ Day = [System.DayOfWeek]::Monday; Ordered = [ordered]@{ b = 2; a = 1 } }
        }
    }
}

Describe 'Invoke-ProcessBatch: basics' {
    AfterEach { Assert-NoWorkerLeft }   # every test ends with no worker process of this session left

    It 'runs the script block once per piped item in worker processes, $_ and $PSItem being the item' {
        $r = 1..10 | Invoke-ProcessBatch { [pscustomobject]@{ Double = $_ * 2; Same = $PSItem -eq $_; Pid = $PID } } -SummaryVariable s
        ($r.Double | Sort-Object) | Should -Be (1..10 | ForEach-Object { $_ * 2 })
        @($r | Where-Object { -not $_.Same }) | Should -HaveCount 0
        @($r | Where-Object Pid -EQ $PID) | Should -HaveCount 0 -Because 'items run in worker processes, not in the caller'
        Assert-BatchSummary $s -Total 10 -Succeeded 10
        $s.Model | Should -Be 'Process'
        $s.ThrottleLimit | Should -Be ([Environment]::ProcessorCount) -Because 'the default number of workers is the number of cores'
    }

    It 'takes a single item from -InputObject and script text given as a string' {
        $out = Invoke-ProcessBatch -InputObject 7 -ScriptBlock '$_ + 1' -ThrottleLimit 1 -SummaryVariable s
        $out | Should -Be 8
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }

    It 'reports the worker''s process id as Worker, uses at most ThrottleLimit workers' {
        $r = 1..12 | Invoke-ProcessBatch { Start-Sleep -Milliseconds 100; $PID } -ThrottleLimit 2 -AsResult -SummaryVariable s
        $r | Should -HaveCount 12
        foreach ($x in $r) {
            $x.Worker | Should -BeOfType [int]
            $x.Worker | Should -Not -Be $PID -Because 'Worker is the id of a worker process'
            $x.Output[0] | Should -Be $x.Worker -Because 'Worker is the process id of the worker that ran the item'
        }
        $distinct = @($r.Worker | Sort-Object -Unique)
        $distinct.Count | Should -BeGreaterOrEqual 1
        $distinct.Count | Should -BeLessOrEqual 2 -Because 'ThrottleLimit is the number of worker processes'
        $s.ThrottleLimit | Should -Be 2
        Assert-BatchSummary $s -Total 12 -Succeeded 12
    }

    It 'starts the workers as children of the caller, -NoProfile -NonInteractive (found by parent pid, as the fault tests rely on)' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'children')).FullName
        $ps = New-PSParallelInstance
        try {
            $null = $ps.AddScript('param($d) 1..2 | Invoke-ProcessBatch {
                Set-Content -LiteralPath (Join-Path $using:d "pid-$_") -Value $PID
                $deadline = [datetime]::UtcNow.AddSeconds(30)
                while (-not (Test-Path -LiteralPath (Join-Path $using:d "release")) -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                $PID
            } -ThrottleLimit 2 -ChunkSize 1').AddArgument($dir)
            $handle = $ps.BeginInvoke()
            Wait-Until { (Get-PidFromFile $dir).Count -ge 2 } -TimeoutSeconds 60 | Should -BeTrue -Because 'both items must start'
            $workers = @(Get-PSParallelWorker)
            foreach ($p in (Get-PidFromFile $dir)) {
                $workers | Should -Contain $p -Because 'a worker is a child of the caller started with -EncodedCommand and a command that loads PSParallel'
                $argv = Get-ProcessArgument -Id $p
                $argv | Should -Contain '-NoProfile' -Because 'workers run no profile'
                $argv | Should -Contain '-NonInteractive'
            }
            $null = New-Item -ItemType File -Path (Join-Path $dir 'release')
            $out = $ps.EndInvoke($handle)
            ($out | Sort-Object) | Should -Be (Get-PidFromFile $dir)
        }
        finally {
            $null = New-Item -ItemType File -Path (Join-Path $dir 'release') -Force
            Remove-PSParallelInstance $ps
        }
    }

    It 'runs each item in a child scope: variables do not leak into the next item on the same worker' {
        $out = 1..6 | Invoke-ProcessBatch {
            $prev = if (Test-Path variable:leakTest) { "$leakTest" } else { 'none' }
            $leakTest = $_
            $prev
        } -ThrottleLimit 1 -SummaryVariable s
        $out | Should -Be @('none', 'none', 'none', 'none', 'none', 'none')
        Assert-BatchSummary $s -Total 6 -Succeeded 6
    }

    It 'loses nothing and duplicates nothing over 5000 tiny items (automatic chunks)' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $out = 1..5000 | Invoke-ProcessBatch { $_ } -ThrottleLimit 2 -SummaryVariable s
        $sw.Stop()
        $out.Count | Should -Be 5000
        @($out | Sort-Object -Unique).Count | Should -Be 5000 -Because 'no output may be duplicated or lost'
        ($out | Measure-Object -Sum).Sum | Should -Be (5000 * 5001 / 2)
        Assert-BatchSummary $s -Total 5000 -Succeeded 5000
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 40 -Because 'tiny items must not be dominated by messaging (generous bound; real numbers are in bench/)'
    }
}

Describe 'Invoke-ProcessBatch: what crosses the process boundary' {
    AfterEach { Assert-NoWorkerLeft }   # every test ends with no worker process of this session left

    It 'every type of the contract''s table crosses to the worker and back with its type and value' {
        $names = @($typeCases.Keys)
        $r = & { foreach ($n in $names) { , $typeCases[$n] } } |
            Invoke-ProcessBatch {
                if ($null -eq $_) { 'null' } else { $_.PSObject.BaseObject.GetType().FullName }
                , $_
            } -Ordered -AsResult -ThrottleLimit 2 -SummaryVariable s
        $r | Should -HaveCount $names.Count
        $problems = for ($i = 0; $i -lt $names.Count; $i++) {
            $name = $names[$i]; $sent = $typeCases[$name]; $x = $r[$i]
            if ($x.Status -ne 'Succeeded') { "${name}: $($x.Status) $($x.Errors | ForEach-Object { $_.Exception.Message })"; continue }
            if ($x.Output.Count -ne 2) { "${name}: expected 2 outputs, got $($x.Output.Count)"; continue }
            $sentType = if ($null -eq $sent) { 'null' } else { $sent.PSObject.BaseObject.GetType().FullName }
            $seenType = $x.Output[0]
            # In the worker the value has the same type (arrays and lists: any list; see Compare-Crossed).
            if ($sent -isnot [System.Collections.IList] -or $sent -is [byte[]]) {
                if ($seenType -ne $sentType) { "${name}: in the worker the item is [$seenType], expected [$sentType]" }
            }
            Compare-Crossed -Expected $sent -Actual $x.Output[1] -Path $name
        }
        $problems | Should -BeNullOrEmpty
        Assert-BatchSummary $s -Total $names.Count -Succeeded $names.Count
    }

    It 'values made in the worker come back with their types' {
        $out = 1 | Invoke-ProcessBatch {
            [sbyte]-1; [byte]1; [int16]-2; [uint16]2; [int]-3; [uint32]3; [long]-4; [uint64]4
            [float]0.5; [double]0.25; [decimal]0.1; [char]'c'; 'string'; $true
            [datetime]::new(2001, 2, 3, 4, 5, 6, [System.DateTimeKind]::Utc); [timespan]::FromMilliseconds(1500)
            [guid]::Empty; [System.DayOfWeek]::Sunday
        } -Ordered -ThrottleLimit 1
        $types = @($out | ForEach-Object { $_.GetType().FullName })
        $types | Should -Be @('System.SByte', 'System.Byte', 'System.Int16', 'System.UInt16', 'System.Int32', 'System.UInt32',
            'System.Int64', 'System.UInt64', 'System.Single', 'System.Double', 'System.Decimal', 'System.Char', 'System.String',
            'System.Boolean', 'System.DateTime', 'System.TimeSpan', 'System.Guid', 'System.DayOfWeek')
        $out[10] | Should -Be ([decimal]0.1)
        $out[14].Kind | Should -Be 'Utc'
    }

    It 'any other object crosses as a Deserialized property bag, both ways' {
        $file = Join-Path $TestDrive 'sample.txt'
        Set-Content -LiteralPath $file -Value 'twelve bytes' -NoNewline
        $full = (Get-Item -LiteralPath $file).FullName
        $r = Get-Item -LiteralPath $file | Invoke-ProcessBatch {
            [pscustomobject]@{ Types = @($_.PSObject.TypeNames); Name = $_.Name; Length = $_.Length; FullName = $_.FullName }
            Get-Item -LiteralPath $_.FullName
        } -ThrottleLimit 1 -AsResult -SummaryVariable s
        $seen, $back = $r.Output
        $seen.Types | Should -Contain 'Deserialized.System.IO.FileInfo' -Because 'an input FileInfo reaches the worker as a property bag'
        $seen.Name | Should -Be 'sample.txt'
        $seen.Length | Should -Be 12
        $seen.FullName | Should -Be $full
        $back.PSObject.TypeNames | Should -Contain 'Deserialized.System.IO.FileInfo' -Because 'an output FileInfo comes back as a property bag'
        $back.Name | Should -Be 'sample.txt'
        $back.Length | Should -Be 12
        $back.FullName | Should -Be $full
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }

    It 'refuses items that cannot cross (script block, cyclic graph) with ItemNotTransferable, an output that cannot come back with OutputNotTransferable; the other items run' {
        $sb = { 'i am code' }
        $cyclic = @{ name = 'loop' }
        $cyclic.self = $cyclic
        $r = & { 1; $sb; , $cyclic; 'emit-code'; 5 } |
            Invoke-ProcessBatch { if ($_ -eq 'emit-code') { { 'code' } } else { "ok $_" } } -AsResult -ThrottleLimit 2 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -HaveCount 5
        ($r | Where-Object Index -EQ 0).Output | Should -Be 'ok 1'
        ($r | Where-Object Index -EQ 4).Output | Should -Be 'ok 5'
        $code = $r | Where-Object Index -EQ 1
        $code.Status | Should -Be 'Failed'
        $code.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ItemNotTransferable*'
        $code.Errors[0].Exception.Message | Should -BeLike "Item 1 (*) cannot be sent to a worker process. A value of type *ScriptBlock cannot cross to another process: *. Pass plain data*" -Because 'the error names the item, the type that cannot cross and what to do'
        ([regex]::Matches($code.Errors[0].Exception.Message, 'cannot cross')).Count | Should -Be 1 -Because 'the reason is said once'
        $loop = $r | Where-Object Index -EQ 2
        $loop.Status | Should -Be 'Failed'
        $loop.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ItemNotTransferable*'
        $out = $r | Where-Object Index -EQ 3
        $out.Status | Should -Be 'Failed'
        $out.Errors[0].FullyQualifiedErrorId | Should -BeLike 'OutputNotTransferable*'
        $out.Errors[0].Exception.Message | Should -BeLike '*ScriptBlock*'
        @($ev) | Should -HaveCount 3
        @($ev | Where-Object { $_.TargetObject -is [scriptblock] }) | Should -HaveCount 1 -Because 'the error names the item'
        @($ev | Where-Object { $_.TargetObject -eq 'emit-code' }) | Should -HaveCount 1
        Assert-BatchSummary $s -Total 5 -Succeeded 2 -Failed 3
    }

    It 'refuses a script block as a $using: value with ScriptBlockCannotCrossRunspaces, before anything runs' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'usingsb')).FullName
        $code = { 'code' }
        $err = Get-FirstError { 1..3 | Invoke-ProcessBatch { $null = New-Item -ItemType File -Path (Join-Path $using:dir "ran-$_"); $using:code } -ThrottleLimit 1 }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'ScriptBlockCannotCrossRunspaces*'
        $err.Exception.Message | Should -BeLike '*$using:code*script block*'
        @(Get-ChildItem -LiteralPath $dir) | Should -HaveCount 0 -Because 'nothing runs'
    }

    It 'refuses a -Variable value that cannot cross a process with VariableNotTransferable naming its type, before anything runs' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'varsb')).FullName
        $err = Get-FirstError { 1..3 | Invoke-ProcessBatch { $null = New-Item -ItemType File -Path (Join-Path $Where "ran-$_") } -Variable @{ Where = $dir; Handle = [IntPtr]::new(42) } -ThrottleLimit 1 }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'VariableNotTransferable*'
        $err.Exception.Message | Should -BeLike "*'Handle'*IntPtr*"
        @(Get-ChildItem -LiteralPath $dir) | Should -HaveCount 0 -Because 'nothing runs'
    }
}

Describe 'Invoke-ProcessBatch: what an item sees' {
    AfterEach { Assert-NoWorkerLeft }   # every test ends with no worker process of this session left

    It '$using: (plain, $using:h[''k''], $using:o.Prop), -Variable, -Function and the caller''s location reach every worker' {
        $plain = 'P'
        $h = @{ k = 'K' }
        $o = [pscustomobject]@{ Prop = 'O' }
        $when = [datetime]::new(2024, 1, 2, 3, 4, 5, [System.DateTimeKind]::Utc)
        function Get-Tripled { param([int] $N) $N * 3 }
        function Get-Labelled { param($X) "L$(Get-Tripled $X)" }
        $here = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'location')).FullName
        Set-Content -Path (Join-Path $here 'relative.txt') -Value 'from the caller''s folder'
        Push-Location -LiteralPath $here
        try {
            $out = 1..4 | Invoke-ProcessBatch {
                $a = $using:plain; $b = $using:h['k']; $c = $using:o.Prop; $d = $using:when
                [pscustomobject]@{
                    Using = "$a|$b|$c|$($d.ToString('o'))|$_"
                    Var   = "$Label$($_ * $Factor)"
                    Fn    = Get-Labelled $_
                    Loc   = (Get-Location).Path
                    Text  = Get-Content ./relative.txt
                }
            } -Variable @{ Factor = 10; Label = 'v' } -Function Get-Tripled, Get-Labelled -ThrottleLimit 2 -SummaryVariable s
        }
        finally { Pop-Location }
        ($out.Using | Sort-Object) | Should -Be @(1..4 | ForEach-Object { "P|K|O|$($when.ToString('o'))|$_" })
        ($out.Var | Sort-Object) | Should -Be @('v10', 'v20', 'v30', 'v40')
        ($out.Fn | Sort-Object) | Should -Be @('L12', 'L3', 'L6', 'L9')
        @($out.Loc | Sort-Object -Unique) | Should -Be @($here)
        @($out.Text | Sort-Object -Unique) | Should -Be @('from the caller''s folder')
        Assert-BatchSummary $s -Total 4 -Succeeded 4
    }

    Context '-Module' {
        BeforeAll {
            $script:modRoot = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'modules')).FullName
            $script:markerDir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'imports')).FullName
            $modDir = New-Item -ItemType Directory -Path (Join-Path $modRoot 'PProcTestModule')
            $escaped = $markerDir -replace "'", "''"
            Set-Content -Path (Join-Path $modDir 'PProcTestModule.psm1') -Value @"
`$null = New-Item -ItemType File -Path (Join-Path '$escaped' ([guid]::NewGuid().ToString()))
function Get-PProcValue { param(`$X) "mod:`${X}:`$PID" }
"@
            $script:modPath = Join-Path $modDir 'PProcTestModule.psm1'
        }

        It 'imports a module (by path) once per worker, not once per item' {
            Get-ChildItem $markerDir | Remove-Item
            $out = 1..12 | Invoke-ProcessBatch { Get-PProcValue $_ } -Module $modPath -ThrottleLimit 2 -SummaryVariable s
            $out | Should -HaveCount 12
            ($out | ForEach-Object { ($_ -split ':')[1] } | Sort-Object { [int]$_ }) | Should -Be @(1..12 | ForEach-Object { "$_" })
            $workers = @($out | ForEach-Object { ($_ -split ':')[2] } | Sort-Object -Unique)
            $imports = @(Get-ChildItem $markerDir).Count
            $imports | Should -BeGreaterOrEqual $workers.Count
            $imports | Should -BeLessOrEqual 2 -Because 'the module is imported once per worker (throttle 2), not per item'
            Assert-BatchSummary $s -Total 12 -Succeeded 12
        }

        It 'imports modules by name from PSModulePath, including one that ships with PowerShell' {
            $saved = $env:PSModulePath
            $env:PSModulePath = $modRoot + [IO.Path]::PathSeparator + $saved
            try {
                $out = 1..3 | Invoke-ProcessBatch {
                    "$((Get-PProcValue $_) -replace ':\d+$')|$([bool](Get-Module Microsoft.PowerShell.Archive))"
                } -Module PProcTestModule, Microsoft.PowerShell.Archive -ThrottleLimit 2 -SummaryVariable s
            }
            finally { $env:PSModulePath = $saved }
            ($out | Sort-Object) | Should -Be @('mod:1|True', 'mod:2|True', 'mod:3|True')
            Assert-BatchSummary $s -Total 3 -Succeeded 3
        }
    }
}

Describe 'Invoke-ProcessBatch: ordering, retry, results, chunks and recycling' {
    AfterEach { Assert-NoWorkerLeft }   # every test ends with no worker process of this session left

    It '-Ordered emits in input order' {
        $out = 0..5 | Invoke-ProcessBatch { Start-Sleep -Milliseconds (150 * (5 - $_)); $_ } -ThrottleLimit 3 -ChunkSize 1 -Ordered -SummaryVariable s
        ($out -join ',') | Should -Be '0,1,2,3,4,5'
        Assert-BatchSummary $s -Total 6 -Succeeded 6
    }

    It '-RetryCount retries failed items; a retried item emits only its last attempt''s output' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'retry')).FullName
        $r = 'a', 'b', 'c' | Invoke-ProcessBatch {
            $f = Join-Path $using:dir "$_.count"
            $n = 1 + $(if (Test-Path $f) { [int](Get-Content $f) } else { 0 })
            Set-Content -Path $f -Value $n
            "$_$n"
            if ($_ -eq 'b' -and $n -lt 3) { throw "b fails on attempt $n" }
            if ($_ -eq 'c') { Write-Error -Message "c fails on attempt $n" -ErrorId 'CAlwaysFails' }
        } -RetryCount 2 -RetryDelaySeconds 0.1 -ThrottleLimit 2 -AsResult -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $a = $r | Where-Object Input -EQ 'a'; $b = $r | Where-Object Input -EQ 'b'; $c = $r | Where-Object Input -EQ 'c'
        $a.Attempts | Should -Be 1
        @($a.Output) | Should -Be @('a1')
        $b.Status | Should -Be 'Succeeded'
        $b.Attempts | Should -Be 3
        @($b.Output) | Should -Be @('b3') -Because 'only the last attempt''s output is kept'
        $c.Status | Should -Be 'Failed'
        $c.Attempts | Should -Be 3
        $c.Errors[-1].FullyQualifiedErrorId | Should -BeLike 'CAlwaysFails*'
        @($ev | Where-Object TargetObject -EQ 'b') | Should -HaveCount 0 -Because 'b succeeded on retry: its earlier attempts are not reported'
        Assert-BatchSummary $s -Total 3 -Succeeded 2 -Failed 1
    }

    It '-AsResult emits one ItemResult per input with every property filled' {
        $r = 10, 11, 12, 13 | Invoke-ProcessBatch {
            if ($_ -eq 12) { throw 'twelve fails' }
            $_ * 2; $PID
        } -AsResult -ThrottleLimit 2 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -HaveCount 4
        foreach ($x in $r) { $x.GetType().FullName | Should -Be 'PSParallel.ItemResult' }
        ($r | Sort-Object Index).Input | Should -Be @(10, 11, 12, 13)
        foreach ($x in $r) {
            $x.Output -is [object[]] | Should -BeTrue
            $x.Errors -is [System.Management.Automation.ErrorRecord[]] | Should -BeTrue
            $x.Attempts | Should -Be 1
            $x.Duration | Should -BeOfType [timespan]
            $x.Worker | Should -BeGreaterThan 0
            $x.Worker | Should -Not -Be $PID
            $x.StartTime | Should -BeOfType [datetime]
        }
        $ok = $r | Where-Object Input -EQ 11
        $ok.Status | Should -Be 'Succeeded'
        $ok.Output[0] | Should -Be 22
        $ok.Output[1] | Should -Be $ok.Worker -Because 'Worker is the process id of the worker'
        $bad = $r | Where-Object Input -EQ 12
        $bad.Status | Should -Be 'Failed'
        $bad.Errors[0].Exception.Message | Should -BeLike '*twelve fails*'
        @($ev) | Should -HaveCount 1
        $ev[0].TargetObject | Should -Be 12
        Assert-BatchSummary $s -Total 4 -Succeeded 3 -Failed 1
    }

    It '-AsResult times each item where it ran: Duration covers the item''s own run time, StartTimes follow one another by it' {
        # One worker runs 4 chunks of 10 items in turn, each item ~30 ms measured inside it. The
        # worker's frames are coalesced (flushed every 10 ms), so timing an item in the caller, between
        # the arrival of its start and of its result, gives anything from ~20 to ~40 ms.
        $r = 1..40 | Invoke-ProcessBatch {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            Start-Sleep -Milliseconds 30
            $sw.Elapsed.TotalMilliseconds
        } -ThrottleLimit 1 -ChunkSize 10 -AsResult -SummaryVariable s
        $r | Should -HaveCount 40
        Assert-BatchSummary $s -Total 40 -Succeeded 40
        $r = @($r | Sort-Object Index)
        @($r.Worker | Sort-Object -Unique) | Should -HaveCount 1
        $slackMs = 1   # the item's own stopwatch runs inside the worker's; only rounding separates them
        $report = foreach ($x in $r) { '{0}: inside {1:N1} ms, Duration {2:N1} ms, StartTime {3:HH:mm:ss.ffffff}' -f $x.Index, $x.Output[0], $x.Duration.TotalMilliseconds, $x.StartTime }
        foreach ($x in $r) {
            $inside = [double] $x.Output[0]
            $inside | Should -BeGreaterOrEqual 25
            $x.Duration.TotalMilliseconds | Should -BeGreaterOrEqual ($inside - $slackMs) -Because "item $($x.Index)'s Duration includes its own run time:`n$($report -join "`n")"
            $x.Duration.TotalMilliseconds | Should -BeLessThan ($inside + 300) -Because "item $($x.Index)'s Duration is not much more than its own run time (generous: a loaded machine)"
        }
        for ($i = 1; $i -lt $r.Count; $i++) {
            $gap = ($r[$i].StartTime - $r[$i - 1].StartTime).TotalMilliseconds
            $gap | Should -BeGreaterOrEqual ([double] $r[$i - 1].Output[0] - $slackMs) -Because "item $i starts after item $($i - 1) ran on the same worker:`n$($report -join "`n")"
        }
    }

    It '-ChunkSize <Size> keeps every item''s own output, errors and state' -ForEach @(
        @{ Size = 1 }
        @{ Size = 25 }
    ) {
        $r = 0..199 | Invoke-ProcessBatch {
            if ($_ % 50 -eq 7) { Write-Error "bad $_" -ErrorId 'Every50' }
            if (Test-Path variable:mine) { 'leaked' }
            $mine = $_
            $_ * 2
        } -ChunkSize $Size -AsResult -ThrottleLimit 2 -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -HaveCount 200
        @($r | Where-Object { $_.Output.Count -ne 1 -or $_.Output[0] -ne $_.Input * 2 -or $_.Index -ne $_.Input }) | Should -HaveCount 0
        $failed = @($r | Where-Object Status -EQ 'Failed')
        ($failed.Input | Sort-Object) | Should -Be @(7, 57, 107, 157)
        @($failed | Where-Object { $_.Errors.Count -ne 1 -or $_.Errors[0].FullyQualifiedErrorId -notlike 'Every50*' }) | Should -HaveCount 0
        @($ev) | Should -HaveCount 4
        Assert-BatchSummary $s -Total 200 -Succeeded 196 -Failed 4
    }

    It '-MaxItemsPerProcess recycles workers: 6 items, 2 per process, 1 at a time need at least 3 processes' {
        $r = 1..6 | Invoke-ProcessBatch { $PID } -MaxItemsPerProcess 2 -ThrottleLimit 1 -AsResult -SummaryVariable s
        $r | Should -HaveCount 6
        $byWorker = $r | Group-Object Worker
        @($byWorker).Count | Should -BeGreaterOrEqual 3
        @($byWorker | Where-Object Count -GT 2) | Should -HaveCount 0 -Because 'no worker may run more than 2 items'
        foreach ($x in $r) { $x.Output[0] | Should -Be $x.Worker }
        Assert-BatchSummary $s -Total 6 -Succeeded 6
        Assert-NoWorkerLeft -ProcessId @($r.Worker)
    }
}

Describe 'Invoke-ProcessBatch: streams and errors' {
    AfterEach { Assert-NoWorkerLeft }   # every test ends with no worker process of this session left

    It 'forwards Verbose (with -Verbose), Warning, Debug (with -Debug), Information and Write-Host (6>&1)' {
        $all = 1 | Invoke-ProcessBatch {
            Write-Verbose 'v msg'; Write-Warning 'w msg'; Write-Debug 'd msg'; Write-Information 'i msg'; Write-Host 'h msg'; 'out'
        } -Verbose -Debug -WarningAction Continue -ThrottleLimit 1 -SummaryVariable s *>&1   # (-Debug alone makes any cmdlet inquire on warnings)
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -eq 'v msg' }) | Should -HaveCount 1
        @($all | Where-Object { $_ -is [System.Management.Automation.WarningRecord] -and $_.Message -eq 'w msg' }) | Should -HaveCount 1
        @($all | Where-Object { $_ -is [System.Management.Automation.DebugRecord] -and $_.Message -eq 'd msg' }) | Should -HaveCount 1
        $info = @($all | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$($_.MessageData)" })
        $info | Should -Contain 'i msg'
        $info | Should -Contain 'h msg'
        @($all | Where-Object { $_ -is [string] }) | Should -Be @('out')
        Assert-BatchSummary $s -Total 1 -Succeeded 1
    }

    It 'applies the caller''s preferences: no Verbose without -Verbose, no Warning with -WarningAction SilentlyContinue' {
        $all = 1 | Invoke-ProcessBatch { Write-Verbose 'v msg'; Write-Warning 'w msg'; 'out' } -WarningAction SilentlyContinue -ThrottleLimit 1 3>&1 4>&1
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) | Should -HaveCount 0
        @($all | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }) | Should -HaveCount 0
        $all | Should -Be 'out'
    }

    It 'forwards stream records as they happen, not at the end of the item' {
        $arrivals = 1 | Invoke-ProcessBatch { Write-Verbose 'early'; Start-Sleep -Milliseconds 2500; 'late' } -Verbose -ThrottleLimit 1 4>&1 |
            ForEach-Object { [pscustomobject]@{ Record = $_; At = [datetime]::UtcNow } }
        $verbose = $arrivals | Where-Object { $_.Record -is [System.Management.Automation.VerboseRecord] }
        $output = $arrivals | Where-Object { $_.Record -eq 'late' }
        $verbose | Should -Not -BeNullOrEmpty
        $output | Should -Not -BeNullOrEmpty
        ($output.At - $verbose.At).TotalSeconds | Should -BeGreaterThan 1.2 -Because 'the verbose record must be forwarded while the item still runs'
    }

    It 'errors are non-terminating and reach the error stream (2>&1), with TargetObject = the item and the original id and category' {
        $all = 'ok', 'we', 'th' | Invoke-ProcessBatch {
            if ($_ -eq 'we') { Write-Error -Message 'we is bad' -ErrorId 'MyId' -Category InvalidData }
            if ($_ -eq 'th') { throw 'boom three' }
            "after-$_"
        } -ThrottleLimit 2 -SummaryVariable s -ErrorVariable ev 2>&1
        $out = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
        ($out | Sort-Object) | Should -Be @('after-ok', 'after-we') -Because 'Write-Error is non-terminating inside the item, throw is not'
        $streamed = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $streamed | Should -HaveCount 2 -Because 'errors reach the caller''s error stream'
        @($ev) | Should -HaveCount 2
        $we = $ev | Where-Object TargetObject -EQ 'we'
        $we.FullyQualifiedErrorId | Should -BeLike 'MyId*'
        $we.CategoryInfo.Category | Should -Be 'InvalidData'
        $we.Exception.Message | Should -Be 'we is bad'
        $th = $ev | Where-Object TargetObject -EQ 'th'
        $th.FullyQualifiedErrorId | Should -BeLike 'boom three*'
        $th.Exception.Message | Should -BeLike '*boom three*'
        Assert-BatchSummary $s -Total 3 -Succeeded 1 -Failed 2
    }

    It 'a module that does not exist fails the batch with WorkerSetupFailed, nothing lost in the summary' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $err = $null
        try { $null = 1..3 | Invoke-ProcessBatch { $_ } -Module NoSuchModulePProc -ThrottleLimit 2 -SummaryVariable s -ErrorVariable ev 2>$null }
        catch { $err = $_ }
        if (-not $err) { $err = @($ev)[0] }
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 60 -Because 'bad input must not hang'
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'WorkerSetupFailed*'
        $err.Exception.Message | Should -BeLike '*NoSuchModulePProc*'
        Assert-BatchSummary $s -Total 3 -Succeeded 0
    }

    It 'an unknown workload gives UnknownWorkload, listing the known ones' {
        $err = Get-FirstError { 1..3 | Invoke-ProcessBatch -Workload NoSuchWorkload }
        $err.FullyQualifiedErrorId | Should -BeLike 'UnknownWorkload*'
        $err.Exception.Message | Should -BeLike '*NoSuchWorkload*'
        $err.Exception.Message | Should -BeLike '*IsPrime*'
    }
}

Describe 'Invoke-ProcessBatch: compiled workloads' {
    AfterEach { Assert-NoWorkerLeft }   # every test ends with no worker process of this session left

    BeforeAll {
        $script:ns = 'PProcWorkloads' + [guid]::NewGuid().ToString('N')
        $contracts = [PSParallel.IWorkload].Assembly.Location
        $source = @"
using System;
using System.Threading;
using System.Management.Automation;

namespace $ns
{
    public class PidDoubler : PSParallel.IWorkload
    {
        public object Invoke(object input, CancellationToken token)
        {
            long n = LanguagePrimitives.ConvertTo<long>(input);
            if (n == 3) throw new InvalidOperationException("three is refused by the workload");
            return Environment.ProcessId + ":" + (n * 2);
        }
    }
}
"@
        $dll = Join-Path $TestDrive "$ns.dll"
        Add-Type -TypeDefinition $source -ReferencedAssemblies $contracts, ([psobject].Assembly.Location) -OutputAssembly $dll -OutputType Library
        $script:pidDoubler = [System.Reflection.Assembly]::LoadFrom($dll).GetType("$ns.PidDoubler", $true)
    }

    It 'the seed''s example: 10000019, 10000079, 10000103, 10000129 | Invoke-ProcessBatch -Workload IsPrime' {
        $numbers = 10000019, 10000079, 10000103, 10000129
        $r = $numbers | Invoke-ProcessBatch -Workload IsPrime -AsResult -SummaryVariable s
        $r | Should -HaveCount 4
        foreach ($x in $r) {
            $x.Status | Should -Be 'Succeeded'
            $x.Output | Should -Be (Test-PrimeReference $x.Input)
            $x.Output[0] | Should -BeOfType [bool]
            $x.Worker | Should -Not -Be $PID
        }
        Assert-BatchSummary $s -Total 4 -Succeeded 4
        $s.Model | Should -Be 'Process'
    }

    It 'the script version of the primes example gives the right answers' {
        $numbers = 10000019, 10000079, 10000103, 10000129
        $out = $numbers | Invoke-ProcessBatch {
            $n = $_; if ($n -lt 2) { return $false }
            if ($n % 2 -eq 0) { return $n -eq 2 }
            $limit = [long][Math]::Sqrt($n)
            for ($f = 3; $f -le $limit; $f += 2) { if ($n % $f -eq 0) { return $false } }
            $true
        } -Ordered -SummaryVariable s
        $out | Should -Be @($numbers | ForEach-Object { Test-PrimeReference $_ })
        Assert-BatchSummary $s -Total 4 -Succeeded 4
    }

    It 'runs a custom IWorkload compiled to a file, in the workers' {
        $r = 1..6 | Invoke-ProcessBatch -Workload $pidDoubler -ThrottleLimit 2 -AsResult -SummaryVariable s -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -HaveCount 6
        foreach ($x in ($r | Where-Object Input -NE 3)) {
            $x.Status | Should -Be 'Succeeded'
            $wpid, $value = "$($x.Output[0])" -split ':'
            [int]$value | Should -Be ($x.Input * 2)
            [int]$wpid | Should -Be $x.Worker -Because 'the workload runs in the worker process'
            [int]$wpid | Should -Not -Be $PID
        }
        $bad = $r | Where-Object Input -EQ 3
        $bad.Status | Should -Be 'Failed'
        $bad.Errors[0].Exception.Message | Should -BeLike '*three is refused*'
        $ev[0].TargetObject | Should -Be 3
        Assert-BatchSummary $s -Total 6 -Succeeded 5 -Failed 1
    }
}

Describe 'Composition: Invoke-ThreadBatch | Invoke-ProcessBatch' {
    AfterEach { Assert-NoWorkerLeft }   # every test ends with no worker process of this session left

    BeforeAll {
        $script:server = Start-TestHttpServer
    }
    AfterAll {
        $server | Stop-TestHttpServer
    }

    It 'streams: the process stage starts its first item before the thread stage finishes' {
        # The thread stage's last item does not finish until it sees that the process stage has
        # started an item (or 60 s passed): the stages overlap exactly when it sees that.
        $base = $server.BaseUrl
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'hybrid')).FullName
        $out = 1..6 | Invoke-ThreadBatch {
            $response = Invoke-RestMethod "$using:base/delay/300"
            $sawSecondStage = $null
            if ($_ -eq 6) {
                $deadline = [datetime]::UtcNow.AddSeconds(60)
                while (-not ($sawSecondStage = @(Get-ChildItem -LiteralPath $using:dir -Filter 'started-*').Count -gt 0) -and [datetime]::UtcNow -lt $deadline) {
                    Start-Sleep -Milliseconds 50
                }
            }
            [pscustomobject]@{ N = $_; DelayMs = $response.delayMs; Fetched = [datetime]::UtcNow.Ticks; SawSecondStage = $sawSecondStage }
        } -ThrottleLimit 2 -SummaryVariable s1 |
            Invoke-ProcessBatch {
                $started = [datetime]::UtcNow.Ticks
                Set-Content -LiteralPath (Join-Path $using:dir "started-$($_.N)") -Value $started
                [pscustomobject]@{ N = $_.N; DelayMs = $_.DelayMs; Fetched = $_.Fetched; SawSecondStage = $_.SawSecondStage; Started = $started; Pid = $PID }
            } -ThrottleLimit 2 -SummaryVariable s2
        $out | Should -HaveCount 6
        ($out.N | Sort-Object) | Should -Be (1..6)
        @($out | Where-Object DelayMs -NE 300) | Should -HaveCount 0
        @($out | Where-Object Pid -EQ $PID) | Should -HaveCount 0
        ($out | Where-Object N -EQ 6).SawSecondStage | Should -BeTrue -Because 'the process stage must start an item while the thread stage still runs (the stages overlap)'
        $firstStageEnd = ($out.Fetched | Measure-Object -Maximum).Maximum
        $secondStageStart = ($out.Started | Measure-Object -Minimum).Minimum
        $secondStageStart | Should -BeLessThan $firstStageEnd
        Assert-BatchSummary $s1 -Total 6 -Succeeded 6
        Assert-BatchSummary $s2 -Total 6 -Succeeded 6
    }
}
