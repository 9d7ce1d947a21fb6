namespace PSParallel.Engine.Scheduling;

/// <summary>
/// Chooses how many items a lane takes at once: enough that a chunk lasts about
/// <see cref="TargetChunk"/> (so tiny items are not dominated by invocation cost), never more
/// than a fair share of what is queued (so no lane idles while another holds a queue).
/// Slow or not yet measured items go one at a time.
/// </summary>
internal sealed class ChunkSizer
{
    private static readonly long TargetChunk = TimeSpan.FromMilliseconds(10).Ticks;
    private readonly int _max;
    private readonly int _fixed;
    private double _meanItemTicks;

    /// <param name="max">largest chunk; 1 turns chunking off</param>
    /// <param name="fixedSize">when above 0, every chunk has this size (what the queue holds permitting)</param>
    public ChunkSizer(int max, int fixedSize = 0)
    {
        _max = Math.Max(1, max);
        _fixed = fixedSize;
    }

    public int NextSize(int queued, int lanes)
    {
        if (_fixed > 0) return _fixed;
        double mean = Volatile.Read(ref _meanItemTicks);
        if (_max == 1 || mean <= 0) return 1;
        long byTime = (long)(TargetChunk / mean);
        long fairShare = (queued + lanes - 1) / Math.Max(1, lanes);
        return (int)Math.Clamp(Math.Min(byTime, fairShare), 1, _max);
    }

    /// <summary>Feeds one item's duration into a moving mean. Races between lanes only blur the mean.</summary>
    public void Observe(TimeSpan duration)
    {
        double mean = Volatile.Read(ref _meanItemTicks);
        Volatile.Write(ref _meanItemTicks, mean <= 0 ? duration.Ticks : mean * 0.9 + duration.Ticks * 0.1);
    }
}
