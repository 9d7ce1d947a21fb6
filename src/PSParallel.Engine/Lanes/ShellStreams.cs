using System.Management.Automation;
using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Lanes;

/// <summary>Hands what a PowerShell invocation writes besides its output to a lane, as it is written.</summary>
internal static class ShellStreams
{
    /// <summary>Errors to <paramref name="error"/>; Verbose, Warning, Debug, Information and Progress records to <paramref name="stream"/>.</summary>
    public static void Forward(this PowerShell shell, Action<ErrorRecord> error, Action<StreamRecord> stream)
    {
        shell.Streams.Error.DataAdded += (s, e) => error(((PSDataCollection<ErrorRecord>)s!)[e.Index]);
        shell.Streams.Verbose.DataAdded += (s, e) => stream(StreamRecord.Verbose(((PSDataCollection<VerboseRecord>)s!)[e.Index].Message));
        shell.Streams.Warning.DataAdded += (s, e) => stream(StreamRecord.Warning(((PSDataCollection<WarningRecord>)s!)[e.Index].Message));
        shell.Streams.Debug.DataAdded += (s, e) => stream(StreamRecord.Debug(((PSDataCollection<DebugRecord>)s!)[e.Index].Message));
        shell.Streams.Information.DataAdded += (s, e) => stream(StreamRecord.Of(((PSDataCollection<InformationRecord>)s!)[e.Index]));
        shell.Streams.Progress.DataAdded += (s, e) => stream(StreamRecord.Of(((PSDataCollection<ProgressRecord>)s!)[e.Index]));
    }
}
