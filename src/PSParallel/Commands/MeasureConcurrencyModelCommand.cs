using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Engine;
using PSParallel.Engine.Measurement;
using PSParallel.Engine.Pools;
using PSParallel.Engine.Workloads;

namespace PSParallel.Commands;

/// <summary>
/// Measure-ConcurrencyModel: runs the work on sample items sequentially, on threads, on processes and
/// (with -HostName or -Session) on remote hosts, and recommends the model that finishes the whole job first.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "ConcurrencyModel", DefaultParameterSetName = ScriptBlockSet)]
[OutputType(typeof(ConcurrencyReport))]
public sealed class MeasureConcurrencyModelCommand : WorkCommandBase, IDisposable, IDynamicParameters
{
    private readonly SshParameters _ssh = new();
    /// <summary>The sample when -SampleSize is not given: every item, up to this many.</summary>
    public const int DefaultSampleLimit = 64;

    private readonly List<object?> _sample = new();
    private readonly CancellationTokenSource _stop = new();
    private long _given;

    [Parameter]
    [ValidateRange(1, 100_000)]
    public int SampleSize { get; set; }

    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long TotalItems { get; set; }

    [Parameter]
    [ValidateSet(nameof(ExecutionModel.Sequential), nameof(ExecutionModel.Thread), nameof(ExecutionModel.Process), nameof(ExecutionModel.Remote),
        IgnoreCase = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Model { get; set; }

    [Parameter]
    [ValidateRange(1, 1024)]
    public int MaxThrottleLimit { get; set; } = 64;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ReportPath { get; set; }

    /// <summary>Add Remote trials on sessions the user opened; they stay open.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public PSSession[]? Session { get; set; }

    /// <summary>Sessions per host for the Remote trials (default: each host's processor count).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; }

    private int SampleLimit => SampleSize > 0 ? SampleSize : DefaultSampleLimit;

    private bool MeasuresRemote => _ssh.HostName is not null || Session is not null;

    /// <summary>-HostName and its connection parameters, for the Remote trials.</summary>
    public object GetDynamicParameters() => _ssh;

    protected override void ProcessRecord()
    {
        if (!HasInput) return;
        _given++;
        if (_sample.Count < SampleLimit) _sample.Add(InputObject);
    }

    protected override void EndProcessing()
    {
        if (_sample.Count == 0) ThrowTerminatingError(Errors.NoSampleItems());
        RemoteTrialPool? remote = null;
        try
        {
            var warm = Pool is null ? null : PoolFor(Pool);
            var recipe = CreateRecipe();
            var models = Enum.GetValues<ExecutionModel>()
                .Where(m => Model is null
                    ? (m != ExecutionModel.Remote || MeasuresRemote) && (warm is null || m == ExecutionModel.Sequential || m == warm.Model)
                    : Model.Contains(m.ToString(), StringComparer.OrdinalIgnoreCase))
                .ToList();
            if (models.Contains(ExecutionModel.Remote)) remote = OpenRemote();
            long totalItems = TotalItems > 0 ? TotalItems : _given;
            WriteWarning($"Measure-ConcurrencyModel runs the work several times on each of the {_sample.Count} sample items " +
                         $"(at least once per trial, {models.Count} model(s) at a few degrees; short items until a trial has run about {PassClock.MinimumTime.TotalSeconds:0.#} s). " +
                         "Make sure running it again does no harm.");
            var study = new ConcurrencyStudy(recipe, _sample, new StudyOptions
            {
                Models = models,
                MaxThrottleLimit = MaxThrottleLimit,
                TotalItems = totalItems,
                Pool = warm,
                Remote = remote,
            });
            var progress = new MeasurementProgress(this);
            var trials = study.Run(progress.Next, WriteWarning, _stop.Token);
            progress.Complete();
            var report = ReportBuilder.Build(trials, DescribeJob(), totalItems, _sample.Count, PowerShellVersion());
            if (ReportPath is not null) HtmlReport.Write(report, SessionState.Path.GetUnresolvedProviderPathFromPSPath(ReportPath));
            WriteObject(report);
        }
        catch (Exception ex) when (EndsTheCall(ex))
        {
            ThrowTerminatingError(ex);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            // Sessions opened for the measurement end with it (the user's own -Session stay open).
            remote?.Pool.Dispose();
        }
    }

    /// <summary>
    /// Opens the sessions for the Remote trials; the time it takes is their start-up, counted once in
    /// the projection as a process trial counts its workers' start.
    /// </summary>
    private RemoteTrialPool OpenRemote()
    {
        if (!MeasuresRemote) throw Errors.RemoteNeedsHosts();
        var clock = Stopwatch.StartNew();
        var pool = RemoteConnector.Open(this, _ssh, Session, ThrottleLimit, _stop.Token);
        // The user's own sessions were open already: they cost the job no start-up.
        var connect = _ssh.HostName is not null ? clock.Elapsed : TimeSpan.Zero;
        return new RemoteTrialPool(pool, connect, RemoteConnector.HostCount(_ssh, Session));
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The pool's engine side. Its setup stands (setup parameters are refused), and only its own
    /// model can be measured on it besides sequential.
    /// </summary>
    private WarmPool PoolFor(WorkerPool pool)
    {
        var warm = (WarmPool)pool.Handle;
        foreach (var setup in new[] { nameof(Variable), nameof(Function), nameof(Module) })
            if (MyInvocation.BoundParameters.ContainsKey(setup)) throw Errors.PoolOwnsSetup(setup);
        var other = warm.Model == ExecutionModel.Thread ? ExecutionModel.Process : ExecutionModel.Thread;
        if (Model?.Contains(other.ToString(), StringComparer.OrdinalIgnoreCase) == true)
            throw Errors.PoolModelMismatch($"Measure-ConcurrencyModel -Model {other}", pool.Model, $"-Model {warm.Model}");
        return warm;
    }

    private JobText DescribeJob() => new()
    {
        Input = PipelineInputText.Find(MyInvocation),
        Script = UsesWorkload ? null : ScriptBlock,
        Workload = UsesWorkload ? WorkloadCatalog.Resolve(Workload) : null,
        Functions = Function ?? Array.Empty<string>(),
        Modules = Module ?? Array.Empty<string>(),
        Variables = Variable,
        Pool = Pool is null ? null : PipelineInputText.FindArgument(MyInvocation, nameof(Pool)) ?? "$pool",
        PoolModel = Pool is null ? null : ((WarmPool)Pool.Handle).Model,
        Hosts = MeasuresRemote ? RemoteArguments() : null,
        HostCount = RemoteConnector.HostCount(_ssh, Session),
    };

    /// <summary>The remote parameters as the caller wrote them, for the recommended command line.</summary>
    private string RemoteArguments()
    {
        var given = SshParameters.ConnectionSettings.Prepend(nameof(Session)).Prepend(nameof(SshParameters.HostName))
            .Where(MyInvocation.BoundParameters.ContainsKey)
            .Select(p => $"-{p} {PipelineInputText.FindArgument(MyInvocation, p) ?? ArgumentText(MyInvocation.BoundParameters[p])}");
        return string.Join(" ", given);
    }

    private static string ArgumentText(object? value) => value switch
    {
        string[] names => string.Join(", ", names.Select(n => "'" + n.Replace("'", "''") + "'")),
        string text => "'" + text.Replace("'", "''") + "'",
        PSSession[] => "$sessions",
        Hashtable => "$sshOption",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    private string PowerShellVersion() =>
        SessionState.PSVariable.GetValue("PSVersionTable") is System.Collections.IDictionary table
            ? table["PSVersion"]?.ToString() ?? "" : "";
}
