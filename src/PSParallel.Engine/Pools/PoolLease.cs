using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Remote;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Pools;

/// <summary>
/// A warm pool for the length of one batch, as the batch's executor: its lanes are the pool's,
/// lent prepared for this batch's work. When the batch ends it waits (briefly) for the lanes it
/// borrowed, and those still being lent, to come back, so the next batch finds them idle, then
/// frees the pool.
/// </summary>
internal sealed class PoolLease : IExecutor, IHostReport
{
    private static readonly TimeSpan ReturnWait = TimeSpan.FromSeconds(5);
    private readonly WarmPool _pool;
    private readonly WorkRecipe _recipe;
    private readonly object _gate = new();
    // Lanes lent or being lent and not yet back; Dispose waits for none to be left.
    private int _out;
    // A compiled workload on a thread pool needs no runspace: it runs as it would without the pool.
    private readonly IExecutor? _direct;
    private readonly bool _closeAfter;
    private int _disposed;

    public PoolLease(WarmPool pool, WorkRecipe recipe, int throttleLimit, bool closeAfter)
    {
        _pool = pool;
        _recipe = recipe;
        _closeAfter = closeAfter;
        ThrottleLimit = throttleLimit;
        if (recipe.Script is null && pool.Model == ExecutionModel.Thread) _direct = recipe.CreateThreadExecutor(throttleLimit);
    }

    /// <summary>The pool's size, or less when the batch asked for less.</summary>
    public int ThrottleLimit { get; }
    public ExecutionModel Model => _pool.Model;
    public int MaxItemsPerLane => 0;
    // Worker processes and remote sessions report a start only after the item began, as without a pool.
    public bool StartsItemsAhead => _direct is null && _pool.Model is ExecutionModel.Process or ExecutionModel.Remote;
    // Lending is quick; only a replacement for a lost lane opens, and it mostly waits.
    public int MaxLanesOpeningAtOnce => int.MaxValue;

    public async Task<ILane> CreateLaneAsync(CancellationToken token)
    {
        if (_direct is not null) return await _direct.CreateLaneAsync(token).ConfigureAwait(false);
        lock (_gate) _out++;
        IReusableLane lane;
        try
        {
            lane = await _pool.LendAsync(_recipe, token).ConfigureAwait(false);
        }
        catch
        {
            Returned();
            throw;
        }
        return new LentLane(lane, (returned, usable) =>
        {
            _pool.GiveBack(returned, usable);
            Returned();
        });
    }

    public double CpuSeconds() => ProcessCpu.Seconds() + _pool.WorkerCpuSeconds();

    public IReadOnlyList<HostStatus> Hosts() => _pool.HostReport?.Hosts() ?? Array.Empty<HostStatus>();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _direct?.Dispose();
        var deadline = DateTime.UtcNow + ReturnWait;
        lock (_gate)
        {
            while (_out > 0 && DateTime.UtcNow < deadline) Monitor.Wait(_gate, deadline - DateTime.UtcNow);
        }
        _pool.EndBatch();
        if (_closeAfter) _pool.Dispose();
    }

    private void Returned()
    {
        lock (_gate)
        {
            _out--;
            Monitor.PulseAll(_gate);
        }
    }
}
