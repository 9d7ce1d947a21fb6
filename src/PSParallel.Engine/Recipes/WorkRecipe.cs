using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Processes;
using PSParallel.Engine.Lanes.Threads;
using PSParallel.Engine.Lanes.Workloads;
using PSParallel.Engine.Protocol;

namespace PSParallel.Engine.Recipes;

/// <summary>
/// What to run, ready to be run either way: makes a fresh thread or process executor on demand, so
/// that the batch cmdlets and each trial of a measurement build their executors the same way.
/// </summary>
internal sealed class WorkRecipe
{
    private readonly ScriptRecipe? _script;
    private readonly Type? _workload;
    // Made only when a process executor is: finding pwsh is not needed for threads.
    private readonly Func<WorkerCommand> _worker;

    private WorkRecipe(ScriptRecipe? script, Type? workload, Func<WorkerCommand> worker)
    {
        _script = script;
        _workload = workload;
        _worker = worker;
    }

    public static WorkRecipe ForScript(ScriptRecipe setup, Func<WorkerCommand> worker) => new(setup, null, worker);

    public static WorkRecipe ForWorkload(Type workload, Func<WorkerCommand> worker) => new(null, workload, worker);

    /// <summary>The script after $using: capture; null for a compiled workload.</summary>
    public ScriptRecipe? Script => _script;

    /// <summary>The compiled workload's type; null for a script. A remote host runs it by name.</summary>
    public Type? Workload => _workload;

    public IExecutor CreateThreadExecutor(int throttleLimit, bool newRunspacePerItem = false) => _workload is not null
        ? new WorkloadExecutor(_workload, throttleLimit)
        : new RunspaceExecutor(_script!, newRunspacePerItem);

    public IExecutor CreateProcessExecutor(int maxItemsPerProcess = 0) => new ProcessExecutor(_worker(), WorkerSetup(), maxItemsPerProcess);

    /// <summary>What a worker process is sent to run this work: the script's setup or the workload's type.</summary>
    public SetupMessage WorkerSetup() => _workload is not null ? ProcessExecutor.ForWorkload(_workload) : ProcessExecutor.ForScript(_script!);
}
