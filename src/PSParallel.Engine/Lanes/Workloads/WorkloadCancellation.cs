namespace PSParallel.Engine.Lanes.Workloads;

/// <summary>
/// The token a compiled workload gets for a chunk's items: cancelled when the batch stops or the
/// lane is aborted (an item timeout). Not a linked token source, because a linked source runs the
/// workload's own registrations inside the canceller's Cancel call: the batch's stop, or a timer
/// thread for a timeout, where a registration that throws would leave the stop half done or end the
/// whole process. Here the cancelling is done by callbacks of ours that keep such a failure in.
/// </summary>
internal sealed class WorkloadCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly CancellationTokenRegistration _onStop;
    private readonly CancellationTokenRegistration _onAbort;

    public WorkloadCancellation(CancellationToken stop, CancellationToken abort)
    {
        _onStop = stop.Register(CancelQuietly);
        _onAbort = abort.Register(CancelQuietly);
    }

    public CancellationToken Token => _source.Token;

    private void CancelQuietly()
    {
        try
        {
            _source.Cancel();
        }
        catch (AggregateException)
        {
            // The workload's own callbacks failed. Its items already have their state (the stop or
            // the timeout gave it), and the failure is the workload's, not the batch's.
        }
    }

    /// <summary>
    /// Unregisters without waiting: a workload callback that blocks must not hold the lane. The
    /// source is left to the collector rather than disposed, since a cancel may still be running
    /// on it, and a source without timers holds nothing else.
    /// </summary>
    public void Dispose()
    {
        _onStop.Unregister();
        _onAbort.Unregister();
    }
}
