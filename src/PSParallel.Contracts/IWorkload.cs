namespace PSParallel;

/// <summary>
/// A compiled workload: called once per item on a thread-pool thread, with no runspace.
/// Implement it in a public type with a parameterless constructor.
/// </summary>
public interface IWorkload
{
    object? Invoke(object? input, CancellationToken token);
}

/// <summary>
/// An asynchronous compiled workload: ThrottleLimit calls are kept in flight without holding threads.
/// </summary>
public interface IAsyncWorkload
{
    Task<object?> InvokeAsync(object? input, CancellationToken token);
}
