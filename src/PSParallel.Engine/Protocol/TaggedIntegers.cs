using System.Globalization;
using MessagePack;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// The integer types that travel with a tag (an int travels bare), in one table for both
/// directions: a value is written as a MessagePack integer of whatever width fits it, and read
/// back as its tag's type; an integer outside that type's range is refused.
/// </summary>
internal static class TaggedIntegers
{
    private static readonly Dictionary<Type, ValueTag> TagOfType = new()
    {
        [typeof(sbyte)] = ValueTag.SByte,
        [typeof(byte)] = ValueTag.Byte,
        [typeof(short)] = ValueTag.Int16,
        [typeof(ushort)] = ValueTag.UInt16,
        [typeof(uint)] = ValueTag.UInt32,
        [typeof(long)] = ValueTag.Int64,
        [typeof(ulong)] = ValueTag.UInt64,
        [typeof(char)] = ValueTag.Char,
    };

    private static readonly Dictionary<ValueTag, Type> TypeOfTag = TagOfType.ToDictionary(pair => pair.Value, pair => pair.Key);

    public static bool TryGetTag(object value, out ValueTag tag) => TagOfType.TryGetValue(value.GetType(), out tag);

    public static bool IsTagged(ValueTag tag) => TypeOfTag.ContainsKey(tag);

    public static void Write(ref MessagePackWriter writer, object value)
    {
        if (value is ulong large) writer.Write(large);
        else writer.Write(Convert.ToInt64(value, CultureInfo.InvariantCulture));
    }

    /// <exception cref="OverflowException">The integer does not fit the tag's type.</exception>
    public static object Read(ref MessagePackReader reader, ValueTag tag) => tag == ValueTag.UInt64
        ? reader.ReadUInt64()
        : Convert.ChangeType(reader.ReadInt64(), TypeOfTag[tag], CultureInfo.InvariantCulture);
}
