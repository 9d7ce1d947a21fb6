#requires -Version 7.2
# Bad input to Invoke-ThreadBatch: each gets a clear error (id and text checked) that names the
# offending thing, never a hang or a crash, and nothing runs when the batch cannot start
# (CONTRACT.md: "Bad input gets a clear error that names the item and what to do").

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-PSParallel
}

Describe 'Invoke-ThreadBatch bad input: parameter values' {
    It 'refuses -<Name> <Value>, naming the parameter' -ForEach @(
        @{ Name = 'ThrottleLimit'; Value = 0; MustSay = $null }
        @{ Name = 'ThrottleLimit'; Value = -5; MustSay = $null }
        @{ Name = 'TimeoutSeconds'; Value = 0; MustSay = 'greater than (0|zero)' }
        @{ Name = 'TimeoutSeconds'; Value = -1; MustSay = 'greater than (0|zero)' }
        @{ Name = 'ItemTimeoutSeconds'; Value = 0; MustSay = 'greater than (0|zero)' }
        @{ Name = 'ItemTimeoutSeconds'; Value = -1; MustSay = 'greater than (0|zero)' }
        @{ Name = 'RetryCount'; Value = -1; MustSay = $null }
        @{ Name = 'RetryDelaySeconds'; Value = -1; MustSay = $null }
    ) {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive "param-$Name-$Value") -Force).FullName
        $splat = @{ $Name = $Value }
        $err = Get-FirstError { 1..3 | Invoke-ThreadBatch { $null = New-Item -ItemType File -Path (Join-Path $using:dir "ran-$_") } @splat }
        $err | Should -Not -BeNullOrEmpty -Because "-$Name $Value is not a valid value"
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*' -Because 'it is a parameter validation error'
        $err.Exception.Message | Should -BeLike "*$Name*" -Because 'the error names the parameter'
        if ($MustSay) {
            $err.Exception.Message | Should -Match $MustSay -Because 'the error says what a valid value is'
        }
        @(Get-ChildItem $dir) | Should -HaveCount 0 -Because 'nothing runs'
    }

    It 'refuses -ScriptBlock together with -Workload' {
        $err = Get-FirstError { 1 | Invoke-ThreadBatch -ScriptBlock { $_ } -Workload IsPrime }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'AmbiguousParameterSet*'
    }
}

Describe 'Invoke-ThreadBatch bad input: workloads' {
    It 'an unknown workload name gives UnknownWorkload, naming it and listing the known ones' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $err = Get-FirstError { 1..3 | Invoke-ThreadBatch -Workload NoSuchWorkload -SummaryVariable s }
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 30 -Because 'bad input must not hang'
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'UnknownWorkload*'
        $err.Exception.Message | Should -BeLike '*NoSuchWorkload*' -Because 'the error names the bad name'
        $err.Exception.Message | Should -BeLike '*Sleep, Spin, IsPrime, Sha256, HttpGet, GZip*' -Because 'the error lists the known workloads'
    }

    It 'a type that does not implement PSParallel.IWorkload is refused, naming the type and the interface' {
        $err = Get-FirstError { 1 | Invoke-ThreadBatch -Workload ([System.Text.StringBuilder]) }
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -BeLike '*System.Text.StringBuilder*'
        $err.Exception.Message | Should -BeLike '*IWorkload*'
    }
}

Describe 'Invoke-ThreadBatch bad input: script' {
    It 'script text that does not parse fails at parameter binding, naming the syntax error, before anything runs' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'parse')).FullName
        $parseErrors = $null
        $null = [System.Management.Automation.Language.Parser]::ParseInput('if (', [ref]$null, [ref]$parseErrors)
        $parseErrors | Should -Not -BeNullOrEmpty
        $err = Get-FirstError {
            1..3 | ForEach-Object { $null = New-Item -ItemType File -Path (Join-Path $dir "upstream-$_"); $_ } |
                Invoke-ThreadBatch -ScriptBlock 'if ('
        }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentTransformationError*'
        $err.Exception.Message | Should -BeLike '*does not parse*'
        $err.Exception.Message | Should -BeLike "*$([WildcardPattern]::Escape($parseErrors[0].Message))*" -Because 'the error says what is wrong with the script'
        @(Get-ChildItem $dir) | Should -HaveCount 0 -Because 'a script block that does not parse fails before anything runs'
    }

    It '$using: of a variable that does not exist gives UsingVariableNotDefined naming it, and nothing runs' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'using')).FullName
        Remove-Variable -Name nope -ErrorAction Ignore
        $err = Get-FirstError { 1..3 | Invoke-ThreadBatch { $null = New-Item -ItemType File -Path (Join-Path $using:dir "ran-$_"); $using:nope } }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'UsingVariableNotDefined*'
        $err.Exception.Message | Should -BeLike '*nope*' -Because 'the error names the variable'
        @(Get-ChildItem $dir) | Should -HaveCount 0 -Because 'the batch cannot start'
    }

    It '-Function with a name that is not defined gives FunctionNotFound naming it, and nothing runs' {
        $dir = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'function')).FullName
        $err = Get-FirstError { 1..3 | Invoke-ThreadBatch { $null = New-Item -ItemType File -Path (Join-Path $using:dir "ran-$_") } -Function NoSuchFn }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'FunctionNotFound*'
        $err.Exception.Message | Should -BeLike '*NoSuchFn*' -Because 'the error names the function'
        @(Get-ChildItem $dir) | Should -HaveCount 0 -Because 'the batch cannot start'
    }

    It 'a script block passed with $using: gives ScriptBlockCannotCrossRunspaces naming the variable' {
        $mySbVar = { 'inner' }
        $err = Get-FirstError { 1 | Invoke-ThreadBatch { & $using:mySbVar } }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'ScriptBlockCannotCrossRunspaces*'
        $err.Exception.Message | Should -BeLike '*mySbVar*'
    }

    It 'a script block passed in -Variable gives ScriptBlockCannotCrossRunspaces naming the variable' {
        $err = Get-FirstError { 1 | Invoke-ThreadBatch { & $MyBlockVar } -Variable @{ MyBlockVar = { 'inner' } } }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'ScriptBlockCannotCrossRunspaces*'
        $err.Exception.Message | Should -BeLike '*MyBlockVar*'
    }

    It 'a module that cannot be found gives an error naming it, without hanging' {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $err = Get-FirstError { 1..3 | Invoke-ThreadBatch { $_ } -Module NoSuchModuleXyz -ThrottleLimit 2 }
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 30
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -BeLike '*NoSuchModuleXyz*'
    }
}
