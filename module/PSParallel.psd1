@{
    RootModule           = 'PSParallel.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = 'dfef9d98-ed8c-41ac-8fbf-a5e9f42d72aa'
    Author               = 'PSParallel team'
    CompanyName          = 'PSParallel team'
    Copyright            = '(c) PSParallel team. All rights reserved.'
    Description          = 'Runs a list of things concurrently without guessing the model: Invoke-ThreadBatch runs a script block or a compiled workload once per piped item on a pool of runspace threads, with streaming input and backpressure, throttling, ordered output, item and batch timeouts, retry, progress, per-item results and a batch summary.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'
    # No RequiredAssemblies: the public types (ItemResult, IWorkload...) are in contracts/<tfm>/, one
    # build per .NET, and PSParallel.dll loads the one for the running .NET as it is imported.
    FormatsToProcess     = @('PSParallel.format.ps1xml')
    CmdletsToExport      = @('Invoke-ThreadBatch', 'Invoke-ProcessBatch', 'Measure-ConcurrencyModel', 'Start-WorkerPool', 'Stop-WorkerPool', 'Get-WorkerPool')
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags = @('Parallel', 'Concurrency', 'Threads', 'Runspace', 'Batch', 'Throttle', 'Retry', 'Timeout', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
        }
    }
}
