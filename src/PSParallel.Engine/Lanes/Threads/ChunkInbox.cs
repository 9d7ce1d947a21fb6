using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Lanes.Threads;

/// <summary>A chunk handed to a runspace's serving loop, and the task that ends when the loop has run it.</summary>
internal sealed class ChunkRequest(IReadOnlyList<WorkItem> items, IAttemptSink sink)
{
    public IReadOnlyList<WorkItem> Items { get; } = items;
    public IAttemptSink Sink { get; } = sink;
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Hands chunks to the loop that serves a runspace (<see cref="ChunkDriver.Serve"/>), one at a time:
/// the lane posts, the loop takes on the runspace's own thread and waits there while there is none.
/// Closing it ends the loop. Whatever the loop had taken or been given when it ended is returned by
/// <see cref="LoopEnded"/>, so that the lane can finish it.
/// <para>
/// A stop is for the chunk running now (<see cref="TryMarkStopping"/>): PowerShell can stop the
/// loop's invocation only where it runs script, so a stop that reached it idle would stop the next
/// chunk's first item instead. So a stop is asked only while its chunk runs, and the loop then takes
/// no other chunk: the next one starts a new invocation.
/// </para>
/// </summary>
internal sealed class ChunkInbox
{
    private readonly object _gate = new();
    private readonly SemaphoreSlim _posted = new(0);
    private ChunkRequest? _next;
    private ChunkRequest? _taken;
    private bool _closed;
    private bool _stopping;

    public void Post(ChunkRequest request)
    {
        lock (_gate) _next = request;
        _posted.Release();
    }

    /// <summary>The next chunk, waiting for it; null once the inbox is closed.</summary>
    public ChunkRequest? Take()
    {
        while (true)
        {
            _posted.Wait();
            lock (_gate)
            {
                if (_closed || _stopping) return null;
                // A wake-up left over from a loop that ended before taking its chunk finds nothing: wait again.
                if (_next is null) continue;
                (_taken, _next) = (_next, null);
                return _taken;
            }
        }
    }

    /// <summary>The loop ran the chunk it took.</summary>
    public void Finished(ChunkRequest request)
    {
        lock (_gate) if (_taken == request) _taken = null;
        request.Done.TrySetResult();
    }

    /// <summary>
    /// Whether a chunk is running now (<paramref name="only"/> that one, when given): then the loop
    /// takes no other, and the caller may stop the invocation.
    /// </summary>
    public bool TryMarkStopping(ChunkRequest? only)
    {
        lock (_gate)
        {
            if (_taken is null || (only is not null && _taken != only)) return false;
            _stopping = true;
            return true;
        }
    }

    /// <summary>The loop has ended: the chunk it was running or had been given, if any. The next loop starts afresh.</summary>
    public ChunkRequest? LoopEnded()
    {
        lock (_gate)
        {
            var left = _taken ?? _next;
            _taken = null;
            _next = null;
            _stopping = false;
            return left;
        }
    }

    public void Close()
    {
        lock (_gate) _closed = true;
        _posted.Release();
    }
}
