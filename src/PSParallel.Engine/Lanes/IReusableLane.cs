using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes;

/// <summary>A lane that can run another batch's work after its own: what a warm pool keeps.</summary>
internal interface IReusableLane : ILane
{
    /// <summary>Processor seconds of the worker behind the lane, when that is not this process (else 0).</summary>
    double CpuSeconds { get; }

    /// <summary>Sets the lane up for the next batch's script or workload; what the pool set up stays.</summary>
    Task PrepareAsync(WorkRecipe batch, CancellationToken token);
}
