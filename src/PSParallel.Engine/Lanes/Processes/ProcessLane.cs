using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Processes;

/// <summary>
/// One worker process as a lane: sends chunks, and turns the worker's frames back into attempt
/// reports. A dead worker, or one that breaks the protocol, fails the lane with an error naming
/// the process id and exit code; the runner fails the item it held and requeues the rest.
/// </summary>
internal sealed class ProcessLane : IReusableLane
{
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(30);
    private readonly WorkerProcess _worker;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly Action<ProcessLane, double> _retired;
    private readonly object _gate = new();
    private readonly Dictionary<long, WorkItem> _pending = new();
    // Items the batch said to skip after the worker had started them: their late frames are let go.
    private readonly HashSet<long> _released = new();
    private IAttemptSink? _sink;
    private TaskCompletionSource? _chunkDone;
    private TaskCompletionSource<SetupDoneMessage>? _setupDone;
    private Exception? _broken;
    private int _disposed;

    private ProcessLane(WorkerProcess worker, Action<ProcessLane, double> retired)
    {
        _worker = worker;
        // No BufferedStream under the reader: it would wait to fill its buffer after a complete
        // frame, while the worker waits for our answer. FrameReader reads ahead on its own.
        _reader = new FrameReader(worker.Output);
        _writer = new FrameWriter(worker.Input);
        _retired = retired;
    }

    public int WorkerId => _worker.Id;

    public double CpuSeconds => _worker.CpuSeconds();

    /// <summary>
    /// Sends another batch's setup to the worker (a warm pool): its script with the batch's $using:
    /// values, preferences and location, or its workload type; the pool's own setup stays. Waits
    /// for the worker to confirm it, even when the batch ends meanwhile: the worker answers within
    /// milliseconds, and a lane given back with a confirmation still on the way would be a lane
    /// whose next setup could be confirmed by this one's answer.
    /// </summary>
    public async Task PrepareAsync(WorkRecipe batch, CancellationToken token)
    {
        var done = new TaskCompletionSource<SetupDoneMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_broken is not null) throw _broken;
            _setupDone = done;
        }
        try
        {
            _writer.Write(batch.WorkerSetup());
        }
        catch (IOException)
        {
            // The worker is gone; the listener reports how it ended.
        }
        var confirmed = await done.Task.WaitAsync(SetupTimeout).ConfigureAwait(false);
        if (confirmed.Error is { } error) throw Errors.WorkerSetupFailed("A worker process", error.Message);
    }

    public long WorkingSetBytes() => _worker.WorkingSetBytes();

    /// <summary>
    /// Starts a worker and sets it up; <paramref name="retired"/> gets its CPU seconds when it ends.
    /// A stop while the worker is still starting kills it at once: a slow start must not outlive the batch.
    /// </summary>
    public static async Task<ProcessLane> StartAsync(WorkerCommand command, SetupMessage setup, Action<ProcessLane, double> retired,
        CancellationToken token)
    {
        var lane = new ProcessLane(WorkerProcess.Start(command), retired);
        try
        {
            using var killOnStop = token.Register(lane._worker.Kill);
            await lane.HandshakeAsync(setup).ConfigureAwait(false);
            token.ThrowIfCancellationRequested();
        }
        catch (Exception ex)
        {
            lane._worker.Kill();
            lane.Dispose();
            if (token.IsCancellationRequested && ex is not OperationCanceledException) throw new OperationCanceledException(token);
            throw;
        }
        _ = Task.Run(lane.ListenAsync);
        return lane;
    }

    private async Task HandshakeAsync(SetupMessage setup)
    {
        var first = ReadHelloAsync();
        if (await Task.WhenAny(first, Task.Delay(HelloTimeout)).ConfigureAwait(false) != first)
        {
            _worker.Kill();
            // Not a LaneFailedException: a worker that does not start in this time is not retried.
            throw new TimeoutException($"worker process {WorkerId} did not say hello within {HelloTimeout.TotalSeconds:0} s and was stopped. " +
                "Check that -PowerShellPath names a PowerShell 7.4 or later.");
        }
        var hello = await DecodeAsync(first).ConfigureAwait(false) as HelloMessage;
        if (hello?.ProtocolVersion != HelloMessage.CurrentVersion)
            throw new LaneFailedException($"worker process {WorkerId} speaks protocol version {hello?.ProtocolVersion.ToString() ?? "none"}, not {HelloMessage.CurrentVersion}");
        _writer.Write(new HelloMessage(HelloMessage.CurrentVersion, Environment.ProcessId));
        _writer.Write(setup);
        if (await DecodeAsync(_reader.ReadFrameAsync().AsTask()).ConfigureAwait(false) is not SetupDoneMessage done)
            throw new LaneFailedException($"worker process {WorkerId} did not confirm its setup");
        if (done.Error is { } error)
            throw Errors.WorkerSetupFailed("A worker process", error.Message);
    }

    private async Task<byte[]?> ReadHelloAsync()
    {
        await WorkerPreamble.SkipToAsync(_worker.Output, $"worker process {WorkerId}").ConfigureAwait(false);
        return await _reader.ReadFrameAsync().ConfigureAwait(false);
    }

    private async Task<Message?> DecodeAsync(Task<byte[]?> frame)
    {
        try
        {
            return await frame.ConfigureAwait(false) is { } bytes ? MessageCodec.Decode(bytes) : null;
        }
        catch (ProtocolException ex)
        {
            throw new LaneFailedException($"worker process {WorkerId} broke the protocol: {ex.Message}", ex);
        }
        catch (IOException)
        {
            throw new LaneFailedException(_worker.DescribeEnd());
        }
    }

    public Task RunAsync(IReadOnlyList<WorkItem> chunk, IAttemptSink sink, CancellationToken token)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var send = new List<ChunkItem>(chunk.Count);
        lock (_gate)
        {
            if (_broken is not null) return Task.FromException(_broken);
            _sink = sink;
            _chunkDone = done;
            foreach (var item in chunk)
            {
                try
                {
                    send.Add(new ChunkItem(item.Index, ValueCodec.Encode(item.Input)));
                    _pending[item.Index] = item;
                }
                catch (ValueNotTransferableException ex)
                {
                    if (sink.TryBegin(item)) sink.End(item, AttemptOutcome.Failed(Errors.ItemNotTransferable(item, ex)));
                }
            }
            if (_pending.Count == 0) return Task.CompletedTask;
        }
        try
        {
            _writer.Write(new ChunkMessage(send));
        }
        catch (IOException)
        {
            // The worker is gone; the listener reports how it ended.
        }
        // On a stop the runner lets the chunk go; the lane is disposed and the worker ends. A chunk
        // whose items have all been reported has ended, though: the batch's own end (which cancels
        // the token once the last item settled) must not look like a worker stopped mid-chunk,
        // or a warm pool would close a worker that is fit for the next batch.
        var onStop = token.Register(() =>
        {
            bool allReported;
            lock (_gate) allReported = _pending.Count == 0;
            if (allReported) done.TrySetResult();
            else done.TrySetCanceled();
        });
        done.Task.ContinueWith(_ => onStop.Dispose(), TaskScheduler.Default);
        return done.Task;
    }

    /// <summary>Reads the worker's frames until it ends; runs on its own task for the lane's life.</summary>
    private async Task ListenAsync()
    {
        Exception ending;
        try
        {
            while (await _reader.ReadFrameAsync().ConfigureAwait(false) is { } frame)
                Dispatch(MessageCodec.Decode(frame));
            ending = new LaneFailedException(_worker.DescribeEnd());
        }
        catch (ProtocolException ex)
        {
            _worker.Kill();
            ending = new LaneFailedException($"worker process {WorkerId} broke the protocol and was stopped: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            ending = new LaneFailedException(_worker.DescribeEnd(), ex);
        }
        TaskCompletionSource? chunk;
        TaskCompletionSource<SetupDoneMessage>? setup;
        lock (_gate)
        {
            _broken = ending;
            chunk = _chunkDone;
            setup = _setupDone;
        }
        chunk?.TrySetException(ending);
        setup?.TrySetException(ending);
    }

    private void Dispatch(Message message)
    {
        switch (message)
        {
            case ItemStartedMessage started when Pending(started.Index) is { } item:
                // The worker has started it already; if the batch says skip (it settled the item
                // meanwhile), what the worker reports for it is let go.
                if (!_sink!.TryBegin(item)) Release(item, skipped: true)?.TrySetResult();
                break;
            case StreamMessage stream when Pending(stream.Index) is { } item:
                _sink!.Stream(item, WireRecords.ToRecord(stream, WorkerId));
                break;
            case ItemResultMessage result when Pending(result.Index) is { } item:
                ReportResult(item, result);
                break;
            case StreamMessage stream when IsReleased(stream.Index):
                break;
            case ItemResultMessage result when IsReleased(result.Index):
                break;
            case SetupDoneMessage done when _setupDone is { } waiting:
                waiting.TrySetResult(done);
                break;
            default:
                throw new ProtocolException($"unexpected {message.GetType().Name} for an item this worker does not hold");
        }
    }

    private WorkItem? Pending(long index)
    {
        lock (_gate) return _pending.GetValueOrDefault(index);
    }

    private bool IsReleased(long index)
    {
        lock (_gate) return _released.Contains(index);
    }

    private void ReportResult(WorkItem item, ItemResultMessage result)
    {
        var output = new List<object?>(result.Output.Count);
        var errors = result.Errors.Select(e => WireRecords.ToRecord(e, item.Input)).ToList();
        foreach (var encoded in result.Output) output.Add(ValueCodec.Decode(encoded));
        // Let go of the item before reporting it: its report may end the batch, whose stop must
        // then find the chunk fully reported. The chunk completes after the report.
        var finished = Release(item, skipped: false);
        // Timed in the worker: here its start and result frames may arrive together.
        _sink!.End(item, new AttemptOutcome(output, errors, new AttemptTiming(result.StartTime.ToLocalTime(), result.Duration)));
        finished?.TrySetResult();
    }

    /// <summary>
    /// The item is no longer this lane's to report; returns the chunk's completion when it was the
    /// last one, for the caller to complete once it has reported the item.
    /// </summary>
    private TaskCompletionSource? Release(WorkItem item, bool skipped)
    {
        lock (_gate)
        {
            _pending.Remove(item.Index);
            if (skipped) _released.Add(item.Index);
            return _pending.Count == 0 ? _chunkDone : null;
        }
    }

    public void Abort() => _worker.Kill();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _retired(this, _worker.CpuSeconds());
        try
        {
            _writer.Write(new ShutdownMessage());
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or ProtocolException)
        {
        }
        _worker.Dispose();
    }
}
