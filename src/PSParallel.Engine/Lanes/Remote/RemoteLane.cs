using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Remote;

/// <summary>
/// One session on a remote host as a lane. A chunk runs in one remote pipeline (see
/// <see cref="RemoteDriver"/>); what comes back is attributed to the item between its Begin and End
/// marks. The session breaking fails the lane with an error naming the host; an item that does not
/// stop within a few seconds of its timeout gets its session closed (and its remote process ended).
/// </summary>
internal sealed class RemoteLane : IReusableLane
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(3);
    private readonly RemoteSession _session;
    private readonly object _gate = new();
    private PowerShell? _shell;
    private IAttemptSink? _sink;
    private Dictionary<long, WorkItem> _pending = new();
    private WorkItem? _current;
    private bool _currentReleased;
    private List<object?> _output = new();
    private List<ErrorRecord> _errors = new();
    private readonly Action _closed;
    private readonly Func<Task> _broke;
    private int _disposed;

    /// <param name="closed">told once when the lane is disposed (its session closes)</param>
    /// <param name="broke">told when the session broke; the lane reports the failure once it completes (the host is checked)</param>
    public RemoteLane(RemoteSession session, Action closed, Func<Task> broke)
    {
        _session = session;
        _closed = closed;
        _broke = broke;
    }

    public int WorkerId => _session.ProcessId;
    public string? HostName => _session.HostName;

    /// <summary>Its processor time is the host's, not this machine's: not counted.</summary>
    public double CpuSeconds => 0;

    /// <summary>The host's processor count.</summary>
    public int Cores => _session.Cores;

    /// <summary>Sets the session up for a batch: its modules, functions, variables, preferences and script or workload.</summary>
    public Task PrepareAsync(WorkRecipe batch, CancellationToken token) => _session.SetUpAsync(batch.Script, batch.Workload);

    /// <summary>Sets a pool's session up with the pool's own modules, functions and variables.</summary>
    public Task SetUpForPoolAsync(ScriptRecipe setup) => _session.SetUpAsync(setup, null);

    public Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var shell = _session.NewShell();
        var indexes = new long[chunk.Count];
        var inputs = new object?[chunk.Count];
        lock (_gate)
        {
            _sink = sink;
            _shell = shell;
            _pending = new Dictionary<long, WorkItem>(chunk.Count);
            for (int i = 0; i < chunk.Count; i++)
            {
                indexes[i] = chunk[i].Index;
                inputs[i] = chunk[i].Input;
                _pending[chunk[i].Index] = chunk[i];
            }
        }
        shell.AddCommand(RemoteDriver.ChunkCommand).AddParameter(RemoteDriver.IndexParameter, indexes).AddParameter(RemoteDriver.ItemParameter, inputs);
        var output = new PSDataCollection<PSObject>();
        output.DataAdded += (s, e) => OnOutput(((PSDataCollection<PSObject>)s!)[e.Index]);
        shell.Forward(OnError, OnStream);
        IAsyncResult invocation;
        try
        {
            invocation = shell.BeginInvoke<PSObject, PSObject>(null, output);
        }
        catch (Exception ex) when (ex is InvalidRunspaceStateException or PSRemotingTransportException or InvalidOperationException)
        {
            shell.Dispose();
            var lost = _session.Lost(ex);
            return _broke().ContinueWith(_ => throw lost, TaskScheduler.Default);
        }
        _ = Task.Factory.FromAsync(invocation, shell.EndInvoke).ContinueWith(ended => Ended(ended, done, shell), TaskScheduler.Default);
        // The batch stops (Ctrl+C, -TimeoutSeconds): stop the remote pipeline; the chunk ends with it.
        // A chunk whose items have all been reported is left to end by itself: the batch's own end
        // cancels the token too, and stopping a pipeline as it completes could leave the session
        // unfit for a warm pool's next batch.
        var onStop = token.Register(() =>
        {
            bool allReported;
            lock (_gate) allReported = _pending.Count == 0;
            if (!allReported) shell.TryBeginStop();
        });
        done.Task.ContinueWith(_ => onStop.Dispose(), TaskScheduler.Default);
        return done.Task;
    }

    private void OnOutput(PSObject value)
    {
        if (value.BaseObject is string text && text.StartsWith(RemoteDriver.MarkPrefix, StringComparison.Ordinal))
        {
            OnMark(text.AsSpan(RemoteDriver.MarkPrefix.Length));
            return;
        }
        lock (_gate)
        {
            if (_current is null || _currentReleased) return;
            _output.Add(_session.Stamp(value));
        }
    }

    /// <summary>'B index' or 'E index startTicksUtc durationTicks' (see <see cref="RemoteDriver.MarkPrefix"/>).</summary>
    private void OnMark(ReadOnlySpan<char> mark)
    {
        Span<Range> fields = stackalloc Range[5];
        int count = mark.Split(fields, ' ');
        long index = long.Parse(mark[fields[1]], CultureInfo.InvariantCulture);
        if (mark[fields[0]] is "B")
        {
            Begin(index);
            return;
        }
        var start = count > 2 ? new DateTime(long.Parse(mark[fields[2]], CultureInfo.InvariantCulture), DateTimeKind.Utc).ToLocalTime() : DateTime.Now;
        var duration = TimeSpan.FromTicks(count > 3 ? long.Parse(mark[fields[3]], CultureInfo.InvariantCulture) : 0);
        EndItem(index, new AttemptTiming(start, duration));
    }

    private void Begin(long index)
    {
        WorkItem? item;
        lock (_gate)
        {
            item = _pending.GetValueOrDefault(index);
            _current = item;
            _currentReleased = false;
            _output = new List<object?>();
            _errors = new List<ErrorRecord>();
        }
        // The host has started it already; if the batch says skip (it settled the item meanwhile),
        // what the host reports for it is let go.
        if (item is not null && !_sink!.TryBegin(item))
        {
            lock (_gate) _currentReleased = true;
        }
    }

    private void EndItem(long index, AttemptTiming timing)
    {
        WorkItem? item;
        bool report;
        List<object?> output;
        List<ErrorRecord> errors;
        lock (_gate)
        {
            item = _pending.GetValueOrDefault(index);
            report = item is not null && ReferenceEquals(item, _current) && !_currentReleased;
            output = _output;
            errors = _errors;
            _current = null;
            if (item is not null) _pending.Remove(index);
        }
        if (report) _sink!.End(item!, new AttemptOutcome(output, errors, timing));
        // The chunk ends when the remote pipeline does (Ended), not at its last mark: a session runs
        // one pipeline at a time, so the next chunk must not start before this one has finished.
    }

    private void OnError(ErrorRecord record)
    {
        lock (_gate)
        {
            if (_current is null || _currentReleased) return;
            _errors.Add(_session.Stamp(record));
        }
    }

    private void OnStream(StreamRecord record)
    {
        WorkItem? item;
        lock (_gate) item = _currentReleased ? null : _current;
        if (item is not null) _sink!.Stream(item, record);
    }

    /// <summary>The remote pipeline ended: the chunk is done, stopped, or the session broke (the host was lost).</summary>
    private void Ended(Task invocation, TaskCompletionSource done, PowerShell shell)
    {
        var failure = invocation.Exception?.GetBaseException();
        shell.Dispose();
        if (failure is not null and not PipelineStoppedException && _session.IsBrokenBy(failure))
        {
            // Whether the host is lost is settled before the failure is reported, so that the batch's
            // summary, and the lane that replaces this one, know it.
            var lost = _session.Lost(failure);
            _broke().ContinueWith(_ => done.TrySetException(lost), TaskScheduler.Default);
            return;
        }
        bool allReported;
        lock (_gate) allReported = _pending.Count == 0;
        if (allReported || failure is null) done.TrySetResult();
        else if (failure is PipelineStoppedException) done.TrySetCanceled();
        else done.TrySetException(new LaneFailedException($"the session on host '{HostName}' failed: {failure.Message}", failure));
    }

    /// <summary>An item timed out: stop the remote pipeline; a session that does not stop in a few seconds is closed.</summary>
    public void Abort()
    {
        PowerShell? shell;
        lock (_gate) shell = _shell;
        if (shell is null) return;
        shell.TryBeginStop();
        _ = Task.Delay(StopGrace).ContinueWith(_ =>
        {
            if (shell.InvocationStateInfo.State is PSInvocationState.Running or PSInvocationState.Stopping) _session.ForceClose();
        }, TaskScheduler.Default);
    }

    /// <summary>Closes the session in the background: a stuck session must not hold up the batch's end.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        PowerShell? shell;
        lock (_gate) shell = _shell;
        if (shell is not null && shell.InvocationStateInfo.State == PSInvocationState.Running) shell.TryBeginStop();
        _session.Close();
        _closed();
    }
}
