namespace PSParallel.Engine.Lanes.Workloads;

/// <summary>
/// Runs a compiled workload with no runspace. Each lane has its own instance (so a workload need
/// not be thread-safe). Synchronous workloads run on thread-pool threads, a chunk at a time;
/// asynchronous ones are awaited, so ThrottleLimit calls are in flight without holding threads.
/// </summary>
internal sealed class WorkloadExecutor : IExecutor
{
    private readonly Type _type;

    public WorkloadExecutor(Type type, int throttleLimit)
    {
        _type = type;
        EnsureThreadPoolCanRun(throttleLimit);
    }

    /// <summary>
    /// Synchronous lanes each hold a pool thread while they run; the pool adds threads only slowly
    /// beyond its minimum, so raise the minimum to the throttle (process-wide, and only upwards).
    /// </summary>
    private static void EnsureThreadPoolCanRun(int lanes)
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        int wanted = lanes + Environment.ProcessorCount;
        if (workers < wanted) ThreadPool.SetMinThreads(wanted, io);
    }

    public ExecutionModel Model => ExecutionModel.Thread;
    public int MaxItemsPerLane => 0;
    public bool StartsItemsAhead => false;
    public int MaxLanesOpeningAtOnce => int.MaxValue; // a lane is just a new instance

    public Task<ILane> CreateLaneAsync(CancellationToken token) =>
        Task.FromResult<ILane>(new WorkloadLane(Activator.CreateInstance(_type)!));

    public double CpuSeconds() => ProcessCpu.Seconds();

    public void Dispose()
    {
    }
}
