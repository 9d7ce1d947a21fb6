using System.Collections.Concurrent;

namespace PSParallel.Engine.Attempts;

/// <summary>Settled items counted by the remote host their last attempt ran on (BatchSummary.Hosts).</summary>
internal sealed class HostTally
{
    private readonly ConcurrentDictionary<string, ItemTally> _hosts = new(StringComparer.OrdinalIgnoreCase);

    public void Count(string host, ItemStatus status) => _hosts.GetOrAdd(host, _ => new ItemTally()).Count(status);

    /// <summary>The host's count of items in <paramref name="status"/>; 0 for a host that ran none.</summary>
    public long Of(string host, ItemStatus status) => _hosts.TryGetValue(host, out var tally) ? tally[status] : 0;
}
