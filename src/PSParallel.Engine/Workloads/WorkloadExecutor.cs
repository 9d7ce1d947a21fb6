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

    public Task<ILane> CreateLaneAsync(CancellationToken token)
    {
        var instance = Activator.CreateInstance(_type)!;
        ILane lane = instance is IAsyncWorkload async ? new AsyncWorkloadLane(async) : new WorkloadLane((IWorkload)instance);
        return Task.FromResult(lane);
    }

    public double CpuSeconds() => ProcessCpu.Seconds();

    public void Dispose()
    {
    }
}

/// <summary>A lane for a synchronous workload: runs the chunk on a thread-pool thread.</summary>
internal sealed class WorkloadLane : ILane
{
    private readonly IWorkload _workload;
    private readonly CancellationTokenSource _abort = new();

    public WorkloadLane(IWorkload workload) => _workload = workload;

    public int WorkerId { get; private set; }

    public Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token) => Task.Run(() =>
    {
        WorkerId = Environment.CurrentManagedThreadId;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, _abort.Token);
        foreach (var item in chunk)
        {
            if (linked.IsCancellationRequested) return;
            if (!sink.TryBegin(item, this)) continue;
            WorkloadCall.Complete(item, sink, () => _workload.Invoke(item.Input, linked.Token));
        }
    }, CancellationToken.None);

    public void Abort() => _abort.Cancel();

    // The token source is not disposed: a timeout may abort the lane after the slot let it go,
    // and a source without timers holds nothing that needs disposing.
    public void Dispose()
    {
    }
}

/// <summary>A lane for an asynchronous workload: awaits each call, holding no thread meanwhile.</summary>
internal sealed class AsyncWorkloadLane : ILane
{
    private readonly IAsyncWorkload _workload;
    private readonly CancellationTokenSource _abort = new();

    public AsyncWorkloadLane(IAsyncWorkload workload) => _workload = workload;

    public int WorkerId => Environment.CurrentManagedThreadId;

    public async Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, _abort.Token);
        foreach (var item in chunk)
        {
            if (linked.IsCancellationRequested) return;
            if (!sink.TryBegin(item, this)) continue;
            object? result = null;
            Exception? failure = null;
            try
            {
                result = await _workload.InvokeAsync(item.Input, linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            WorkloadCall.Report(item, sink, result, failure);
        }
    }

    public void Abort() => _abort.Cancel();

    // The token source is not disposed: a timeout may abort the lane after the slot let it go,
    // and a source without timers holds nothing that needs disposing.
    public void Dispose()
    {
    }
}

/// <summary>Turns a workload call's result or exception into an attempt report.</summary>
internal static class WorkloadCall
{
    public static void Complete(WorkItem item, IAttemptSink sink, Func<object?> call)
    {
        object? result = null;
        Exception? failure = null;
        try
        {
            result = call();
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        Report(item, sink, result, failure);
    }

    public static void Report(WorkItem item, IAttemptSink sink, object? result, Exception? failure)
    {
        if (failure is not null)
            sink.End(item, Array.Empty<object?>(), new[] { BatchErrors.ForException(failure, item.Input) });
        else
            sink.End(item, result is null ? Array.Empty<object?>() : new[] { result }, Array.Empty<System.Management.Automation.ErrorRecord>());
    }
}
