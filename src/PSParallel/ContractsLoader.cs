using System.Reflection;
using System.Runtime.Loader;

namespace PSParallel;

/// <summary>
/// Loads PSParallel.Contracts (the public types) into the default load context before any code of
/// this assembly runs: the build in contracts/netN.0/ with the highest N not above the running
/// .NET's major version. The module ships one build per .NET it runs on, all with the same
/// identity; this assembly and the engine compile against the net8.0 one. Code a user compiles
/// against [PSParallel.IWorkload].Assembly.Location with Add-Type then references the System.Runtime
/// it runs on, and the compiler has no older one to warn about (CS1701, an error to Add-Type).
/// </summary>
/// <remarks>
/// A module initializer, not IModuleAssemblyInitializer.OnImport: it runs before any method of this
/// assembly, also in a worker process that imports the assembly without the manifest, and the
/// manifest cannot choose a file by runtime. PowerShell's import loads the exported types first
/// (base types and value-type fields only, none of them from the contracts), then creates the
/// OnImport class; the cmdlets' attributes (OutputType names ItemResult) are read after that.
/// There is no contracts file in the module root, so nothing else finds one first.
/// The handler stays registered once the module is removed: the contracts cannot leave the
/// default load context, and an import after a removal finds them loaded.
/// </remarks>
internal static class ContractsLoader
{
    internal const string ContractsAssembly = "PSParallel.Contracts";
    internal const string ContractsFolder = "contracts";

    private static string? s_path;

#pragma warning disable CA2255 // The module's public types must be in place before PowerShell or a worker uses them.
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void Load()
    {
        string folder = Path.Combine(Path.GetDirectoryName(typeof(ContractsLoader).Assembly.Location)!, ContractsFolder);
        s_path = Choose(folder, Environment.Version.Major);
        // Not the module's layout (a build output, the contracts beside this file): the usual probing applies.
        if (s_path is null) return;
        AssemblyLoadContext.Default.Resolving += Resolve;
        // By name: contracts already in the default context (an import after Remove-Module) are kept.
        AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName(ContractsAssembly));
    }

    /// <summary>
    /// The contracts file in folder/netN.0/ with the highest N not above runtimeMajor, or null
    /// when there is none.
    /// </summary>
    internal static string? Choose(string folder, int runtimeMajor)
    {
        if (!Directory.Exists(folder)) return null;
        string? best = null;
        int bestMajor = -1;
        foreach (string build in Directory.EnumerateDirectories(folder))
        {
            if (MajorOf(Path.GetFileName(build)) is not int major) continue;
            string file = Path.Combine(build, ContractsAssembly + ".dll");
            if (major <= runtimeMajor && major > bestMajor && File.Exists(file))
            {
                best = file;
                bestMajor = major;
            }
        }
        return best;
    }

    /// <summary>N for a folder named netN.0 (what a project's TargetFrameworks name), else null.</summary>
    private static int? MajorOf(string name) =>
        name.StartsWith("net", StringComparison.Ordinal) && name.EndsWith(".0", StringComparison.Ordinal) &&
        int.TryParse(name.AsSpan(3, name.Length - 5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int major)
            ? major
            : null;

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name) =>
        s_path is not null && string.Equals(name.Name, ContractsAssembly, StringComparison.OrdinalIgnoreCase)
            ? context.LoadFromAssemblyPath(s_path)
            : null;
}
