using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Threads;

/// <summary>
/// One runspace of the pool, set up once, running chunks through a <see cref="ChunkDriver"/>. One
/// invocation of the driver serves chunk after chunk (its loop); a stop (Ctrl+C, a timeout) ends it,
/// and the next chunk starts another.
/// </summary>
internal sealed class RunspaceLane : IReusableLane
{
    private const string DriverScript = "param($driver) $driver.Serve($ExecutionContext.SessionState)";
    private readonly Runspace _runspace;
    private readonly PowerShell _shell;
    private readonly ChunkDriver _driver;
    private readonly ChunkInbox _inbox = new();
    private readonly object _loopGate = new();
    private bool _serving;
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    private RunspaceLane(Runspace runspace, ScriptRecipe setup)
    {
        _runspace = runspace;
        _shell = PowerShell.Create();
        // The records of a chunk were handed on as they were written; the loop's invocation would keep them all.
        _driver = new ChunkDriver(setup, _inbox, () => _shell.Streams.ClearStreams());
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
        var request = new ChunkRequest(chunk, sink);
        // Under one lock with the loop's end (ServeAsync), so a chunk is either taken by a loop that
        // is still serving or handed back when it ends, never left in the inbox with no loop.
        lock (_loopGate)
        {
            if (!_serving)
            {
                _serving = true;
                _loop = Task.Run(ServeAsync);
            }
            _inbox.Post(request);
        }
        return WaitAsync(request, token);
    }

    private async Task WaitAsync(ChunkRequest request, CancellationToken token)
    {
        using var stopOnCancel = token.Register(() => Stop(request));
        await request.Done.Task.ConfigureAwait(false);
    }

    /// <summary>Stops the loop's invocation if it is running <paramref name="request"/> (any chunk when null).</summary>
    private void Stop(ChunkRequest? request)
    {
        if (_inbox.TryMarkStopping(request)) _shell.TryBeginStop();
    }

    /// <summary>
    /// The driver's invocation: it serves chunks until the inbox closes or it is stopped. When it
    /// ends, the chunk it was running (or had been given) ends too: normally when stopped (the runner
    /// accounts for its items), with the failure when the runspace broke.
    /// </summary>
    private async Task ServeAsync()
    {
        Exception? failure = null;
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
            failure = new LaneFailedException($"runspace {WorkerId} broke: {ex.Message}", ex);
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            _shell.Streams.ClearStreams();
        }
        ChunkRequest? left;
        lock (_loopGate)
        {
            left = _inbox.LoopEnded();
            _serving = false;
        }
        if (left is null) return;
        if (failure is null) left.Done.TrySetResult();
        else left.Done.TrySetException(failure);
    }

    public void Abort()
    {
        if (Volatile.Read(ref _disposed) == 0) Stop(null);
    }

    /// <summary>Ends the loop, then closes the runspace once its invocation has ended, without blocking the caller.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _inbox.Close();
        Task loop;
        lock (_loopGate) loop = _loop;
        loop.ContinueWith(_ =>
        {
            _shell.Dispose();
            _runspace.Dispose();
        }, TaskScheduler.Default);
    }
}
