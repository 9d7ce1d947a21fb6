using System.Diagnostics;
using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Pools;
using PSParallel.Engine.Scheduling;

namespace PSParallel.Commands;

/// <summary>
/// The parameters and life cycle every batch cmdlet shares. It binds, builds the plan and hands
/// each item to the engine; a subclass only says which executor runs the items.
/// </summary>
public abstract class BatchCommandBase : WorkCommandBase, IDisposable
{
    private readonly CancellationTokenSource _stopWaiting = new();
    private BatchRunner? _runner;
    private bool _summaryStored;

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int ThrottleLimit { get; set; }

    [Parameter]
    [ValidatePositiveSeconds]
    public double TimeoutSeconds { get; set; }

    [Parameter]
    [ValidatePositiveSeconds]
    public double ItemTimeoutSeconds { get; set; }

    /// <summary>Time out an item running longer than this many times the median duration of the items that succeeded so far.</summary>
    [Parameter]
    [ValidateRange(1.0, double.MaxValue)]
    public double ItemTimeoutFactor { get; set; }

    [Parameter]
    public SwitchParameter Ordered { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int RetryCount { get; set; }

    [Parameter]
    [ValidateRange(0.0, 86400.0)]
    public double RetryDelaySeconds { get; set; } = 1;

    [Parameter]
    public SwitchParameter AsResult { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SummaryVariable { get; set; }

    /// <summary>With -Pool: fail at once when another batch has the pool, instead of waiting for it.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>Append one JSON line per settled item to this file.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? JournalPath { get; set; }

    /// <summary>With -JournalPath: skip the items the journal records as Succeeded.</summary>
    [Parameter]
    public SwitchParameter Resume { get; set; }

    /// <summary>Halt once this many items failed or timed out.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxFailures { get; set; }

    /// <summary>Halt once this percentage of the finished items failed (judged from 10 finished items on).</summary>
    [Parameter]
    [ValidatePercent]
    public double MaxFailurePercent { get; set; }

    /// <summary>At most this many item starts per second, spaced evenly, across the whole batch.</summary>
    [Parameter]
    [ValidatePositiveNumber]
    public double MaxPerSecond { get; set; }

    /// <summary>The degree used when -ThrottleLimit is not given.</summary>
    protected abstract int DefaultThrottleLimit { get; }

    /// <summary>Items per chunk when the caller fixes it; 0 sizes chunks automatically.</summary>
    protected virtual int FixedChunkSize => 0;

    /// <summary>The largest automatic chunk (see BatchOptions.MaxChunkSize).</summary>
    protected virtual int MaxChunkSize => 64;

    /// <summary>The executor for this call, built from the bound parameters.</summary>
    private protected abstract IExecutor CreateExecutor();

    /// <summary>The model this cmdlet runs items with (and the model of pool it takes).</summary>
    private protected abstract ExecutionModel Model { get; }

    /// <summary>Parameters that set up runspaces or workers, which a pool has set up already.</summary>
    private protected virtual IEnumerable<string> SetupParameters => new[] { nameof(Variable), nameof(Function), nameof(Module) };

    protected int EffectiveThrottleLimit => ThrottleLimit > 0 ? ThrottleLimit : DefaultThrottleLimit;

    /// <summary>Cancelled by Ctrl+C (StopProcessing): for waits of the call's own, such as connecting to hosts.</summary>
    private protected CancellationToken StopToken => _stopWaiting.Token;

    protected override void BeginProcessing()
    {
        // The summary's Duration is the call's: connecting to remote hosts comes before the batch.
        long started = Stopwatch.GetTimestamp();
        try
        {
            var executor = Pool is null ? CreateExecutor() : LeasePool(Pool);
            var options = new BatchOptions
            {
                ThrottleLimit = executor is PoolLease lease ? lease.ThrottleLimit : EffectiveThrottleLimit,
                BatchTimeout = TimeoutSeconds > 0 ? TimeSpan.FromSeconds(TimeoutSeconds) : null,
                ItemTimeout = ItemTimeoutSeconds > 0 ? TimeSpan.FromSeconds(ItemTimeoutSeconds) : null,
                ItemTimeoutFactor = ItemTimeoutFactor,
                Ordered = Ordered,
                RetryCount = RetryCount,
                RetryDelay = TimeSpan.FromSeconds(RetryDelaySeconds),
                FixedChunkSize = FixedChunkSize,
                MaxChunkSize = Math.Max(MaxChunkSize, FixedChunkSize),
                JournalPath = ResolveJournalPath(),
                Resume = Resume,
                MaxFailures = MaxFailures,
                MaxFailurePercent = MaxFailurePercent,
                MaxPerSecond = MaxPerSecond,
                Activity = MyInvocation.MyCommand.Name,
                StartTimestamp = started,
            };
            _runner = new BatchRunner(options, executor, new CmdletSink(this), AsResult);
        }
        catch (Exception ex) when (EndsTheCall(ex))
        {
            ThrowTerminatingError(ex);
        }
    }

    /// <summary>-JournalPath as a file-system path, relative to the caller's location.</summary>
    private string? ResolveJournalPath()
    {
        if (Resume && string.IsNullOrEmpty(JournalPath)) throw Errors.ResumeNeedsJournal();
        if (string.IsNullOrEmpty(JournalPath)) return null;
        string path;
        ProviderInfo provider;
        try
        {
            path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(JournalPath, out provider, out _);
        }
        catch (Exception ex) when (ex is SessionStateException or PSArgumentException or NotSupportedException or ArgumentException)
        {
            throw Errors.JournalNotWritable(JournalPath, ex.Message);
        }
        if (provider.ImplementingType != typeof(Microsoft.PowerShell.Commands.FileSystemProvider))
            throw Errors.JournalNotWritable(JournalPath, $"it is a path of the {provider.Name} provider, not a file.");
        return path;
    }

    protected override void ProcessRecord()
    {
        // Without pipeline input or -InputObject there is nothing to run.
        if (!HasInput) return;
        RunGuarded(() => _runner!.Add(InputObject));
    }

    protected override void EndProcessing()
    {
        RunGuarded(() => _runner!.Complete());
        StoreSummary();
    }

    protected override void StopProcessing()
    {
        _stopWaiting.Cancel();
        _runner?.Stop();
    }

    public void Dispose()
    {
        // Reached after Ctrl+C, -ErrorAction Stop or Select-Object -First: stop what runs, count the rest.
        _runner?.Dispose();
        _stopWaiting.Dispose();
        StoreSummary();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The pool for this batch (waiting while another batch has it, unless -NoWait), at its own
    /// size or the smaller -ThrottleLimit; the pool's setup stands, so setup parameters are refused.
    /// </summary>
    private PoolLease LeasePool(WorkerPool pool)
    {
        var warm = (WarmPool)pool.Handle;
        // Remote sessions run items as worker processes do: Invoke-ProcessBatch takes both pools.
        if (warm.Model != Model && !(Model == ExecutionModel.Process && warm.Model == ExecutionModel.Remote))
        {
            string other = Model == ExecutionModel.Thread ? "Invoke-ProcessBatch" : "Invoke-ThreadBatch";
            throw Errors.PoolModelMismatch(MyInvocation.MyCommand.Name, pool.Model, other);
        }
        if (SetupParameters.FirstOrDefault(MyInvocation.BoundParameters.ContainsKey) is { } given) throw Errors.PoolOwnsSetup(given);
        int throttle = ThrottleLimit > 0 ? Math.Min(ThrottleLimit, warm.Size) : warm.Size;
        try
        {
            return warm.Lease(CreateRecipe(), throttle, wait: !NoWait, _stopWaiting.Token);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
    }

    private void RunGuarded(Action step)
    {
        try
        {
            step();
        }
        catch (Exception ex) when (EndsTheCall(ex))
        {
            _runner!.Dispose();
            StoreSummary();
            ThrowTerminatingError(ex);
        }
    }

    private void StoreSummary()
    {
        if (_summaryStored || _runner is null || string.IsNullOrEmpty(SummaryVariable)) return;
        _summaryStored = true;
        SessionState.PSVariable.Set(SummaryVariable, _runner.Summary());
    }
}
