using System.Collections.Concurrent;
using System.Diagnostics;
using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Measurement;

/// <summary>
/// Wraps an executor so a trial can open its lanes before the clock starts: the lanes are opened
/// and warmed up all at once (the start-up, measured on its own) and handed to the batch as it
/// asks for lanes.
/// A lane the batch never asks for is closed with the executor.
/// </summary>
internal sealed class PreparedExecutor : IExecutor
{
    private readonly IExecutor _inner;
    private readonly ConcurrentQueue<ILane> _opened = new();

    public PreparedExecutor(IExecutor inner) => _inner = inner;

    public ExecutionModel Model => _inner.Model;
    public int MaxItemsPerLane => _inner.MaxItemsPerLane;
    public int MaxLanesOpeningAtOnce => _inner.MaxLanesOpeningAtOnce;
    public bool StartsItemsAhead => _inner.StartsItemsAhead;

    /// <summary>
    /// Opens <paramref name="lanes"/> lanes in parallel, each warmed up by <paramref name="warmUp"/>
    /// once open, and returns how long that took.
    /// </summary>
    public TimeSpan Prepare(int lanes, Func<ILane, Task> warmUp, CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        var opening = Enumerable.Range(0, lanes).Select(_ => OpenWarmAsync(warmUp, token)).ToArray();
        try
        {
            Task.WaitAll(opening, token);
        }
        catch (AggregateException failed) when (failed.InnerExceptions.All(e => e is LaneFailedException))
        {
            // A worker that broke while starting is not set-up trouble: the batch opens another.
        }
        catch (AggregateException failed)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed.InnerExceptions.First(e => e is not LaneFailedException));
        }
        finally
        {
            foreach (var lane in opening.Where(t => t.IsCompletedSuccessfully)) _opened.Enqueue(lane.Result);
            // Stopped while lanes were still opening: close each as it finishes, so no runspace or worker outlives us.
            foreach (var late in opening.Where(t => !t.IsCompleted))
                _ = late.ContinueWith(t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
        return clock.Elapsed;
    }

    private async Task<ILane> OpenWarmAsync(Func<ILane, Task> warmUp, CancellationToken token)
    {
        var lane = await _inner.CreateLaneAsync(token).ConfigureAwait(false);
        try
        {
            await warmUp(lane).ConfigureAwait(false);
        }
        catch
        {
            lane.Dispose();
            throw;
        }
        return lane;
    }

    public Task<ILane> CreateLaneAsync(CancellationToken token) =>
        _opened.TryDequeue(out var lane) ? Task.FromResult(lane) : _inner.CreateLaneAsync(token);

    public double CpuSeconds() => _inner.CpuSeconds();

    public void Dispose()
    {
        while (_opened.TryDequeue(out var lane)) lane.Dispose();
        _inner.Dispose();
    }
}
