using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine;

/// <summary>
/// Every error the module raises, id and message, in one place. Ids are stable: tests and users
/// match on them. Each message names the item (or the value) and says what to do.
/// </summary>
internal static class Errors
{
    // ---- an item's own errors ---------------------------------------------------------------

    /// <summary>An item's own error, re-targeted at the input item; id, category and details kept.</summary>
    public static ErrorRecord ForItem(ErrorRecord original, object? input)
    {
        var record = new ErrorRecord(original.Exception, original.FullyQualifiedErrorId, original.CategoryInfo.Category, input);
        if (original.ErrorDetails is not null) record.ErrorDetails = original.ErrorDetails;
        // An error from a remote host keeps its origin (PSComputerName), as Invoke-Command's do.
        return original is System.Management.Automation.Runspaces.RemotingErrorRecord remote
            ? new System.Management.Automation.Runspaces.RemotingErrorRecord(record, remote.OriginInfo) { ErrorDetails = record.ErrorDetails }
            : record;
    }

    /// <summary>What an item threw, as its error; an exception that carries a record keeps it.</summary>
    public static ErrorRecord ForException(Exception exception, object? input)
    {
        if (exception is IContainsErrorRecord { ErrorRecord: { } inner }) return ForItem(inner, input);
        return new ErrorRecord(exception, exception.GetType().Name, ErrorCategory.NotSpecified, input);
    }

    // ---- while a batch runs -------------------------------------------------------------------

    public static ErrorRecord ItemTimedOut(WorkItem item, TimeSpan timeout) => new(
        new TimeoutException($"{Describe(item)} did not finish within -ItemTimeoutSeconds {timeout.TotalSeconds:0.###} and was stopped. " +
                             "Raise -ItemTimeoutSeconds if the item needs longer, or add -RetryCount to try it again."),
        "ItemTimedOut", ErrorCategory.OperationTimeout, item.Input);

    public static ErrorRecord ItemTimedOutRelative(WorkItem item, double factor, TimeSpan median) => new(
        new TimeoutException($"{Describe(item)} ran longer than -ItemTimeoutFactor {factor:0.###} times the median duration of the items " +
                             $"that succeeded so far ({median.TotalSeconds:0.###} s), {factor * median.TotalSeconds:0.###} s, and was stopped. " +
                             "Raise -ItemTimeoutFactor if such items are expected to take longer, or add -RetryCount to try it again."),
        "ItemTimedOut", ErrorCategory.OperationTimeout, item.Input);

    public static ErrorRecord BatchTimedOut(TimeSpan timeout, long unfinished) => new(
        new TimeoutException($"The batch did not finish within -TimeoutSeconds {timeout.TotalSeconds:0.###}: " +
                             $"{unfinished} item(s) did not finish and are reported as timed out. " +
                             "Raise -TimeoutSeconds, or use -ItemTimeoutSeconds to bound single items."),
        "BatchTimedOut", ErrorCategory.OperationTimeout, null);

    /// <summary>A halt limit was reached; <paramref name="reason"/> is BatchSummary.HaltReason.</summary>
    public static ErrorRecord FailureLimitReached(string reason, long skipped) => new(
        new InvalidOperationException($"The batch halted: {reason}. No new item was started after that; the items running then finished, " +
                                      $"and {skipped} item(s) not yet started were skipped. See the errors above for why items failed; " +
                                      "once fixed, run again (with -JournalPath and -Resume only the items that did not succeed run again)."),
        "FailureLimitReached", ErrorCategory.LimitsExceeded, null);

    /// <summary>The journal could not be written mid-batch: the batch stops, so no item runs unrecorded.</summary>
    public static ErrorRecord JournalWriteFailed(string path, Exception ex) => new(
        new IOException($"Writing the journal '{path}' failed: {ex.Message} The batch was stopped so that no item runs without being " +
                        "recorded. Free space or fix the file, then run the same command with -Resume.", ex),
        "JournalWriteFailed", ErrorCategory.WriteError, path);

    public static ErrorRecord LaneFailed(WorkItem item, Exception reason) => new(
        new LaneFailedException($"{Describe(item)} failed because its worker broke: {reason.Message}", reason),
        "WorkerFailed", ErrorCategory.ResourceUnavailable, item.Input);

    public static ErrorRecord ItemNotTransferable(WorkItem item, ValueNotTransferableException ex) => new(
        ex.InContext($"{Describe(item)} cannot be sent to a worker process.",
            "Pass plain data (strings, numbers, hashtables, PSCustomObjects) instead."),
        "ItemNotTransferable", ErrorCategory.InvalidData, item.Input);

    /// <summary>Raised in a worker: an item the parent sent could not be decoded there.</summary>
    public static ErrorRecord ItemNotDecodable(string reason) => new(
        new ProtocolException($"the item could not be decoded in the worker: {reason}"),
        "ItemNotDecodable", ErrorCategory.InvalidData, null);

    /// <summary>Raised in a worker: an item's output cannot travel back to the parent.</summary>
    public static ErrorData OutputNotTransferable(WorkItem item, ValueNotTransferableException ex) => new(
        $"An output of {Describe(item)} cannot be sent back: {ex.Message}",
        "OutputNotTransferable", nameof(ErrorCategory.InvalidResult), typeof(ValueNotTransferableException).FullName, null, null);

    // ---- setting up: before anything runs, or when a lane opens -------------------------------

    /// <summary>A runspace or worker could not be set up (a module that does not import, say).</summary>
    public static SetupException WorkerSetupFailed(string where, string reason) => new(
        $"{where} could not be set up: {reason}", "WorkerSetupFailed", ErrorCategory.ResourceUnavailable, null);

    /// <summary>Why opening a lane stopped the batch: the setup error it carries, or the exception itself.</summary>
    public static ErrorRecord LaneSetupFailed(Exception ex) => ex is IContainsErrorRecord { ErrorRecord: { } record }
        ? record
        : new ErrorRecord(ex, "WorkerSetupFailed", ErrorCategory.ResourceUnavailable, null);

    public static SetupException VariableNotTransferable(RecipeVariable variable, ValueNotTransferableException ex) => new(
        $"{variable.Describe()} cannot be sent to the worker processes: {ex.Message}",
        "VariableNotTransferable", ErrorCategory.InvalidArgument, variable.Value);

    /// <summary>Script blocks are bound to the runspace that made them and must not cross to another.</summary>
    public static SetupException ScriptBlockCannotCross(object? value, string what) => new(
        $"{char.ToUpperInvariant(what[0])}{what[1..]} is a script block; script blocks cannot cross to another runspace or process. " +
        "Pass the script text instead and create it inside the item with [scriptblock]::Create().",
        "ScriptBlockCannotCrossRunspaces", ErrorCategory.InvalidArgument, value);

    public static SetupException FunctionNotFound(string name) => new(
        $"-Function '{name}' names no function in this session. Define the function (or dot-source the script " +
        "that defines it) before the call, or check the name.",
        "FunctionNotFound", ErrorCategory.ObjectNotFound, name);

    public static SetupException UsingVariableNotDefined(string usingText, string path) => new(
        $"The script block uses {usingText}, but no variable '{path}' is defined in the caller's scope. " +
        "Define the variable before the call, or pass the value with -Variable.",
        "UsingVariableNotDefined", ErrorCategory.InvalidArgument, path);

    public static SetupException UnknownWorkload(object? value, IEnumerable<string> known) => new(
        $"Unknown workload '{value}'. Known workloads: {string.Join(", ", known)}. " +
        "Pass one of these names, or a [type] that implements PSParallel.IWorkload or PSParallel.IAsyncWorkload.",
        "UnknownWorkload", ErrorCategory.ObjectNotFound, value);

    public static SetupException InvalidWorkloadType(Type type) => new(
        $"The type '{type.FullName}' cannot be used as a workload: it must be a public class with a parameterless constructor " +
        "that implements PSParallel.IWorkload or PSParallel.IAsyncWorkload.",
        "InvalidWorkloadType", ErrorCategory.InvalidArgument, type);

    public static SetupException WorkloadAssemblyNotOnDisk(Type type) => new(
        $"The workload type '{type.FullName}' lives in an assembly with no file on disk, so a worker process cannot load it. " +
        "Compile it to a file (for example Add-Type -OutputAssembly) and load it from there.",
        "WorkloadAssemblyNotOnDisk", ErrorCategory.InvalidArgument, type);

    // ---- remote hosts ----------------------------------------------------------------------------

    /// <summary>A host no session could be opened on: non-terminating; the batch runs on the others.</summary>
    public static ErrorRecord HostUnreachable(string hostName, string reason) => new(
        new System.Management.Automation.Remoting.PSRemotingTransportException(
            $"Host '{hostName}' could not be reached, so no item runs there: {reason} " +
            "Check that the host is up, that 'ssh' reaches it with these settings, and that its sshd has the 'powershell' subsystem."),
        "HostUnreachable", ErrorCategory.ConnectionError, hostName);

    public static ErrorRecord NoHostLeft(WorkItem item, string reason) => new(
        new InvalidOperationException($"{Describe(item)} was not run because no host is left: {reason}."),
        "NoHostLeft", ErrorCategory.ResourceUnavailable, item.Input);

    public static SetupException ModuleNotOnHost(string hostName) => new(
        $"Host '{hostName}' has no PSParallel module, which a compiled workload needs there. Install it on the host " +
        "(Install-PSResource PSParallel), or pass a script block instead of -Workload.",
        "ModuleNotOnHost", ErrorCategory.NotInstalled, hostName);

    public static SetupException RemoteTargetsConflict(string given, string other) => new(
        $"-{given} cannot be given with -{other}: name the hosts with one of them.",
        "RemoteTargetsConflict", ErrorCategory.InvalidArgument, given);

    public static SetupException NotForRemote(string parameter) => new(
        $"-{parameter} applies to worker processes on this machine, not to remote hosts: leave it out with -HostName or -Session.",
        "NotForRemote", ErrorCategory.InvalidArgument, parameter);

    public static SetupException RemoteNeedsHosts() => new(
        "-Model Remote measures remote sessions: name the hosts with -HostName, or pass sessions with -Session.",
        "RemoteNeedsHosts", ErrorCategory.InvalidArgument, null);

    public static SetupException RemotePoolNeedsProcessModel() => new(
        "A pool on other hosts (-HostName) runs items as worker processes do, for Invoke-ProcessBatch: use -Model Process with -HostName.",
        "RemotePoolNeedsProcessModel", ErrorCategory.InvalidArgument, null);

    // ---- warm pools ------------------------------------------------------------------------------

    public static SetupException PoolBusy() => new(
        "The worker pool is running another batch, and -NoWait was given. Leave out -NoWait to wait for it, " +
        "or start another pool with Start-WorkerPool.",
        "WorkerPoolBusy", ErrorCategory.ResourceBusy, null);

    public static SetupException PoolStopped() => new(
        "The worker pool has been stopped (Stop-WorkerPool, or the session that made it ended). Start a new one with Start-WorkerPool.",
        "WorkerPoolStopped", ErrorCategory.InvalidOperation, null);

    /// <summary>-Variable, -Function, -Module (and a worker's PowerShell) are the pool's, set when it started.</summary>
    public static SetupException PoolOwnsSetup(string parameter) => new(
        $"-{parameter} cannot be given with -Pool: the pool's runspaces or workers were set up when it started. " +
        $"Pass -{parameter} to Start-WorkerPool instead, or use $using: for values of this batch.",
        "PoolOwnsSetup", ErrorCategory.InvalidArgument, parameter);

    public static SetupException PoolModelMismatch(string command, string poolModel, string otherCommand) => new(
        $"{command} cannot run on a {poolModel} pool. Use {otherCommand} with this pool, or start a pool of the other model.",
        "WorkerPoolModelMismatch", ErrorCategory.InvalidArgument, poolModel);

    public static SetupException ResumeNeedsJournal() => new(
        "-Resume needs -JournalPath: the journal of the earlier run says which items already succeeded. " +
        "Add -JournalPath with the path of that journal.",
        "ResumeNeedsJournal", ErrorCategory.InvalidArgument, null);

    public static SetupException JournalNotOurs(string path) => new(
        $"'{path}' is not a PSParallel journal (its first line is not a journal header), so it was left untouched. " +
        "Pass -JournalPath a new file, or the journal an earlier Invoke-ThreadBatch or Invoke-ProcessBatch wrote.",
        "JournalNotOurs", ErrorCategory.InvalidData, path);

    public static SetupException JournalDamaged(string path, int line, string reason) => new(
        $"Line {line} of the journal '{path}' is not a journal entry ({reason}), so the journal was left untouched and nothing was run. " +
        "Remove that line (the other entries stay valid), or pass a new -JournalPath to start afresh.",
        "JournalDamaged", ErrorCategory.InvalidData, path);

    public static SetupException JournalInUse(string path) => new(
        $"The journal '{path}' is in use by another batch, in this or another process. Two batches cannot write one journal: " +
        "wait for the other batch to end, or pass another -JournalPath.",
        "JournalInUse", ErrorCategory.ResourceBusy, path);

    public static SetupException JournalNotWritable(string path, string reason) => new(
        $"The journal '{path}' cannot be opened for writing: {reason} Check that its folder exists and that you may write there.",
        "JournalNotWritable", ErrorCategory.OpenError, path);

    public static ErrorRecord NoSampleItems() => new(
        new ArgumentException(
            "Measure-ConcurrencyModel got no sample items, so there is nothing to measure. Pipe the items to it " +
            "(for example 1..100 | Measure-ConcurrencyModel { ... }) or pass them with -InputObject."),
        "NoSampleItems", ErrorCategory.InvalidArgument, null);

    /// <summary>"Item 3 ('abc')", short enough for an error line.</summary>
    public static string Describe(WorkItem item)
    {
        var text = item.Input?.ToString() ?? "null";
        if (text.Length > 60) text = text[..57] + "...";
        return $"Item {item.Index} ('{text}')";
    }
}
