using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Protocol;

// The messages between the parent and a worker process. Each travels as one length-prefixed
// MessagePack frame (see docs/protocol.md). Values (items, outputs, variables) are encoded one by
// one with ValueCodec, so a value that cannot cross fails only its own item.

internal abstract record Message;

/// <summary>First message, both ways: the protocol version each side speaks.</summary>
internal sealed record HelloMessage(int ProtocolVersion, int ProcessId) : Message
{
    public const int CurrentVersion = 3;
}

/// <summary>Parent to worker, once after hello: what every item needs, for a script or for a compiled workload.</summary>
internal abstract record SetupMessage : Message;

/// <summary>The setup of a script batch: the script and what it sees (variables as ValueCodec bytes).</summary>
internal sealed record ScriptSetupMessage(
    string ScriptText,
    IReadOnlyDictionary<string, byte[]> Variables,
    IReadOnlyDictionary<string, string> Functions,
    IReadOnlyList<string> Modules,
    string? Location,
    IReadOnlyDictionary<string, string> Preferences) : SetupMessage;

/// <summary>The setup of a compiled-workload batch: where the worker finds the workload's type.</summary>
internal sealed record WorkloadSetupMessage(string AssemblyPath, string TypeName) : SetupMessage;

/// <summary>Worker to parent: setup done (Error null) or failed (e.g. a module did not import).</summary>
internal sealed record SetupDoneMessage(ErrorData? Error) : Message;

/// <summary>Parent to worker: items to run, in order.</summary>
internal sealed record ChunkMessage(IReadOnlyList<ChunkItem> Items) : Message;

internal sealed record ChunkItem(long Index, byte[] EncodedValue);

/// <summary>Worker to parent: the item began (item timeouts count from here).</summary>
internal sealed record ItemStartedMessage(long Index) : Message;

/// <summary>
/// Worker to parent: the item ended, with when it started (UTC) and how long it ran, both measured
/// in the worker, its encoded output values and its errors.
/// </summary>
internal sealed record ItemResultMessage(
    long Index,
    DateTime StartTime,
    TimeSpan Duration,
    IReadOnlyList<byte[]> Output,
    IReadOnlyList<ErrorData> Errors) : Message;

/// <summary>An error record reduced to what crosses: id, message, category, position.</summary>
internal sealed record ErrorData(
    string Message,
    string FullyQualifiedErrorId,
    string Category,
    string? ExceptionType,
    string? PositionMessage,
    string? ScriptStackTrace);

/// <summary>
/// Worker to parent: a stream record an item wrote. Message is the text (Information: the message
/// data as text); Tags only for Information; the Progress fields only for Progress.
/// </summary>
internal sealed record StreamMessage(
    long Index,
    StreamKind Kind,
    string Message,
    IReadOnlyList<string> Tags,
    ProgressData? Progress) : Message;

internal sealed record ProgressData(
    int ActivityId,
    int ParentActivityId,
    string Activity,
    string StatusDescription,
    string? CurrentOperation,
    int PercentComplete,
    int SecondsRemaining,
    bool Completed);

/// <summary>Parent to worker: finish and exit (closing the worker's stdin means the same).</summary>
internal sealed record ShutdownMessage : Message;

/// <summary>The stream broke the protocol: bad frame, bad message, wrong version, frame past the bound.</summary>
internal sealed class ProtocolException : Exception
{
    public ProtocolException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A value that cannot cross to another process: names its type and why.</summary>
internal sealed class ValueNotTransferableException : Exception
{
    public ValueNotTransferableException(string typeName, string reason)
        : base($"A value of type {typeName} cannot cross to another process: {reason}") => TypeName = typeName;

    private ValueNotTransferableException(string typeName, string message, Exception inner)
        : base(message, inner) => TypeName = typeName;

    public string TypeName { get; }

    /// <summary>The same refusal told in a context: <paramref name="before"/>, this message, then <paramref name="after"/>.</summary>
    public ValueNotTransferableException InContext(string before, string after) => new(TypeName, $"{before} {Message.TrimEnd('.')}. {after}", this);
}
