using System.Management.Automation;

namespace PSParallel.Commands;

/// <summary>Stop-WorkerPool: closes pools; idle workers end now, those a batch holds when it gives them back.</summary>
[Cmdlet(VerbsLifecycle.Stop, "WorkerPool")]
public sealed class StopWorkerPoolCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public WorkerPool[] Pool { get; set; } = null!;

    protected override void ProcessRecord()
    {
        foreach (var pool in Pool) pool.Dispose();
    }
}
