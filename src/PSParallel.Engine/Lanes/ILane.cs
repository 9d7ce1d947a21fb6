using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Lanes;

/// <summary>
/// Where items run: one runspace, one worker process, or one thread-pool slot. The engine opens up
/// to ThrottleLimit lanes as the queue needs them and reuses idle ones; a lane runs the items of a
/// chunk one after the other.
/// </summary>
internal interface ILane : IDisposable
{
    /// <summary>Runspace id, process id or managed thread id, reported as ItemResult.Worker.</summary>
    int WorkerId { get; }

    /// <summary>The remote host the lane runs on, as the user named it; null for a lane on this machine.</summary>
    string? HostName => null;

    /// <summary>
    /// Runs each item of <paramref name="chunk"/> in order, calling <see cref="IAttemptSink.TryBegin"/>
    /// before each (and skipping the item when it says no) and <see cref="IAttemptSink.End"/> after. Returns when the chunk is done or the token
    /// is cancelled. Throws <see cref="LaneFailedException"/> when the lane itself broke.
    /// </summary>
    Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token);

    /// <summary>Stops the lane at once (an item timed out); the engine discards the lane afterwards.</summary>
    void Abort();
}

/// <summary>Makes lanes for one batch; holds what every lane shares (script, workload type, setup).</summary>
internal interface IExecutor : IDisposable
{
    /// <summary>How its lanes run items (BatchSummary.Model).</summary>
    ExecutionModel Model { get; }

    /// <summary>Items a lane may run before it is replaced (0: no limit); 1 gives each item a fresh lane.</summary>
    int MaxItemsPerLane { get; }

    /// <summary>
    /// How many lanes may be opening at the same time. Lanes whose opening is this process's CPU
    /// work gain nothing from opening more at once than there are cores; those that mostly wait
    /// (a worker process starting) open all together.
    /// </summary>
    int MaxLanesOpeningAtOnce { get; }

    /// <summary>
    /// Its lanes start a chunk's items on their own side (a worker process) and report each start
    /// afterwards, so <see cref="IAttemptSink.TryBegin"/> cannot hold an item back. The batch then
    /// commits to items as it hands them out (see <c>ItemLedger.TryDispatch</c>), one at a time when
    /// a halt limit is set, so that no item starts after the limit is reached.
    /// </summary>
    bool StartsItemsAhead { get; }

    /// <summary>Creates and prepares a lane; may take time (runspace open, process start).</summary>
    Task<ILane> CreateLaneAsync(CancellationToken token);

    /// <summary>Processor time used by the batch so far, in seconds.</summary>
    double CpuSeconds();
}
