namespace PSParallel.Engine.Workloads;

/// <summary>Finds a compiled workload by built-in name, by type name, or from a [type].</summary>
internal static class WorkloadCatalog
{
    private static readonly Dictionary<string, Type> BuiltIns = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Sleep"] = typeof(SleepWorkload),
        ["Spin"] = typeof(SpinWorkload),
        ["IsPrime"] = typeof(IsPrimeWorkload),
        ["Sha256"] = typeof(Sha256Workload),
        ["HttpGet"] = typeof(HttpGetWorkload),
        ["GZip"] = typeof(GZipWorkload),
    };

    public static IReadOnlyCollection<string> BuiltInNames => BuiltIns.Keys;

    /// <summary>Resolves a name or type; throws <see cref="SetupException"/> listing the known names.</summary>
    public static Type Resolve(object workload)
    {
        var value = workload is System.Management.Automation.PSObject p ? p.BaseObject : workload;
        var type = value switch
        {
            Type t => t,
            string name when BuiltIns.TryGetValue(name, out var builtIn) => builtIn,
            string name => FindLoadedType(name),
            _ => null,
        };
        if (type is null) throw Errors.UnknownWorkload(value, BuiltIns.Keys);
        if (!IsWorkload(type) || type.IsAbstract || type.GetConstructor(Type.EmptyTypes) is null)
            throw Errors.InvalidWorkloadType(type);
        return type;
    }

    /// <summary>The built-in name of a workload type, or null for one of the caller's own.</summary>
    public static string? BuiltInName(Type type) => BuiltIns.FirstOrDefault(b => b.Value == type).Key;

    public static bool IsWorkload(Type type) =>
        typeof(IWorkload).IsAssignableFrom(type) || typeof(IAsyncWorkload).IsAssignableFrom(type);

    private static Type? FindLoadedType(string name) =>
        AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic)
            .Select(a => a.GetType(name, throwOnError: false, ignoreCase: true))
            .FirstOrDefault(t => t is not null && IsWorkload(t));
}
