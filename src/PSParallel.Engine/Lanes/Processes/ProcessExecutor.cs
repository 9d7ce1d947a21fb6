using System.Collections.Concurrent;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Processes;

/// <summary>Runs items in a pool of worker processes fed with MessagePack frames over stdio.</summary>
internal sealed class ProcessExecutor : IExecutor
{
    private readonly WorkerCommand _command;
    private readonly SetupMessage _setup;
    private readonly ConcurrentDictionary<ProcessLane, byte> _live = new();
    private double _retiredCpu;

    public ProcessExecutor(WorkerCommand command, SetupMessage setup, int maxItemsPerProcess)
    {
        _command = command;
        _setup = setup;
        MaxItemsPerLane = maxItemsPerProcess;
    }

    public ExecutionModel Model => ExecutionModel.Process;
    public int MaxItemsPerLane { get; }

    // A worker runs the items of a chunk as they come and reports each start afterwards.
    public bool StartsItemsAhead => true;

    // A worker start (~1 s) is mostly waiting on the new process: start them all together.
    public int MaxLanesOpeningAtOnce => int.MaxValue;

    public async Task<ILane> CreateLaneAsync(CancellationToken token)
    {
        var lane = await ProcessLane.StartAsync(_command, _setup, (retired, cpu) =>
        {
            _live.TryRemove(retired, out _);
            AddRetired(cpu);
        }, token).ConfigureAwait(false);
        _live[lane] = 0;
        return lane;
    }

    /// <summary>This process's CPU plus every worker's, live or retired.</summary>
    public double CpuSeconds() => ProcessCpu.Seconds() + Volatile.Read(ref _retiredCpu) + _live.Keys.Sum(l => l.CpuSeconds);

    /// <summary>The working sets of the live workers, added up.</summary>
    public long WorkerWorkingSetBytes() => _live.Keys.Sum(l => l.WorkingSetBytes());

    private void AddRetired(double cpu)
    {
        double seen, updated;
        do
        {
            seen = Volatile.Read(ref _retiredCpu);
            updated = seen + cpu;
        } while (Interlocked.CompareExchange(ref _retiredCpu, updated, seen) != seen);
    }

    public void Dispose()
    {
        foreach (var lane in _live.Keys) lane.Dispose();
    }

    /// <summary>The setup a script batch sends: script, encoded variables, functions, modules, location, preferences.</summary>
    public static ScriptSetupMessage ForScript(ScriptRecipe setup) => new(
        setup.ScriptText,
        setup.Variables.ToDictionary(v => v.Name, EncodeVariable, StringComparer.OrdinalIgnoreCase),
        setup.Functions, setup.Modules, setup.Location,
        setup.Preferences.ToDictionary(p => p.Key, p => p.Value.ToString()));

    /// <summary>The setup a compiled-workload batch sends: where the worker finds the type.</summary>
    public static WorkloadSetupMessage ForWorkload(Type workloadType)
    {
        string location = workloadType.Assembly.Location;
        if (string.IsNullOrEmpty(location))
            throw Errors.WorkloadAssemblyNotOnDisk(workloadType);
        return new WorkloadSetupMessage(location, workloadType.FullName ?? workloadType.Name);
    }

    private static byte[] EncodeVariable(RecipeVariable variable)
    {
        try
        {
            return ValueCodec.Encode(variable.Value);
        }
        catch (ValueNotTransferableException ex)
        {
            throw Errors.VariableNotTransferable(variable, ex);
        }
    }
}
