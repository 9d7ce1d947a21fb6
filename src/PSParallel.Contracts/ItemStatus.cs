namespace PSParallel;

/// <summary>The one final state every input item ends in.</summary>
public enum ItemStatus
{
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Skipped,
}
