namespace PSParallel.Engine.Scheduling;

/// <summary>The per-call settings the engine needs; filled by a cmdlet from its parameters.</summary>
internal sealed class BatchOptions
{
    public int ThrottleLimit { get; init; } = DefaultThreadThrottle;
    public TimeSpan? BatchTimeout { get; init; }
    public TimeSpan? ItemTimeout { get; init; }
    /// <summary>
    /// Time out an item running longer than this many times the median duration of the items that
    /// succeeded so far, once <see cref="Attempts.ItemLedger.RelativeTimeoutFrom"/> have (-ItemTimeoutFactor); 0 for none.
    /// </summary>
    public double ItemTimeoutFactor { get; init; }
    public bool Ordered { get; init; }
    public int RetryCount { get; init; }
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// Largest chunk a lane may take at once; 1 turns chunking off. Threads pay little per chunk
    /// (64 is plenty); a worker process pays a pipe round trip, so process batches use larger chunks.
    /// </summary>
    public int MaxChunkSize { get; init; } = 64;
    /// <summary>Items per chunk when the caller fixes it (Invoke-ProcessBatch -ChunkSize); 0: automatic.</summary>
    public int FixedChunkSize { get; init; }
    /// <summary>Where to journal settled items (-JournalPath, a full file-system path); null for none.</summary>
    public string? JournalPath { get; init; }
    /// <summary>Skip the items the journal records as Succeeded (-Resume).</summary>
    public bool Resume { get; init; }
    /// <summary>Halt once this many items failed or timed out (-MaxFailures); 0 for no limit.</summary>
    public int MaxFailures { get; init; }
    /// <summary>Halt once this percentage of the finished items failed (-MaxFailurePercent); 0 for no limit.</summary>
    public double MaxFailurePercent { get; init; }
    public bool HasFailureLimit => MaxFailures > 0 || MaxFailurePercent > 0;
    /// <summary>At most this many item starts per second across the batch (-MaxPerSecond); 0 for no limit.</summary>
    public double MaxPerSecond { get; init; }
    /// <summary>
    /// When the call began (a Stopwatch timestamp), so that the summary's Duration counts what came
    /// before the batch could start, such as connecting to remote hosts; 0: when the batch starts.
    /// </summary>
    public long StartTimestamp { get; init; }
    /// <summary>Activity shown in the progress bar (the cmdlet name).</summary>
    public string Activity { get; init; } = "PSParallel";

    /// <summary>Python's ThreadPoolExecutor default: min(32, cores + 4).</summary>
    public static int DefaultThreadThrottle => Math.Min(32, Environment.ProcessorCount + 4);

    /// <summary>
    /// Items admitted but not yet emitted. Bounds memory (backpressure) and the ordered window;
    /// large enough that every lane can take a full chunk with a second one waiting.
    /// </summary>
    public int Capacity => Math.Max(64, ThrottleLimit * MaxChunkSize * 2);
}
