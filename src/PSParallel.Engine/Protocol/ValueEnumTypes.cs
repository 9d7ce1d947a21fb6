using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace PSParallel.Protocol;

/// <summary>
/// Finds an enum type by the full name a peer sent, among the assemblies already loaded, without
/// ever loading one: the name must look like a plain (possibly nested) type name, and each static
/// assembly is searched through an index of its own exported enums — never Assembly.GetType, which
/// follows type forwarders into assemblies not yet loaded. Dynamic assemblies (PowerShell's
/// <c>enum</c> keyword) cannot forward and are asked directly. Only enum types come back.
/// </summary>
internal static class ValueEnumTypes
{
    private const int MaxNameLength = 512;
    private static readonly ConcurrentDictionary<string, Type> Found = new(StringComparer.Ordinal);
    private static readonly ConditionalWeakTable<Assembly, Dictionary<string, Type>> Indexes = new();

    public static Type? Find(string name)
    {
        if (!IsPlainTypeName(name)) return null;
        if (Found.TryGetValue(name, out var known)) return known;

        foreach (Assembly assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            Type? type = Lookup(assembly, name);
            if (type is { IsEnum: true })
            {
                // Collectible assemblies are not pinned by the cache.
                if (!assembly.IsCollectible) Found.TryAdd(name, type);
                return type;
            }
        }
        return null;
    }

    private static Type? Lookup(Assembly assembly, string name)
    {
        try
        {
            if (assembly.IsDynamic) return assembly.GetType(name, throwOnError: false, ignoreCase: false);
            return Indexes.GetValue(assembly, BuildIndex).GetValueOrDefault(name);
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static Dictionary<string, Type> BuildIndex(Assembly assembly)
    {
        var index = new Dictionary<string, Type>(StringComparer.Ordinal);
        Type[] types;
        try
        {
            types = assembly.GetExportedTypes();
        }
        catch (Exception)
        {
            return index;
        }
        foreach (Type type in types)
        {
            if (type.IsEnum && type.FullName is { } fullName) index.TryAdd(fullName, type);
        }
        return index;
    }

    /// <summary>Letters, digits and '_' in parts joined by '.' or '+' (nested types): no generics, arrays, assembly names.</summary>
    internal static bool IsPlainTypeName(string name)
    {
        if (name.Length == 0 || name.Length > MaxNameLength) return false;
        bool partStart = true;
        foreach (char c in name)
        {
            if (c is '.' or '+')
            {
                if (partStart) return false;
                partStart = true;
            }
            else if (char.IsLetter(c) || c == '_' || (!partStart && char.IsDigit(c)))
            {
                partStart = false;
            }
            else
            {
                return false;
            }
        }
        return !partStart;
    }
}
