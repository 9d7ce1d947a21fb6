using System.Buffers;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// Messages to and from MessagePack: each message is an array <c>[code, field1, ...]</c>
/// (docs/protocol.md lists the codes and fields). Values inside messages (items, outputs,
/// variables) are already ValueCodec bytes and travel as MessagePack bin.
/// </summary>
internal static class MessageCodec
{
    public static byte[] Encode(Message message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        EncodeTo(buffer, message);
        return buffer.WrittenSpan.ToArray();
    }

    internal static void EncodeTo(IBufferWriter<byte> output, Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var writer = new MessagePackWriter(output);
        MessageFormatter.Instance.Serialize(ref writer, message, ProtocolSerialization.Options);
        writer.Flush();
    }

    /// <summary>
    /// Decodes one frame's payload. Anything malformed (bad MessagePack, unknown message code,
    /// wrong field count or type, trailing bytes) throws <see cref="ProtocolException"/>, never
    /// another exception type.
    /// </summary>
    public static Message Decode(ReadOnlyMemory<byte> payload) =>
        ProtocolSerialization.Deserialize<Message>(payload, "message")
        ?? throw new ProtocolException("malformed message: nil instead of a message");
}

/// <summary>The one set of options every decode goes through.</summary>
internal static class ProtocolSerialization
{
    /// <summary>Bound on nested MessagePack containers; ValueCodec refuses values nested deeper than it can send.</summary>
    public const int MaxGraphDepth = 128;

    /// <summary>
    /// UntrustedData security, and a resolver that knows only this protocol's formatters and
    /// MessagePack's primitive built-ins: no typeless, dynamic or contractless resolver, so no
    /// type is ever named by the wire.
    /// </summary>
    public static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(ProtocolResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MaxGraphDepth));

    public static T? Deserialize<T>(ReadOnlyMemory<byte> payload, string what)
    {
        T? result;
        int read;
        try
        {
            result = MessagePackSerializer.Deserialize<T>(payload, Options, out read);
        }
        catch (Exception ex)
        {
            throw Malformed(what, ex);
        }
        if (read != payload.Length)
            throw new ProtocolException($"malformed {what}: {payload.Length - read} bytes after the end of the {what}");
        return result;
    }

    /// <summary>A ProtocolException for a failed decode: the innermost ProtocolException's words if there is one.</summary>
    public static ProtocolException Malformed(string what, Exception ex)
    {
        Exception innermost = ex;
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is ProtocolException known) return new ProtocolException($"malformed {what}: {known.Message}", ex);
            innermost = e;
        }
        string reason = innermost switch
        {
            InsufficientExecutionStackException => $"nested deeper than {MaxGraphDepth} levels",
            EndOfStreamException => "it ends in the middle of a value",
            _ => innermost.Message,
        };
        return new ProtocolException($"malformed {what}: {reason}", ex);
    }
}

internal sealed class ProtocolResolver : IFormatterResolver
{
    public static readonly ProtocolResolver Instance = new();

    private ProtocolResolver() { }

    public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

    private static class Cache<T>
    {
        public static readonly IMessagePackFormatter<T>? Formatter =
            typeof(T) == typeof(Message) ? (IMessagePackFormatter<T>)(object)MessageFormatter.Instance
            : typeof(T) == typeof(object) ? (IMessagePackFormatter<T>)(object)ValueReader.Instance
            : BuiltinResolver.Instance.GetFormatter<T>();
    }
}

/// <summary>Checked reads: each names the field and what it expected.</summary>
internal static class Wire
{
    public static ProtocolException Bad(string message) => new(message);

    public static void Expect(ref MessagePackReader reader, MessagePackType type, string field)
    {
        MessagePackType next = reader.NextMessagePackType;
        if (next != type) throw Bad($"{field}: expected {Describe(type)}, found {Describe(next)}");
    }

    public static string Describe(MessagePackType type) => type switch
    {
        MessagePackType.Integer => "an integer",
        MessagePackType.Nil => "nil",
        MessagePackType.Boolean => "a boolean",
        MessagePackType.Float => "a float",
        MessagePackType.String => "a string",
        MessagePackType.Binary => "binary",
        MessagePackType.Array => "an array",
        MessagePackType.Map => "a map",
        MessagePackType.Extension => "an extension",
        _ => "an unknown code",
    };

    public static int Int32(ref MessagePackReader reader, string field)
    {
        Expect(ref reader, MessagePackType.Integer, field);
        try
        {
            return reader.ReadInt32();
        }
        catch (OverflowException)
        {
            throw Bad($"{field}: the integer is out of range for Int32");
        }
    }

    public static long Int64(ref MessagePackReader reader, string field)
    {
        Expect(ref reader, MessagePackType.Integer, field);
        try
        {
            return reader.ReadInt64();
        }
        catch (OverflowException)
        {
            throw Bad($"{field}: the integer is out of range for Int64");
        }
    }

    public static bool Boolean(ref MessagePackReader reader, string field)
    {
        Expect(ref reader, MessagePackType.Boolean, field);
        return reader.ReadBoolean();
    }

    public static string String(ref MessagePackReader reader, string field)
    {
        Expect(ref reader, MessagePackType.String, field);
        return reader.ReadString()!;
    }

    public static string? NullableString(ref MessagePackReader reader, string field) =>
        reader.TryReadNil() ? null : String(ref reader, field);

    public static byte[] Binary(ref MessagePackReader reader, string field)
    {
        Expect(ref reader, MessagePackType.Binary, field);
        return reader.ReadBytes()!.Value.ToArray();
    }

    /// <summary>Reads an array header, counting one level of depth; the caller must decrement reader.Depth.</summary>
    public static int EnterArray(ref MessagePackReader reader, MessagePackSerializerOptions options, string field)
    {
        Expect(ref reader, MessagePackType.Array, field);
        options.Security.DepthStep(ref reader);
        return reader.ReadArrayHeader();
    }

    /// <summary>Reads a map header, counting one level of depth; the caller must decrement reader.Depth.</summary>
    public static int EnterMap(ref MessagePackReader reader, MessagePackSerializerOptions options, string field)
    {
        Expect(ref reader, MessagePackType.Map, field);
        options.Security.DepthStep(ref reader);
        return reader.ReadMapHeader();
    }

    /// <summary>
    /// A starting capacity for a collection the wire claims has <paramref name="count"/> entries:
    /// never trusted beyond a small number, so memory follows what really arrives.
    /// </summary>
    public static int Capacity(int count) => Math.Clamp(count, 0, 64);
}

/// <summary>The formatter of <see cref="Message"/>: <c>[code, fields...]</c>.</summary>
internal sealed class MessageFormatter : IMessagePackFormatter<Message>
{
    public static readonly MessageFormatter Instance = new();

    private enum Code
    {
        Hello = 1,
        Setup = 2,
        SetupDone = 3,
        Chunk = 4,
        ItemStarted = 5,
        ItemResult = 6,
        Stream = 7,
        Shutdown = 8,
    }

    private const int ErrorFields = 6;
    private const int ProgressFields = 8;
    private static readonly byte[] NullValue = { MessagePackCode.Nil };

    // ---- writing ----------------------------------------------------------------------------

    public void Serialize(ref MessagePackWriter writer, Message value, MessagePackSerializerOptions options)
    {
        switch (value)
        {
            case HelloMessage m:
                Header(ref writer, Code.Hello, 2);
                writer.Write(m.ProtocolVersion);
                writer.Write(m.ProcessId);
                break;
            case SetupMessage m:
                Header(ref writer, Code.Setup, 8);
                writer.Write(m.ScriptText);
                writer.Write(m.WorkloadAssemblyPath);
                writer.Write(m.WorkloadTypeName);
                WriteMap(ref writer, m.Variables, nameof(SetupMessage.Variables), static (ref MessagePackWriter w, byte[] v) => w.Write(v ?? NullValue));
                WriteMap(ref writer, m.Functions, nameof(SetupMessage.Functions), static (ref MessagePackWriter w, string v) => w.Write(v ?? ""));
                WriteStrings(ref writer, m.Modules);
                writer.Write(m.Location);
                WriteMap(ref writer, m.Preferences, nameof(SetupMessage.Preferences), static (ref MessagePackWriter w, string v) => w.Write(v ?? ""));
                break;
            case SetupDoneMessage m:
                Header(ref writer, Code.SetupDone, 1);
                WriteError(ref writer, m.Error);
                break;
            case ChunkMessage m:
                Header(ref writer, Code.Chunk, 1);
                var items = m.Items ?? Array.Empty<ChunkItem>();
                writer.WriteArrayHeader(items.Count);
                foreach (var item in items)
                {
                    writer.WriteArrayHeader(2);
                    writer.Write(item?.Index ?? 0);
                    writer.Write(item?.EncodedValue ?? NullValue);
                }
                break;
            case ItemStartedMessage m:
                Header(ref writer, Code.ItemStarted, 1);
                writer.Write(m.Index);
                break;
            case ItemResultMessage m:
                Header(ref writer, Code.ItemResult, 3);
                writer.Write(m.Index);
                var output = m.Output ?? Array.Empty<byte[]>();
                writer.WriteArrayHeader(output.Count);
                foreach (var encoded in output) writer.Write(encoded ?? NullValue);
                var errors = m.Errors ?? Array.Empty<ErrorData>();
                writer.WriteArrayHeader(errors.Count);
                foreach (var error in errors) WriteError(ref writer, error ?? new ErrorData("", "", "", null, null, null));
                break;
            case StreamMessage m:
                Header(ref writer, Code.Stream, 5);
                writer.Write(m.Index);
                writer.Write((int)m.Kind);
                writer.Write(m.Message ?? "");
                WriteStrings(ref writer, m.Tags);
                WriteProgress(ref writer, m.Progress);
                break;
            case ShutdownMessage:
                Header(ref writer, Code.Shutdown, 0);
                break;
            default:
                throw new ArgumentException($"{value?.GetType().FullName ?? "null"} is not a message of the protocol.", nameof(value));
        }
    }

    private static void Header(ref MessagePackWriter writer, Code code, int fields)
    {
        writer.WriteArrayHeader(1 + fields);
        writer.Write((int)code);
    }

    private delegate void ElementWriter<T>(ref MessagePackWriter writer, T value);

    private static void WriteMap<T>(ref MessagePackWriter writer, IReadOnlyDictionary<string, T>? map, string field, ElementWriter<T> writeValue)
    {
        if (map is null)
        {
            writer.WriteMapHeader(0);
            return;
        }
        writer.WriteMapHeader(map.Count);
        foreach (var pair in map)
        {
            if (pair.Key is null) throw new ArgumentException($"{field} has a null key.", nameof(map));
            writer.Write(pair.Key);
            writeValue(ref writer, pair.Value);
        }
    }

    private static void WriteStrings(ref MessagePackWriter writer, IReadOnlyList<string>? strings)
    {
        strings ??= Array.Empty<string>();
        writer.WriteArrayHeader(strings.Count);
        foreach (var s in strings) writer.Write(s ?? "");
    }

    private static void WriteError(ref MessagePackWriter writer, ErrorData? error)
    {
        if (error is null)
        {
            writer.WriteNil();
            return;
        }
        writer.WriteArrayHeader(ErrorFields);
        writer.Write(error.Message ?? "");
        writer.Write(error.FullyQualifiedErrorId ?? "");
        writer.Write(error.Category ?? "");
        writer.Write(error.ExceptionType);
        writer.Write(error.PositionMessage);
        writer.Write(error.ScriptStackTrace);
    }

    private static void WriteProgress(ref MessagePackWriter writer, ProgressData? progress)
    {
        if (progress is null)
        {
            writer.WriteNil();
            return;
        }
        writer.WriteArrayHeader(ProgressFields);
        writer.Write(progress.ActivityId);
        writer.Write(progress.ParentActivityId);
        writer.Write(progress.Activity ?? "");
        writer.Write(progress.StatusDescription ?? "");
        writer.Write(progress.CurrentOperation);
        writer.Write(progress.PercentComplete);
        writer.Write(progress.SecondsRemaining);
        writer.Write(progress.Completed);
    }

    // ---- reading ----------------------------------------------------------------------------

    public Message Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        int count = Wire.EnterArray(ref reader, options, "message");
        try
        {
            if (count == 0) throw Wire.Bad("empty message array (no message code)");
            int code = Wire.Int32(ref reader, "message code");
            int fields = count - 1;
            switch ((Code)code)
            {
                case Code.Hello:
                    Fields("hello", fields, 2);
                    return new HelloMessage(Wire.Int32(ref reader, "hello.ProtocolVersion"), Wire.Int32(ref reader, "hello.ProcessId"));
                case Code.Setup:
                    Fields("setup", fields, 8);
                    return new SetupMessage(
                        Wire.NullableString(ref reader, "setup.ScriptText"),
                        Wire.NullableString(ref reader, "setup.WorkloadAssemblyPath"),
                        Wire.NullableString(ref reader, "setup.WorkloadTypeName"),
                        ReadMap(ref reader, options, "setup.Variables", static (ref MessagePackReader r, string f) => Wire.Binary(ref r, f)),
                        ReadMap(ref reader, options, "setup.Functions", static (ref MessagePackReader r, string f) => Wire.String(ref r, f)),
                        ReadStrings(ref reader, options, "setup.Modules"),
                        Wire.NullableString(ref reader, "setup.Location"),
                        ReadMap(ref reader, options, "setup.Preferences", static (ref MessagePackReader r, string f) => Wire.String(ref r, f)));
                case Code.SetupDone:
                    Fields("setup-done", fields, 1);
                    return new SetupDoneMessage(reader.TryReadNil() ? null : ReadError(ref reader, options, "setup-done.Error"));
                case Code.Chunk:
                    Fields("chunk", fields, 1);
                    return new ChunkMessage(ReadChunkItems(ref reader, options));
                case Code.ItemStarted:
                    Fields("item-started", fields, 1);
                    return new ItemStartedMessage(Wire.Int64(ref reader, "item-started.Index"));
                case Code.ItemResult:
                    Fields("item-result", fields, 3);
                    return new ItemResultMessage(
                        Wire.Int64(ref reader, "item-result.Index"),
                        ReadBinaries(ref reader, options, "item-result.Output"),
                        ReadErrors(ref reader, options, "item-result.Errors"));
                case Code.Stream:
                    Fields("stream", fields, 5);
                    long index = Wire.Int64(ref reader, "stream.Index");
                    int kind = Wire.Int32(ref reader, "stream.Kind");
                    if (kind < (int)StreamKind.Verbose || kind > (int)StreamKind.Progress)
                        throw Wire.Bad($"stream.Kind: {kind} is not a stream kind");
                    return new StreamMessage(index, (StreamKind)kind,
                        Wire.String(ref reader, "stream.Message"),
                        ReadStrings(ref reader, options, "stream.Tags"),
                        reader.TryReadNil() ? null : ReadProgress(ref reader, options, "stream.Progress"));
                case Code.Shutdown:
                    Fields("shutdown", fields, 0);
                    return new ShutdownMessage();
                default:
                    throw Wire.Bad($"unknown message code {code}");
            }
        }
        finally
        {
            reader.Depth--;
        }
    }

    private static void Fields(string message, int actual, int expected)
    {
        if (actual != expected) throw Wire.Bad($"a {message} message has {expected} fields, this one has {actual}");
    }

    private delegate T ElementReader<T>(ref MessagePackReader reader, string field);

    private static IReadOnlyDictionary<string, T> ReadMap<T>(ref MessagePackReader reader, MessagePackSerializerOptions options, string field, ElementReader<T> readValue)
    {
        int count = Wire.EnterMap(ref reader, options, field);
        try
        {
            var map = new Dictionary<string, T>(Wire.Capacity(count), StringComparer.Ordinal);
            for (int i = 0; i < count; i++)
            {
                string key = Wire.String(ref reader, field + " key");
                T value = readValue(ref reader, $"{field}[{key}]");
                if (!map.TryAdd(key, value)) throw Wire.Bad($"{field}: the key '{key}' appears twice");
            }
            return map;
        }
        finally
        {
            reader.Depth--;
        }
    }

    /// <summary>An array of <paramref name="field"/> elements, each read by <paramref name="readElement"/>.</summary>
    private static IReadOnlyList<T> ReadList<T>(ref MessagePackReader reader, MessagePackSerializerOptions options, string field, ElementReader<T> readElement)
    {
        int count = Wire.EnterArray(ref reader, options, field);
        try
        {
            var list = new List<T>(Wire.Capacity(count));
            for (int i = 0; i < count; i++) list.Add(readElement(ref reader, field));
            return list;
        }
        finally
        {
            reader.Depth--;
        }
    }

    /// <summary>A record sent as an array of exactly <paramref name="expectedFields"/> fields, read by <paramref name="readFields"/>.</summary>
    private static T ReadRecord<T>(ref MessagePackReader reader, MessagePackSerializerOptions options, string field, string what,
        int expectedFields, ElementReader<T> readFields)
    {
        int fields = Wire.EnterArray(ref reader, options, field);
        try
        {
            if (fields != expectedFields) throw Wire.Bad($"{field}: {what} has {expectedFields} fields, this one has {fields}");
            return readFields(ref reader, field);
        }
        finally
        {
            reader.Depth--;
        }
    }

    private static IReadOnlyList<string> ReadStrings(ref MessagePackReader reader, MessagePackSerializerOptions options, string field) =>
        ReadList(ref reader, options, field, static (ref MessagePackReader r, string f) => Wire.String(ref r, f));

    private static IReadOnlyList<byte[]> ReadBinaries(ref MessagePackReader reader, MessagePackSerializerOptions options, string field) =>
        ReadList(ref reader, options, field, static (ref MessagePackReader r, string f) => Wire.Binary(ref r, f));

    private static IReadOnlyList<ChunkItem> ReadChunkItems(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        ReadList(ref reader, options, "chunk.Items", (ref MessagePackReader r, string _) =>
            ReadRecord(ref r, options, "chunk item", "a chunk item", 2, static (ref MessagePackReader item, string f) =>
                new ChunkItem(Wire.Int64(ref item, f + ".Index"), Wire.Binary(ref item, f + ".EncodedValue"))));

    private static IReadOnlyList<ErrorData> ReadErrors(ref MessagePackReader reader, MessagePackSerializerOptions options, string field) =>
        ReadList(ref reader, options, field, (ref MessagePackReader r, string f) => ReadError(ref r, options, f));

    private static ErrorData ReadError(ref MessagePackReader reader, MessagePackSerializerOptions options, string field) =>
        ReadRecord(ref reader, options, field, "an error", ErrorFields, static (ref MessagePackReader r, string f) => new ErrorData(
            Wire.String(ref r, f + ".Message"),
            Wire.String(ref r, f + ".FullyQualifiedErrorId"),
            Wire.String(ref r, f + ".Category"),
            Wire.NullableString(ref r, f + ".ExceptionType"),
            Wire.NullableString(ref r, f + ".PositionMessage"),
            Wire.NullableString(ref r, f + ".ScriptStackTrace")));

    private static ProgressData ReadProgress(ref MessagePackReader reader, MessagePackSerializerOptions options, string field) =>
        ReadRecord(ref reader, options, field, "a progress record", ProgressFields, static (ref MessagePackReader r, string f) => new ProgressData(
            Wire.Int32(ref r, f + ".ActivityId"),
            Wire.Int32(ref r, f + ".ParentActivityId"),
            Wire.String(ref r, f + ".Activity"),
            Wire.String(ref r, f + ".StatusDescription"),
            Wire.NullableString(ref r, f + ".CurrentOperation"),
            Wire.Int32(ref r, f + ".PercentComplete"),
            Wire.Int32(ref r, f + ".SecondsRemaining"),
            Wire.Boolean(ref r, f + ".Completed")));
}
