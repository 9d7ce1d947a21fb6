using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Protocol;

namespace PSParallel.Engine;

/// <summary>The error records the engine writes. Ids are stable: tests and users match on them.</summary>
internal static class BatchErrors
{
    /// <summary>An item's own error, re-targeted at the input item; id, category and details kept.</summary>
    public static ErrorRecord ForItem(ErrorRecord original, object? input)
    {
        var record = new ErrorRecord(original.Exception, original.FullyQualifiedErrorId, original.CategoryInfo.Category, input);
        if (original.ErrorDetails is not null) record.ErrorDetails = original.ErrorDetails;
        return record;
    }

    public static ErrorRecord ForException(Exception exception, object? input)
    {
        if (exception is IContainsErrorRecord { ErrorRecord: { } inner }) return ForItem(inner, input);
        return new ErrorRecord(exception, exception.GetType().Name, ErrorCategory.NotSpecified, input);
    }

    public static ErrorRecord ItemTimedOut(WorkItem item, TimeSpan timeout) => new(
        new TimeoutException($"{Describe(item)} did not finish within -ItemTimeoutSeconds {timeout.TotalSeconds:0.###} and was stopped. " +
                             "Raise -ItemTimeoutSeconds if the item needs longer, or add -RetryCount to try it again."),
        "ItemTimedOut", ErrorCategory.OperationTimeout, item.Input);

    public static ErrorRecord BatchTimedOut(TimeSpan timeout, long unfinished) => new(
        new TimeoutException($"The batch did not finish within -TimeoutSeconds {timeout.TotalSeconds:0.###}: " +
                             $"{unfinished} item(s) did not finish and are reported as timed out. " +
                             "Raise -TimeoutSeconds, or use -ItemTimeoutSeconds to bound single items."),
        "BatchTimedOut", ErrorCategory.OperationTimeout, null);

    public static ErrorRecord LaneFailed(WorkItem item, Exception reason) => new(
        new LaneFailedException($"{Describe(item)} failed because its worker broke: {reason.Message}", reason),
        "WorkerFailed", ErrorCategory.ResourceUnavailable, item.Input);

    /// <summary>"item 3 ('abc')", short enough for an error line.</summary>
    public static string Describe(WorkItem item)
    {
        var text = item.Input?.ToString() ?? "null";
        if (text.Length > 60) text = text[..57] + "...";
        return $"Item {item.Index} ('{text}')";
    }
}

/// <summary>The batch could not go on (e.g. a lane could not be set up); carries the error to throw.</summary>
internal sealed class BatchFaultedException : Exception, IContainsErrorRecord
{
    public BatchFaultedException(ErrorRecord errorRecord) : base(errorRecord.Exception.Message, errorRecord.Exception)
        => ErrorRecord = errorRecord;

    public ErrorRecord ErrorRecord { get; }
}

/// <summary>Where the engine writes; implemented by the cmdlet. Called on the pipeline thread only.</summary>
internal interface IBatchSink
{
    void WriteOutput(object? value);
    void WriteError(ErrorRecord error);
    /// <summary>A Verbose, Warning, Debug, Information or Progress record written by an item.</summary>
    void WriteStream(object record);
    void WriteProgress(ProgressRecord record);
}
