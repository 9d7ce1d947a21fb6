using static PSParallel.Tests.Protocol.ProtocolAssert;
using System.Buffers.Binary;
using System.IO.Pipes;
using PSParallel.Engine.Protocol;
using Xunit;

namespace PSParallel.Tests.Protocol;

public class FrameTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static byte[] Frame(int length, byte[] payload)
    {
        var bytes = new byte[4 + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, length);
        payload.CopyTo(bytes, 4);
        return bytes;
    }

    private static byte[]? Read(FrameReader reader) => reader.ReadFrameAsync().AsTask().GetAwaiter().GetResult();

    [Fact]
    public void Frames_written_are_read_back_in_order_then_a_clean_end_is_null()
    {
        var stream = new MemoryStream();
        var writer = new FrameWriter(stream);
        var messages = ProtocolAssert.AllMessages().ToList();
        foreach (var message in messages) writer.Write(message);

        stream.Position = 0;
        var reader = new FrameReader(stream);
        foreach (var message in messages)
        {
            var frame = Read(reader);
            Assert.NotNull(frame);
            Assert.Equal(MessageCodec.Encode(message), frame);
        }
        Assert.Null(Read(reader));
        Assert.Null(Read(reader));
    }

    [Fact]
    public void The_frame_is_a_little_endian_length_then_the_payload()
    {
        var stream = new MemoryStream();
        new FrameWriter(stream).Write(new ShutdownMessage());
        var payload = MessageCodec.Encode(new ShutdownMessage());
        Assert.Equal(Frame(payload.Length, payload), stream.ToArray());
    }

    [Fact]
    public void An_empty_stream_is_a_clean_end()
    {
        Assert.Null(Read(new FrameReader(new MemoryStream())));
    }

    [Fact]
    public void A_zero_length_frame_is_an_empty_payload_that_does_not_decode()
    {
        var reader = new FrameReader(new MemoryStream(Frame(0, Array.Empty<byte>())));
        var frame = Read(reader);
        Assert.Empty(frame!);
        Assert.Throws<ProtocolException>(() => MessageCodec.Decode(frame));
        Assert.Null(Read(reader));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void A_truncated_header_is_a_protocol_error(int bytes)
    {
        var ex = Assert.Throws<ProtocolException>(() => Read(new FrameReader(new MemoryStream(new byte[bytes]))));
        Assert.Contains($"truncated frame header: the stream ended after {bytes} of 4 bytes", ex.Message);
    }

    [Fact]
    public void A_truncated_payload_is_a_protocol_error_and_the_reader_stays_faulted()
    {
        var stream = new MemoryStream(Frame(100, new byte[40]));
        var reader = new FrameReader(stream);
        var ex = Assert.Throws<ProtocolException>(() => Read(reader));
        Assert.Contains("truncated frame: the stream ended after 40 of 100 payload bytes", ex.Message);
        Assert.Contains("unusable", Assert.Throws<ProtocolException>(() => Read(reader)).Message);
    }

    [Fact]
    public void A_negative_length_is_a_protocol_error()
    {
        var ex = Assert.Throws<ProtocolException>(() => Read(new FrameReader(new MemoryStream(Frame(-5, new byte[10])))));
        Assert.Contains("invalid frame length -5", ex.Message);
    }

    [Fact]
    public void A_length_past_the_bound_is_refused_before_allocating_it()
    {
        var stream = new MemoryStream(Frame(int.MaxValue, new byte[16]));
        var reader = new FrameReader(stream);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<ProtocolException>(() => Read(reader));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"a frame of {int.MaxValue} bytes exceeds the bound of {FrameReader.DefaultMaxFrameBytes} bytes", ex.Message);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");

        var small = new FrameReader(new MemoryStream(Frame(1001, new byte[1001])), maxFrameBytes: 1000);
        Assert.Contains("a frame of 1001 bytes exceeds the bound of 1000 bytes", Assert.Throws<ProtocolException>(() => Read(small)).Message);
    }

    [Fact]
    public void A_large_claimed_length_allocates_only_what_arrives()
    {
        const int claimed = 200 * 1024 * 1024;   // within the default bound
        var reader = new FrameReader(new MemoryStream(Frame(claimed, new byte[10])));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<ProtocolException>(() => Read(reader));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"after 10 of {claimed} payload bytes", ex.Message);
        Assert.True(allocated < 2 * 1024 * 1024, $"allocated {allocated} bytes for a {claimed}-byte claim");
    }

    [Fact]
    public void A_message_past_the_writer_bound_is_refused_and_nothing_is_written()
    {
        var stream = new MemoryStream();
        var writer = new FrameWriter(stream, maxFrameBytes: 1000);
        var big = new ItemResultMessage(1, Started, Took, new[] { ValueCodec.Encode(new string('x', 2000)) }, Array.Empty<ErrorData>());
        var ex = Assert.Throws<ProtocolException>(() => writer.Write(big));
        int size = MessageCodec.Encode(big).Length;
        Assert.Contains($"ItemResultMessage of {size} bytes exceeds the frame bound of 1000 bytes", ex.Message);
        Assert.Equal(0, stream.Length);
        writer.Write(new ShutdownMessage());   // still usable
        Assert.IsType<ShutdownMessage>(MessageCodec.Decode(Read(new FrameReader(new MemoryStream(stream.ToArray())))!));
    }

    [Fact]
    public void Concurrent_writers_never_interleave_frames()
    {
        var stream = new MemoryStream();
        var writer = new FrameWriter(stream);
        const int threads = 8, each = 300;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (int i = 0; i < each; i++)
                writer.Write(new ItemResultMessage(t * 1_000_000L + i, Started, Took, new[] { ValueCodec.Encode(new string((char)('a' + t), i % 50)) }, Array.Empty<ErrorData>()));
        });

        stream.Position = 0;
        var reader = new FrameReader(stream);
        var next = new long[threads];
        int count = 0;
        while (Read(reader) is { } frame)
        {
            var result = Assert.IsType<ItemResultMessage>(MessageCodec.Decode(frame));
            int t = (int)(result.Index / 1_000_000);
            Assert.Equal(next[t]++, result.Index % 1_000_000);   // each writer's own order is kept
            Assert.Equal(new string((char)('a' + t), (int)(result.Index % 1_000_000) % 50), ValueCodec.Decode(result.Output[0]));
            count++;
        }
        Assert.Equal(threads * each, count);
    }

    [Fact]
    public async Task Frames_cross_a_real_pipe_including_one_larger_than_every_buffer()
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var big = new byte[5 * 1024 * 1024 + 17];
        new Random(7).NextBytes(big);
        var sent = new List<Message>();
        for (int i = 0; i < 200; i++) sent.Add(new ItemStartedMessage(i));
        sent.Add(new ItemResultMessage(1, Started, Took, new[] { ValueCodec.Encode(big) }, Array.Empty<ErrorData>()));
        sent.Add(new ShutdownMessage());

        var writing = Task.Run(() =>
        {
            var writer = new FrameWriter(server);
            foreach (var message in sent) writer.Write(message);
            server.Dispose();
        });

        var reader = new FrameReader(client);
        using var timeout = new CancellationTokenSource(Patience);
        var received = new List<Message>();
        while (await reader.ReadFrameAsync(timeout.Token) is { } frame) received.Add(MessageCodec.Decode(frame));
        await writing;

        Assert.Equal(sent.Count, received.Count);
        for (int i = 0; i < 200; i++) Assert.Equal(i, Assert.IsType<ItemStartedMessage>(received[i]).Index);
        var result = Assert.IsType<ItemResultMessage>(received[200]);
        Assert.True(big.AsSpan().SequenceEqual(Assert.IsType<byte[]>(ValueCodec.Decode(result.Output[0]))), "the large payload changed");
        Assert.IsType<ShutdownMessage>(received[^1]);
    }

    [Fact]
    public async Task A_writer_that_dies_mid_frame_gives_a_protocol_error_not_a_hang()
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var whole = new MemoryStream();
        new FrameWriter(whole).Write(new HelloMessage(1, 2));
        var bytes = whole.ToArray();
        var writing = Task.Run(() =>
        {
            server.Write(bytes);                     // one whole frame
            server.Write(bytes, 0, bytes.Length - 2); // and most of another
            server.Dispose();
        });

        var reader = new FrameReader(client);
        using var timeout = new CancellationTokenSource(Patience);
        Assert.IsType<HelloMessage>(MessageCodec.Decode((await reader.ReadFrameAsync(timeout.Token))!));
        var ex = await Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadFrameAsync(timeout.Token));
        Assert.Contains("truncated frame", ex.Message);
        await writing;
    }

    [Fact]
    public async Task Waiting_for_a_frame_can_be_cancelled()
    {
        var reader = new FrameReader(new NeverEndingStream());
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await reader.ReadFrameAsync(cancel.Token));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentNullException>(() => new FrameReader(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameReader(new MemoryStream(), 0));
        Assert.Throws<ArgumentNullException>(() => new FrameWriter(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameWriter(new MemoryStream(), -1));
        Assert.Throws<ArgumentNullException>(() => new FrameWriter(new MemoryStream()).Write(null!));
    }

    /// <summary>A stream whose reads wait until cancelled.</summary>
    private sealed class NeverEndingStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
