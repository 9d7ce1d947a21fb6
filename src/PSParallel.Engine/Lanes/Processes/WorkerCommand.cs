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
    private readonly (string Name, string Value)[] _tuning;

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
        _tuning = BatchTuning;
    }

    private WorkerCommand(WorkerCommand worker, (string Name, string Value)[] tuning)
    {
        (_fileName, _dllArgument, _encodedBootstrap) = (worker._fileName, worker._dllArgument, worker._encodedBootstrap);
        _tuning = tuning;
    }

    /// <summary>The same worker, with the runtime settings of a warm pool's long-lived workers (<see cref="PoolTuning"/>).</summary>
    public WorkerCommand ForWarmPool() => new(this, PoolTuning);

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
        foreach (var (name, value) in _tuning)
        {
            // The caller's own setting (either spelling) wins: the environment starts as the caller's.
            if (!info.Environment.ContainsKey("DOTNET_" + name) && !info.Environment.ContainsKey("COMPlus_" + name))
                info.Environment["DOTNET_" + name] = value;
        }
        return info;
    }

    /// <summary>
    /// Compact gen2 when it is mostly garbage. PowerShell's short-lived objects that survive a gen0 or
    /// gen1 collection pile up in gen2 as garbage, which the GC here leaves there (its gen2 budget
    /// grows with the machine's memory), and every later collection gets slower: 600 allocation-heavy
    /// items in one pwsh took 17.4-17.8 s, and each round of 200 slower than the one before; with this
    /// setting 12.4-12.7 s. Invoke-ProcessBatch of 1,200 such items on 2 workers: 22.4-23.8 s against
    /// 18.4-18.6 s; in bench/WorkerTuning.ps1 (LongAlloc, 160 items) 1.23x sequential with PGO off
    /// against 1.15x with PGO off alone, the CPU script, short jobs and trivial items unchanged. A
    /// worker lives for its batch or its pool, which is what lets the garbage pile up.
    /// Declared before the lists that use it: static fields are initialized in the order they are written.
    /// </summary>
    private static readonly (string Name, string Value) ConserveMemory = ("GCConserveMemory", "5");

    /// <summary>
    /// .NET runtime settings for a batch's own workers only (never the caller), kept because they won
    /// in bench/WorkerTuning.ps1 (bench/results/WorkerTuning.md). Dynamic PGO off: a worker then spends
    /// no CPU on instrumented code and its re-compilation, which on 2 cores competes with the items
    /// themselves (CPU script 0.92x sequential against 0.82x, allocation-heavy script 0.48x against
    /// 0.42x, trivial items unchanged). Larger gen0 budgets, non-concurrent GC and no tiering did not win.
    /// And <see cref="ConserveMemory"/>, as for every worker.
    /// </summary>
    private static readonly (string Name, string Value)[] BatchTuning = { ("TieredPGO", "0"), ConserveMemory };

    /// <summary>
    /// A warm pool's workers run batch after batch, so they do without tiered compilation: each
    /// method is compiled optimized once, on first use, instead of quickly first and then again on a
    /// background thread, which in a worker went on for seconds into every batch and took up to half
    /// a core from the items (their times swung between 72 and 230 ms for a 72 ms item). Such
    /// workers start later (a pool of 2: 2.3 s against 1.05-1.6 s), which is why a batch's own
    /// workers keep tiering (32 x 0.5 s CPU script, cold: 9.8-9.9 s with it, 10.3-10.7 s without).
    /// Measured on a warm pool of 2, 32 x 0.25 s of CPU script, 3 processes each, alternated:
    /// 1.46-1.62x sequential before, 1.75-1.77x after; the pool's second such batch 1.61-1.78x
    /// before, 1.90-1.92x after; bench/ProcessBatch.ps1's 32 x 0.5 s on a warm pool 1.57x before, 1.78x after.
    /// </summary>
    private static readonly (string Name, string Value)[] PoolTuning = { ("TieredCompilation", "0"), ConserveMemory };

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
