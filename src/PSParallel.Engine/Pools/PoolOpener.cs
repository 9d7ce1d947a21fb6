using System.Management.Automation.Runspaces;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Processes;
using PSParallel.Engine.Lanes.Remote;
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
    /// the pool's setup; a batch then sends its own script or workload. The workers are tuned to
    /// live long (<see cref="WorkerCommand.ForWarmPool"/>).
    /// </summary>
    public static Task<WarmPool> OpenProcessesAsync(WorkerCommand worker, ScriptRecipe setup, int size, CancellationToken token)
    {
        var command = worker.ForWarmPool();
        var message = ProcessExecutor.ForScript(setup);
        return WarmPool.OpenAsync(ExecutionModel.Process, size,
            // A worker that dies while starting is started again, as in a batch.
            async open => (IReusableLane)await LaneStart.WithRetriesAsync(
                t => ProcessLane.StartAsync(command, message, (_, _) => { }, t), () => false, open).ConfigureAwait(false), token);
    }

    /// <summary>
    /// Opens sessions on every host at once (<paramref name="sessionsPerHost"/> each, 0 for each
    /// host's core count) and sets each up with the pool's own modules, functions and variables
    /// (<paramref name="setup"/>, null for a batch's own pool: the batch sends everything). A host
    /// that cannot be reached leaves the pool smaller; the fleet tells which and why.
    /// </summary>
    public static async Task<(WarmPool Pool, RemoteFleet Fleet)> OpenRemoteAsync(IReadOnlyList<SshTarget> targets, int sessionsPerHost,
        ScriptRecipe? setup, CancellationToken token)
    {
        var fleet = await RemoteFleet.ConnectAsync(targets, sessionsPerHost, token).ConfigureAwait(false);
        return (await FromFleetAsync(fleet, setup).ConfigureAwait(false), fleet);
    }

    /// <summary>A pool over sessions the user opened (-Session); they stay open when it closes.</summary>
    public static Task<WarmPool> OpenSessionsAsync(RemoteFleet fleet) => FromFleetAsync(fleet, setup: null);

    private static async Task<WarmPool> FromFleetAsync(RemoteFleet fleet, ScriptRecipe? setup)
    {
        async Task<IReusableLane> Prepared(IReusableLane lane)
        {
            if (setup is not null && lane is RemoteLane remote) await remote.SetUpForPoolAsync(setup).ConfigureAwait(false);
            return lane;
        }
        try
        {
            await Task.WhenAll(fleet.Opened.Select(Prepared)).ConfigureAwait(false);
        }
        catch
        {
            foreach (var lane in fleet.Opened) lane.Dispose();
            throw;
        }
        return WarmPool.FromOpened(ExecutionModel.Remote, fleet.Opened,
            async t => await Prepared(await fleet.OpenReplacementAsync(t).ConfigureAwait(false)).ConfigureAwait(false), fleet);
    }
}
