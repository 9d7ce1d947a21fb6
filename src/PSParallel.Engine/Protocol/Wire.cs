using System.Buffers;
using MessagePack;

namespace PSParallel.Engine.Protocol;

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

    /// <summary>A point in time sent as UTC ticks; read as a UTC DateTime.</summary>
    public static DateTime UtcDateTime(ref MessagePackReader reader, string field)
    {
        long ticks = Int64(ref reader, field);
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
            throw Bad($"{field}: {ticks} ticks is out of range for a DateTime");
        return new DateTime(ticks, DateTimeKind.Utc);
    }

    /// <summary>A length of time sent as ticks; never negative.</summary>
    public static TimeSpan Duration(ref MessagePackReader reader, string field)
    {
        long ticks = Int64(ref reader, field);
        if (ticks < 0) throw Bad($"{field}: {ticks} ticks is negative");
        return new TimeSpan(ticks);
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
