namespace PSParallel;

/// <summary>
/// Runspaces or worker processes opened once by Start-WorkerPool and lent to one batch at a time
/// (-Pool), so that repeated batches and "measure, then run" pay the start-up once.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private readonly IWorkerPoolHandle _handle;

    internal WorkerPool(int id, string model, int throttleLimit, IWorkerPoolHandle handle)
    {
        Id = id;
        Model = model;
        ThrottleLimit = throttleLimit;
        _handle = handle;
    }

    public int Id { get; }
    /// <summary>Thread or Process.</summary>
    public string Model { get; }
    /// <summary>Runspaces or worker processes the pool keeps open.</summary>
    public int ThrottleLimit { get; }
    /// <summary>Runspaces or worker processes open now.</summary>
    public int WorkersAlive => _handle.WorkersAlive;
    /// <summary>Batches that have run on the pool.</summary>
    public int BatchesRun => _handle.BatchesRun;
    public WorkerPoolState State => _handle.State;

    internal IWorkerPoolHandle Handle => _handle;

    /// <summary>Closes the pool: idle workers end now, those lent to a batch when it gives them back.</summary>
    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"WorkerPool {Id} ({Model}, {ThrottleLimit}, {State})";
}

/// <summary>Open: ready for a batch; Busy: a batch runs on it; Stopped: closed.</summary>
public enum WorkerPoolState
{
    Open,
    Busy,
    Stopped,
}

/// <summary>The engine's side of a pool, behind the public <see cref="WorkerPool"/>.</summary>
internal interface IWorkerPoolHandle : IDisposable
{
    int WorkersAlive { get; }
    int BatchesRun { get; }
    WorkerPoolState State { get; }
}
