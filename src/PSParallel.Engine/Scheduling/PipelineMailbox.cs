using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Scheduling;

/// <summary>
/// Hands events from lanes to the pipeline thread, the only thread allowed to write to the
/// caller's streams. Lanes post; the pipeline thread takes everything at once.
/// </summary>
internal sealed class PipelineMailbox
{
    private readonly object _gate = new();
    private List<BatchEvent> _incoming = new();
    private List<BatchEvent> _outgoing = new();
    private volatile bool _hasEvents;

    /// <summary>A lock-free look, so the pipeline thread's per-item check costs next to nothing.</summary>
    public bool HasEvents => _hasEvents;

    public void Post(BatchEvent e)
    {
        lock (_gate)
        {
            _incoming.Add(e);
            if (_incoming.Count == 1)
            {
                _hasEvents = true;
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Everything posted so far; waits up to <paramref name="wait"/> when nothing is there.</summary>
    public List<BatchEvent> TakeAll(TimeSpan wait)
    {
        lock (_gate)
        {
            if (_incoming.Count == 0 && wait > TimeSpan.Zero) Monitor.Wait(_gate, wait);
            _hasEvents = false;
            (_incoming, _outgoing) = (_outgoing, _incoming);
            _incoming.Clear();
            return _outgoing;
        }
    }
}
