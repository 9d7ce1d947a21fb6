using System.Diagnostics;
using System.Management.Automation;
using System.Text;

namespace PSParallel.Engine.Lanes.Processes;

/// <summary>
/// How to start a worker: the same PowerShell the caller runs (or -PowerShellPath), with no
/// profile, importing this module and entering the worker loop.
/// </summary>
internal sealed class WorkerCommand
{
    private readonly string _fileName;
    private readonly string? _dllArgument;
    private readonly string _encodedBootstrap;

    /// <summary>
    /// The worker imports the module's assembly, not its manifest: it needs none of the manifest's
    /// format data, and loading that took about 0.1 s off every worker's start. The assembly loads
    /// the contracts build for the worker's own .NET as it is imported (ContractsLoader), which
    /// may not be the caller's when -PowerShellPath names another PowerShell.
    /// </summary>
    public WorkerCommand(string? powerShellPath, string moduleAssemblyPath)
    {
        (_fileName, _dllArgument) = Resolve(powerShellPath);
        // The first thing the worker does is take stdout for frames (WorkerHost.Run -> StdioTakeover).
        string bootstrap = $"Import-Module -Name {Quote(moduleAssemblyPath)} -ErrorAction Stop; exit [PSParallel.WorkerHost]::Run()";
        _encodedBootstrap = Convert.ToBase64String(Encoding.Unicode.GetBytes(bootstrap));
    }

    private static string Quote(string path) => "'" + path.Replace("'", "''") + "'";

    public string Description => _dllArgument is null ? _fileName : $"{_fileName} {_dllArgument}";

    public ProcessStartInfo CreateStartInfo()
    {
        var info = new ProcessStartInfo(_fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        if (_dllArgument is not null) info.ArgumentList.Add(_dllArgument);
        foreach (var argument in new[] { "-NoProfile", "-NonInteractive", "-NoLogo", "-EncodedCommand", _encodedBootstrap })
            info.ArgumentList.Add(argument);
        info.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        info.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        foreach (var (name, value) in RuntimeTuning)
        {
            // The caller's own setting (either spelling) wins: the environment starts as the caller's.
            if (!info.Environment.ContainsKey("DOTNET_" + name) && !info.Environment.ContainsKey("COMPlus_" + name))
                info.Environment["DOTNET_" + name] = value;
        }
        return info;
    }

    /// <summary>
    /// .NET runtime settings for the workers only (never the caller), kept because they won in
    /// bench/WorkerTuning.ps1 (bench/results/WorkerTuning.md). Dynamic PGO off: a worker then spends
    /// no CPU on instrumented code and its re-compilation, which on 2 cores competes with the items
    /// themselves (CPU script 0.92x sequential against 0.82x, allocation-heavy script 0.48x against
    /// 0.42x, trivial items unchanged). Larger gen0 budgets, non-concurrent GC and no tiering did not win.
    /// </summary>
    private static readonly (string Name, string Value)[] RuntimeTuning = { ("TieredPGO", "0") };

    /// <summary>
    /// $PSHOME/pwsh when it exists; under the dotnet tool the process is 'dotnet', so fall back to
    /// 'dotnet $PSHOME/pwsh.dll'. A given path ending in .dll runs through dotnet too.
    /// </summary>
    private static (string FileName, string? DllArgument) Resolve(string? powerShellPath)
    {
        if (!string.IsNullOrEmpty(powerShellPath))
            return powerShellPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ("dotnet", powerShellPath) : (powerShellPath, null);

        string home = Path.GetDirectoryName(typeof(PSObject).Assembly.Location)!;
        string executable = Path.Combine(home, OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
        if (File.Exists(executable) && (OperatingSystem.IsWindows() || IsExecutableOnUnix(executable))) return (executable, null);
        return ("dotnet", Path.Combine(home, "pwsh.dll"));
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static bool IsExecutableOnUnix(string path) =>
        (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
