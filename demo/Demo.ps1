<#
.SYNOPSIS
PSParallel demo: the seed's examples run sequentially and with Invoke-ThreadBatch, with times and speedups.

.DESCRIPTION
  (a) I/O: 16 URL fetches with Invoke-RestMethod against a local endpoint on 127.0.0.1 that answers
      each request after about 200 ms, sequentially and with -ThrottleLimit 16 (and with the
      HttpGet compiled workload).
  (b) CPU: primality of 10000019, 10000079, 10000103, 10000129, sequentially (script), with the
      IsPrime compiled workload and with the script version on threads; then the same test on
      eight primes near 10^13, a job big enough for the cores to matter.
Sequential runs use ForEach-Object with the body in a child scope (& { ... }), as Invoke-ThreadBatch
runs its items. Run it with: dotnet pwsh -NoProfile -File ./build.ps1 Demo
#>
[CmdletBinding()]
param(
    # Path of the module manifest; by default the one build.ps1 lays out in out/PSParallel.
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/PSParallel/PSParallel.psd1'),
    [int] $UrlCount = 16,
    [int] $DelayMilliseconds = 200
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

if (-not (Test-Path $ModulePath)) { throw "No module at ${ModulePath}: run ./build.ps1 Build first." }
Import-Module $ModulePath -Force

#region A local HTTP endpoint that answers after a delay

# Several runspaces each wait for a request and answer it after the delay, so concurrent requests
# are served concurrently (the listener's GetContext may be called from many threads at once).
function Start-DelayedEndpoint {
    param([int] $DelayMilliseconds, [int] $Concurrency)
    $listener = $null
    foreach ($try in 1..10) {
        $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $probe.Start()
        $port = ([System.Net.IPEndPoint]$probe.LocalEndpoint).Port
        $probe.Stop()
        $listener = [System.Net.HttpListener]::new()
        $listener.Prefixes.Add("http://127.0.0.1:$port/")
        try { $listener.Start(); break }
        catch { $listener.Close(); $listener = $null }
    }
    if (-not $listener) { throw 'Could not start an HTTP listener on 127.0.0.1.' }

    $pool = [runspacefactory]::CreateRunspacePool(1, $Concurrency)
    $pool.Open()
    $serve = {
        param($Listener, [int] $DelayMilliseconds)
        while ($Listener.IsListening) {
            try { $context = $Listener.GetContext() } catch { break }
            try {
                [System.Threading.Thread]::Sleep($DelayMilliseconds)
                $path = $context.Request.Url.AbsolutePath
                $body = [System.Text.Encoding]::UTF8.GetBytes((@{ path = $path; delayMs = $DelayMilliseconds } | ConvertTo-Json -Compress))
                $context.Response.ContentType = 'application/json'
                $context.Response.ContentLength64 = $body.Length
                $context.Response.OutputStream.Write($body, 0, $body.Length)
                $context.Response.Close()
            }
            catch { try { $context.Response.Abort() } catch { } }
        }
    }
    $servers = foreach ($i in 1..$Concurrency) {
        $ps = [powershell]::Create()
        $ps.RunspacePool = $pool
        $null = $ps.AddScript($serve.ToString()).AddArgument($listener).AddArgument($DelayMilliseconds)
        [pscustomobject]@{ PowerShell = $ps; Handle = $ps.BeginInvoke() }
    }
    [pscustomobject]@{ Listener = $listener; Pool = $pool; Servers = @($servers); BaseUri = "http://127.0.0.1:$port" }
}

function Stop-DelayedEndpoint {
    param($Endpoint)
    $Endpoint.Listener.Stop()
    $Endpoint.Listener.Close()
    foreach ($s in $Endpoint.Servers) {
        try { $null = $s.Handle.AsyncWaitHandle.WaitOne(2000); $s.PowerShell.Stop() } catch { }
        $s.PowerShell.Dispose()
    }
    $Endpoint.Pool.Dispose()
}

#endregion

function Measure-Seconds([scriptblock] $ScriptBlock) {
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $output = @(& $ScriptBlock)
    $watch.Stop()
    [pscustomobject]@{ Seconds = $watch.Elapsed.TotalSeconds; Output = $output }
}

function Write-Comparison {
    param([string] $Title, [object[]] $Rows)
    $baseline = $Rows[0].Seconds
    $Rows | ForEach-Object {
        [pscustomobject]@{
            Run     = $_.Name
            Seconds = [math]::Round($_.Seconds, 3)
            Speedup = if ($_.Seconds -gt 0) { '{0:0.0}x' -f ($baseline / $_.Seconds) } else { '-' }
            Results = $_.Summary
        }
    } | Format-Table -AutoSize | Out-String -Width 120 | ForEach-Object { Write-Host "$Title`n$($_.TrimEnd())`n" }
}

$script:Mismatches = 0
Write-Host "PSParallel demo on $([Environment]::ProcessorCount) cores, PowerShell $($PSVersionTable.PSVersion)`n"

#region (a) I/O: URLs against a delayed local endpoint

$endpoint = Start-DelayedEndpoint -DelayMilliseconds $DelayMilliseconds -Concurrency ([math]::Max($UrlCount, 16) + 4)
try {
    $urls = 1..$UrlCount | ForEach-Object { "$($endpoint.BaseUri)/item/$_" }
    # Warm-up, so neither side pays the first-call cost of Invoke-RestMethod or of the module.
    $null = Invoke-RestMethod $urls[0]
    $null = $urls[0] | Invoke-ThreadBatch { Invoke-RestMethod $_ } -ThrottleLimit 1

    $sequential = Measure-Seconds { $urls | ForEach-Object { & { Invoke-RestMethod $_ } } }
    $threads = Measure-Seconds { $urls | Invoke-ThreadBatch { Invoke-RestMethod $_ } -ThrottleLimit 16 }
    $null = $urls[0] | Invoke-ThreadBatch -Workload HttpGet -ThrottleLimit 1
    $compiled = Measure-Seconds { $urls | Invoke-ThreadBatch -Workload HttpGet -ThrottleLimit 16 }

    $ideal = [math]::Ceiling($UrlCount / 16) * $DelayMilliseconds / 1000
    Write-Comparison -Title "(a) $UrlCount URL fetches, each answered after $DelayMilliseconds ms (ideal at throttle 16: $ideal s)" -Rows @(
        [pscustomobject]@{ Name = 'ForEach-Object (sequential)'; Seconds = $sequential.Seconds; Summary = "$($sequential.Output.Count) responses" }
        [pscustomobject]@{ Name = 'Invoke-ThreadBatch -ThrottleLimit 16'; Seconds = $threads.Seconds; Summary = "$($threads.Output.Count) responses" }
        [pscustomobject]@{ Name = 'Invoke-ThreadBatch -Workload HttpGet'; Seconds = $compiled.Seconds; Summary = "$(@($compiled.Output | Where-Object StatusCode -eq 200).Count) responses (HTTP 200)" }
    )
    Write-Host "    `$urls | Invoke-ThreadBatch { Invoke-RestMethod `$_ } -ThrottleLimit 16`n"
}
finally {
    Stop-DelayedEndpoint $endpoint
}

#endregion

#region (b) CPU: primality

$numbers = 10000019, 10000079, 10000103, 10000129
$isPrime = {
    $n = $_; if ($n -lt 2) { return $false }
    if ($n % 2 -eq 0) { return $n -eq 2 }
    $limit = [long][Math]::Sqrt($n)
    for ($f = 3; $f -le $limit; $f += 2) {
        if ($n % $f -eq 0) { return $false }
    }
    $true
}

function Invoke-PrimeComparison([string] $Title, [object[]] $Items) {
    $sequential = Measure-Seconds { $Items | ForEach-Object { & $isPrime } }
    $workload = Measure-Seconds { $Items | Invoke-ThreadBatch -Workload IsPrime -Ordered }
    $script = Measure-Seconds { $Items | Invoke-ThreadBatch $isPrime -Ordered }
    $describe = { param($r) $t = @($r.Output | Where-Object { $_ -eq $true }).Count; "$t of $($r.Output.Count) prime" }
    foreach ($r in @{ Name = '-Workload IsPrime'; Run = $workload }, @{ Name = 'the script block'; Run = $script }) {
        if (($r.Run.Output -join ',') -ne ($sequential.Output -join ',')) {
            Write-Warning "Invoke-ThreadBatch with $($r.Name) gave other results than the sequential run: $($r.Run.Output -join ',') instead of $($sequential.Output -join ',')."
            $script:Mismatches++
        }
    }
    Write-Comparison -Title $Title -Rows @(
        [pscustomobject]@{ Name = 'ForEach-Object, script (sequential)'; Seconds = $sequential.Seconds; Summary = & $describe $sequential }
        [pscustomobject]@{ Name = 'Invoke-ThreadBatch -Workload IsPrime'; Seconds = $workload.Seconds; Summary = & $describe $workload }
        [pscustomobject]@{ Name = 'Invoke-ThreadBatch { script }'; Seconds = $script.Seconds; Summary = & $describe $script }
    )
}

# Warm-up of the script and of both Invoke-ThreadBatch paths.
$null = $numbers | ForEach-Object { & $isPrime }
$null = $numbers | Invoke-ThreadBatch -Workload IsPrime
$null = $numbers | Invoke-ThreadBatch $isPrime

Invoke-PrimeComparison -Title "(b) primality of $($numbers -join ', ')" -Items $numbers
Write-Host "    $($numbers -join ', ') | Invoke-ThreadBatch -Workload IsPrime`n"
Write-Host "    Four items of a few milliseconds each: start-up costs dominate either way. Larger numbers"
Write-Host "    (about 10^13, so the trial division runs 1.5 million steps per item) make a job where the cores matter:`n"

$large = 10000000000037, 10000000000051, 10000000000099, 10000000000129, 10000000000183, 10000000000259, 10000000000267, 10000000000273
Invoke-PrimeComparison -Title "(b') the same test on $($large.Count) primes near 10^13" -Items $large

#endregion

Write-Host 'Measure-ConcurrencyModel (planned) will run this kind of comparison for you and recommend a model.'
if ($script:Mismatches) { Write-Warning "$script:Mismatches run(s) gave wrong results."; exit 1 }
