using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace PSParallel;

/// <summary>
/// Loads the engine and its dependencies (MessagePack) from Dependencies/ into the module's own
/// load context, so the module works next to another version of them in the same session
/// (PowerShell docs: "Resolving PowerShell module assembly dependency conflicts").
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private const string EngineAssembly = "PSParallel.Engine";

    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveEngine;

    public void OnRemove(PSModuleInfo module) => AssemblyLoadContext.Default.Resolving -= ResolveEngine;

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name) =>
        name.Name == EngineAssembly ? DependencyLoadContext.Instance.LoadFromAssemblyName(name) : null;
}

/// <summary>The module's own load context: anything found in Dependencies/ is loaded here.</summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
{
    private static readonly string Folder = Path.Combine(
        Path.GetDirectoryName(typeof(DependencyLoadContext).Assembly.Location)!, "Dependencies");

    public static DependencyLoadContext Instance { get; } = new();

    private DependencyLoadContext() : base("PSParallel", isCollectible: false) { }

    // Anything not in Dependencies/ (PowerShell itself, PSParallel.Contracts) comes from the default context.
    protected override Assembly? Load(AssemblyName name)
    {
        string path = Path.Combine(Folder, name.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
