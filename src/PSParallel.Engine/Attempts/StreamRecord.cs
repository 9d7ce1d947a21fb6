using System.Management.Automation;
using PSParallel.Engine.Protocol;

namespace PSParallel.Engine.Attempts;

/// <summary>PowerShell's streams besides output and error. The numbers travel in worker messages.</summary>
internal enum StreamKind
{
    Verbose,
    Warning,
    Debug,
    Information,
    Progress,
}

/// <summary>
/// A Verbose, Warning, Debug, Information or Progress record, with its kind fixed where it was
/// written, so the caller's side writes it without looking at its type again.
/// </summary>
internal sealed class StreamRecord
{
    private StreamRecord(StreamKind kind, string message, InformationRecord? information, ProgressRecord? progress)
    {
        Kind = kind;
        Message = message;
        Information = information;
        Progress = progress;
    }

    public StreamKind Kind { get; }
    /// <summary>The text (Information: its message data as text; Progress: its status).</summary>
    public string Message { get; }
    public InformationRecord? Information { get; }
    public ProgressRecord? Progress { get; }

    public static StreamRecord Verbose(string message) => new(StreamKind.Verbose, message, null, null);
    public static StreamRecord Warning(string message) => new(StreamKind.Warning, message, null, null);
    public static StreamRecord Debug(string message) => new(StreamKind.Debug, message, null, null);
    public static StreamRecord Of(InformationRecord record) => new(StreamKind.Information, record.MessageData?.ToString() ?? "", record, null);
    public static StreamRecord Of(ProgressRecord record) => new(StreamKind.Progress, record.StatusDescription, null, record);
}
