using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Attempts;

/// <summary>What a lane reports while it runs items. Called from the lane's own thread.</summary>
internal interface IAttemptSink
{
    /// <summary>Starts an attempt; false means skip the item (it was settled meanwhile).</summary>
    bool TryBegin(WorkItem item, ILane lane);

    /// <summary>A Verbose, Warning, Debug, Information or Progress record the item wrote.</summary>
    void Stream(WorkItem item, object record);

    /// <summary>The attempt finished: its output and errors (a thrown error included).</summary>
    void End(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<System.Management.Automation.ErrorRecord> errors);
}
