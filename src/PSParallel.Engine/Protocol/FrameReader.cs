using System.Buffers.Binary;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// Reads length-prefixed frames: a 4-byte little-endian payload length, then the payload.
/// One reader per stream, one call at a time. The length is checked against the bound before
/// anything is allocated, and a payload buffer grows only as its bytes actually arrive, so a
/// lying length costs nothing. After a protocol error or a cancellation inside a frame the
/// reader is faulted: further calls throw <see cref="ProtocolException"/>.
/// </summary>
internal sealed class FrameReader
{
    public const int DefaultMaxFrameBytes = 256 * 1024 * 1024;

    private const int HeaderBytes = 4;
    private const int BufferBytes = 64 * 1024;
    /// <summary>The first payload allocation; larger payloads grow by doubling as data arrives.</summary>
    private const int FirstChunkBytes = 1024 * 1024;

    private readonly Stream _input;
    private readonly int _maxFrameBytes;
    private readonly byte[] _buffer = new byte[BufferBytes];
    private int _start;
    private int _end;
    private string? _fault;

    public FrameReader(Stream input, int maxFrameBytes = DefaultMaxFrameBytes)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.CanRead) throw new ArgumentException("The stream cannot be read.", nameof(input));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFrameBytes);
        _input = input;
        _maxFrameBytes = maxFrameBytes;
    }

    /// <summary>
    /// The next frame's payload, or null when the stream ends cleanly at a frame boundary.
    /// Throws <see cref="ProtocolException"/> for a truncated header or payload, a negative length or
    /// a length past the bound; stream errors (IOException, ObjectDisposedException) and
    /// OperationCanceledException pass through unchanged.
    /// </summary>
    public async ValueTask<byte[]?> ReadFrameAsync(CancellationToken token = default)
    {
        if (_fault is not null) throw new ProtocolException($"The frame stream is unusable after an earlier error: {_fault}");

        // Header: bytes stay in the buffer until all four are there, so a cancelled or failed wait
        // for a header leaves the reader consistent.
        while (_end - _start < HeaderBytes)
        {
            if (_start > 0) Compact();
            int read = await _input.ReadAsync(_buffer.AsMemory(_end), token).ConfigureAwait(false);
            if (read == 0)
            {
                if (_end == _start) return null;
                throw Fault($"truncated frame header: the stream ended after {_end - _start} of {HeaderBytes} bytes");
            }
            _end += read;
        }

        int length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(_start, HeaderBytes));
        if (length < 0)
            throw Fault($"invalid frame length {length} (negative; the stream is corrupt or not a frame stream)");
        if (length > _maxFrameBytes)
            throw Fault($"a frame of {length} bytes exceeds the bound of {_maxFrameBytes} bytes");
        _start += HeaderBytes;
        if (length == 0) return Array.Empty<byte>();

        try
        {
            return await ReadPayloadAsync(length, token).ConfigureAwait(false);
        }
        catch (ProtocolException)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Part of the frame is consumed: the stream position is lost for good.
            _fault ??= $"reading a frame payload failed ({ex.GetType().Name}: {ex.Message})";
            throw;
        }
    }

    private async ValueTask<byte[]> ReadPayloadAsync(int length, CancellationToken token)
    {
        byte[] payload = new byte[Math.Min(length, FirstChunkBytes)];
        int filled = TakeBuffered(payload, 0, length);
        while (filled < length)
        {
            if (filled == payload.Length)
            {
                // Grow only once the bytes so far have really arrived.
                var larger = new byte[(int)Math.Min(length, 2L * payload.Length)];
                Buffer.BlockCopy(payload, 0, larger, 0, filled);
                payload = larger;
            }
            if (_start < _end)
            {
                filled += TakeBuffered(payload, filled, length);
                continue;
            }
            int room = payload.Length - filled;
            int read;
            if (room >= BufferBytes)
            {
                read = await _input.ReadAsync(payload.AsMemory(filled, room), token).ConfigureAwait(false);
                if (read == 0) throw Truncated(filled, length);
                filled += read;
            }
            else
            {
                // Small rest: read through the buffer, which may pick up the next frames too.
                _start = _end = 0;
                read = await _input.ReadAsync(_buffer.AsMemory(), token).ConfigureAwait(false);
                if (read == 0) throw Truncated(filled, length);
                _end = read;
            }
        }
        return payload;
    }

    private int TakeBuffered(byte[] payload, int filled, int length)
    {
        int take = Math.Min(_end - _start, Math.Min(length, payload.Length) - filled);
        if (take <= 0) return 0;
        Buffer.BlockCopy(_buffer, _start, payload, filled, take);
        _start += take;
        return take;
    }

    private void Compact()
    {
        int count = _end - _start;
        if (count > 0) Buffer.BlockCopy(_buffer, _start, _buffer, 0, count);
        _start = 0;
        _end = count;
    }

    private ProtocolException Truncated(int filled, int length) =>
        Fault($"truncated frame: the stream ended after {filled} of {length} payload bytes");

    private ProtocolException Fault(string message)
    {
        _fault ??= message;
        return new ProtocolException(message);
    }
}
