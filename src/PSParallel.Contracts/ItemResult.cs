using System.Management.Automation;

namespace PSParallel;

/// <summary>What became of one input item (emitted with -AsResult).</summary>
public sealed class ItemResult
{
    public ItemResult(long index, object? input, object?[] output, ErrorRecord[] errors, ItemStatus status,
        int attempts, TimeSpan duration, int worker, DateTime? startTime)
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
    /// <summary>The runspace id, process id or managed thread id that ran the last attempt (0: never started).</summary>
    public int Worker { get; }
    public DateTime? StartTime { get; }
    /// <summary>
    /// Why a Skipped item did not run: 'journal' (-Resume: an earlier run succeeded with it), 'halted'
    /// (-MaxFailures or -MaxFailurePercent was reached) or 'stopped' (the batch was stopped); null otherwise.
    /// </summary>
    public string? SkipReason { get; init; }
}
