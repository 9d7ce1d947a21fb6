using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Threads;

/// <summary>One runspace of the pool, set up once, running chunks through a <see cref="ChunkDriver"/>.</summary>
internal sealed class RunspaceLane : IReusableLane
{
    private const string DriverScript = "param($driver) $driver.Run($ExecutionContext.SessionState)";
    private readonly Runspace _runspace;
    private readonly PowerShell _shell;
    private readonly ChunkDriver _driver;
    private Task _running = Task.CompletedTask;
    private int _disposed;

    private RunspaceLane(Runspace runspace, ScriptRecipe setup)
    {
        _runspace = runspace;
        _driver = new ChunkDriver(setup);
        _shell = PowerShell.Create();
        _shell.Runspace = runspace;
        _shell.AddScript(DriverScript).AddArgument(_driver);
        _shell.Forward(_driver.OnError, _driver.OnStreamRecord);
    }

    public int WorkerId => _runspace.Id;

    /// <summary>Its processor time is this process's.</summary>
    public double CpuSeconds => 0;

    /// <summary>Another batch's script block runs here next (a warm pool); compiled workloads use no runspace.</summary>
    public Task PrepareAsync(WorkRecipe batch, CancellationToken token)
    {
        Rescript(batch.Script ?? throw new InvalidOperationException("a compiled workload does not run in a pool's runspace"));
        return Task.CompletedTask;
    }

    /// <summary>The next chunks run another batch's script, with its $using: values, preferences and location.</summary>
    public void Rescript(ScriptRecipe batch) => _driver.Rescript(batch);

    public static RunspaceLane Open(InitialSessionState sessionState, ScriptRecipe setup)
    {
        var runspace = RunspaceFactory.CreateRunspace(sessionState);
        runspace.ThreadOptions = PSThreadOptions.ReuseThread;
        try
        {
            runspace.Open();
        }
        catch
        {
            runspace.Dispose();
            throw;
        }
        return new RunspaceLane(runspace, setup);
    }

    public Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token)
    {
        _driver.Prepare(chunk, sink);
        _running = InvokeAsync(token);
        return _running;
    }

    private async Task InvokeAsync(CancellationToken token)
    {
        using var stopOnCancel = token.Register(_shell.TryBeginStop);
        try
        {
            await Task.Factory.FromAsync(_shell.BeginInvoke(), _shell.EndInvoke).ConfigureAwait(false);
        }
        catch (PipelineStoppedException)
        {
            // Stopped by a timeout or by the batch: the runner accounts for the items.
        }
        catch (Exception ex) when (_runspace.RunspaceStateInfo.State != RunspaceState.Opened)
        {
            throw new LaneFailedException($"runspace {WorkerId} broke: {ex.Message}", ex);
        }
        finally
        {
            _shell.Streams.ClearStreams();
        }
    }

    public void Abort()
    {
        if (Volatile.Read(ref _disposed) == 0) _shell.TryBeginStop();
    }

    /// <summary>Closes the runspace once its invocation has ended, without blocking the caller.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _running.ContinueWith(_ =>
        {
            _shell.Dispose();
            _runspace.Dispose();
        }, TaskScheduler.Default);
    }
}
