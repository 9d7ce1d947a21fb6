namespace PSParallel.Engine;

/// <summary>
/// Runs a compiled workload with no runspace. Each lane has its own instance (so a workload need
/// not be thread-safe). Synchronous workloads run on thread-pool threads, a chunk at a time;
/// asynchronous ones are awaited, so ThrottleLimit calls are in flight without holding threads.
/// </summary>
public sealed class WorkloadExecutor : IExecutor
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

    public string Model => "Thread";
    public int MaxItemsPerLane => 0;
    public bool SupportsChunks => true;
    public int MaxLanesOpeningAtOnce => int.MaxValue; // a lane is just a new instance

    public Task<ILane> CreateLaneAsync(CancellationToken token) =>
        Task.FromResult<ILane>(new WorkloadLane(Activator.CreateInstance(_type)!));

    public double CpuSeconds() => ProcessCpu.Seconds();

    public void Dispose()
    {
    }
}

/// <summary>
/// A lane running one workload instance. A synchronous workload's chunk runs on one thread-pool
/// thread; an asynchronous one is awaited item by item, holding no thread while it waits.
/// </summary>
internal sealed class WorkloadLane : ILane
{
    private readonly IWorkload? _workload;
    private readonly IAsyncWorkload? _asyncWorkload;
    private readonly CancellationTokenSource _abort = new();

    public WorkloadLane(object instance)
    {
        _asyncWorkload = instance as IAsyncWorkload;
        _workload = _asyncWorkload is null ? (IWorkload)instance : null;
    }

    public int WorkerId => Environment.CurrentManagedThreadId;

    public Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token) =>
        _asyncWorkload is null
            ? Task.Run(() => RunItemsAsync(chunk, sink, token), CancellationToken.None)
            : RunItemsAsync(chunk, sink, token);

    private async Task RunItemsAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token)
    {
        using var cancellation = new WorkloadCancellation(token, _abort.Token);
        foreach (var item in chunk)
        {
            if (cancellation.Token.IsCancellationRequested) return;
            if (!sink.TryBegin(item, this)) continue;
            object? result = null;
            Exception? failure = null;
            try
            {
                result = _asyncWorkload is not null
                    ? await _asyncWorkload.InvokeAsync(item.Input, cancellation.Token).ConfigureAwait(false)
                    : _workload!.Invoke(item.Input, cancellation.Token);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            if (failure is not null)
                sink.End(item, Array.Empty<object?>(), new[] { BatchErrors.ForException(failure, item.Input) });
            else
                sink.End(item, result is null ? Array.Empty<object?>() : new[] { result }, Array.Empty<System.Management.Automation.ErrorRecord>());
        }
    }

    public void Abort() => _abort.Cancel();

    // The token source is not disposed: a timeout may abort the lane after the slot let it go,
    // and a source without timers holds nothing that needs disposing.
    public void Dispose()
    {
    }
}
