using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Engine;
using PSParallel.Engine.Lanes;

namespace PSParallel.Commands;

/// <summary>
/// Invoke-ProcessBatch: items in a pool of worker processes fed with MessagePack over stdio, or in
/// sessions on other hosts over PowerShell remoting (-HostName, -Session).
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ProcessBatch", DefaultParameterSetName = ScriptBlockSet)]
[OutputType(typeof(PSObject), typeof(ItemResult))]
public sealed class InvokeProcessBatchCommand : BatchCommandBase, IDynamicParameters
{
    private readonly SshParameters _ssh = new();

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

    /// <summary>Run on sessions the user opened (any transport); they stay open after the batch.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public PSSession[]? Session { get; set; }

    /// <summary>-HostName and its connection parameters (see <see cref="SshParameters"/>).</summary>
    public object GetDynamicParameters() => _ssh;

    protected override int DefaultThrottleLimit => Environment.ProcessorCount;

    private protected override ExecutionModel Model => ExecutionModel.Process;

    private protected override IEnumerable<string> SetupParameters =>
        base.SetupParameters.Append(nameof(PowerShellPath)).Append(nameof(MaxItemsPerProcess));

    protected override int FixedChunkSize => ChunkSize;

    protected override int MaxChunkSize => 256;

    private protected override IExecutor CreateExecutor()
    {
        if (_ssh.HostName is null && Session is null) return CreateRecipe(PowerShellPath).CreateProcessExecutor(MaxItemsPerProcess);
        foreach (var local in new[] { nameof(PowerShellPath), nameof(MaxItemsPerProcess) })
            if (MyInvocation.BoundParameters.ContainsKey(local)) throw Errors.NotForRemote(local);
        var recipe = CreateRecipe();
        // The sessions are opened for this batch and closed when it ends (the user's own -Session stay open).
        var pool = RemoteConnector.Open(this, _ssh, Session, ThrottleLimit, StopToken);
        try
        {
            return pool.Lease(recipe, pool.Size, wait: true, StopToken, closeAfter: true);
        }
        catch (Exception ex)
        {
            pool.Dispose();
            if (ex is OperationCanceledException) throw new PipelineStoppedException();
            throw;
        }
    }
}
