using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// Writes messages as length-prefixed frames (4-byte little-endian length, then the MessagePack
/// payload) and flushes each one. Thread-safe: messages are encoded on the calling thread and
/// written whole under one lock, so frames never interleave.
/// </summary>
internal sealed class FrameWriter
{
    private const int HeaderBytes = 4;

    private readonly Stream _output;
    private readonly int _maxFrameBytes;
    private readonly object _gate = new();
    private bool _unflushed;

    public FrameWriter(Stream output, int maxFrameBytes = FrameReader.DefaultMaxFrameBytes)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.CanWrite) throw new ArgumentException("The stream cannot be written.", nameof(output));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFrameBytes);
        _output = output;
        _maxFrameBytes = maxFrameBytes;
    }

    /// <summary>
    /// Encodes, frames, writes and flushes one message. A message whose payload is past the bound
    /// throws <see cref="ProtocolException"/> and writes nothing (the stream stays usable); stream
    /// errors (IOException, ObjectDisposedException) pass through unchanged.
    /// </summary>
    public void Write(Message message) => Write(message, flush: true);

    /// <summary>
    /// As <see cref="Write(Message)"/>, but with <paramref name="flush"/> false the frame may wait in
    /// a buffered stream until <see cref="Flush"/>: a worker coalesces per-item frames this way.
    /// </summary>
    public void Write(Message message, bool flush)
    {
        ArgumentNullException.ThrowIfNull(message);
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.GetSpan(HeaderBytes);
        buffer.Advance(HeaderBytes);
        MessageCodec.EncodeTo(buffer, message);

        int payloadBytes = buffer.WrittenCount - HeaderBytes;
        if (payloadBytes > _maxFrameBytes)
            throw new ProtocolException(
                $"a {message.GetType().Name} of {payloadBytes} bytes exceeds the frame bound of {_maxFrameBytes} bytes; nothing was sent");

        Memory<byte> frame = MemoryMarshal.AsMemory(buffer.WrittenMemory);
        BinaryPrimitives.WriteInt32LittleEndian(frame.Span, payloadBytes);
        lock (_gate)
        {
            _output.Write(frame.Span);
            if (flush) _output.Flush();
            else _unflushed = true;
        }
    }

    /// <summary>Sends whatever frames wait in the buffer.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (!_unflushed) return;
            _unflushed = false;
            _output.Flush();
        }
    }
}
