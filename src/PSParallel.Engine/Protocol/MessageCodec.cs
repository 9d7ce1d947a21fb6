using System.Buffers;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// Messages to and from MessagePack: each message is an array <c>[code, field1, ...]</c>
/// (docs/protocol.md lists the codes and fields; <see cref="MessageShapes"/> defines them). Values
/// inside messages (items, outputs, variables) are already ValueCodec bytes and travel as MessagePack bin.
/// </summary>
internal static class MessageCodec
{
    public static byte[] Encode(Message message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        EncodeTo(buffer, message);
        return buffer.WrittenSpan.ToArray();
    }

    internal static void EncodeTo(IBufferWriter<byte> output, Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var writer = new MessagePackWriter(output);
        MessageFormatter.Instance.Serialize(ref writer, message, ProtocolSerialization.Options);
        writer.Flush();
    }

    /// <summary>
    /// Decodes one frame's payload. Anything malformed (bad MessagePack, unknown message code,
    /// wrong field count or type, trailing bytes) throws <see cref="ProtocolException"/>, never
    /// another exception type.
    /// </summary>
    public static Message Decode(ReadOnlyMemory<byte> payload) =>
        ProtocolSerialization.Deserialize<Message>(payload, "message")
        ?? throw new ProtocolException("malformed message: nil instead of a message");
}

/// <summary>The one set of options every decode goes through.</summary>
internal static class ProtocolSerialization
{
    /// <summary>Bound on nested MessagePack containers; ValueCodec refuses values nested deeper than it can send.</summary>
    public const int MaxGraphDepth = 128;

    /// <summary>
    /// UntrustedData security, and a resolver that knows only this protocol's formatters and
    /// MessagePack's primitive built-ins: no typeless, dynamic or contractless resolver, so no
    /// type is ever named by the wire.
    /// </summary>
    public static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(ProtocolResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MaxGraphDepth));

    public static T? Deserialize<T>(ReadOnlyMemory<byte> payload, string what)
    {
        T? result;
        int read;
        try
        {
            result = MessagePackSerializer.Deserialize<T>(payload, Options, out read);
        }
        catch (Exception ex)
        {
            throw Malformed(what, ex);
        }
        if (read != payload.Length)
            throw new ProtocolException($"malformed {what}: {payload.Length - read} bytes after the end of the {what}");
        return result;
    }

    /// <summary>A ProtocolException for a failed decode: the innermost ProtocolException's words if there is one.</summary>
    public static ProtocolException Malformed(string what, Exception ex)
    {
        Exception innermost = ex;
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is ProtocolException known) return new ProtocolException($"malformed {what}: {known.Message}", ex);
            innermost = e;
        }
        string reason = innermost switch
        {
            InsufficientExecutionStackException => $"nested deeper than {MaxGraphDepth} levels",
            EndOfStreamException => "it ends in the middle of a value",
            _ => innermost.Message,
        };
        return new ProtocolException($"malformed {what}: {reason}", ex);
    }
}

internal sealed class ProtocolResolver : IFormatterResolver
{
    public static readonly ProtocolResolver Instance = new();

    private ProtocolResolver() { }

    public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

    private static class Cache<T>
    {
        public static readonly IMessagePackFormatter<T>? Formatter =
            typeof(T) == typeof(Message) ? (IMessagePackFormatter<T>)(object)MessageFormatter.Instance
            : typeof(T) == typeof(object) ? (IMessagePackFormatter<T>)(object)ValueReader.Instance
            : BuiltinResolver.Instance.GetFormatter<T>();
    }
}

/// <summary>
/// The formatter of <see cref="Message"/>: <c>[code, fields...]</c>, each message's fields written
/// and read by its <see cref="MessageShape"/>.
/// </summary>
internal sealed class MessageFormatter : IMessagePackFormatter<Message>
{
    public static readonly MessageFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, Message value, MessagePackSerializerOptions options) =>
        MessageShapes.Of(value).Write(ref writer, value);

    public Message Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        int count = Wire.EnterArray(ref reader, options, "message");
        try
        {
            if (count == 0) throw Wire.Bad("empty message array (no message code)");
            int code = Wire.Int32(ref reader, "message code");
            var shape = MessageShapes.WithCode(code) ?? throw Wire.Bad($"unknown message code {code}");
            return shape.Read(ref reader, options, count - 1);
        }
        finally
        {
            reader.Depth--;
        }
    }
}
