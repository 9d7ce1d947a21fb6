namespace PSParallel.Engine.Lanes.Remote;

/// <summary>One host's state as the fleet knows it: sessions opened there, and why it is out (Unreachable, Lost).</summary>
internal sealed record HostStatus(string HostName, int Sessions, HostState State, string Reason);

/// <summary>Something that runs items on remote hosts and can say how each host fared.</summary>
internal interface IHostReport
{
    IReadOnlyList<HostStatus> Hosts();
}
