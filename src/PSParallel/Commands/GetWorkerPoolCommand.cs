using System.Management.Automation;

namespace PSParallel.Commands;

/// <summary>Get-WorkerPool: the pools started in this process and not yet stopped.</summary>
[Cmdlet(VerbsCommon.Get, "WorkerPool")]
[OutputType(typeof(WorkerPool))]
public sealed class GetWorkerPoolCommand : PSCmdlet
{
    protected override void EndProcessing() => WriteObject(WorkerPoolRegistry.Open(), enumerateCollection: true);
}
