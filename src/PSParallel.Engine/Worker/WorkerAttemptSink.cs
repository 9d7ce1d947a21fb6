using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Protocol;

namespace PSParallel.Engine.Worker;

/// <summary>Reports a worker's item attempts to the parent as frames.</summary>
internal sealed class WorkerAttemptSink : IAttemptSink
{
    private readonly FrameWriter _writer;

    public WorkerAttemptSink(FrameWriter writer) => _writer = writer;

    /// <summary>An item as sent by the parent; one that cannot be decoded fails on its own.</summary>
    public WorkItem Decode(ChunkItem item)
    {
        try
        {
            return new WorkItem(item.Index, ValueCodec.Decode(item.EncodedValue));
        }
        catch (ProtocolException ex)
        {
            return new WorkItem(item.Index, new UndecodableItem(ex.Message));
        }
    }

    public bool TryBegin(WorkItem item, ILane lane)
    {
        _writer.Write(new ItemStartedMessage(item.Index), flush: false);
        if (item.Input is not UndecodableItem bad) return true;
        var error = new ErrorRecord(new ProtocolException($"the item could not be decoded in the worker: {bad.Reason}"),
            "ItemNotDecodable", ErrorCategory.InvalidData, null);
        End(item, Array.Empty<object?>(), new[] { error });
        return false;
    }

    public void Stream(WorkItem item, object record)
    {
        if (WireRecords.ToMessage(item.Index, record) is { } message) _writer.Write(message, flush: false);
    }

    public void End(WorkItem item, IReadOnlyList<object?> output, IReadOnlyList<ErrorRecord> errors)
    {
        var encoded = new List<byte[]>(output.Count);
        var errorData = errors.Select(WireRecords.ToData).ToList();
        foreach (var value in output)
        {
            try
            {
                encoded.Add(ValueCodec.Encode(value));
            }
            catch (ValueNotTransferableException ex)
            {
                errorData.Add(new ErrorData($"An output of {BatchErrors.Describe(item)} cannot be sent back: {ex.Message}",
                    "OutputNotTransferable", nameof(ErrorCategory.InvalidResult), typeof(ValueNotTransferableException).FullName, null, null));
            }
        }
        _writer.Write(new ItemResultMessage(item.Index, encoded, errorData), flush: false);
    }

    private sealed record UndecodableItem(string Reason);
}
