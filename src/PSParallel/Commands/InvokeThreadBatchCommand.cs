using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Scheduling;

namespace PSParallel.Commands;

/// <summary>Invoke-ThreadBatch: items on a pool of runspaces, or a compiled workload on the thread pool.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "ThreadBatch", DefaultParameterSetName = ScriptBlockSet)]
[OutputType(typeof(PSObject), typeof(ItemResult))]
public sealed class InvokeThreadBatchCommand : BatchCommandBase
{
    /// <summary>Give every item a fresh runspace instead of reusing one per lane.</summary>
    [Parameter(ParameterSetName = ScriptBlockSet)]
    public SwitchParameter UseNewRunspace { get; set; }

    protected override int DefaultThrottleLimit => BatchOptions.DefaultThreadThrottle;

    private protected override ExecutionModel Model => ExecutionModel.Thread;

    private protected override IEnumerable<string> SetupParameters => base.SetupParameters.Append(nameof(UseNewRunspace));

    private protected override IExecutor CreateExecutor() => CreateRecipe().CreateThreadExecutor(EffectiveThrottleLimit, UseNewRunspace);
}
