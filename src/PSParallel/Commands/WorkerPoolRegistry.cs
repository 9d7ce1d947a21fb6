using System.Collections.Concurrent;

namespace PSParallel.Commands;

/// <summary>The pools this process has started and not yet stopped, for Get-WorkerPool.</summary>
internal static class WorkerPoolRegistry
{
    private static readonly ConcurrentDictionary<int, WorkerPool> s_pools = new();
    private static int s_lastId;

    public static int NextId() => Interlocked.Increment(ref s_lastId);

    public static void Add(WorkerPool pool) => s_pools[pool.Id] = pool;

    /// <summary>Open and busy pools, oldest first; stopped ones are forgotten.</summary>
    public static IReadOnlyList<WorkerPool> Open()
    {
        foreach (var stopped in s_pools.Values.Where(p => p.State == WorkerPoolState.Stopped)) s_pools.TryRemove(stopped.Id, out _);
        return s_pools.Values.OrderBy(p => p.Id).ToList();
    }
}
