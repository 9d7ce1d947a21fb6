using System.Management.Automation;

namespace PSParallel;

/// <summary>What became of one input item (emitted with -AsResult).</summary>
public sealed class ItemResult
{
    public ItemResult(long index, object? input, object?[] output, ErrorRecord[] errors, ItemStatus status,
        int attempts, TimeSpan duration, object worker, DateTime? startTime)
    {
        Index = index;
        Input = input;
        Output = output;
        Errors = errors;
        Status = status;
        Attempts = attempts;
        Duration = duration;
        Worker = worker;
        StartTime = startTime;
    }

    /// <summary>Position of the item in the input, from 0.</summary>
    public long Index { get; }
    public object? Input { get; }
    public object?[] Output { get; }
    public ErrorRecord[] Errors { get; }
    public ItemStatus Status { get; }
    /// <summary>How many times the item was started (1 + retries).</summary>
    public int Attempts { get; }
    public TimeSpan Duration { get; }
    /// <summary>
    /// What ran the last attempt: the runspace id, process id or managed thread id (an int; 0: never
    /// started), or 'host:pid' (a string) for an item run on a remote host.
    /// </summary>
    public object Worker { get; }
    public DateTime? StartTime { get; }
    /// <summary>
    /// Why a Skipped item did not run: 'journal' (-Resume: an earlier run succeeded with it), 'halted'
    /// (-MaxFailures or -MaxFailurePercent was reached) or 'stopped' (the batch was stopped); null otherwise.
    /// </summary>
    public string? SkipReason { get; init; }
}
