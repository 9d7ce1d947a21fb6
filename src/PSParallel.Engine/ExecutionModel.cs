namespace PSParallel.Engine;

/// <summary>
/// How items run, simplest first. Its name is what users see: BatchSummary.Model, a trial's Model
/// and Measure-ConcurrencyModel's Recommendation.
/// </summary>
internal enum ExecutionModel
{
    /// <summary>One item after the other in the caller's runspace (measured, never run by a batch).</summary>
    Sequential,
    /// <summary>Runspaces or compiled workloads on threads of this process.</summary>
    Thread,
    /// <summary>Worker processes fed over stdio.</summary>
    Process,
    /// <summary>Sessions on other hosts over PowerShell remoting.</summary>
    Remote,
}
