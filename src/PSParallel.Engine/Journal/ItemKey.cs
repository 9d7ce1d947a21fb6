using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace PSParallel.Engine.Journal;

/// <summary>
/// An item's name in the journal: a stable text of its value and which occurrence of that text it
/// is in the input (1 for the first), so a resumed list may be reordered or extended. In memory an
/// item is known by a 128-bit hash of the text, which keeps a long run's bookkeeping small.
/// </summary>
internal readonly struct ItemKey
{
    // The text, or a number whose text is made when the journal line is (a number cannot change
    // meanwhile): keys are made on the pipeline thread, which paces a batch of small items, and a
    // number's key then costs no string there.
    private readonly object _textOrNumber;

    public ItemKey(object textOrNumber, int occurrence, UInt128 hash)
    {
        _textOrNumber = textOrNumber;
        Occurrence = occurrence;
        Hash = hash;
    }

    public int Occurrence { get; }
    public UInt128 Hash { get; }

    public string Text => _textOrNumber as string ?? (_textOrNumber as IFormattable)?.ToString(null, CultureInfo.InvariantCulture) ?? "";

    /// <summary>The key's number, when the key is one (its text is the number's invariant text).</summary>
    public IUtf8SpanFormattable? Number => _textOrNumber as IUtf8SpanFormattable;

    /// <summary>The longest invariant text of a number <see cref="AsNumber"/> gives (a negative decimal).</summary>
    internal const int MaxNumberChars = 64;

    /// <summary>The value, when it is a number: its text is its invariant text, as <see cref="TextOf"/> makes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static object? AsNumber(object? value) =>
        Unwrap(value) is var number && number is int or long or double or short or byte or sbyte or ushort or uint or ulong or float or decimal
            ? number
            : null;
    /// <summary>Texts longer than this are replaced by their SHA-256, so a journal line stays short.</summary>
    internal const int MaxTextLength = 256;
    private const int MaxDepth = 3;

    /// <summary>
    /// The stable text of a value: strings and numbers as they are (so 5 and '5' are one key),
    /// dates in ISO 8601, files and folders by full path, hashtables with their keys sorted,
    /// PSCustomObjects by their properties, lists by their elements, other objects by their own
    /// text when their type gives one (ToString), else by their properties.
    /// </summary>
    public static string TextOf(object? value)
    {
        var unwrapped = Unwrap(value);
        string text = IsScalar(unwrapped) ? ScalarText(unwrapped)
            : unwrapped is not (IDictionary or PSObject or IEnumerable) && OverridesToString(unwrapped!.GetType()) ? unwrapped.ToString() ?? ""
            : Canonical(unwrapped!);
        return text.Length <= MaxTextLength ? text : "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>
    /// The in-memory identity of a key text: two independent 64-bit hashes of its characters (FNV-1a
    /// and a multiplicative one, each finished with MurmurHash3's mix). Not cryptographic: it tells
    /// apart the items of one run, it does not defend against crafted input.
    /// </summary>
    public static UInt128 HashOf(string text) => HashOf(text.AsSpan());

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static UInt128 HashOf(ReadOnlySpan<char> text)
    {
        ulong fnv = 14695981039346656037UL, mul = 0x9E3779B97F4A7C15UL ^ (ulong)text.Length;
        foreach (char c in text)
        {
            fnv = (fnv ^ c) * 1099511628211UL;
            mul = (mul + c) * 0xBF58476D1CE4E5B9UL;
            mul ^= mul >> 29;
        }
        return new UInt128(Mix(fnv), Mix(mul ^ 0x94D049BB133111EBUL));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        return h ^ (h >> 33);
    }

    /// <summary>A PSObject's base object, unless it is a PSCustomObject (whose properties are its value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static object? Unwrap(object? value) =>
        value is PSObject p && p.BaseObject is not PSCustomObject ? p.BaseObject : value;

    private static bool IsScalar(object? value) => value is null or string or char or bool or Enum or Guid or Uri
        or DateTime or DateTimeOffset or TimeSpan or FileSystemInfo || value.GetType().IsPrimitive || value is decimal;

    private static string ScalarText(object? value) => value switch
    {
        null => "$null",
        string s => s,
        DateTime d => d.ToString("o", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("o", CultureInfo.InvariantCulture),
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        FileSystemInfo f => f.FullName,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Canonical(object value)
    {
        var text = new StringBuilder();
        Write(text, value, 0);
        return text.ToString();
    }

    /// <summary>Compact JSON-like text: scalars as strings, dictionaries sorted by key, objects by property.</summary>
    private static void Write(StringBuilder text, object? value, int depth)
    {
        value = Unwrap(value);
        if (IsScalar(value))
        {
            Quote(text, ScalarText(value));
            return;
        }
        if (depth >= MaxDepth)
        {
            Quote(text, value!.ToString() ?? "");
            return;
        }
        switch (value)
        {
            case IDictionary dictionary:
                text.Append('{');
                var entries = new List<(string Key, object? Value)>();
                foreach (DictionaryEntry entry in dictionary) entries.Add((KeyText(entry.Key), entry.Value));
                entries.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
                WriteMembers(text, entries, depth);
                text.Append('}');
                return;
            case PSObject custom:
                text.Append('{');
                WriteMembers(text, custom.Properties.Select(p => (p.Name, SafeValue(p))).ToList(), depth);
                text.Append('}');
                return;
            case IEnumerable list:
                text.Append('[');
                bool first = true;
                foreach (var element in list)
                {
                    if (!first) text.Append(',');
                    first = false;
                    Write(text, element, depth + 1);
                }
                text.Append(']');
                return;
        }
        // Another object: its own text when its type says what it is, else its properties.
        if (OverridesToString(value!.GetType()))
        {
            Quote(text, value.ToString() ?? "");
            return;
        }
        text.Append('{');
        WriteMembers(text, PSObject.AsPSObject(value).Properties.Select(p => (p.Name, SafeValue(p))).ToList(), depth);
        text.Append('}');
    }

    private static string KeyText(object? key) => Unwrap(key) is var k && IsScalar(k) ? ScalarText(k) : k?.ToString() ?? "";

    private static void WriteMembers(StringBuilder text, List<(string Key, object? Value)> members, int depth)
    {
        for (int i = 0; i < members.Count; i++)
        {
            if (i > 0) text.Append(',');
            Quote(text, members[i].Key);
            text.Append(':');
            Write(text, members[i].Value, depth + 1);
        }
    }

    private static object? SafeValue(PSPropertyInfo property)
    {
        try
        {
            return property.Value;
        }
        catch (Exception ex) when (ex is GetValueException or ExtendedTypeSystemException or InvalidOperationException or NotSupportedException)
        {
            return null;
        }
    }

    private static bool OverridesToString(Type type) =>
        type.GetMethod(nameof(ToString), Type.EmptyTypes)?.DeclaringType is { } declaring && declaring != typeof(object);

    private static void Quote(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\') text.Append('\\');
            text.Append(c);
        }
        text.Append('"');
    }
}

/// <summary>Gives each admitted item its key, counting repeated values in input order. Used on one thread.</summary>
internal sealed class ItemKeys
{
    private readonly Dictionary<UInt128, int> _seen = new();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ItemKey Next(object? input)
    {
        object source;
        UInt128 hash;
        if (ItemKey.AsNumber(input) is ISpanFormattable number)
        {
            Span<char> text = stackalloc char[ItemKey.MaxNumberChars];
            if (!number.TryFormat(text, out int length, default, CultureInfo.InvariantCulture))
                throw new InvalidOperationException("a number's key did not fit its buffer");
            hash = ItemKey.HashOf(text[..length]);
            source = number;
        }
        else
        {
            string text = ItemKey.TextOf(input);
            hash = ItemKey.HashOf(text);
            source = text;
        }
        ref int count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_seen, hash, out _);
        count++;
        return new ItemKey(source, count, hash);
    }
}
