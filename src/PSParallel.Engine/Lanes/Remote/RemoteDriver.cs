namespace PSParallel.Engine.Lanes.Remote;

/// <summary>
/// The PowerShell a remote session runs, sent as text, so that nothing needs installing on a host
/// for script blocks. A chunk runs item after item in one remote pipeline: before each item a Begin
/// mark, then whatever the item writes (output, errors, streams, in the order PowerShell remoting
/// delivers them), then an End mark with the item's own start time and duration.
/// </summary>
internal static class RemoteDriver
{
    /// <summary>
    /// A mark is a string starting with this prefix (a control character no item's text begins with in
    /// practice): 'B index' before an item, 'E index startTicksUtc durationTicks' after it. Strings
    /// cross remoting far cheaper than objects, and tiny items pay for two marks each.
    /// </summary>
    public const string MarkPrefix = "\u001FPSParallel ";
    public const string ChunkCommand = "Invoke-PSParallelChunk";
    public const string IndexParameter = "PSParallelIndex";
    public const string ItemParameter = "PSParallelItem";

    /// <summary>Run once when a session opens: defines the chunk driver; answers the remote process id and core count.</summary>
    public const string SessionSetup = """
        function global:Invoke-PSParallelChunk {
            param([long[]] $PSParallelIndex, [object[]] $PSParallelItem)
            $PSParallelMark = "$([char]0x1F)PSParallel"
            if ($global:PSParallelWorkload) {
                # A compiled workload: the whole chunk through PSParallel on the host in one call (a call
                # per item costs more than the work), then each item's marks, output and errors in turn.
                $PSParallelN = 0
                foreach ($PSParallelResult in ($PSParallelItem | Invoke-ThreadBatch -Workload $global:PSParallelWorkload -ThrottleLimit 1 -Ordered -AsResult)) {
                    "$PSParallelMark B $($PSParallelIndex[$PSParallelN])"
                    $PSParallelResult.Output
                    foreach ($PSParallelError in $PSParallelResult.Errors) { Write-Error -ErrorRecord $PSParallelError -ErrorAction Continue }
                    "$PSParallelMark E $($PSParallelIndex[$PSParallelN]) $(([datetime]$PSParallelResult.StartTime).ToUniversalTime().Ticks) $($PSParallelResult.Duration.Ticks)"
                    $PSParallelN++
                }
                return
            }
            for ($PSParallelN = 0; $PSParallelN -lt $PSParallelIndex.Count; $PSParallelN++) {
                $PSParallelStart = [datetime]::UtcNow
                $PSParallelClock = [System.Diagnostics.Stopwatch]::StartNew()
                "$PSParallelMark B $($PSParallelIndex[$PSParallelN])"
                try {
                    # Each item in a child scope of its own, with $_ bound, as on this machine.
                    $_ = $PSParallelItem[$PSParallelN]
                    & $global:PSParallelScript
                }
                catch {
                    # What the item threw is its error; Continue, so that a preference of Stop cannot end the chunk.
                    Write-Error -ErrorRecord $_ -ErrorAction Continue
                }
                "$PSParallelMark E $($PSParallelIndex[$PSParallelN]) $($PSParallelStart.Ticks) $($PSParallelClock.Elapsed.Ticks)"
            }
        }
        [pscustomobject]@{ ProcessId = $PID; Cores = [Environment]::ProcessorCount }
        """;

    /// <summary>
    /// Run before a batch's first chunk on a session: its modules, functions, variables ($using:
    /// values and -Variable), preferences and script; a compiled workload runs through PSParallel on the host.
    /// </summary>
    public const string BatchSetup = """
        param($Script, $Variables, $Functions, $Modules, $Preferences, $Workload)
        foreach ($m in $Modules) { Import-Module -Name $m -ErrorAction Stop }
        foreach ($f in $Functions.GetEnumerator()) { $null = New-Item -Path "function:global:$($f.Key)" -Value ([scriptblock]::Create($f.Value)) -Force }
        foreach ($v in $Variables.GetEnumerator()) { Set-Variable -Scope Global -Name $v.Key -Value $v.Value }
        foreach ($p in $Preferences.GetEnumerator()) { Set-Variable -Scope Global -Name $p.Key -Value ([System.Management.Automation.ActionPreference]$p.Value) }
        if ($Workload) {
            if (-not (Get-Module -ListAvailable -Name PSParallel)) { throw 'PSParallelNotOnHost' }
            Import-Module PSParallel -ErrorAction Stop
            $global:PSParallelWorkload = $Workload
        }
        else {
            $global:PSParallelWorkload = $null
            $global:PSParallelScript = [scriptblock]::Create($Script)
        }
        """;

    /// <summary>The marker BatchSetup throws when a compiled workload finds no PSParallel on the host.</summary>
    public const string NoModuleMarker = "PSParallelNotOnHost";
}
