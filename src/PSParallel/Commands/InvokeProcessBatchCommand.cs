using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Lanes;

namespace PSParallel.Commands;

/// <summary>Invoke-ProcessBatch: items in a pool of worker processes fed with MessagePack over stdio.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "ProcessBatch", DefaultParameterSetName = ScriptBlockSet)]
[OutputType(typeof(PSObject), typeof(ItemResult))]
public sealed class InvokeProcessBatchCommand : BatchCommandBase
{
    /// <summary>Recycle a worker after this many items (0: never).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxItemsPerProcess { get; set; }

    /// <summary>Items per message; 0 (default) sizes chunks automatically.</summary>
    [Parameter]
    [ValidateRange(1, 100_000)]
    public int ChunkSize { get; set; }

    /// <summary>The PowerShell executable (or pwsh.dll) for workers; default: the one running now.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PowerShellPath { get; set; }

    protected override int DefaultThrottleLimit => Environment.ProcessorCount;

    private protected override ExecutionModel Model => ExecutionModel.Process;

    private protected override IEnumerable<string> SetupParameters =>
        base.SetupParameters.Append(nameof(PowerShellPath)).Append(nameof(MaxItemsPerProcess));

    protected override int FixedChunkSize => ChunkSize;

    protected override int MaxChunkSize => 256;

    private protected override IExecutor CreateExecutor() => CreateRecipe(PowerShellPath).CreateProcessExecutor(MaxItemsPerProcess);
}
