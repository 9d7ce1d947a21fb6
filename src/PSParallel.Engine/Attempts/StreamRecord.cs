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
internal sealed class StreamRecord(StreamKind kind, string message, InformationRecord? information = null, ProgressRecord? progress = null)
{
    public StreamKind Kind { get; } = kind;
    /// <summary>The text (Information: its message data as text; Progress: its status).</summary>
    public string Message { get; } = message;
    public InformationRecord? Information { get; } = information;
    public ProgressRecord? Progress { get; } = progress;

    public static StreamRecord Verbose(string message) => new(StreamKind.Verbose, message);
    public static StreamRecord Warning(string message) => new(StreamKind.Warning, message);
    public static StreamRecord Debug(string message) => new(StreamKind.Debug, message);
    public static StreamRecord Of(InformationRecord record) => new(StreamKind.Information, record.MessageData?.ToString() ?? "", information: record);
    public static StreamRecord Of(ProgressRecord record) => new(StreamKind.Progress, record.StatusDescription, progress: record);
}
