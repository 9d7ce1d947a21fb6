namespace PSParallel.Engine.Measurement;

/// <summary>Samples a working-set probe while a trial runs and keeps the largest value seen.</summary>
internal sealed class MemorySampler : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);
    private readonly Func<long> _probe;
    private readonly Timer _timer;
    private long _peak;

    public MemorySampler(Func<long> probe)
    {
        _probe = probe;
        Sample();
        _timer = new Timer(_ => Sample(), null, Interval, Interval);
    }

    public double PeakMB
    {
        get
        {
            Sample();
            return Interlocked.Read(ref _peak) / (1024.0 * 1024.0);
        }
    }

    private void Sample()
    {
        long bytes;
        try
        {
            bytes = _probe();
        }
        catch (InvalidOperationException)
        {
            return; // a worker exited between listing and reading it
        }
        long seen;
        while (bytes > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, bytes, seen) != seen)
        {
        }
    }

    public void Dispose() => _timer.Dispose();
}
