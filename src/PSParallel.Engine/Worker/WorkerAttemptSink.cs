using System.Diagnostics;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Protocol;

namespace PSParallel.Engine.Worker;

/// <summary>
/// Reports a worker's item attempts to the parent as frames, each result with the item's start time
/// and run time measured here: the frames are coalesced on their way, so the parent cannot time them.
/// </summary>
internal sealed class WorkerAttemptSink : IAttemptSink
{
    private readonly FrameWriter _writer;
    // A worker runs one item at a time (a lane runs its chunk's items in order): one start to keep.
    private DateTime _startTime;
    private long _startTimestamp;

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

    public bool TryBegin(WorkItem item)
    {
        _writer.Write(new ItemStartedMessage(item.Index), flush: false);
        _startTime = DateTime.UtcNow;
        _startTimestamp = Stopwatch.GetTimestamp();
        if (item.Input is not UndecodableItem bad) return true;
        End(item, AttemptOutcome.Failed(Errors.ItemNotDecodable(bad.Reason)));
        return false;
    }

    public void Stream(WorkItem item, StreamRecord record)
    {
        _writer.Write(WireRecords.ToMessage(item.Index, record), flush: false);
    }

    public void End(WorkItem item, AttemptOutcome outcome)
    {
        TimeSpan duration = Stopwatch.GetElapsedTime(_startTimestamp);
        var encoded = new List<byte[]>(outcome.Output.Count);
        var errorData = outcome.Errors.Select(WireRecords.ToData).ToList();
        foreach (var value in outcome.Output)
        {
            try
            {
                encoded.Add(ValueCodec.Encode(value));
            }
            catch (ValueNotTransferableException ex)
            {
                errorData.Add(Errors.OutputNotTransferable(item, ex));
            }
        }
        _writer.Write(new ItemResultMessage(item.Index, _startTime, duration, encoded, errorData), flush: false);
    }

    private sealed record UndecodableItem(string Reason);
}
