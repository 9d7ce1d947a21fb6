using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Measurement;
using PSParallel.Engine.Workloads;

namespace PSParallel.Commands;

/// <summary>
/// Measure-ConcurrencyModel: runs the work on sample items sequentially, on threads and on processes,
/// and recommends the model that finishes the whole job first.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "ConcurrencyModel", DefaultParameterSetName = ScriptBlockSet)]
[OutputType(typeof(ConcurrencyReport))]
public sealed class MeasureConcurrencyModelCommand : WorkCommandBase, IDisposable
{
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
    [ValidateSet(nameof(ExecutionModel.Sequential), nameof(ExecutionModel.Thread), nameof(ExecutionModel.Process), IgnoreCase = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Model { get; set; }

    [Parameter]
    [ValidateRange(1, 1024)]
    public int MaxThrottleLimit { get; set; } = 64;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ReportPath { get; set; }

    private int SampleLimit => SampleSize > 0 ? SampleSize : DefaultSampleLimit;

    protected override void ProcessRecord()
    {
        if (!HasInput) return;
        _given++;
        if (_sample.Count < SampleLimit) _sample.Add(InputObject);
    }

    protected override void EndProcessing()
    {
        if (_sample.Count == 0) ThrowTerminatingError(Errors.NoSampleItems());
        try
        {
            var recipe = CreateRecipe();
            var models = Enum.GetValues<ExecutionModel>().Where(m => Model is null || Model.Contains(m.ToString(), StringComparer.OrdinalIgnoreCase)).ToList();
            long totalItems = TotalItems > 0 ? TotalItems : _given;
            WriteWarning($"Measure-ConcurrencyModel runs the work several times on each of the {_sample.Count} sample items " +
                         $"(at least once per trial, {models.Count} model(s) at a few degrees; short items until a trial has run about {PassClock.MinimumTime.TotalSeconds:0.#} s). " +
                         "Make sure running it again does no harm.");
            var study = new ConcurrencyStudy(recipe, _sample, new StudyOptions
            {
                Models = models,
                MaxThrottleLimit = MaxThrottleLimit,
                TotalItems = totalItems,
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
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    private JobText DescribeJob() => new()
    {
        Input = PipelineInputText.Find(MyInvocation),
        Script = UsesWorkload ? null : ScriptBlock,
        Workload = UsesWorkload ? WorkloadCatalog.Resolve(Workload) : null,
        Functions = Function ?? Array.Empty<string>(),
        Modules = Module ?? Array.Empty<string>(),
        Variables = Variable,
    };

    private string PowerShellVersion() =>
        SessionState.PSVariable.GetValue("PSVersionTable") is System.Collections.IDictionary table
            ? table["PSVersion"]?.ToString() ?? "" : "";
}
