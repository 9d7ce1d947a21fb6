namespace PSParallel;

/// <summary>How one remote host fared in a batch (BatchSummary.Hosts, one row per host).</summary>
public sealed class HostSummary
{
    public HostSummary(string hostName, int sessions, long succeeded, long failed, long timedOut, HostState state, string reason)
    {
        HostName = hostName;
        Sessions = sessions;
        Succeeded = succeeded;
        Failed = failed;
        TimedOut = timedOut;
        State = state;
        Reason = reason ?? "";
    }

    /// <summary>The host as the user named it (-HostName), or the session's computer name (-Session).</summary>
    public string HostName { get; }
    /// <summary>Sessions opened there during the batch (0 when it could not be reached).</summary>
    public int Sessions { get; }
    public long Succeeded { get; }
    public long Failed { get; }
    public long TimedOut { get; }
    public HostState State { get; }
    /// <summary>Why the host is Unreachable or Lost; empty when it is Ok.</summary>
    public string Reason { get; }

    public override string ToString() => $"{HostName} ({State}, {Sessions} sessions)";
}

/// <summary>Ok: used to the end; Unreachable: no session could be opened; Lost: dropped mid-batch and not used again.</summary>
public enum HostState
{
    Ok,
    Unreachable,
    Lost,
}
