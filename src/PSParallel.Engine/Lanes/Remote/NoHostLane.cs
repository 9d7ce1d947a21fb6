using PSParallel.Engine.Attempts;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Remote;

/// <summary>
/// What the batch gets for a lane once no host is left: it fails every item it is given with one
/// reason that names each host and why it is out, so nothing is lost and nothing waits.
/// </summary>
internal sealed class NoHostLane(string reason) : IReusableLane
{
    public int WorkerId => 0;
    public double CpuSeconds => 0;

    public Task PrepareAsync(WorkRecipe batch, CancellationToken token) => Task.CompletedTask;

    public Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token)
    {
        foreach (var item in chunk)
        {
            if (sink.TryBegin(item)) sink.End(item, AttemptOutcome.Failed(Errors.NoHostLeft(item, reason)));
        }
        return Task.CompletedTask;
    }

    public void Abort()
    {
    }

    public void Dispose()
    {
    }
}
