using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Caller;
using PSParallel.Engine;
using PSParallel.Engine.Pools;
using PSParallel.Engine.Scheduling;

namespace PSParallel.Commands;

/// <summary>
/// Start-WorkerPool: opens runspaces, worker processes or (with -HostName) sessions on other hosts
/// now, set up once with -Variable, -Function and -Module, for batches to run on with -Pool. The
/// pool ends with Stop-WorkerPool, its Dispose(), or the runspace that made it.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "WorkerPool")]
[OutputType(typeof(WorkerPool))]
public sealed class StartWorkerPoolCommand : PSCmdlet, IDisposable, IDynamicParameters
{
    private readonly CancellationTokenSource _stop = new();
    private readonly SshParameters _ssh = new();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateSet(nameof(ExecutionModel.Thread), nameof(ExecutionModel.Process), IgnoreCase = true)]
    public string Model { get; set; } = null!;

    /// <summary>Runspaces or worker processes to open. Default: as the Invoke cmdlet of that model.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int ThrottleLimit { get; set; }

    [Parameter]
    public IDictionary? Variable { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Function { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Module { get; set; }

    /// <summary>The PowerShell executable (or pwsh.dll) for a process pool's workers; default: the one running now.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PowerShellPath { get; set; }

    /// <summary>-HostName (with -Model Process: a pool of remote sessions) and its connection parameters.</summary>
    public object GetDynamicParameters() => _ssh;

    protected override void EndProcessing()
    {
        var model = Enum.Parse<ExecutionModel>(Model, ignoreCase: true);
        if (_ssh.HostName is not null)
        {
            StartRemote(model);
            return;
        }
        int size = ThrottleLimit > 0 ? ThrottleLimit
            : model == ExecutionModel.Thread ? BatchOptions.DefaultThreadThrottle : Environment.ProcessorCount;
        WarmPool warm;
        try
        {
            var setup = CallerContext.CreateSetup(this, ScriptBlock.Create(""), Variable, Function, Module);
            var opening = model == ExecutionModel.Thread
                ? PoolOpener.OpenThreadsAsync(setup, size, _stop.Token)
                : PoolOpener.OpenProcessesAsync(WorkCommandBase.WorkerOf(PowerShellPath), setup, size, _stop.Token);
            warm = opening.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception ex)
        {
            // Bad setup (a $using:-free -Variable that cannot cross, a module that does not import)
            // or a worker that would not start: the record it carries, or one that names it.
            ThrowTerminatingError(Errors.LaneSetupFailed(ex));
            return;
        }
        Publish(new WorkerPool(WorkerPoolRegistry.NextId(), model.ToString(), size, warm));
    }

    /// <summary>A Remote pool: sessions on every host that answers; one that does not is a non-terminating error.</summary>
    private void StartRemote(ExecutionModel model)
    {
        if (model != ExecutionModel.Process) ThrowTerminatingError(Errors.RemotePoolNeedsProcessModel().ErrorRecord);
        if (MyInvocation.BoundParameters.ContainsKey(nameof(PowerShellPath))) ThrowTerminatingError(Errors.NotForRemote(nameof(PowerShellPath)).ErrorRecord);
        WarmPool warm;
        try
        {
            var setup = CallerContext.CreateSetup(this, ScriptBlock.Create(""), Variable, Function, Module);
            warm = RemoteConnector.Connect(this, _ssh.Targets(), ThrottleLimit, setup, _stop.Token);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowTerminatingError(Errors.LaneSetupFailed(ex));
            return;
        }
        Publish(new WorkerPool(WorkerPoolRegistry.NextId(), ExecutionModel.Remote.ToString(), warm.Size, warm));
    }

    private void Publish(WorkerPool pool)
    {
        WorkerPoolRegistry.Add(pool);
        EndWithRunspace(pool);
        WriteObject(pool);
    }

    /// <summary>A pool never outlives the session that made it.</summary>
    private static void EndWithRunspace(WorkerPool pool)
    {
        if (Runspace.DefaultRunspace is not { } runspace) return;
        runspace.StateChanged += (_, e) =>
        {
            if (e.RunspaceStateInfo.State is RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken) pool.Dispose();
        };
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
