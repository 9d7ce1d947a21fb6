using System.Management.Automation;
using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Lanes.Workloads;

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
            if (!sink.TryBegin(item)) continue;
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
            sink.End(item, failure is not null
                ? AttemptOutcome.Failed(Errors.ForException(failure, item.Input))
                : new AttemptOutcome(result is null ? Array.Empty<object?>() : new[] { result }, Array.Empty<ErrorRecord>()));
        }
    }

    public void Abort() => _abort.Cancel();

    // The token source is not disposed: a timeout may abort the lane after the slot let it go,
    // and a source without timers holds nothing that needs disposing.
    public void Dispose()
    {
    }
}
