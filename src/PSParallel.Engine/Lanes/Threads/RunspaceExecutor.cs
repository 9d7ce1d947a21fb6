using System.Diagnostics;
using System.Management.Automation.Runspaces;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Threads;

/// <summary>Runs script blocks on a pool of runspaces in this process.</summary>
internal sealed class RunspaceExecutor : IExecutor
{
    private readonly ScriptRecipe _setup;
    private readonly bool _newRunspacePerItem;
    private readonly Lazy<InitialSessionState> _sessionState;

    public RunspaceExecutor(ScriptRecipe setup, bool newRunspacePerItem)
    {
        _setup = setup;
        _newRunspacePerItem = newRunspacePerItem;
        _sessionState = new Lazy<InitialSessionState>(() => SessionStateBuilder.Create(setup));
    }

    public ExecutionModel Model => ExecutionModel.Thread;
    public int MaxItemsPerLane => _newRunspacePerItem ? 1 : 0;
    public bool StartsItemsAhead => false;

    /// <summary>
    /// Opening a runspace is CPU work (~30 ms): with more opening at once than there are cores,
    /// each one only finishes later, and a batch of small items may be done before they are needed.
    /// Measure-ConcurrencyModel's projection counts runspaces' start-up by it too (TrialMeasurement).
    /// </summary>
    public static int RunspacesOpeningAtOnce => Environment.ProcessorCount;

    public int MaxLanesOpeningAtOnce => RunspacesOpeningAtOnce;

    // Opening a runspace blocks for tens of milliseconds; on a dedicated thread, so that opening
    // many at once does not starve the thread pool (which grows only slowly).
    public async Task<ILane> CreateLaneAsync(CancellationToken token) =>
        await Task.Factory.StartNew(() => (ILane)RunspaceLane.Open(_sessionState.Value, _setup), token,
            TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);

    public double CpuSeconds() => ProcessCpu.Seconds();

    public void Dispose()
    {
    }
}
