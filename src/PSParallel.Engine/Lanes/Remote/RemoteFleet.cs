using System.Management.Automation.Runspaces;

namespace PSParallel.Engine.Lanes.Remote;

/// <summary>
/// The hosts of a remote batch or pool and their sessions. Connects to every host at once (one
/// session first, which tells the host's core count, then the rest), keeps each host's state, and
/// opens replacement sessions: where a host has fewer than its share (a session broke or was closed
/// after an item timed out), else, when a host was lost, on the host with the fewest sessions over
/// its share, so the batch keeps its number of sessions. A host whose session broke and that cannot
/// be reached again is Lost and not used again (whether a broken session means a lost host is found
/// out only then); once no host is left, the lanes it gives fail every item with one reason.
/// </summary>
internal sealed class RemoteFleet : IHostReport
{
    // A broken session's host is checked by connecting again, for at most this long.
    private const double CheckTimeoutSeconds = 10;
    private readonly object _gate = new();
    private readonly List<HostEntry> _hosts;
    private readonly int _sessionsPerHost;

    private RemoteFleet(IEnumerable<HostEntry> hosts, int sessionsPerHost)
    {
        _hosts = hosts.ToList();
        _sessionsPerHost = sessionsPerHost;
    }

    /// <summary>Lanes for the sessions opened by <see cref="ConnectAsync"/>.</summary>
    public IReadOnlyList<RemoteLane> Opened { get; private set; } = Array.Empty<RemoteLane>();

    /// <summary>Hosts that could not be reached, with New-PSSession's reason (for the caller's non-terminating errors).</summary>
    public IReadOnlyList<HostStatus> Unreachable()
    {
        lock (_gate) return _hosts.Where(h => h.State == HostState.Unreachable).Select(h => h.Status()).ToList();
    }

    /// <param name="sessionsPerHost">sessions on each host; 0 for the host's processor count</param>
    public static async Task<RemoteFleet> ConnectAsync(IReadOnlyList<SshTarget> targets, int sessionsPerHost, CancellationToken token)
    {
        var fleet = new RemoteFleet(targets.Select(t => new HostEntry(t)), sessionsPerHost);
        var connecting = fleet._hosts.Select(h => fleet.ConnectHostAsync(h, token)).ToArray();
        fleet.Opened = (await AllOrCloseAsync(connecting, lanes => { foreach (var lane in lanes) lane.Dispose(); }).ConfigureAwait(false)).SelectMany(lanes => lanes).ToList();
        return fleet;
    }

    /// <summary>Sessions the user opened (-Session): one lane each; they stay open after the batch.</summary>
    public static RemoteFleet FromSessions(IReadOnlyList<(Runspace Runspace, string ComputerName)> sessions)
    {
        var hosts = sessions.GroupBy(s => s.ComputerName, StringComparer.OrdinalIgnoreCase)
            .Select(g => new HostEntry(null) { Name = g.Key, Target = g.Count() }).ToList();
        var fleet = new RemoteFleet(hosts, 0);
        var lanes = new List<RemoteLane>();
        foreach (var (runspace, computer) in sessions)
        {
            var host = hosts.First(h => string.Equals(h.Name, computer, StringComparison.OrdinalIgnoreCase));
            try
            {
                lanes.Add(fleet.Track(host, RemoteSession.Start(runspace, computer, endRemoteProcess: null, ownsRunspace: false)));
            }
            catch (HostUnreachableException ex)
            {
                fleet.MarkOut(host, HostState.Unreachable, ex.Message);
            }
        }
        fleet.Opened = lanes;
        return fleet;
    }

    private async Task<IReadOnlyList<RemoteLane>> ConnectHostAsync(HostEntry host, CancellationToken token)
    {
        RemoteLane first;
        try
        {
            first = await OpenOnAsync(host, token).ConfigureAwait(false);
        }
        catch (HostUnreachableException ex)
        {
            MarkOut(host, HostState.Unreachable, ex.Message);
            return Array.Empty<RemoteLane>();
        }
        lock (_gate) host.Target = _sessionsPerHost > 0 ? _sessionsPerHost : first.Cores;
        var more = Enumerable.Range(1, host.Target - 1).Select(async _ =>
        {
            try
            {
                return await OpenOnAsync(host, token).ConfigureAwait(false);
            }
            catch (HostUnreachableException)
            {
                // The host answered once: it runs with the sessions it could open.
                return null;
            }
        }).ToArray();
        try
        {
            var rest = await AllOrCloseAsync(more, lane => lane?.Dispose()).ConfigureAwait(false);
            return rest.Where(l => l is not null).Prepend(first).ToList()!;
        }
        catch
        {
            first.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for every opening; when one fails (a stop while connecting), closes the sessions the
    /// others opened, so that none outlives the call.
    /// </summary>
    private static async Task<T[]> AllOrCloseAsync<T>(Task<T>[] opening, Action<T> close)
    {
        try
        {
            return await Task.WhenAll(opening).ConfigureAwait(false);
        }
        catch
        {
            foreach (var done in opening.Where(t => t.IsCompletedSuccessfully)) close(done.Result);
            throw;
        }
    }

    /// <summary>
    /// A lane to replace one that ended (a broken session, or one closed after an item timed out):
    /// a new session where one is missing, or, when no host is left, a lane that fails its items.
    /// </summary>
    public async Task<IReusableLane> OpenReplacementAsync(CancellationToken token)
    {
        while (true)
        {
            HostEntry? host;
            lock (_gate)
            {
                host = _hosts.Where(h => h.State == HostState.Ok && h.Target > 0)
                    .OrderBy(h => h.Live - h.Target).ThenBy(h => h.Live).FirstOrDefault();
            }
            if (host is null) return new NoHostLane(NoHostReason());
            if (host.Source is null)
            {
                // A user's session (-Session) cannot be opened again.
                MarkOut(host, HostState.Lost, "its session ended and was not opened by the batch, so it cannot be opened again");
                continue;
            }
            try
            {
                return await OpenOnAsync(host, token).ConfigureAwait(false);
            }
            catch (HostUnreachableException ex)
            {
                // It answered before: lost mid-batch.
                MarkOut(host, HostState.Lost, ex.Message);
            }
        }
    }

    /// <summary>
    /// A session on the host broke: connects to it once more (bounded) to tell a lost host from one
    /// session's end (its process crashed). One check at a time per host; a session the user opened
    /// (-Session) cannot be checked this way, and is left to <see cref="OpenReplacementAsync"/>.
    /// </summary>
    private Task CheckAsync(HostEntry host)
    {
        lock (_gate)
        {
            if (host.Source is null || host.State != HostState.Ok) return Task.CompletedTask;
            return host.Check ??= CheckNowAsync(host);
        }
    }

    private async Task CheckNowAsync(HostEntry host)
    {
        var target = host.Source! with { ConnectTimeout = TimeSpan.FromSeconds(Math.Min(host.Source!.ConnectTimeout.TotalSeconds, CheckTimeoutSeconds)) };
        try
        {
            using var probe = await SessionOpener.OpenAsync(target, CancellationToken.None).ConfigureAwait(false);
        }
        catch (HostUnreachableException ex)
        {
            MarkOut(host, HostState.Lost, ex.Message);
        }
        finally
        {
            lock (_gate) host.Check = null;
        }
    }

    public IReadOnlyList<HostStatus> Hosts()
    {
        lock (_gate) return _hosts.Select(h => h.Status()).ToList();
    }

    private async Task<RemoteLane> OpenOnAsync(HostEntry host, CancellationToken token)
    {
        var target = host.Source!;
        var runspace = await SessionOpener.OpenAsync(target, token).ConfigureAwait(false);
        try
        {
            return Track(host, RemoteSession.Start(runspace, target.HostName, s => EndRemoteProcessAsync(target, s.ProcessId),
                ownsRunspace: true));
        }
        catch
        {
            runspace.Dispose();
            throw;
        }
    }

    private RemoteLane Track(HostEntry host, RemoteSession session)
    {
        lock (_gate)
        {
            host.Opened++;
            host.Live++;
        }
        return new RemoteLane(session, () =>
        {
            lock (_gate) host.Live--;
        }, () => CheckAsync(host));
    }

    private void MarkOut(HostEntry host, HostState state, string reason)
    {
        lock (_gate)
        {
            if (host.State != HostState.Ok) return;
            host.State = state;
            host.Reason = reason;
        }
    }

    private string NoHostReason()
    {
        lock (_gate)
        {
            return string.Join("; ", _hosts.Select(h => $"'{h.Name}' is {h.State.ToString().ToLowerInvariant()} ({h.Reason})"));
        }
    }

    /// <summary>Ends a remote process that its own session could not stop, from a new session on the same host.</summary>
    private static async Task EndRemoteProcessAsync(SshTarget target, int processId)
    {
        using var runspace = await SessionOpener.OpenAsync(target with { ConnectTimeout = TimeSpan.FromSeconds(10) }, CancellationToken.None)
            .ConfigureAwait(false);
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = runspace;
        shell.AddScript("param($id) Stop-Process -Id $id -Force -ErrorAction SilentlyContinue").AddArgument(processId);
        await Task.Factory.FromAsync(shell.BeginInvoke(), shell.EndInvoke).ConfigureAwait(false);
    }

    private sealed class HostEntry(SshTarget? source)
    {
        public SshTarget? Source { get; } = source;
        public string Name { get; init; } = source?.HostName ?? "";
        /// <summary>Sessions wanted there: -ThrottleLimit, or the host's core count once known.</summary>
        public int Target { get; set; } = 1;
        public int Opened { get; set; }
        public int Live { get; set; }
        public HostState State { get; set; } = HostState.Ok;
        public string Reason { get; set; } = "";
        /// <summary>The check running after one of its sessions broke.</summary>
        public Task? Check { get; set; }

        public HostStatus Status() => new(Name, Opened, State, Reason);
    }
}
