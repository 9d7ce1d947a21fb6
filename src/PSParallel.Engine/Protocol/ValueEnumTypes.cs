using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.CompilerServices;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// Finds an enum type by the full name a peer sent, among the assemblies already loaded, without
/// ever loading one: the name must look like a plain (possibly nested) type name, and an assembly
/// is asked for a type (Assembly.GetType) only when its own metadata, read from its file, defines
/// an enum of that name — so neither a type forwarder nor a class's base types can pull in an
/// assembly. Dynamic assemblies (PowerShell's <c>enum</c> keyword) cannot forward and are asked
/// directly; an assembly loaded from bytes (Add-Type) is indexed through its exported enums.
/// Only enum types come back.
/// </summary>
internal static class ValueEnumTypes
{
    private const int MaxNameLength = 512;
    private static readonly ConcurrentDictionary<string, Type> Found = new(StringComparer.Ordinal);
    private static readonly ConditionalWeakTable<Assembly, EnumIndex> Indexes = new();
    /// <summary>Names not found, with the assembly-load count then: a miss stands until another assembly loads.</summary>
    private static readonly ConcurrentDictionary<string, int> Missed = new(StringComparer.Ordinal);
    private const int MaxMissed = 4096;
    private static int _loads;

    static ValueEnumTypes()
    {
        AppDomain.CurrentDomain.AssemblyLoad += (_, _) => Interlocked.Increment(ref _loads);
    }

    public static Type? Find(string name)
    {
        if (!IsPlainTypeName(name)) return null;
        if (Found.TryGetValue(name, out var known)) return known;
        int loads = Volatile.Read(ref _loads);
        if (Missed.TryGetValue(name, out int missedAt) && missedAt == loads) return null;

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
        // Bounded: names are chosen by the peer.
        if (Missed.Count >= MaxMissed) Missed.Clear();
        Missed[name] = loads;
        return null;
    }

    private static Type? Lookup(Assembly assembly, string name)
    {
        try
        {
            // Dynamic assemblies (PowerShell's enum keyword, Reflection.Emit) hold no forwarders.
            if (assembly.IsDynamic) return assembly.GetType(name, throwOnError: false, ignoreCase: false);
            var index = Indexes.GetValue(assembly, BuildIndex);
            if (index.Names is not null) return index.Names.Contains(name) ? assembly.GetType(name, throwOnError: false, ignoreCase: false) : null;
            return index.Types!.GetValueOrDefault(name);
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static EnumIndex BuildIndex(Assembly assembly)
    {
        string location = assembly.Location;
        if (!string.IsNullOrEmpty(location))
        {
            try
            {
                return new EnumIndex(ReadEnumNames(location), null);
            }
            catch (Exception)
            {
                // Its file is not readable metadata: no enums from it rather than a reflection walk that may load others.
                return new EnumIndex(new HashSet<string>(), null);
            }
        }

        // Loaded from bytes (Add-Type): its exported enums, through reflection.
        var types = new Dictionary<string, Type>(StringComparer.Ordinal);
        try
        {
            foreach (Type type in assembly.GetExportedTypes())
            {
                if (type.IsEnum && type.FullName is { } fullName) types.TryAdd(fullName, type);
            }
        }
        catch (Exception)
        {
            // No enums from an assembly whose types do not load.
        }
        return new EnumIndex(null, types);
    }

    /// <summary>The full names of the enums an assembly file defines, read from its metadata without loading any type.</summary>
    private static HashSet<string> ReadEnumNames(string path)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var pe = new PEReader(stream);
        MetadataReader metadata = pe.GetMetadataReader();
        foreach (TypeDefinitionHandle handle in metadata.TypeDefinitions)
        {
            TypeDefinition type = metadata.GetTypeDefinition(handle);
            if (IsSystemEnum(metadata, type.BaseType)) names.Add(FullName(metadata, type));
        }
        return names;
    }

    private static bool IsSystemEnum(MetadataReader metadata, EntityHandle baseType)
    {
        if (baseType.IsNil) return false;
        switch (baseType.Kind)
        {
            case HandleKind.TypeReference:
                var reference = metadata.GetTypeReference((TypeReferenceHandle)baseType);
                return metadata.StringComparer.Equals(reference.Name, "Enum") && metadata.StringComparer.Equals(reference.Namespace, "System");
            case HandleKind.TypeDefinition:
                var definition = metadata.GetTypeDefinition((TypeDefinitionHandle)baseType);
                return metadata.StringComparer.Equals(definition.Name, "Enum") && metadata.StringComparer.Equals(definition.Namespace, "System");
            default:
                return false;
        }
    }

    private static string FullName(MetadataReader metadata, TypeDefinition type)
    {
        string name = metadata.GetString(type.Name);
        TypeDefinitionHandle declaring = type.GetDeclaringType();
        if (!declaring.IsNil) return FullName(metadata, metadata.GetTypeDefinition(declaring)) + "+" + name;
        string ns = metadata.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    /// <summary>Either the enum names of an assembly file (resolved on a hit) or, for an assembly loaded from bytes, its enum types.</summary>
    private sealed record EnumIndex(HashSet<string>? Names, Dictionary<string, Type>? Types);

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
