using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using PSParallel.Engine.Recipes;
using PSParallel.Engine.Workloads;

namespace PSParallel.Engine.Lanes.Remote;

/// <summary>
/// One open PowerShell remoting session: its runspace, the host as the user named it, and the
/// process that serves it there. It stamps what comes back with the host (as Invoke-Command does),
/// sets itself up for a batch, and closes itself without ever making the batch wait.
/// </summary>
internal sealed class RemoteSession(Runspace runspace, string hostName, int processId, int cores,
    Func<RemoteSession, Task>? endRemoteProcess, bool ownsRunspace)
{
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(30);
    private readonly Runspace _runspace = runspace;
    private readonly Func<RemoteSession, Task>? _endRemoteProcess = endRemoteProcess;
    private readonly bool _ownsRunspace = ownsRunspace;
    private int _closed;
    private int _ending;

    public string HostName { get; } = hostName;
    /// <summary>The process id of the PowerShell serving the session on the host.</summary>
    public int ProcessId { get; } = processId;
    /// <summary>The host's processor count (the default number of sessions there).</summary>
    public int Cores { get; } = Math.Max(1, cores);
    public bool IsBroken => _runspace.RunspaceStateInfo.State is RunspaceState.Broken or RunspaceState.Closed or RunspaceState.Closing;

    /// <summary>
    /// Defines the chunk driver in an open runspace and learns the remote process id and core count.
    /// <paramref name="endRemoteProcess"/> ends the remote process from another session when closing
    /// this one does not; a session the user opened (<paramref name="ownsRunspace"/> false) is never closed.
    /// </summary>
    public static RemoteSession Start(Runspace runspace, string hostName, Func<RemoteSession, Task>? endRemoteProcess, bool ownsRunspace)
    {
        using var shell = PowerShell.Create();
        shell.Runspace = runspace;
        shell.AddScript(RemoteDriver.SessionSetup);
        var answer = shell.Invoke();
        if (shell.HadErrors || answer.Count == 0)
        {
            var reason = shell.Streams.Error.FirstOrDefault()?.ToString() ?? "the session answered nothing";
            throw new HostUnreachableException(hostName, $"the session could not be set up: {reason}");
        }
        int processId = Convert.ToInt32(answer[0].Properties["ProcessId"]!.Value);
        int cores = Convert.ToInt32(answer[0].Properties["Cores"]!.Value);
        return new RemoteSession(runspace, hostName, processId, cores, endRemoteProcess, ownsRunspace);
    }

    public PowerShell NewShell()
    {
        var shell = PowerShell.Create();
        shell.Runspace = _runspace;
        return shell;
    }

    /// <summary>An item's output as Invoke-Command gives it: with PSComputerName, RunspaceId and PSShowComputerName.</summary>
    public PSObject Stamp(PSObject value)
    {
        if (value.Properties["PSComputerName"] is null)
        {
            value.Properties.Add(new PSNoteProperty("PSComputerName", HostName));
            value.Properties.Add(new PSNoteProperty("RunspaceId", _runspace.InstanceId));
            value.Properties.Add(new PSNoteProperty("PSShowComputerName", true));
        }
        return value;
    }

    /// <summary>An item's error, naming the host it came from (in its message and as PSComputerName).</summary>
    public ErrorRecord Stamp(ErrorRecord record)
    {
        var remote = new RemotingErrorRecord(record, new OriginInfo(HostName, _runspace.InstanceId));
        var message = record.ErrorDetails?.Message ?? record.Exception?.Message ?? record.ToString();
        remote.ErrorDetails = new ErrorDetails($"[{HostName}] {message}");
        return remote;
    }

    /// <summary>
    /// Sets the session up (see <see cref="RemoteDriver.BatchSetup"/>): for a batch, its script or
    /// workload with everything the script needs; for a pool, the pool's modules, functions and variables.
    /// </summary>
    public async Task SetUpAsync(ScriptRecipe? script, Type? workload)
    {
        using var shell = NewShell();
        shell.AddScript(RemoteDriver.BatchSetup);
        shell.AddParameter("Script", script?.ScriptText)
            .AddParameter("Variables", ToHashtable(script?.Variables.Select(v => KeyValuePair.Create(v.Name, v.Value))))
            .AddParameter("Functions", ToHashtable(script?.Functions.Select(f => KeyValuePair.Create(f.Key, (object?)f.Value))))
            .AddParameter("Modules", script?.Modules.ToArray() ?? Array.Empty<string>())
            .AddParameter("Preferences", ToHashtable(script?.Preferences.Select(p => KeyValuePair.Create(p.Key, (object?)p.Value.ToString()))))
            .AddParameter("Workload", workload is null ? null : WorkloadCatalog.BuiltInName(workload) ?? workload.FullName);
        // Not stopped when the batch ends meanwhile (the token is not used): a setup takes milliseconds,
        // and a session given back half set up would have to be closed, though it is fit for the next
        // batch. A setup that hangs is bounded instead.
        var invocation = Task.Factory.FromAsync(shell.BeginInvoke(), shell.EndInvoke);
        if (await Task.WhenAny(invocation, Task.Delay(SetupTimeout, CancellationToken.None)).ConfigureAwait(false) != invocation)
        {
            shell.TryBeginStop();
            _ = invocation.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            throw new LaneFailedException($"the session on host '{HostName}' did not finish its setup within {SetupTimeout.TotalSeconds:0} s");
        }
        try
        {
            await invocation.ConfigureAwait(false);
        }
        catch (RuntimeException ex)
        {
            if (IsBrokenBy(ex)) throw Lost(ex);
            if (ex.Message.Contains(RemoteDriver.NoModuleMarker, StringComparison.Ordinal)) throw Errors.ModuleNotOnHost(HostName);
            throw Errors.WorkerSetupFailed($"A session on host '{HostName}'", ex.Message);
        }
    }

    private static Hashtable ToHashtable(IEnumerable<KeyValuePair<string, object?>>? entries)
    {
        var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in entries ?? Array.Empty<KeyValuePair<string, object?>>()) table[key] = value;
        return table;
    }

    /// <summary>Whether <paramref name="failure"/> means the session itself broke (the host dropped), not just its pipeline.</summary>
    public bool IsBrokenBy(Exception failure) =>
        IsBroken || failure is PSRemotingTransportException or InvalidRunspaceStateException or PSRemotingDataStructureException;

    /// <summary>The session broke: the lane failure, naming the host.</summary>
    public LaneFailedException Lost(Exception failure) =>
        new($"the session on host '{HostName}' (process {ProcessId}) was lost: {failure.Message}", failure);

    /// <summary>
    /// The session did not stop (an item stuck past its timeout): ends its remote process from another
    /// session, then closes it. Never waits for the stuck session itself.
    /// </summary>
    public void ForceClose()
    {
        EndRemoteProcess();
        Close();
    }

    /// <summary>Ends the remote process from another session, once: a forced close and a close that hangs may both ask.</summary>
    private void EndRemoteProcess()
    {
        if (_endRemoteProcess is null || Interlocked.Exchange(ref _ending, 1) != 0) return;
        _ = _endRemoteProcess(this).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
    }

    /// <summary>
    /// Closes the session in the background; one that does not close in a few seconds has its remote
    /// process ended. A session the user opened stays open.
    /// </summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0 || !_ownsRunspace) return;
        var closing = Task.Run(() =>
        {
            try
            {
                _runspace.Dispose();
            }
            catch (Exception ex) when (ex is PSRemotingTransportException or InvalidRunspaceStateException or InvalidOperationException)
            {
            }
        });
        if (_endRemoteProcess is null) return;
        _ = Task.WhenAny(closing, Task.Delay(CloseWait)).ContinueWith(first =>
        {
            if (first.Result != closing) EndRemoteProcess();
        }, TaskScheduler.Default);
    }
}
