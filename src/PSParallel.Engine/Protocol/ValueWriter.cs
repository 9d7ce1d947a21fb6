using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using System.Management.Automation.Internal;
using System.Reflection;
using System.Runtime.CompilerServices;
using MessagePack;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// Writes one value. Two modes:
/// <list type="bullet">
/// <item>the caller's own data (the value and the arrays, lists, dictionaries and PSCustomObjects it
/// is made of): sent exactly; script blocks, pointers, delegates, cycles and nesting past
/// <see cref="ValueCodec.MaxNesting"/> are refused with <see cref="ValueNotTransferableException"/>;</item>
/// <item>a snapshot (the inside of a property bag of an arbitrary object): lossy by nature, like
/// PowerShell remoting; containers count as levels, and past <see cref="ValueCodec.DefaultMaxDepth"/>,
/// or where the caller's data would be refused, a value becomes its ToString(). Otherwise an object
/// with an IntPtr property (a Process) or a back reference could never cross.</item>
/// </list>
/// </summary>
internal sealed class ValueWriter
{
    private const int UserData = -1;
    private static readonly ConditionalWeakTable<Type, TypeShape> Shapes = new();

    /// <summary>The containers being written, outermost first: a value met again on it is a cycle. Made on the first container.</summary>
    private HashSet<object>? _path;

    public void Write(ref MessagePackWriter writer, object? value) => Write(ref writer, value, 0, UserData);

    /// <param name="nesting">containers around this value</param>
    /// <param name="level">UserData for the caller's data; otherwise the snapshot level of this value (0: a bag itself)</param>
    private void Write(ref MessagePackWriter writer, object? value, int nesting, int level)
    {
        if (value is PSObject wrapper)
        {
            if (ReferenceEquals(wrapper, AutomationNull.Value))
            {
                writer.WriteNil();
                return;
            }
            if (wrapper.BaseObject is not PSCustomObject)
            {
                Write(ref writer, wrapper.BaseObject, nesting, level);
                return;
            }
        }
        if (TryWriteScalar(ref writer, value)) return;

        Type type = value!.GetType();
        bool snapshot = level != UserData;
        string? refusal = RefusalReason(value);
        if (refusal is not null)
        {
            if (!snapshot) throw new ValueNotTransferableException(NameOf(type), refusal);
            WriteText(ref writer, value);
            return;
        }
        if (snapshot && level >= ValueCodec.DefaultMaxDepth)
        {
            WriteText(ref writer, value);
            return;
        }
        if (nesting >= ValueCodec.MaxNesting)
        {
            if (!snapshot)
                throw new ValueNotTransferableException(NameOf(type),
                    $"it is nested more than {ValueCodec.MaxNesting} levels deep (arrays, lists, dictionaries and objects inside each other)");
            WriteText(ref writer, value);
            return;
        }
        _path ??= new HashSet<object>(ReferenceEqualityComparer.Instance);
        if (!_path.Add(value))
        {
            if (!snapshot)
                throw new ValueNotTransferableException(NameOf(type),
                    "it contains itself (a cyclic reference); send a copy without the back reference");
            WriteText(ref writer, value);
            return;
        }
        try
        {
            int child = snapshot ? level + 1 : UserData;
            switch (value)
            {
                case PSObject custom:
                    WriteCustomObject(ref writer, custom, nesting, child);
                    break;
                case IDictionary dictionary:
                    WriteDictionary(ref writer, dictionary, type, nesting, child, snapshot);
                    break;
                case Array array:
                    WriteSequence(ref writer, ValueTag.Array, array, type, nesting, child, snapshot);
                    break;
                case IList list:
                    WriteSequence(ref writer, ValueTag.List, list, type, nesting, child, snapshot);
                    break;
                default:
                    var shape = Shape(type);
                    if (shape.IsCollection) WriteSequence(ref writer, ValueTag.List, (IEnumerable)value, type, nesting, child, snapshot);
                    else WriteBag(ref writer, value, shape, nesting, snapshot ? level + 1 : 1);
                    break;
            }
        }
        finally
        {
            _path.Remove(value);
        }
    }

    private static bool TryWriteScalar(ref MessagePackWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNil();
                return true;
            case string s:
                writer.Write(s);
                return true;
            case bool b:
                writer.Write(b);
                return true;
            case int i:
                writer.Write(i);
                return true;
            case double d:
                writer.Write(d);
                return true;
            case float f:
                writer.Write(f);
                return true;
            case byte[] bytes:
                writer.Write(bytes);
                return true;
            case Enum e:
                WriteEnum(ref writer, e);
                return true;
            case object number when TaggedIntegers.TryGetTag(number, out var tag):
                Tag(ref writer, tag, 1);
                TaggedIntegers.Write(ref writer, number);
                return true;
            case decimal m:
                Span<int> bits = stackalloc int[4];
                decimal.GetBits(m, bits);
                Tag(ref writer, ValueTag.Decimal, 4);
                foreach (int part in bits) writer.Write(part);
                return true;
            case DateTime dt:
                Tag(ref writer, ValueTag.DateTime, 2);
                writer.Write(dt.Ticks);
                writer.Write((int)dt.Kind);
                return true;
            case DateTimeOffset dto:
                Tag(ref writer, ValueTag.DateTimeOffset, 2);
                writer.Write(dto.Ticks);
                writer.Write(dto.Offset.Ticks);
                return true;
            case TimeSpan ts:
                Tag(ref writer, ValueTag.TimeSpan, 1);
                writer.Write(ts.Ticks);
                return true;
            case Guid g:
                Tag(ref writer, ValueTag.Guid, 1);
                writer.Write(g.ToByteArray());
                return true;
            default:
                return false;
        }
    }

    private static void Tag(ref MessagePackWriter writer, ValueTag tag, int fields)
    {
        writer.WriteArrayHeader(1 + fields);
        writer.Write((int)tag);
    }

    /// <summary><c>[Enum, full type name, underlying value]</c>: the underlying value keeps its own integer type.</summary>
    private static void WriteEnum(ref MessagePackWriter writer, Enum value)
    {
        Type type = value.GetType();
        Tag(ref writer, ValueTag.Enum, 2);
        writer.Write(NameOf(type));
        object underlying = Type.GetTypeCode(type) switch
        {
            TypeCode.SByte => (sbyte)(object)value,
            TypeCode.Byte => (byte)(object)value,
            TypeCode.Int16 => (short)(object)value,
            TypeCode.UInt16 => (ushort)(object)value,
            TypeCode.Int32 => (int)(object)value,
            TypeCode.UInt32 => (uint)(object)value,
            TypeCode.Int64 => (long)(object)value,
            TypeCode.UInt64 => (ulong)(object)value,
            TypeCode.Char => (char)(object)value,
            TypeCode.Boolean => (bool)(object)value,
            _ => throw new ValueNotTransferableException(NameOf(type), "its underlying type is not an integer"),
        };
        TryWriteScalar(ref writer, underlying);
    }

    private static string? RefusalReason(object value) => value switch
    {
        ScriptBlock => "a script block is code bound to this session; send its text as a string and rebuild it with [scriptblock]::Create()",
        IntPtr or UIntPtr or Pointer => "a pointer or handle means something only inside its own process",
        Delegate => "a delegate refers to code in this process",
        _ => null,
    };

    private static void WriteText(ref MessagePackWriter writer, object value)
    {
        string? text;
        try
        {
            text = value.ToString();
        }
        catch (Exception)
        {
            text = NameOf(value.GetType());
        }
        writer.Write(text);
    }

    private void WriteCustomObject(ref MessagePackWriter writer, PSObject value, int nesting, int child)
    {
        var properties = new List<KeyValuePair<string, object?>>();
        foreach (PSPropertyInfo property in value.Properties)
        {
            if (!property.IsGettable) continue;
            object? propertyValue;
            try
            {
                propertyValue = property.Value;
            }
            catch (Exception)
            {
                continue;
            }
            properties.Add(new(property.Name, propertyValue));
        }

        Tag(ref writer, ValueTag.PSObject, 1 + 2 * properties.Count);
        var typeNames = value.TypeNames;
        if (IsDefaultCustomTypeNames(typeNames))
        {
            writer.WriteArrayHeader(0);
        }
        else
        {
            writer.WriteArrayHeader(typeNames.Count);
            foreach (string name in typeNames) writer.Write(name);
        }
        foreach (var (name, propertyValue) in properties)
        {
            writer.Write(name);
            Write(ref writer, propertyValue, nesting + 1, child);
        }
    }

    internal static bool IsDefaultCustomTypeNames(IList<string> typeNames) =>
        typeNames.Count == 2
        && typeNames[0] == "System.Management.Automation.PSCustomObject"
        && typeNames[1] == "System.Object";

    private void WriteDictionary(ref MessagePackWriter writer, IDictionary dictionary, Type type, int nesting, int child, bool snapshot)
    {
        var entries = new List<DictionaryEntry>();
        try
        {
            IDictionaryEnumerator enumerator = dictionary.GetEnumerator();
            while (enumerator.MoveNext()) entries.Add(enumerator.Entry);
        }
        catch (Exception ex) when (ex is not ValueNotTransferableException)
        {
            if (!snapshot) throw new ValueNotTransferableException(NameOf(type), $"reading its entries failed: {ex.Message}");
            WriteText(ref writer, dictionary);
            return;
        }
        Tag(ref writer, dictionary is IOrderedDictionary ? ValueTag.OrderedDictionary : ValueTag.Hashtable, 2 * entries.Count);
        foreach (var entry in entries)
        {
            Write(ref writer, entry.Key, nesting + 1, child);
            Write(ref writer, entry.Value, nesting + 1, child);
        }
    }

    private void WriteSequence(ref MessagePackWriter writer, ValueTag tag, IEnumerable sequence, Type type, int nesting, int child, bool snapshot)
    {
        var elements = new List<object?>(sequence is ICollection c ? c.Count : 4);
        try
        {
            foreach (object? element in sequence) elements.Add(element);
        }
        catch (Exception ex) when (ex is not ValueNotTransferableException)
        {
            if (!snapshot) throw new ValueNotTransferableException(NameOf(type), $"enumerating it failed: {ex.Message}");
            WriteText(ref writer, sequence);
            return;
        }
        Tag(ref writer, tag, elements.Count);
        foreach (object? element in elements) Write(ref writer, element, nesting + 1, child);
    }

    /// <summary>
    /// An arbitrary object as a property bag: <c>[PSObject, ["Deserialized.T", "Deserialized.Base", ...], name, value, ...]</c>
    /// with the public readable instance properties; a property whose getter throws is left out.
    /// </summary>
    private void WriteBag(ref MessagePackWriter writer, object value, TypeShape shape, int nesting, int child)
    {
        var values = new List<KeyValuePair<string, object?>>(shape.Properties.Length);
        foreach (var property in shape.Properties)
        {
            try
            {
                values.Add(new(property.Name, property.GetValue(value)));
            }
            catch (Exception)
            {
                // Getters that throw (state-dependent, not supported here) are skipped, as remoting does.
            }
        }
        Tag(ref writer, ValueTag.PSObject, 1 + 2 * values.Count);
        writer.WriteArrayHeader(shape.TypeNames.Length);
        foreach (string name in shape.TypeNames) writer.Write(name);
        foreach (var (name, propertyValue) in values)
        {
            writer.Write(name);
            Write(ref writer, propertyValue, nesting + 1, child);
        }
    }

    internal static string NameOf(Type type) => type.FullName ?? type.Name;

    private static TypeShape Shape(Type type) => Shapes.GetValue(type, static t => new TypeShape(t));

    /// <summary>What the encoder needs to know about a type that is not in the table, computed once.</summary>
    private sealed class TypeShape
    {
        public TypeShape(Type type)
        {
            IsCollection = typeof(ICollection).IsAssignableFrom(type) || type.GetInterfaces().Any(i => i.IsGenericType
                && (i.GetGenericTypeDefinition() == typeof(ICollection<>) || i.GetGenericTypeDefinition() == typeof(IReadOnlyCollection<>)));
            if (IsCollection)
            {
                TypeNames = Array.Empty<string>();
                Properties = Array.Empty<PropertyInfo>();
                return;
            }

            var names = new List<string>();
            for (Type? t = type; t is not null; t = t.BaseType) names.Add("Deserialized." + NameOf(t));
            TypeNames = names.ToArray();

            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            Properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetMethod is { IsPublic: true }
                    && p.GetIndexParameters().Length == 0
                    && !p.PropertyType.IsByRef
                    && !p.PropertyType.IsByRefLike
                    && !p.PropertyType.IsPointer
                    && seen.Add(p.Name))
                .ToArray();
        }

        public bool IsCollection { get; }
        public string[] TypeNames { get; }
        public PropertyInfo[] Properties { get; }
    }
}
