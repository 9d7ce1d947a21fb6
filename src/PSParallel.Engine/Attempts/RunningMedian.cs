namespace PSParallel.Engine.Attempts;

/// <summary>
/// The median of the durations seen so far (-ItemTimeoutFactor), kept in two heaps: the lower half
/// (largest on top) and the upper half (smallest on top). Adding is O(log n); reading is O(1).
/// Lanes add from their own threads, the deadline watch reads from a timer: all under one lock.
/// </summary>
internal sealed class RunningMedian
{
    private readonly PriorityQueue<long, long> _lower = new(); // priority = -ticks: largest first
    private readonly PriorityQueue<long, long> _upper = new(); // priority = ticks: smallest first
    private readonly object _gate = new();

    public int Count
    {
        get { lock (_gate) return _lower.Count + _upper.Count; }
    }

    public void Add(TimeSpan duration)
    {
        long ticks = duration.Ticks;
        lock (_gate)
        {
            if (_lower.Count == 0 || ticks <= _lower.Peek()) _lower.Enqueue(ticks, -ticks);
            else _upper.Enqueue(ticks, ticks);
            // Keep the lower half equal to the upper half, or one larger.
            if (_lower.Count > _upper.Count + 1)
            {
                long moved = _lower.Dequeue();
                _upper.Enqueue(moved, moved);
            }
            else if (_upper.Count > _lower.Count)
            {
                long moved = _upper.Dequeue();
                _lower.Enqueue(moved, -moved);
            }
        }
    }

    /// <summary>The median, and how many durations it is taken from (zero: none yet).</summary>
    public (TimeSpan Median, int Count) Read()
    {
        lock (_gate)
        {
            int count = _lower.Count + _upper.Count;
            if (count == 0) return (TimeSpan.Zero, 0);
            long median = count % 2 == 1 ? _lower.Peek() : (_lower.Peek() + _upper.Peek()) / 2;
            return (TimeSpan.FromTicks(median), count);
        }
    }
}
