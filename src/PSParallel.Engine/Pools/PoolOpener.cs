using System.Management.Automation.Runspaces;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Processes;
using PSParallel.Engine.Lanes.Threads;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Pools;

/// <summary>Opens warm pools of each model with the pool's own setup (-Variable, -Function, -Module).</summary>
internal static class PoolOpener
{
    public static Task<WarmPool> OpenThreadsAsync(ScriptRecipe setup, int size, CancellationToken token)
    {
        var sessionState = SessionStateBuilder.Create(setup);
        // As in a batch: opening a runspace blocks for tens of milliseconds, so on a dedicated thread.
        return WarmPool.OpenAsync(ExecutionModel.Thread, size, open => Task.Factory.StartNew(
            () => (IReusableLane)RunspaceLane.Open(sessionState, setup), open, TaskCreationOptions.LongRunning, TaskScheduler.Default), token);
    }

    /// <summary>
    /// Starts the workers all at once (their start-up mostly waits), each opening its runspace with
    /// the pool's setup; a batch then sends its own script or workload.
    /// </summary>
    public static Task<WarmPool> OpenProcessesAsync(WorkerCommand command, ScriptRecipe setup, int size, CancellationToken token)
    {
        var message = ProcessExecutor.ForScript(setup);
        return WarmPool.OpenAsync(ExecutionModel.Process, size,
            // A worker that dies while starting is started again, as in a batch.
            async open => (IReusableLane)await LaneStart.WithRetriesAsync(
                t => ProcessLane.StartAsync(command, message, (_, _) => { }, t), () => false, open).ConfigureAwait(false), token);
    }
}
