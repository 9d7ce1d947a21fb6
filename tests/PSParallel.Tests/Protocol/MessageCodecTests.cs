using static PSParallel.Tests.Protocol.ProtocolAssert;
using static PSParallel.Tests.Protocol.ValueCodecTests;
using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using MessagePack;
using PSParallel.Engine;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Protocol;
using Xunit;

namespace PSParallel.Tests.Protocol;

public class MessageCodecTests
{
    public static IEnumerable<object[]> Messages() => AllMessages().Select(m => new object[] { m });

    [Theory]
    [MemberData(nameof(Messages))]
    // object, not Message: a public test method cannot take the engine's internal types.
    public void Every_message_round_trips(object sample)
    {
        var message = (Message)sample;
        var bytes = MessageCodec.Encode(message);
        var back = MessageCodec.Decode(bytes);
        Assert.IsType(message.GetType(), back);
        Assert.Equal(bytes, MessageCodec.Encode(back));   // every field survived
        AssertSameMessage(message, back);
    }

    [Fact]
    public void Every_message_type_is_covered()
    {
        var covered = AllMessages().Select(m => m.GetType()).ToHashSet();
        var all = typeof(Message).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Message)) && !t.IsAbstract);
        Assert.All(all, t => Assert.Contains(t, covered));
    }

    [Fact]
    public void Values_nested_in_a_chunk_an_item_result_and_a_setup_round_trip()
    {
        var ordered = new OrderedDictionary { ["first"] = 1, ["second"] = new List<object?> { 'x', 2.5f } };
        object?[] values =
        {
            null, 42, "text", TestColor.Red, DateTime.UtcNow, new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.FromHours(2)),
            new byte[] { 1, 2, 3 }, 1.5m, Guid.NewGuid(), ulong.MaxValue,
            new Hashtable { ["a"] = new object[] { 1, Custom(("P", ordered)) } },
            Custom(("Name", "n"), ("Items", new ArrayList { 1, "2", new Hashtable { ["deep"] = TimeSpan.FromSeconds(3) } })),
        };

        var chunk = new ChunkMessage(values.Select((v, i) => new ChunkItem(i, ValueCodec.Encode(v))).ToList());
        var chunkBack = Assert.IsType<ChunkMessage>(MessageCodec.Decode(MessageCodec.Encode(chunk)));
        Assert.Equal(values.Length, chunkBack.Items.Count);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(i, chunkBack.Items[i].Index);
            Same(values[i], ValueCodec.Decode(chunkBack.Items[i].EncodedValue), $"chunk item {i}");
        }

        var result = new ItemResultMessage(9, Started, Took, values.Select(ValueCodec.Encode).ToList(), Array.Empty<ErrorData>());
        var resultBack = Assert.IsType<ItemResultMessage>(MessageCodec.Decode(MessageCodec.Encode(result)));
        for (int i = 0; i < values.Length; i++) Same(values[i], ValueCodec.Decode(resultBack.Output[i]), $"output {i}");

        var variables = values.Select((v, i) => (Name: "v" + i, Value: v)).ToDictionary(p => p.Name, p => ValueCodec.Encode(p.Value));
        var setup = new ScriptSetupMessage("$_", variables, new Dictionary<string, string>(), Array.Empty<string>(), null, new Dictionary<string, string>());
        var setupBack = Assert.IsType<ScriptSetupMessage>(MessageCodec.Decode(MessageCodec.Encode(setup)));
        for (int i = 0; i < values.Length; i++) Same(values[i], ValueCodec.Decode(setupBack.Variables["v" + i]), $"variable v{i}");
    }

    [Fact]
    public void Nulls_in_required_fields_are_sent_as_empty()
    {
        var message = new ItemResultMessage(1, Started, Took, new byte[]?[] { null }!, new[] { new ErrorData(null!, null!, null!, null, null, null) });
        var back = Assert.IsType<ItemResultMessage>(MessageCodec.Decode(MessageCodec.Encode(message)));
        Assert.Null(ValueCodec.Decode(Assert.Single(back.Output)));
        var error = Assert.Single(back.Errors);
        Assert.Equal("", error.Message);
        Assert.Equal("", error.FullyQualifiedErrorId);

        var stream = Assert.IsType<StreamMessage>(MessageCodec.Decode(MessageCodec.Encode(new StreamMessage(1, StreamKind.Information, null!, null!, null))));
        Assert.Equal("", stream.Message);
        Assert.Empty(stream.Tags);
    }

    [Fact]
    public void An_item_result_start_time_crosses_as_UTC_and_comes_back_to_the_same_local_time()
    {
        var local = new DateTime(2025, 6, 7, 8, 9, 10, 123, DateTimeKind.Local).AddTicks(4567);
        var message = new ItemResultMessage(1, local, TimeSpan.FromMilliseconds(7.5), Array.Empty<byte[]>(), Array.Empty<ErrorData>());
        var back = Assert.IsType<ItemResultMessage>(MessageCodec.Decode(MessageCodec.Encode(message)));
        Assert.Equal(DateTimeKind.Utc, back.StartTime.Kind);
        Assert.Equal(local.ToUniversalTime(), back.StartTime);
        Assert.Equal(local, back.StartTime.ToLocalTime());
        Assert.Equal(TimeSpan.FromMilliseconds(7.5), back.Duration);
    }

    [Fact]
    public void A_message_that_is_not_of_the_protocol_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => MessageCodec.Encode(new StrangerMessage()));
        Assert.Throws<ArgumentNullException>(() => MessageCodec.Encode(null!));
    }

    private sealed record StrangerMessage : Message;

    public static IEnumerable<object[]> BadMessages()
    {
        yield return Case("empty payload", Array.Empty<byte>(), "ends in the middle");
        yield return Case("nil", new byte[] { 0xc0 }, "expected an array, found nil");
        yield return Case("a string", Raw((ref MessagePackWriter w) => w.Write("hello")), "expected an array");
        yield return Case("empty array", Raw((ref MessagePackWriter w) => w.WriteArrayHeader(0)), "no message code");
        yield return Case("unknown code", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(1); w.Write(77); }), "unknown message code 77");
        yield return Case("code as string", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(1); w.Write("hello"); }), "message code: expected an integer, found a string");
        yield return Case("hello short", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(1); w.Write(1); }), "hello message has 2 fields, this one has 1");
        yield return Case("hello long", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(1); w.Write(1); w.Write(2); w.Write(3); }), "this one has 3");
        yield return Case("hello version float", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(1); w.Write(1.5); w.Write(2); }), "hello.ProtocolVersion: expected an integer, found a float");
        yield return Case("hello pid too big", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(1); w.Write(1); w.Write(long.MaxValue); }), "out of range");
        yield return Case("trailing bytes", Append(MessageCodec.Encode(new ShutdownMessage()), 0x01), "1 bytes after the end");
        yield return Case("item result of the old shape", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4); w.Write(6); w.Write(1L); w.WriteArrayHeader(0); w.WriteArrayHeader(0);
        }), "item-result message has 5 fields, this one has 3");
        yield return Case("item result start out of range", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(6); w.Write(6); w.Write(1L); w.Write(long.MaxValue); w.Write(0L); w.WriteArrayHeader(0); w.WriteArrayHeader(0);
        }), $"item-result.StartTime: {long.MaxValue} ticks is out of range for a DateTime");
        yield return Case("item result negative duration", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(6); w.Write(6); w.Write(1L); w.Write(Started.Ticks); w.Write(-5L); w.WriteArrayHeader(0); w.WriteArrayHeader(0);
        }), "item-result.Duration: -5 ticks is negative");
        yield return Case("item result start not an integer", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(6); w.Write(6); w.Write(1L); w.Write("yesterday"); w.Write(0L); w.WriteArrayHeader(0); w.WriteArrayHeader(0);
        }), "item-result.StartTime: expected an integer, found a string");
        yield return Case("stream kind", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(6); w.Write(7); w.Write(1L); w.Write(9); w.Write("m"); w.WriteArrayHeader(0); w.WriteNil();
        }), "stream.Kind: 9 is not a stream kind");
        yield return Case("chunk item shape", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2); w.Write(4); w.WriteArrayHeader(1); w.WriteArrayHeader(1); w.Write(1);
        }), "a chunk item has 2 fields");
        yield return Case("chunk value not binary", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2); w.Write(4); w.WriteArrayHeader(1); w.WriteArrayHeader(2); w.Write(1); w.Write("not bytes");
        }), "chunk item.EncodedValue: expected binary, found a string");
        yield return Case("chunk items not an array", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(4); w.WriteMapHeader(0); }), "chunk.Items: expected an array, found a map");
        yield return Case("script setup duplicate variable", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(7); w.Write(2); w.Write("$_");
            w.WriteMapHeader(2); w.Write("a"); w.Write(new byte[] { 0xc0 }); w.Write("a"); w.Write(new byte[] { 0xc0 });
            w.WriteMapHeader(0); w.WriteArrayHeader(0); w.WriteNil(); w.WriteMapHeader(0);
        }), "script-setup.Variables: the key 'a' appears twice");
        yield return Case("script setup key not a string", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(7); w.Write(2); w.Write("$_");
            w.WriteMapHeader(1); w.Write(5); w.Write(new byte[] { 0xc0 });
            w.WriteMapHeader(0); w.WriteArrayHeader(0); w.WriteNil(); w.WriteMapHeader(0);
        }), "script-setup.Variables key: expected a string, found an integer");
        yield return Case("script setup without its script", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(7); w.Write(2); w.WriteNil();
            w.WriteMapHeader(0); w.WriteMapHeader(0); w.WriteArrayHeader(0); w.WriteNil(); w.WriteMapHeader(0);
        }), "script-setup.ScriptText: expected a string, found nil");
        yield return Case("script setup of the old shape", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(9); w.Write(2); w.WriteNil(); w.WriteNil(); w.WriteNil();
            w.WriteMapHeader(0); w.WriteMapHeader(0); w.WriteArrayHeader(0); w.WriteNil(); w.WriteMapHeader(0);
        }), "a script-setup message has 6 fields, this one has 8");
        yield return Case("workload setup without a type", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3); w.Write(9); w.Write("/opt/w.dll"); w.WriteNil();
        }), "workload-setup.TypeName: expected a string, found nil");
        yield return Case("error short", Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(3); w.WriteArrayHeader(2); w.Write("m"); w.Write("id"); }), "an error has 6 fields");
        yield return Case("error message nil", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2); w.Write(3); w.WriteArrayHeader(6); w.WriteNil(); w.Write("id"); w.Write("c"); w.WriteNil(); w.WriteNil(); w.WriteNil();
        }), "setup-done.Error.Message: expected a string, found nil");
        yield return Case("progress short", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(6); w.Write(7); w.Write(1L); w.Write(4); w.Write("m"); w.WriteArrayHeader(0); w.WriteArrayHeader(1); w.Write(1);
        }), "a progress record has 8 fields");
        yield return Case("deep nesting", Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2); w.Write(4);
            for (int i = 0; i < 2000; i++) w.WriteArrayHeader(1);
            w.WriteNil();
        }), "chunk item");
        yield return Case("extension", Raw((ref MessagePackWriter w) => w.WriteExtensionFormat(new ExtensionResult(-1, new byte[] { 1, 2, 3, 4 }))), "expected an array, found an extension");
        yield return Case("array claims more than there is", new byte[] { 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01 }, "malformed message");
    }

    private static object[] Case(string name, byte[] payload, string expected) => new object[] { name, payload, expected };

    private static byte[] Append(byte[] bytes, byte extra) => bytes.Append(extra).ToArray();

    [Theory]
    [MemberData(nameof(BadMessages))]
    public void A_malformed_message_raises_ProtocolException_saying_why(string name, byte[] payload, string expected)
    {
        var ex = Assert.Throws<ProtocolException>(() => MessageCodec.Decode(payload));
        Assert.True(ex.Message.Contains(expected, StringComparison.Ordinal), $"{name}: '{ex.Message}' does not say '{expected}'");
        Assert.StartsWith("malformed message", ex.Message);
    }

    private static void AssertSameMessage(Message expected, Message actual)
    {
        switch (expected)
        {
            case HelloMessage h:
                Assert.Equal(h, actual);
                break;
            case ScriptSetupMessage s:
                var setup = (ScriptSetupMessage)actual;
                Assert.Equal(s.ScriptText, setup.ScriptText);
                Assert.Equal(s.Location, setup.Location);
                Assert.Equal(s.Variables.Keys, setup.Variables.Keys);
                foreach (var (key, value) in s.Variables) Assert.Equal(value, setup.Variables[key]);
                Assert.Equal(s.Functions.OrderBy(p => p.Key), setup.Functions.OrderBy(p => p.Key));
                Assert.Equal(s.Modules, setup.Modules);
                Assert.Equal(s.Preferences.OrderBy(p => p.Key), setup.Preferences.OrderBy(p => p.Key));
                break;
            case SetupDoneMessage d:
                Assert.Equal(d.Error, ((SetupDoneMessage)actual).Error);
                break;
            case ChunkMessage c:
                var chunk = (ChunkMessage)actual;
                Assert.Equal(c.Items.Select(i => i.Index), chunk.Items.Select(i => i.Index));
                Assert.Equal(c.Items.Select(i => i.EncodedValue), chunk.Items.Select(i => i.EncodedValue));
                break;
            case ItemResultMessage r:
                var result = (ItemResultMessage)actual;
                Assert.Equal(r.Index, result.Index);
                Assert.Equal(r.StartTime, result.StartTime);
                Assert.Equal(DateTimeKind.Utc, result.StartTime.Kind);
                Assert.Equal(r.Duration, result.Duration);
                Assert.Equal(r.Output, result.Output);
                Assert.Equal(r.Errors, result.Errors);
                break;
            case StreamMessage m:
                var stream = (StreamMessage)actual;
                Assert.Equal((m.Index, m.Kind, m.Message, m.Progress), (stream.Index, stream.Kind, stream.Message, stream.Progress));
                Assert.Equal(m.Tags, stream.Tags);
                break;
            default:
                Assert.Equal(expected, actual);
                break;
        }
    }
}
