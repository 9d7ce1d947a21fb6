using System.Buffers;
using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using MessagePack;
using MessagePack.Formatters;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// Reads one value (see <see cref="ValueWriter"/> for the writing side); it is the formatter the
/// protocol's resolver gives for <c>object</c>, so it reads with the untrusted-data options. The input is untrusted:
/// every shape is checked, only the table's types are built, an enum's type name is only looked up
/// among loaded enums, collections grow as their elements really arrive, and each container counts
/// one level against the options' depth bound. Writing through this formatter delegates to
/// <see cref="ValueWriter"/>.
/// </summary>
internal sealed class ValueReader : IMessagePackFormatter<object?>
{
    public static readonly ValueReader Instance = new();

    public void Serialize(ref MessagePackWriter writer, object? value, MessagePackSerializerOptions options) =>
        new ValueWriter().Write(ref writer, value);

    public object? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                return null;
            case MessagePackType.Boolean:
                return reader.ReadBoolean();
            case MessagePackType.Integer:
                return Wire.Int32(ref reader, "value");
            case MessagePackType.Float:
                return reader.NextCode == MessagePackCode.Float32 ? (object)reader.ReadSingle() : reader.ReadDouble();
            case MessagePackType.String:
                return reader.ReadString();
            case MessagePackType.Binary:
                return reader.ReadBytes()!.Value.ToArray();
            case MessagePackType.Array:
                return ReadTagged(ref reader, options);
            default:
                throw Wire.Bad($"a value cannot be {Wire.Describe(reader.NextMessagePackType)}");
        }
    }

    private object? ReadTagged(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        int count = Wire.EnterArray(ref reader, options, "value");
        try
        {
            if (count == 0) throw Wire.Bad("a tagged value is an empty array");
            int code = Wire.Int32(ref reader, "value tag");
            int fields = count - 1;
            var tag = (ValueTag)code;
            if (TaggedIntegers.IsTagged(tag)) return TaggedInteger(ref reader, tag, fields);
            switch (tag)
            {
                case ValueTag.Decimal:
                {
                    Fields(tag, fields, 4);
                    var bits = new int[4];
                    for (int i = 0; i < 4; i++) bits[i] = Wire.Int32(ref reader, "decimal");
                    return Checked(tag, () => new decimal(bits));
                }
                case ValueTag.DateTime:
                {
                    Fields(tag, fields, 2);
                    long ticks = Wire.Int64(ref reader, "DateTime ticks");
                    int kind = Wire.Int32(ref reader, "DateTime kind");
                    if (kind < (int)DateTimeKind.Unspecified || kind > (int)DateTimeKind.Local) throw Wire.Bad($"DateTime kind {kind} is not a DateTimeKind");
                    return Checked(tag, () => new DateTime(ticks, (DateTimeKind)kind));
                }
                case ValueTag.DateTimeOffset:
                {
                    Fields(tag, fields, 2);
                    long ticks = Wire.Int64(ref reader, "DateTimeOffset ticks");
                    long offset = Wire.Int64(ref reader, "DateTimeOffset offset");
                    return Checked(tag, () => new DateTimeOffset(ticks, new TimeSpan(offset)));
                }
                case ValueTag.TimeSpan:
                    Fields(tag, fields, 1);
                    return new TimeSpan(Wire.Int64(ref reader, "TimeSpan ticks"));
                case ValueTag.Guid:
                {
                    Fields(tag, fields, 1);
                    byte[] bytes = Wire.Binary(ref reader, "Guid");
                    if (bytes.Length != 16) throw Wire.Bad($"a Guid has 16 bytes, this one has {bytes.Length}");
                    return new Guid(bytes);
                }
                case ValueTag.Enum:
                    Fields(tag, fields, 2);
                    return ReadEnum(ref reader, options);
                case ValueTag.Array:
                    return ReadArray(ref reader, options, fields);
                case ValueTag.List:
                {
                    var list = new List<object?>(Wire.Capacity(fields));
                    for (int i = 0; i < fields; i++) list.Add(Deserialize(ref reader, options));
                    return list;
                }
                case ValueTag.Hashtable:
                    Pairs(tag, fields);
                    return ReadEntries(ref reader, options, fields, new Hashtable(Wire.Capacity(fields / 2), StringComparer.CurrentCultureIgnoreCase));
                case ValueTag.OrderedDictionary:
                    Pairs(tag, fields);
                    return ReadEntries(ref reader, options, fields, new OrderedDictionary(Wire.Capacity(fields / 2), StringComparer.CurrentCultureIgnoreCase));
                case ValueTag.PSObject:
                    return ReadPSObject(ref reader, options, fields);
                default:
                    throw Wire.Bad($"unknown value tag {code}");
            }
        }
        finally
        {
            reader.Depth--;
        }
    }

    private static void Fields(ValueTag tag, int actual, int expected)
    {
        if (actual != expected) throw Wire.Bad($"a {tag} value has {expected} fields, this one has {actual}");
    }

    /// <summary>A hashtable's or ordered dictionary's entries, key and value in turn.</summary>
    private IDictionary ReadEntries(ref MessagePackReader reader, MessagePackSerializerOptions options, int fields, IDictionary dictionary)
    {
        for (int i = 0; i < fields / 2; i++)
        {
            object key = Key(ref reader, options);
            dictionary[key] = Deserialize(ref reader, options);
        }
        return dictionary;
    }

    private static void Pairs(ValueTag tag, int fields)
    {
        if (fields % 2 != 0) throw Wire.Bad($"a {tag} value has key/value pairs, this one has {fields} fields");
    }

    /// <summary>A value of one integer field (<see cref="TaggedIntegers"/>), range-checked.</summary>
    private static object TaggedInteger(ref MessagePackReader reader, ValueTag tag, int fields)
    {
        Fields(tag, fields, 1);
        Wire.Expect(ref reader, MessagePackType.Integer, tag.ToString());
        try
        {
            return TaggedIntegers.Read(ref reader, tag);
        }
        catch (OverflowException)
        {
            throw Wire.Bad($"the integer is out of range for {tag}");
        }
    }

    private static T Checked<T>(ValueTag tag, Func<T> build)
    {
        try
        {
            return build();
        }
        catch (ArgumentException ex)
        {
            throw Wire.Bad($"not a valid {tag}: {ex.Message}");
        }
    }

    private object Key(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        Deserialize(ref reader, options) ?? throw Wire.Bad("a dictionary key is nil");

    private object?[] ReadArray(ref MessagePackReader reader, MessagePackSerializerOptions options, int count)
    {
        // Grows as the elements arrive rather than trusting the count in the header.
        var array = new object?[Wire.Capacity(count)];
        for (int i = 0; i < count; i++)
        {
            if (i == array.Length) Array.Resize(ref array, (int)Math.Min(count, 2L * array.Length));
            array[i] = Deserialize(ref reader, options);
        }
        return array;
    }

    private object ReadEnum(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        string name = Wire.String(ref reader, "enum type name");
        if (reader.NextMessagePackType == MessagePackType.Array || reader.NextMessagePackType == MessagePackType.Integer
            || reader.NextMessagePackType == MessagePackType.Boolean)
        {
            object? underlying = Deserialize(ref reader, options);
            if (underlying is sbyte or byte or short or ushort or int or uint or long or ulong or char or bool)
            {
                Type? type = ValueEnumTypes.Find(name);
                return type is not null && Enum.GetUnderlyingType(type) == underlying.GetType()
                    ? Enum.ToObject(type, underlying)
                    : underlying;
            }
        }
        throw Wire.Bad($"the value of enum '{name}' is not an integer");
    }

    private PSObject ReadPSObject(ref MessagePackReader reader, MessagePackSerializerOptions options, int fields)
    {
        if (fields < 1 || (fields - 1) % 2 != 0)
            throw Wire.Bad($"an object has type names then name/value pairs, this one has {fields} fields");
        var result = new PSObject();
        int names = Wire.EnterArray(ref reader, options, "object type names");
        try
        {
            if (names > 0)
            {
                result.TypeNames.Clear();
                for (int i = 0; i < names; i++) result.TypeNames.Add(Wire.String(ref reader, "object type name"));
            }
        }
        finally
        {
            reader.Depth--;
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < (fields - 1) / 2; i++)
        {
            string name = Wire.String(ref reader, "property name");
            if (name.Length == 0) throw Wire.Bad("a property name is empty");
            if (!seen.Add(name)) throw Wire.Bad($"the property '{name}' appears twice");
            result.Properties.Add(new PSNoteProperty(name, Deserialize(ref reader, options)));
        }
        return result;
    }
}
