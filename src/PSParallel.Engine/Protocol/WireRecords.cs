using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Protocol;

namespace PSParallel.Engine.Protocol;

/// <summary>Error and stream records to and from their wire form (both sides of a worker).</summary>
internal static class WireRecords
{
    public static ErrorData ToData(ErrorRecord record) => new(
        record.ErrorDetails?.Message ?? record.Exception?.Message ?? record.ToString(),
        record.FullyQualifiedErrorId,
        record.CategoryInfo.Category.ToString(),
        record.Exception?.GetType().FullName,
        record.InvocationInfo?.PositionMessage,
        record.ScriptStackTrace);

    public static ErrorRecord ToRecord(ErrorData data, object? target)
    {
        var category = Enum.TryParse<ErrorCategory>(data.Category, out var parsed) ? parsed : ErrorCategory.NotSpecified;
        return new ErrorRecord(new WorkerItemException(data), data.FullyQualifiedErrorId, category, target);
    }

    public static StreamMessage ToMessage(long index, StreamRecord record) => record.Kind switch
    {
        StreamKind.Information => new StreamMessage(index, record.Kind, record.Message, record.Information!.Tags.ToArray(), null),
        StreamKind.Progress when record.Progress is { } r => new StreamMessage(index, record.Kind, record.Message, Array.Empty<string>(),
            new ProgressData(r.ActivityId, r.ParentActivityId, r.Activity, r.StatusDescription, r.CurrentOperation,
                r.PercentComplete, r.SecondsRemaining, r.RecordType == ProgressRecordType.Completed)),
        _ => new StreamMessage(index, record.Kind, record.Message, Array.Empty<string>(), null),
    };

    public static StreamRecord ToRecord(StreamMessage message, int workerId)
    {
        switch (message.Kind)
        {
            case StreamKind.Verbose: return StreamRecord.Verbose(message.Message);
            case StreamKind.Warning: return StreamRecord.Warning(message.Message);
            case StreamKind.Debug: return StreamRecord.Debug(message.Message);
            case StreamKind.Information:
                var information = new InformationRecord(message.Message, $"worker {workerId}");
                information.Tags.AddRange(message.Tags);
                return StreamRecord.Of(information);
            default:
                var p = message.Progress ?? new ProgressData(0, -1, "worker", message.Message, null, -1, -1, false);
                return StreamRecord.Of(new ProgressRecord(p.ActivityId, p.Activity, p.StatusDescription)
                {
                    ParentActivityId = p.ParentActivityId,
                    CurrentOperation = p.CurrentOperation,
                    PercentComplete = p.PercentComplete,
                    SecondsRemaining = p.SecondsRemaining,
                    RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                });
        }
    }
}

/// <summary>An item's error as it happened in a worker process; the message keeps the position.</summary>
internal sealed class WorkerItemException : Exception
{
    public WorkerItemException(ErrorData data) : base(data.Message)
    {
        OriginalExceptionType = data.ExceptionType;
        PositionMessage = data.PositionMessage;
        WorkerScriptStackTrace = data.ScriptStackTrace;
    }

    /// <summary>Full name of the exception type thrown in the worker.</summary>
    public string? OriginalExceptionType { get; }
    public string? PositionMessage { get; }
    public string? WorkerScriptStackTrace { get; }
}
