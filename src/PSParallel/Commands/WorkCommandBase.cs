using System.Collections;
using System.Management.Automation;
using PSParallel.Caller;
using PSParallel.Engine;
using PSParallel.Engine.Lanes.Processes;
using PSParallel.Engine.Recipes;
using PSParallel.Engine.Workloads;

namespace PSParallel.Commands;

/// <summary>
/// The parameters that say what to run (a script block with its -Variable, -Function and -Module, or
/// a compiled workload) and the input, shared by every cmdlet of the module.
/// </summary>
public abstract class WorkCommandBase : PSCmdlet
{
    protected const string ScriptBlockSet = "ScriptBlock";
    protected const string WorkloadSet = "Workload";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ScriptBlockSet)]
    [ScriptBlockTransformation]
    public ScriptBlock ScriptBlock { get; set; } = null!;

    [Parameter(Mandatory = true, ParameterSetName = WorkloadSet)]
    [ArgumentCompleter(typeof(WorkloadNameCompleter))]
    [ValidateNotNull]
    public object Workload { get; set; } = null!;

    [Parameter(ValueFromPipeline = true)]
    public PSObject? InputObject { get; set; }

    [Parameter(ParameterSetName = ScriptBlockSet)]
    public IDictionary? Variable { get; set; }

    [Parameter(ParameterSetName = ScriptBlockSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Function { get; set; }

    [Parameter(ParameterSetName = ScriptBlockSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Module { get; set; }

    /// <summary>Run (or measure) on this warm pool's runspaces or workers, made by Start-WorkerPool.</summary>
    [Parameter]
    [ValidateNotNull]
    public WorkerPool? Pool { get; set; }

    protected bool UsesWorkload => ParameterSetName == WorkloadSet;

    /// <summary>
    /// The failures that end a call of any cmdlet of the module with a terminating error: bad input
    /// found before anything runs, and a batch that cannot go on. Each carries the record to throw.
    /// </summary>
    private protected static bool EndsTheCall(Exception ex) => ex is SetupException or BatchFaultedException;

    private protected void ThrowTerminatingError(Exception failure) => ThrowTerminatingError(((IContainsErrorRecord)failure).ErrorRecord);

    /// <summary>Whether this ProcessRecord call carries an item (not just a call without input).</summary>
    protected bool HasInput => MyInvocation.ExpectingInput || MyInvocation.BoundParameters.ContainsKey(nameof(InputObject));

    /// <summary>
    /// The work, ready for either executor: the script with $using: captured from the caller now, or
    /// the resolved workload type. Throws <see cref="SetupException"/> on bad input.
    /// </summary>
    private protected WorkRecipe CreateRecipe(string? powerShellPath = null)
    {
        var worker = () => WorkerOf(powerShellPath);
        return UsesWorkload
            ? WorkRecipe.ForWorkload(WorkloadCatalog.Resolve(Workload), worker)
            : WorkRecipe.ForScript(CallerContext.CreateSetup(this, ScriptBlock, Variable, Function, Module), worker);
    }

    /// <summary>How to start a worker process of this module: the given PowerShell, or the caller's own.</summary>
    internal static WorkerCommand WorkerOf(string? powerShellPath) =>
        new(powerShellPath, typeof(WorkCommandBase).Assembly.Location);
}
