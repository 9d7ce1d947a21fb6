using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Engine;
using PSParallel.Engine.Lanes.Remote;
using PSParallel.Engine.Pools;

namespace PSParallel.Commands;

/// <summary>
/// Opens the sessions of a remote batch or pool for a cmdlet: from -HostName and its connection
/// parameters (SSH, New-PSSession's rules), or from -Session. Each host that cannot be reached
/// becomes a non-terminating error naming it; the pool holds the sessions of the others.
/// </summary>
internal static class RemoteConnector
{
    public static IReadOnlyList<SshTarget> Targets(string[] hostNames, string? userName, int port, string? keyFilePath,
        Hashtable? sshOption, double connectTimeoutSeconds)
    {
        var timeout = TimeSpan.FromSeconds(connectTimeoutSeconds);
        return hostNames.Select(h => h.Trim()).Where(h => h.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(h => new SshTarget(h, userName, port, keyFilePath, sshOption, timeout)).ToList();
    }

    /// <summary>
    /// The sessions a batch or measurement names: opened on -HostName (closed by whoever disposes the
    /// pool), or the user's own -Session (which stay open). Naming hosts both ways is refused.
    /// </summary>
    public static WarmPool Open(PSCmdlet cmdlet, SshParameters ssh, PSSession[]? sessions, int sessionsPerHost, CancellationToken token)
    {
        if (ssh.HostName is not null && sessions is not null) throw Errors.RemoteTargetsConflict(nameof(SshParameters.HostName), nameof(InvokeProcessBatchCommand.Session));
        return ssh.HostName is not null ? Connect(cmdlet, ssh.Targets(), sessionsPerHost, setup: null, token) : FromSessions(cmdlet, sessions!);
    }

    /// <summary>How many hosts the named sessions are on: -HostName's distinct names, or -Session's distinct computers.</summary>
    public static int HostCount(SshParameters ssh, PSSession[]? sessions) =>
        ssh.HostName is not null ? ssh.Targets().Count
        : sessions?.Select(s => s.ComputerName).Distinct(StringComparer.OrdinalIgnoreCase).Count() ?? 1;

    /// <summary>Connects to every host (sessions per host: <paramref name="sessionsPerHost"/>, 0 for its cores), with progress.</summary>
    public static WarmPool Connect(PSCmdlet cmdlet, IReadOnlyList<SshTarget> targets, int sessionsPerHost, Engine.Recipes.ScriptRecipe? setup,
        CancellationToken token)
    {
        var progress = new ProgressRecord(0, cmdlet.MyInvocation.MyCommand.Name, $"Connecting to {targets.Count} host(s)");
        cmdlet.WriteProgress(progress);
        (WarmPool Pool, RemoteFleet Fleet) opened;
        try
        {
            opened = PoolOpener.OpenRemoteAsync(targets, sessionsPerHost, setup, token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        progress.RecordType = ProgressRecordType.Completed;
        return Report(cmdlet, opened.Pool, opened.Fleet, progress);
    }

    /// <summary>
    /// Tells the caller which hosts could not be reached. Writing may throw (Ctrl+C arrived meanwhile):
    /// then the sessions just opened are closed, so none outlives the call.
    /// </summary>
    private static WarmPool Report(PSCmdlet cmdlet, WarmPool pool, RemoteFleet fleet, ProgressRecord? done)
    {
        try
        {
            if (done is not null) cmdlet.WriteProgress(done);
            foreach (var host in fleet.Unreachable()) cmdlet.WriteError(Errors.HostUnreachable(host.HostName, host.Reason));
            return pool;
        }
        catch
        {
            pool.Dispose();
            throw;
        }
    }

    /// <summary>A pool over the user's own sessions (-Session): they stay open after it.</summary>
    public static WarmPool FromSessions(PSCmdlet cmdlet, PSSession[] sessions)
    {
        var fleet = RemoteFleet.FromSessions(sessions.Select(s => (s.Runspace, s.ComputerName)).ToList());
        return Report(cmdlet, PoolOpener.OpenSessionsAsync(fleet).GetAwaiter().GetResult(), fleet, done: null);
    }
}
