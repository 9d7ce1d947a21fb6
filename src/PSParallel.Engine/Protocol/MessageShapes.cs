using System.Collections.Frozen;
using MessagePack;
using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// How one message travels: <c>[code, field1, ...]</c>. Its code, its name (as errors call it),
/// its field count and how its fields are written and read are given once, side by side, in
/// <see cref="MessageShapes"/>.
/// </summary>
internal abstract class MessageShape
{
    private protected MessageShape(int code, string name, int fields)
    {
        Code = code;
        Name = name;
        Fields = fields;
    }

    public int Code { get; }
    public string Name { get; }
    public int Fields { get; }
    public abstract Type MessageType { get; }

    /// <summary>Writes the whole message: the array header, the code, the fields.</summary>
    public abstract void Write(ref MessagePackWriter writer, Message message);

    /// <summary>Reads the fields that follow the code, once their count is checked.</summary>
    public abstract Message Read(ref MessagePackReader reader, MessagePackSerializerOptions options, int fields);
}

internal sealed class MessageShape<T> : MessageShape where T : Message
{
    public delegate void FieldsWriter(ref MessagePackWriter writer, T message);
    public delegate T FieldsReader(ref MessagePackReader reader, MessagePackSerializerOptions options);

    private readonly FieldsWriter _write;
    private readonly FieldsReader _read;

    public MessageShape(int code, string name, int fields, FieldsWriter write, FieldsReader read) : base(code, name, fields)
    {
        _write = write;
        _read = read;
    }

    public override Type MessageType => typeof(T);

    public override void Write(ref MessagePackWriter writer, Message message)
    {
        writer.WriteArrayHeader(1 + Fields);
        writer.Write(Code);
        _write(ref writer, (T)message);
    }

    public override Message Read(ref MessagePackReader reader, MessagePackSerializerOptions options, int fields)
    {
        if (fields != Fields) throw Wire.Bad($"a {Name} message has {Fields} fields, this one has {fields}");
        return _read(ref reader, options);
    }
}

/// <summary>A record inside a message (an error, a progress record, a chunk item): an array of exactly its fields.</summary>
internal sealed class RecordShape<T> where T : class
{
    public delegate void FieldsWriter(ref MessagePackWriter writer, T value);
    /// <param name="field">the record's own field name, to prefix its fields' names in errors</param>
    public delegate T FieldsReader(ref MessagePackReader reader, string field);

    private readonly string _what;
    private readonly int _fields;
    private readonly FieldsWriter _write;
    private readonly FieldsReader _read;

    /// <param name="what">the record as an error names it: "an error"</param>
    public RecordShape(string what, int fields, FieldsWriter write, FieldsReader read)
    {
        _what = what;
        _fields = fields;
        _write = write;
        _read = read;
    }

    public void Write(ref MessagePackWriter writer, T value)
    {
        writer.WriteArrayHeader(_fields);
        _write(ref writer, value);
    }

    public void WriteOrNil(ref MessagePackWriter writer, T? value)
    {
        if (value is null) writer.WriteNil();
        else Write(ref writer, value);
    }

    public T Read(ref MessagePackReader reader, MessagePackSerializerOptions options, string field)
    {
        int fields = Wire.EnterArray(ref reader, options, field);
        try
        {
            if (fields != _fields) throw Wire.Bad($"{field}: {_what} has {_fields} fields, this one has {fields}");
            return _read(ref reader, field);
        }
        finally
        {
            reader.Depth--;
        }
    }

    public T? ReadOrNil(ref MessagePackReader reader, MessagePackSerializerOptions options, string field) =>
        reader.TryReadNil() ? null : Read(ref reader, options, field);
}

/// <summary>
/// Every message of the protocol (docs/protocol.md), each written once for both directions. The
/// writer sends a null required string as "", a null list or map as empty and a null value as an
/// encoded null, so whatever it writes decodes; the reader checks the count and type of every field.
/// The codec tests round-trip every message, so a writer and a reader that disagree fail there.
/// </summary>
internal static class MessageShapes
{
    private static readonly byte[] NullValue = { MessagePackCode.Nil };

    // ---- the records inside messages ----------------------------------------------------------

    private static readonly ChunkItem EmptyChunkItem = new(0, NullValue);

    private static readonly RecordShape<ChunkItem> ChunkItemShape = new("a chunk item", 2,
        static (ref MessagePackWriter w, ChunkItem item) =>
        {
            w.Write(item.Index);
            w.Write(item.EncodedValue ?? NullValue);
        },
        static (ref MessagePackReader r, string f) => new ChunkItem(
            Wire.Int64(ref r, f + ".Index"),
            Wire.Binary(ref r, f + ".EncodedValue")));

    private static readonly ErrorData EmptyError = new("", "", "", null, null, null);

    private static readonly RecordShape<ErrorData> ErrorShape = new("an error", 6,
        static (ref MessagePackWriter w, ErrorData e) =>
        {
            w.Write(e.Message ?? "");
            w.Write(e.FullyQualifiedErrorId ?? "");
            w.Write(e.Category ?? "");
            w.Write(e.ExceptionType);
            w.Write(e.PositionMessage);
            w.Write(e.ScriptStackTrace);
        },
        static (ref MessagePackReader r, string f) => new ErrorData(
            Wire.String(ref r, f + ".Message"),
            Wire.String(ref r, f + ".FullyQualifiedErrorId"),
            Wire.String(ref r, f + ".Category"),
            Wire.NullableString(ref r, f + ".ExceptionType"),
            Wire.NullableString(ref r, f + ".PositionMessage"),
            Wire.NullableString(ref r, f + ".ScriptStackTrace")));

    private static readonly RecordShape<ProgressData> ProgressShape = new("a progress record", 8,
        static (ref MessagePackWriter w, ProgressData p) =>
        {
            w.Write(p.ActivityId);
            w.Write(p.ParentActivityId);
            w.Write(p.Activity ?? "");
            w.Write(p.StatusDescription ?? "");
            w.Write(p.CurrentOperation);
            w.Write(p.PercentComplete);
            w.Write(p.SecondsRemaining);
            w.Write(p.Completed);
        },
        static (ref MessagePackReader r, string f) => new ProgressData(
            Wire.Int32(ref r, f + ".ActivityId"),
            Wire.Int32(ref r, f + ".ParentActivityId"),
            Wire.String(ref r, f + ".Activity"),
            Wire.String(ref r, f + ".StatusDescription"),
            Wire.NullableString(ref r, f + ".CurrentOperation"),
            Wire.Int32(ref r, f + ".PercentComplete"),
            Wire.Int32(ref r, f + ".SecondsRemaining"),
            Wire.Boolean(ref r, f + ".Completed")));

    private static readonly MessageShape[] All =
    {
        new MessageShape<HelloMessage>(1, "hello", 2,
            static (ref MessagePackWriter w, HelloMessage m) =>
            {
                w.Write(m.ProtocolVersion);
                w.Write(m.ProcessId);
            },
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new HelloMessage(
                Wire.Int32(ref r, "hello.ProtocolVersion"),
                Wire.Int32(ref r, "hello.ProcessId"))),

        new MessageShape<ScriptSetupMessage>(2, "script-setup", 6,
            static (ref MessagePackWriter w, ScriptSetupMessage m) =>
            {
                w.Write(m.ScriptText ?? "");
                WriteMap(ref w, m.Variables, nameof(ScriptSetupMessage.Variables), static (ref MessagePackWriter w, byte[] v) => w.Write(v ?? NullValue));
                WriteMap(ref w, m.Functions, nameof(ScriptSetupMessage.Functions), static (ref MessagePackWriter w, string v) => w.Write(v ?? ""));
                WriteStrings(ref w, m.Modules);
                w.Write(m.Location);
                WriteMap(ref w, m.Preferences, nameof(ScriptSetupMessage.Preferences), static (ref MessagePackWriter w, string v) => w.Write(v ?? ""));
            },
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new ScriptSetupMessage(
                Wire.String(ref r, "script-setup.ScriptText"),
                ReadMap(ref r, o, "script-setup.Variables", static (ref MessagePackReader r, string f) => Wire.Binary(ref r, f)),
                ReadMap(ref r, o, "script-setup.Functions", static (ref MessagePackReader r, string f) => Wire.String(ref r, f)),
                ReadStrings(ref r, o, "script-setup.Modules"),
                Wire.NullableString(ref r, "script-setup.Location"),
                ReadMap(ref r, o, "script-setup.Preferences", static (ref MessagePackReader r, string f) => Wire.String(ref r, f)))),

        new MessageShape<WorkloadSetupMessage>(9, "workload-setup", 2,
            static (ref MessagePackWriter w, WorkloadSetupMessage m) =>
            {
                w.Write(m.AssemblyPath ?? "");
                w.Write(m.TypeName ?? "");
            },
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new WorkloadSetupMessage(
                Wire.String(ref r, "workload-setup.AssemblyPath"),
                Wire.String(ref r, "workload-setup.TypeName"))),

        new MessageShape<SetupDoneMessage>(3, "setup-done", 1,
            static (ref MessagePackWriter w, SetupDoneMessage m) => ErrorShape.WriteOrNil(ref w, m.Error),
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new SetupDoneMessage(
                ErrorShape.ReadOrNil(ref r, o, "setup-done.Error"))),

        new MessageShape<ChunkMessage>(4, "chunk", 1,
            static (ref MessagePackWriter w, ChunkMessage m) => WriteRecords(ref w, m.Items, ChunkItemShape, EmptyChunkItem),
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new ChunkMessage(
                ReadRecords(ref r, o, "chunk.Items", "chunk item", ChunkItemShape))),

        new MessageShape<ItemStartedMessage>(5, "item-started", 1,
            static (ref MessagePackWriter w, ItemStartedMessage m) => w.Write(m.Index),
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new ItemStartedMessage(
                Wire.Int64(ref r, "item-started.Index"))),

        new MessageShape<ItemResultMessage>(6, "item-result", 5,
            static (ref MessagePackWriter w, ItemResultMessage m) =>
            {
                w.Write(m.Index);
                w.Write(m.StartTime.ToUniversalTime().Ticks);
                w.Write(m.Duration.Ticks);
                WriteBinaries(ref w, m.Output);
                WriteRecords(ref w, m.Errors, ErrorShape, EmptyError);
            },
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new ItemResultMessage(
                Wire.Int64(ref r, "item-result.Index"),
                Wire.UtcDateTime(ref r, "item-result.StartTime"),
                Wire.Duration(ref r, "item-result.Duration"),
                ReadBinaries(ref r, o, "item-result.Output"),
                ReadRecords(ref r, o, "item-result.Errors", "item-result.Errors", ErrorShape))),

        new MessageShape<StreamMessage>(7, "stream", 5,
            static (ref MessagePackWriter w, StreamMessage m) =>
            {
                w.Write(m.Index);
                w.Write((int)m.Kind);
                w.Write(m.Message ?? "");
                WriteStrings(ref w, m.Tags);
                ProgressShape.WriteOrNil(ref w, m.Progress);
            },
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new StreamMessage(
                Wire.Int64(ref r, "stream.Index"),
                ReadStreamKind(ref r, "stream.Kind"),
                Wire.String(ref r, "stream.Message"),
                ReadStrings(ref r, o, "stream.Tags"),
                ProgressShape.ReadOrNil(ref r, o, "stream.Progress"))),

        new MessageShape<ShutdownMessage>(8, "shutdown", 0,
            static (ref MessagePackWriter w, ShutdownMessage m) => { },
            static (ref MessagePackReader r, MessagePackSerializerOptions o) => new ShutdownMessage()),
    };

    // ---- lookup -------------------------------------------------------------------------------

    private static readonly FrozenDictionary<Type, MessageShape> ByType = All.ToFrozenDictionary(s => s.MessageType);
    private static readonly MessageShape?[] ByCode = IndexByCode();

    /// <summary>The shape of <paramref name="message"/>; an ArgumentException for a message that is not of the protocol.</summary>
    public static MessageShape Of(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ByType.TryGetValue(message.GetType(), out var shape)
            ? shape
            : throw new ArgumentException($"{message.GetType().FullName} is not a message of the protocol.", nameof(message));
    }

    /// <summary>The shape with <paramref name="code"/>, or null for a code the protocol does not have.</summary>
    public static MessageShape? WithCode(int code) => code > 0 && code < ByCode.Length ? ByCode[code] : null;

    private static MessageShape?[] IndexByCode()
    {
        var byCode = new MessageShape?[All.Max(s => s.Code) + 1];
        foreach (var shape in All)
        {
            if (shape.Code <= 0 || byCode[shape.Code] is not null)
                throw new InvalidOperationException($"message code {shape.Code} ({shape.Name}) is not positive or not unique");
            byCode[shape.Code] = shape;
        }
        return byCode;
    }

    // ---- fields -------------------------------------------------------------------------------

    private delegate void ElementWriter<T>(ref MessagePackWriter writer, T value);

    private delegate T ElementReader<T>(ref MessagePackReader reader, string field);

    private static StreamKind ReadStreamKind(ref MessagePackReader reader, string field)
    {
        int kind = Wire.Int32(ref reader, field);
        if (kind < (int)StreamKind.Verbose || kind > (int)StreamKind.Progress)
            throw Wire.Bad($"{field}: {kind} is not a stream kind");
        return (StreamKind)kind;
    }

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

    private static void WriteStrings(ref MessagePackWriter writer, IReadOnlyList<string>? strings)
    {
        strings ??= Array.Empty<string>();
        writer.WriteArrayHeader(strings.Count);
        foreach (var s in strings) writer.Write(s ?? "");
    }

    private static IReadOnlyList<string> ReadStrings(ref MessagePackReader reader, MessagePackSerializerOptions options, string field) =>
        ReadList(ref reader, options, field, static (ref MessagePackReader r, string f) => Wire.String(ref r, f));

    private static void WriteBinaries(ref MessagePackWriter writer, IReadOnlyList<byte[]>? binaries)
    {
        binaries ??= Array.Empty<byte[]>();
        writer.WriteArrayHeader(binaries.Count);
        foreach (var bytes in binaries) writer.Write(bytes ?? NullValue);
    }

    private static IReadOnlyList<byte[]> ReadBinaries(ref MessagePackReader reader, MessagePackSerializerOptions options, string field) =>
        ReadList(ref reader, options, field, static (ref MessagePackReader r, string f) => Wire.Binary(ref r, f));

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

    /// <summary>An array of records; a null list is sent empty, a null record as <paramref name="whenNull"/>.</summary>
    private static void WriteRecords<T>(ref MessagePackWriter writer, IReadOnlyList<T>? records, RecordShape<T> shape, T whenNull) where T : class
    {
        records ??= Array.Empty<T>();
        writer.WriteArrayHeader(records.Count);
        foreach (var record in records) shape.Write(ref writer, record ?? whenNull);
    }

    /// <summary>An array (<paramref name="field"/>) of records, each named <paramref name="elementField"/> in errors.</summary>
    private static IReadOnlyList<T> ReadRecords<T>(ref MessagePackReader reader, MessagePackSerializerOptions options, string field, string elementField,
        RecordShape<T> shape) where T : class
    {
        int count = Wire.EnterArray(ref reader, options, field);
        try
        {
            var list = new List<T>(Wire.Capacity(count));
            for (int i = 0; i < count; i++) list.Add(shape.Read(ref reader, options, elementField));
            return list;
        }
        finally
        {
            reader.Depth--;
        }
    }
}
