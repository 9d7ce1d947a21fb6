namespace PSParallel.Engine.Lanes.Threads;

/// <summary>
/// Compacts the heap of a process that runs script items once the collector's pauses since the
/// last compaction have cost <see cref="PauseBudget"/> times what that compaction did.
/// PowerShell's short-lived objects that survive a young collection pile up in gen2 as garbage,
/// which the runtime here leaves there (its gen2 budget grows with the machine's memory), and every
/// young collection then pauses longer. Measured: 200 allocation-heavy items on 2 threads, round
/// after round in one session, took 4.5, 4.7, 6.6, 7.4 s, of which the collector paused 0.8, 2.0,
/// 3.6, 4.6 s, the heap growing from 30 to 103 MB; with this 4.0, 2.9, 3.1, 2.7 s, pauses 0.5 s a
/// round, heap 11-16 MB (a budget of 2 or 8 did about as well). Worker processes get the runtime's
/// GCConserveMemory instead (WorkerCommand); the caller's runtime settings are not ours, so for
/// the caller's runspaces the engine does it. What it adds is bounded: its own pauses stay under a
/// quarter of the collector's, whatever the size of the session's heap.
/// </summary>
internal static class HeapCompactor
{
    private const double PauseBudget = 4;

    // One thread looks or compacts at a time; a lane that finds it taken goes on with its items.
    private static readonly object Gate = new();
    private static int _seenYoungCollections = -1;
    private static TimeSpan _pauseAtCompaction = TimeSpan.MinValue;
    private static TimeSpan _compactionCost;

    /// <summary>Called on a lane's thread after each item; cheap unless a young collection happened since the last call.</summary>
    public static void AfterItem()
    {
        int young = GC.CollectionCount(0);
        if (young == Volatile.Read(ref _seenYoungCollections)) return;
        if (!Monitor.TryEnter(Gate)) return;
        try
        {
            _seenYoungCollections = young;
            var paused = GC.GetTotalPauseDuration();
            if (_pauseAtCompaction == TimeSpan.MinValue)
            {
                // No compaction seen yet: count from now, at what collecting this heap is likely to
                // cost. Measured here: about 0.3 ms per MB of live data, 2 ms for an empty heap; the
                // heap's size counts its garbage too, and 0.5 ms a MB of it errs long, so the first
                // compaction comes later rather than sooner.
                _pauseAtCompaction = paused;
                _compactionCost = TimeSpan.FromMilliseconds(2 + 0.5 * GC.GetGCMemoryInfo().HeapSizeBytes / (1024 * 1024));
                return;
            }
            if (paused - _pauseAtCompaction < _compactionCost * PauseBudget) return;
            CompactAndRecord();
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    /// <summary>
    /// Compacts now (Measure-ConcurrencyModel before each trial), and counts the pauses from here,
    /// so that a compaction asked for elsewhere is not followed at once by another.
    /// </summary>
    public static void Compact()
    {
        lock (Gate) CompactAndRecord();
    }

    private static void CompactAndRecord()
    {
        var before = GC.GetTotalPauseDuration();
        GC.Collect();
        var after = GC.GetTotalPauseDuration();
        _compactionCost = after - before;
        _pauseAtCompaction = after;
        _seenYoungCollections = GC.CollectionCount(0);
    }
}
