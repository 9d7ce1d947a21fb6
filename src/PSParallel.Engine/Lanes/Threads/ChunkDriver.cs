using System.Collections.ObjectModel;
using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Threads;

/// <summary>
/// Runs chunks of items inside one runspace, on that runspace's own thread. Each item gets its
/// own child scope ($_ bound, variables do not leak to the next item), its own output and its own
/// errors; stream records are attributed to the item that is running when they are written.
/// The runspace's driver script calls <see cref="Serve"/> once (PowerShell calls a public method of
/// an internal type), which runs the chunks its <see cref="ChunkInbox"/> hands it until the inbox
/// closes or the invocation is stopped: one PowerShell invocation per lane rather than per chunk,
/// which cost 0.3-0.6 ms each, as much as a dozen trivial items.
/// </summary>
internal sealed class ChunkDriver
{
    private readonly List<PSVariable> _itemVariables = new(1);
    private ScriptRecipe _setup;
    // A batch's $using: values and preferences, still to be set in the runspace (a warm pool's
    // runspace taking another batch); the first batch's come with the runspace's session state.
    private ScriptRecipe? _unapplied;
    private ScriptBlock? _script;
    private readonly ChunkInbox _inbox;
    private readonly Action _chunkDone;
    private IAttemptSink? _sink;
    private WorkItem? _current;
    private List<ErrorRecord>? _currentErrors;

    /// <param name="chunkDone">called on the runspace's thread after each chunk</param>
    internal ChunkDriver(ScriptRecipe setup, ChunkInbox inbox, Action chunkDone)
    {
        _setup = setup;
        _inbox = inbox;
        _chunkDone = chunkDone;
    }

    /// <summary>Takes another batch's script, $using: values, preferences and location.</summary>
    internal void Rescript(ScriptRecipe batch)
    {
        _setup = batch;
        _unapplied = batch;
        _script = null;
    }

    /// <summary>Called by the driver script with the runspace's own session state; returns when the inbox closes.</summary>
    public void Serve(SessionState state)
    {
        while (_inbox.Take() is { } request)
        {
            Run(state, request.Items, request.Sink);
            _inbox.Finished(request);
            _chunkDone();
        }
    }

    private void Run(SessionState state, IReadOnlyList<WorkItem> chunk, IAttemptSink sink)
    {
        _sink = sink;
        if (_unapplied is { } batch)
        {
            foreach (var variable in batch.Variables) state.PSVariable.Set(variable.Name, variable.Value);
            foreach (var (name, value) in batch.Preferences) state.PSVariable.Set(name, value);
            _unapplied = null;
        }
        // Created here, on the runspace's thread, so the script block belongs to this runspace.
        _script ??= ScriptBlock.Create(_setup.ScriptText);
        RestoreLocation(state);
        foreach (var item in chunk)
        {
            if (!sink.TryBegin(item)) continue;
            var errors = new List<ErrorRecord>();
            _current = item;
            _currentErrors = errors;
            Collection<PSObject>? output = null;
            try
            {
                // InvokeWithContext takes $_ out of the list it is given, so the list is refilled per item.
                _itemVariables.Clear();
                _itemVariables.Add(new PSVariable("_", item.Input));
                output = _script.InvokeWithContext(null, _itemVariables);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                errors.Add(Errors.ForException(ex, item.Input));
            }
            finally
            {
                _current = null;
                _currentErrors = null;
            }
            sink.End(item, new AttemptOutcome((IReadOnlyList<object?>?)output ?? Array.Empty<object?>(), errors));
            HeapCompactor.AfterItem();
        }
    }

    internal void OnError(ErrorRecord record) => _currentErrors?.Add(record);

    internal void OnStreamRecord(StreamRecord record)
    {
        if (_current is { } item) _sink!.Stream(item, record);
    }

    /// <summary>Items may change location; each chunk starts where the caller was.</summary>
    private void RestoreLocation(SessionState state)
    {
        if (_setup.Location is not { } location) return;
        if (string.Equals(state.Path.CurrentLocation.Path, location, StringComparison.Ordinal)) return;
        state.Path.SetLocation(location);
    }
}
