namespace PSParallel.Engine.Measurement;

/// <summary>
/// Chooses the degrees of parallelism to try for one model: start at the core count, then double
/// while throughput still grows by a useful margin (waiting work scales past the cores; computing
/// work stops at them), up to a cap.
/// </summary>
internal sealed class DegreeLadder
{
    /// <summary>Throughput must grow by this factor for the next doubling to be tried.</summary>
    public const double Growth = 1.15;

    private readonly int _cap;
    private readonly Func<bool> _worthClimbing;
    private int _current;
    private double _bestRate;

    /// <param name="worthClimbing">Asked before each step up; false ends the ladder (default: always worth it).</param>
    public DegreeLadder(int start, int cap, Func<bool>? worthClimbing = null)
    {
        _cap = Math.Max(1, cap);
        _current = Math.Min(Math.Max(1, start), _cap);
        _worthClimbing = worthClimbing ?? (() => true);
    }

    /// <summary>The next degree to try, or null when the ladder is done.</summary>
    public int? Next => _current > 0 ? _current : null;

    /// <summary>Records the items/s the current degree reached and moves on (or stops).</summary>
    public void Record(double itemsPerSecond)
    {
        bool grew = itemsPerSecond >= _bestRate * Growth;
        _bestRate = Math.Max(_bestRate, itemsPerSecond);
        _current = grew && _current < _cap && _worthClimbing() ? Math.Min(_current * 2, _cap) : 0;
    }
}
