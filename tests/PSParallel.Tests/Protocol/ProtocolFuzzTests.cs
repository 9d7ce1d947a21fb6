using static PSParallel.Tests.Protocol.ProtocolAssert;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections;
using System.Collections.Specialized;
using System.Diagnostics;
using System.IO.Pipes;
using MessagePack;
using PSParallel.Engine.Protocol;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace PSParallel.Tests.Protocol;

/// <summary>
/// Thousands of random and mutated frames through FrameReader, MessageCodec.Decode and
/// ValueCodec.Decode: only ProtocolException may come out, every case ends, and each case
/// allocates within a budget proportional to its input. Seeded, so a failure names a
/// reproducible case.
/// </summary>
public class ProtocolFuzzTests
{
    private const int Seed = 424242;
    private const int MaxFrame = 64 * 1024;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly ITestOutputHelper _log;

    public ProtocolFuzzTests(ITestOutputHelper log) => _log = log;

    private sealed record FuzzCase(string Name, byte[] Stream);

    [Fact]
    public async Task Random_and_mutated_frames_raise_only_ProtocolException_never_hang_and_allocate_within_bounds()
    {
        var cases = Cases(new Random(Seed)).ToList();
        Assert.True(cases.Count >= 15000, $"{cases.Count} cases");

        int current = -1;
        long worstAllocated = 0, worstBudget = 1;
        string worstName = "";
        var counts = new int[3];   // decoded, protocol error, clean end only
        var clock = Stopwatch.StartNew();
        var run = Task.Factory.StartNew(() =>
        {
            WarmUp();
            for (int i = 0; i < cases.Count; i++)
            {
                Volatile.Write(ref current, i);
                var fuzz = cases[i];
                long before = GC.GetAllocatedBytesForCurrentThread();
                int outcome = RunCase(fuzz);
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                counts[outcome]++;
                long budget = Budget(fuzz.Stream.Length);
                if (allocated > budget)
                    throw new XunitException($"case {i} ({fuzz.Name}, {fuzz.Stream.Length} bytes) allocated {allocated} bytes, over its budget of {budget}: {Hex(fuzz.Stream)}");
                if ((double)allocated / budget > (double)worstAllocated / worstBudget)
                {
                    worstAllocated = allocated;
                    worstBudget = budget;
                    worstName = fuzz.Name;
                }
            }
        }, TaskCreationOptions.LongRunning);

        try
        {
            await run.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            int stuck = Volatile.Read(ref current);
            Assert.Fail($"the fuzz run did not finish within {Deadline.TotalSeconds} s; case {stuck} ({cases[stuck].Name}) is stuck: {Hex(cases[stuck].Stream)}");
        }
        _log.WriteLine($"{cases.Count} cases in {clock.ElapsedMilliseconds} ms: {counts[0]} with a decoded message or value, {counts[1]} protocol errors, {counts[2]} other; " +
            $"worst allocation {worstAllocated} of a {worstBudget}-byte budget ({worstName})");
        Assert.True(counts[1] > cases.Count / 2, "most fuzz cases should be protocol errors");
        Assert.True(counts[0] > 0, "some mutated frames should still decode");
    }

    [Fact]
    public async Task Mutated_streams_over_a_real_pipe_end_without_hanging()
    {
        var random = new Random(Seed + 1);
        var valid = ValidFrames().ToList();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 60; i++)
        {
            byte[] stream = Mutate(random, Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => valid[random.Next(valid.Count)])), out string how);
            using var server = new AnonymousPipeServerStream(PipeDirection.Out);
            using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
            var writing = Task.Run(() =>
            {
                // Dribble the bytes in pieces, then close: the reader must end either way.
                int at = 0;
                var pieces = new Random(i);
                while (at < stream.Length)
                {
                    int n = Math.Min(stream.Length - at, pieces.Next(1, 300));
                    server.Write(stream, at, n);
                    at += n;
                }
                server.Dispose();
            });
            var reading = Task.Run(async () =>
            {
                var reader = new FrameReader(client, MaxFrame);
                try
                {
                    while (await reader.ReadFrameAsync() is { } frame) DecodeEverything(frame);
                }
                catch (ProtocolException)
                {
                    // expected for most cases
                }
            });
            try
            {
                await reading.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                Assert.Fail($"pipe case {i} ({how}) did not end: {Hex(stream)}");
            }
            // A reader that gave up early leaves the writer blocked on a full pipe: closing our end releases it.
            client.Dispose();
            try
            {
                await writing.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (IOException)
            {
                // the writer saw the closed pipe
            }
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{clock.Elapsed}");
    }

    // ---- one case ---------------------------------------------------------------------------

    /// <returns>0 when something decoded, 1 when a protocol error ended it, 2 when it ended cleanly with nothing decoded</returns>
    private static int RunCase(FuzzCase fuzz)
    {
        var reader = new FrameReader(new MemoryStream(fuzz.Stream, writable: false), MaxFrame);
        bool decoded = false, error = false;
        try
        {
            for (int frames = 0; ; frames++)
            {
                if (frames > fuzz.Stream.Length) throw new XunitException($"{fuzz.Name}: more frames than bytes");
                ValueTask<byte[]?> read = reader.ReadFrameAsync();
                if (!read.IsCompleted) throw new XunitException($"{fuzz.Name}: a read from a MemoryStream did not complete synchronously");
                byte[]? frame;
                try
                {
                    frame = read.GetAwaiter().GetResult();
                }
                catch (ProtocolException)
                {
                    error = true;
                    break;
                }
                if (frame is null) break;
                var (message, value) = DecodeEverything(frame);
                decoded |= message || value;
                error |= !message || !value;
            }
        }
        catch (XunitException)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw new XunitException($"{fuzz.Name}: {ex.GetType().FullName} escaped (only ProtocolException may): {ex}\ninput: {Hex(fuzz.Stream)}");
        }
        return decoded ? 0 : error ? 1 : 2;
    }

    /// <summary>Decodes a frame as a message (and the values inside it) and as a value; only ProtocolException is tolerated.</summary>
    private static (bool Message, bool Value) DecodeEverything(byte[] frame)
    {
        bool message = false, value = false;
        try
        {
            var decoded = MessageCodec.Decode(frame);
            message = true;
            foreach (var encoded in ValuesIn(decoded))
            {
                try
                {
                    ValueCodec.Decode(encoded);
                }
                catch (ProtocolException)
                {
                    // a broken value inside a sound message
                }
            }
        }
        catch (ProtocolException)
        {
            // expected
        }
        try
        {
            ValueCodec.Decode(frame);
            value = true;
        }
        catch (ProtocolException)
        {
            // expected
        }
        return (message, value);
    }

    private static IEnumerable<byte[]> ValuesIn(Message message) => message switch
    {
        ChunkMessage c => c.Items.Select(i => i.EncodedValue),
        ItemResultMessage r => r.Output,
        ScriptSetupMessage s => s.Variables.Values,
        _ => Enumerable.Empty<byte[]>(),
    };

    /// <summary>What a case may allocate: a constant (reader buffer, exceptions, enum index) plus a multiple of its bytes.</summary>
    private static long Budget(int inputBytes) => 256 * 1024 + 64L * inputBytes;

    private static void WarmUp()
    {
        // One-time costs (enum index of loaded assemblies, formatter caches) are not per case.
        foreach (var fuzz in Cases(new Random(1)).Take(300)) RunCase(fuzz);
        ValueCodec.Decode(ValueCodecTests.Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(14); w.Write("Warm.Up.Missing"); w.Write(1); }));
    }

    // ---- the cases ----------------------------------------------------------------------------

    private static IEnumerable<FuzzCase> Cases(Random random)
    {
        var valid = ValidFrames().ToList();

        // Garbage: random length prefixes (honest, short, long, huge, negative) over random bytes.
        for (int i = 0; i < 3000; i++)
        {
            var payload = new byte[random.Next(0, 600)];
            random.NextBytes(payload);
            int length = random.Next(6) switch
            {
                0 => payload.Length,
                1 => Math.Max(0, payload.Length - random.Next(1, 50)),
                2 => payload.Length + random.Next(1, 5000),
                3 => random.Next(MaxFrame, int.MaxValue),
                4 => -random.Next(1, int.MaxValue),
                _ => random.Next(),
            };
            var stream = new byte[4 + payload.Length];
            BinaryPrimitives.WriteInt32LittleEndian(stream, length);
            payload.CopyTo(stream, 4);
            yield return new FuzzCase($"garbage #{i} (length field {length})", random.Next(10) == 0 ? stream[..random.Next(0, Math.Min(4, stream.Length))] : stream);
        }

        // Mutations of valid frames and frame sequences.
        for (int i = 0; i < 8000; i++)
        {
            var original = Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => valid[random.Next(valid.Count)]));
            var mutated = Mutate(random, original, out string how);
            yield return new FuzzCase($"mutation #{i} ({how})", mutated);
        }

        // Well-formed MessagePack of the wrong shapes: message codes and value tags with random fields.
        for (int i = 0; i < 4000; i++)
        {
            var payload = Build((ref MessagePackWriter w) => RandomShape(ref w, random));
            yield return new FuzzCase($"shape #{i}", Framed(payload));
        }

        // Deep nesting, as arrays and as maps, as messages and as values.
        for (int i = 0; i < 200; i++)
        {
            int depth = random.Next(50, 3000);
            int code = random.Next(0, 20);
            bool map = random.Next(2) == 0;
            var payload = Build((ref MessagePackWriter w) =>
            {
                for (int d = 0; d < depth; d++)
                {
                    if (map)
                    {
                        w.WriteMapHeader(1);
                        w.Write(d);
                    }
                    else
                    {
                        w.WriteArrayHeader(2);
                        w.Write(code);
                    }
                }
                w.WriteNil();
            });
            yield return new FuzzCase($"nesting #{i} (depth {depth}, code {code}, {(map ? "maps" : "arrays")})", Framed(payload));
        }
    }

    /// <summary>Frames of every message and of many values (as payloads of their own and inside messages).</summary>
    private static IEnumerable<byte[]> ValidFrames()
    {
        foreach (var message in AllMessages()) yield return Framed(MessageCodec.Encode(message));
        var values = ValueCodecTests.Scalars().Select(v => v[0]).Where(v => v is not string { Length: > 1000 }).ToList();
        values.Add(new object?[] { 1, "a", new Hashtable { ["k"] = new OrderedDictionary { ["o"] = 2L } } });
        values.Add(Custom(("Name", "x"), ("List", new List<int> { 1, 2 }), ("Inner", Custom(("Flag", TestFlags.B)))));
        values.Add(new BagSample());
        foreach (var value in values)
        {
            var encoded = ValueCodec.Encode(value);
            yield return Framed(encoded);
            yield return Framed(MessageCodec.Encode(new ItemResultMessage(3, Started, Took, new[] { encoded, encoded }, Array.Empty<ErrorData>())));
            yield return Framed(MessageCodec.Encode(new ChunkMessage(new[] { new ChunkItem(1, encoded) })));
        }
    }

    private static byte[] Mutate(Random random, byte[] original, out string how)
    {
        var bytes = (byte[])original.Clone();
        switch (random.Next(8))
        {
            case 0:
            {
                int flips = random.Next(1, 9);
                for (int f = 0; f < flips; f++) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                how = $"{flips} bit flips";
                return bytes;
            }
            case 1:
            {
                int keep = random.Next(bytes.Length);
                how = $"truncated to {keep} of {bytes.Length}";
                return bytes[..keep];
            }
            case 2:
            {
                // A new length field on the first frame: smaller, larger, huge or negative.
                int length = BinaryPrimitives.ReadInt32LittleEndian(bytes);
                int changed = random.Next(4) switch
                {
                    0 => length - random.Next(1, Math.Max(2, length)),
                    1 => length + random.Next(1, 100_000),
                    2 => int.MaxValue - random.Next(100),
                    _ => int.MinValue + random.Next(100),
                };
                BinaryPrimitives.WriteInt32LittleEndian(bytes, changed);
                how = $"length {length} -> {changed}";
                return bytes;
            }
            case 3:
            {
                int at = random.Next(4, bytes.Length + 1);
                var extra = new byte[random.Next(1, 16)];
                random.NextBytes(extra);
                how = $"{extra.Length} random bytes inserted at {at}";
                return bytes[..at].Concat(extra).Concat(bytes[at..]).ToArray();
            }
            case 4:
            {
                int at = random.Next(4, Math.Max(5, bytes.Length));
                int count = Math.Min(bytes.Length - at, random.Next(1, 16));
                if (count <= 0)
                {
                    how = "unchanged";
                    return bytes;
                }
                how = $"{count} bytes removed at {at}";
                return bytes[..at].Concat(bytes[(at + count)..]).ToArray();
            }
            case 5:
            {
                // Each payload byte replaced by a MessagePack code byte that changes its meaning.
                byte[] codes = { 0xc0, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xd4, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0x90, 0x9f, 0x80, 0xa0, 0xcf, 0xd3, 0xca, 0xcb, 0xff };
                int changes = random.Next(1, 4);
                for (int c = 0; c < changes && bytes.Length > 4; c++) bytes[random.Next(4, bytes.Length)] = codes[random.Next(codes.Length)];
                how = $"{changes} code bytes replaced";
                return bytes;
            }
            case 6:
            {
                // The payload length kept honest while a header inside claims more.
                int at = random.Next(4, Math.Max(5, bytes.Length));
                if (at + 5 <= bytes.Length)
                {
                    bytes[at] = random.Next(2) == 0 ? (byte)0xdd : (byte)0xc6;
                    BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(at + 1), random.Next(1, int.MaxValue));
                }
                how = $"a large container or bin header written at {at}";
                return bytes;
            }
            default:
            {
                var other = new byte[random.Next(1, 64)];
                random.NextBytes(other);
                how = $"{other.Length} random bytes appended";
                return bytes.Concat(other).ToArray();
            }
        }
    }

    private static void RandomShape(ref MessagePackWriter w, Random random)
    {
        int fields = random.Next(0, 10);
        w.WriteArrayHeader(1 + fields);
        w.Write(random.Next(-1, 22));   // message codes 1-9, value tags 1-19, and beyond
        for (int i = 0; i < fields; i++) RandomValue(ref w, random, 1);
    }

    private static readonly string[] Names =
    {
        "", "a", "System.DayOfWeek", "PSParallel.Tests.Protocol.TestColor", "PSParallel.Tests.Protocol.TestOuter+Nested",
        "System.IO.FileInfo", "System.Object[]", "No.Such.Type", "System.String, mscorlib", "Deserialized.System.Object",
    };

    private static void RandomValue(ref MessagePackWriter w, Random random, int depth)
    {
        switch (random.Next(depth > 4 ? 8 : 12))
        {
            case 0: w.WriteNil(); break;
            case 1: w.Write(random.Next(2) == 0); break;
            case 2: w.Write(random.Next(-40, 40)); break;
            case 3:
                if (random.Next(2) == 0) w.Write(random.NextInt64(long.MinValue, long.MaxValue));
                else w.Write((ulong)random.NextInt64() << 1);
                break;
            case 4: w.Write(random.NextDouble() * 1e300); break;
            case 5: w.Write((float)random.NextDouble()); break;
            case 6: w.Write(random.Next(3) == 0 ? Names[random.Next(Names.Length)] : new string((char)random.Next(32, 0x3000), random.Next(0, 12))); break;
            case 7:
                var bin = new byte[random.Next(3) == 0 ? 16 : random.Next(0, 20)];
                random.NextBytes(bin);
                w.Write(bin);
                break;
            case 8:
            case 9:
            {
                int count = random.Next(0, 7);
                w.WriteArrayHeader(count);
                for (int i = 0; i < count; i++)
                {
                    if (i == 0 && random.Next(2) == 0) w.Write(random.Next(0, 21));
                    else RandomValue(ref w, random, depth + 1);
                }
                break;
            }
            case 10:
            {
                int count = random.Next(0, 4);
                w.WriteMapHeader(count);
                for (int i = 0; i < 2 * count; i++) RandomValue(ref w, random, depth + 1);
                break;
            }
            default:
                var data = new byte[random.Next(0, 8)];
                random.NextBytes(data);
                w.WriteExtensionFormat(new ExtensionResult((sbyte)random.Next(-128, 128), data));
                break;
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    private delegate void Writing(ref MessagePackWriter writer);

    private static byte[] Build(Writing write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Framed(byte[] payload)
    {
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, payload.Length);
        payload.CopyTo(frame, 4);
        return frame;
    }

    private static byte[] Concat(IEnumerable<byte[]> parts) => parts.SelectMany(p => p).ToArray();

    private static string Hex(byte[] bytes) =>
        Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 96))) + (bytes.Length > 96 ? $"... ({bytes.Length} bytes)" : "");
}
