using System.Buffers;
using MessagePack;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// One value (an item, an output, a variable) to and from MessagePack, by the contract's type
/// table; see docs/protocol.md for the encoding. <see cref="ValueWriter"/> writes and
/// <see cref="ValueReader"/> reads; this is their front. Encode refuses what cannot cross with a
/// <see cref="ValueNotTransferableException"/> naming the type; Decode treats its input as
/// untrusted and throws only <see cref="ProtocolException"/>.
/// </summary>
internal static class ValueCodec
{
    /// <summary>How many levels of property bags an arbitrary object is expanded to; deeper values become their ToString().</summary>
    public const int DefaultMaxDepth = 3;

    /// <summary>How deeply arrays, lists, dictionaries and PSCustomObjects may nest in a value that is sent.</summary>
    public const int MaxNesting = 100;

    /// <summary>
    /// Encodes a value. Throws only <see cref="ValueNotTransferableException"/> (naming the type
    /// refused, or the value's type when reading it failed unexpectedly).
    /// </summary>
    public static byte[] Encode(object? value)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new MessagePackWriter(buffer);
        try
        {
            new ValueWriter().Write(ref writer, value);
            writer.Flush();
        }
        catch (Exception ex) when (ex is not ValueNotTransferableException)
        {
            object? inner = value is System.Management.Automation.PSObject pso ? pso.BaseObject : value;
            throw new ValueNotTransferableException(ValueWriter.NameOf(inner!.GetType()), $"reading it failed ({ex.GetType().Name}: {ex.Message})");
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a value from untrusted bytes. Throws only <see cref="ProtocolException"/>.</summary>
    public static object? Decode(byte[] encoded)
    {
        if (encoded is null) throw new ProtocolException("malformed value: no bytes");
        return ProtocolSerialization.Deserialize<object>(encoded, "value");
    }
}

/// <summary>The tags of values that are not a MessagePack primitive: <c>[tag, ...]</c>.</summary>
internal enum ValueTag
{
    SByte = 1,
    Byte = 2,
    Int16 = 3,
    UInt16 = 4,
    UInt32 = 5,
    Int64 = 6,
    UInt64 = 7,
    Decimal = 8,
    Char = 9,
    DateTime = 10,
    DateTimeOffset = 11,
    TimeSpan = 12,
    Guid = 13,
    Enum = 14,
    Array = 15,
    List = 16,
    Hashtable = 17,
    OrderedDictionary = 18,
    PSObject = 19,
}
