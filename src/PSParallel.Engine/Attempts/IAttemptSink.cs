namespace PSParallel.Engine.Attempts;

/// <summary>
/// What every kind of lane reports while it runs a chunk, item by item, from its own thread. The
/// batch decides; the lane only tells.
/// </summary>
internal interface IAttemptSink
{
    /// <summary>
    /// Asks to start an attempt. False means skip the item: it was settled meanwhile (a stop, a batch
    /// timeout) or the chunk was aborted. A lane that learns of the start only after the item began
    /// elsewhere (a worker process) ignores everything the skipped item reports afterwards.
    /// </summary>
    bool TryBegin(WorkItem item);

    /// <summary>A Verbose, Warning, Debug, Information or Progress record the item wrote.</summary>
    void Stream(WorkItem item, StreamRecord record);

    /// <summary>The attempt finished: its output and errors (a thrown error included).</summary>
    void End(WorkItem item, AttemptOutcome outcome);
}
