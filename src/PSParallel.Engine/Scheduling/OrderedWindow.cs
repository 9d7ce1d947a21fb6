using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Scheduling;

/// <summary>
/// Holds settled items until every earlier one has settled, so output follows input order.
/// Used on the pipeline thread only; its size is bounded by the batch's admission capacity.
/// </summary>
internal sealed class OrderedWindow
{
    private readonly Dictionary<long, WorkItem> _waiting = new();
    private long _next;

    /// <summary>Adds a settled item and returns the items now ready, in input order.</summary>
    public IEnumerable<WorkItem> Release(WorkItem item)
    {
        _waiting.Add(item.Index, item);
        while (_waiting.Remove(_next, out var ready))
        {
            _next++;
            yield return ready;
        }
    }
}
