using System.Management.Automation;
using System.Reflection;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Threads;
using PSParallel.Engine.Lanes.Workloads;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Worker;

/// <summary>
/// The lanes of one worker process. The first script setup opens the runspace (variables,
/// functions, modules); a later script setup (a warm pool's next batch) runs its script in that
/// runspace with its own $using: values, preferences and location. A workload setup makes a lane
/// for that type, and the runspace stays for the script batches that may follow.
/// </summary>
internal sealed class WorkerLanes : IDisposable
{
    private RunspaceLane? _runspace;
    private ILane? _workload;

    /// <summary>The lane the next chunk runs on.</summary>
    public ILane? Current { get; private set; }

    /// <summary>Applies a setup; the error to report to the parent, or null when it worked.</summary>
    public ErrorData? SetUp(SetupMessage setup)
    {
        try
        {
            Current = setup switch
            {
                WorkloadSetupMessage workload => ReplaceWorkload(workload),
                ScriptSetupMessage script => Script(script),
                _ => throw new ProtocolException($"unexpected setup {setup.GetType().Name}"),
            };
            return null;
        }
        catch (Exception ex) when (ex is not ProtocolException)
        {
            return WireRecords.ToData(Errors.LaneSetupFailed(ex));
        }
    }

    private ILane Script(ScriptSetupMessage setup)
    {
        var recipe = new ScriptRecipe
        {
            ScriptText = setup.ScriptText,
            Variables = setup.Variables.Select(v => new RecipeVariable(v.Key, ValueCodec.Decode(v.Value), VariableOrigin.Parameter, v.Key)).ToList(),
            Functions = setup.Functions,
            Modules = setup.Modules,
            Location = setup.Location,
            Preferences = setup.Preferences.ToDictionary(p => p.Key, p => Enum.Parse<ActionPreference>(p.Value)),
        };
        if (_runspace is null) _runspace = RunspaceLane.Open(SessionStateBuilder.Create(recipe), recipe);
        else _runspace.Rescript(recipe);
        return _runspace;
    }

    private ILane ReplaceWorkload(WorkloadSetupMessage setup)
    {
        var type = LoadWorkloadType(setup.AssemblyPath, setup.TypeName);
        _workload?.Dispose();
        _workload = new WorkloadExecutor(type, 1).CreateLaneAsync(CancellationToken.None).GetAwaiter().GetResult();
        return _workload;
    }

    /// <summary>The engine's own built-ins come from this assembly; a user's type from its file.</summary>
    private static Type LoadWorkloadType(string assemblyPath, string typeName)
    {
        var own = typeof(WorkerLanes).Assembly;
        var assembly = string.Equals(assemblyPath, own.Location, StringComparison.Ordinal)
            ? own
            : Assembly.LoadFrom(assemblyPath);
        return assembly.GetType(typeName, throwOnError: true)!;
    }

    public void Dispose()
    {
        _workload?.Dispose();
        _runspace?.Dispose();
    }
}
