using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Protocol;
using Xunit;

namespace PSParallel.Tests.Protocol;

public enum TestColor : byte { Red = 1, Green = 2, Blue = 200 }

[Flags]
public enum TestFlags : ulong { None = 0, A = 1, B = 2, High = 1UL << 63 }

public enum TestSigned : sbyte { Minus = -5, Zero = 0 }

public static class TestOuter
{
    public enum Nested : short { Low = -300, High = 300 }
}

/// <summary>An arbitrary class for property bags.</summary>
public class BagBase
{
    public string BaseName { get; set; } = "base";
}

public class BagSample : BagBase
{
    public int Count { get; set; } = 42;
    public string? Text { get; set; } = "hello";
    public DateTime When { get; set; } = new(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
    public int[] Numbers { get; set; } = { 1, 2, 3 };
    public BagSample? Child { get; set; }
    public IntPtr Handle { get; set; } = new(1234);
    public object? Anything { get; set; }
    public int Throws => throw new InvalidOperationException("no");
    public static int Static => 1;
    internal int Internal => 2;
    public int this[int i] => i;
    public int WriteOnly { set { } }
    public override string ToString() => $"BagSample {Count}";
}

public sealed class Node
{
    public Node(int depth, int remaining)
    {
        Depth = depth;
        if (remaining > 0) Next = new Node(depth + 1, remaining - 1);
    }

    public int Depth { get; }
    public Node? Next { get; }
    public override string ToString() => $"Node {Depth}";
}

internal static class ProtocolAssert
{
    public static PSObject Custom(params (string Name, object? Value)[] properties)
    {
        var o = new PSObject();
        foreach (var (name, value) in properties) o.Properties.Add(new PSNoteProperty(name, value));
        return o;
    }

    public static object? RoundTrip(object? value) => ValueCodec.Decode(ValueCodec.Encode(value));

    /// <summary>
    /// Asserts that <paramref name="actual"/> is what <paramref name="original"/> becomes after crossing:
    /// scalars same type and value, arrays object[], other lists List&lt;object&gt;, ordered
    /// dictionaries OrderedDictionary, other dictionaries Hashtable, PSCustomObjects the same notes in order.
    /// </summary>
    public static void Same(object? original, object? actual, string path = "value")
    {
        if (original is PSObject pso && pso.BaseObject is not PSCustomObject) original = pso.BaseObject;
        switch (original)
        {
            case null:
                Assert.Null(actual);
                return;
            case PSObject custom:
            {
                var back = Assert.IsType<PSObject>(actual);
                Assert.IsType<PSCustomObject>(back.BaseObject);
                Assert.Equal(custom.TypeNames, back.TypeNames);
                var expected = custom.Properties.ToList();
                var got = back.Properties.ToList();
                Assert.Equal(expected.Select(p => p.Name), got.Select(p => p.Name));
                for (int i = 0; i < expected.Count; i++) Same(expected[i].Value, got[i].Value, $"{path}.{expected[i].Name}");
                return;
            }
            case byte[] bytes:
                Assert.Equal(bytes, Assert.IsType<byte[]>(actual));
                return;
            case IOrderedDictionary ordered:
            {
                var back = Assert.IsType<OrderedDictionary>(actual);
                Assert.Equal(ordered.Count, back.Count);
                var keys = ordered.Keys.Cast<object>().ToList();
                var backKeys = back.Keys.Cast<object>().ToList();
                for (int i = 0; i < keys.Count; i++)
                {
                    Same(keys[i], backKeys[i], $"{path} key {i}");
                    Same(ordered[keys[i]], back[i], $"{path}[{keys[i]}]");
                }
                return;
            }
            case IDictionary dictionary:
            {
                var back = Assert.IsType<Hashtable>(actual);
                Assert.Equal(dictionary.Count, back.Count);
                foreach (DictionaryEntry entry in dictionary)
                {
                    object key = entry.Key is PSObject k && k.BaseObject is not PSCustomObject ? k.BaseObject : entry.Key;
                    Assert.True(back.ContainsKey(key), $"{path}: key {key} missing");
                    Same(entry.Value, back[key], $"{path}[{key}]");
                }
                return;
            }
            case Array array:
            {
                var back = Assert.IsType<object[]>(actual);
                var items = array.Cast<object?>().ToList();
                Assert.Equal(items.Count, back.Length);
                for (int i = 0; i < items.Count; i++) Same(items[i], back[i], $"{path}[{i}]");
                return;
            }
            case IEnumerable sequence when original is not string:
            {
                var back = Assert.IsType<List<object?>>(actual);
                var items = sequence.Cast<object?>().ToList();
                Assert.Equal(items.Count, back.Count);
                for (int i = 0; i < items.Count; i++) Same(items[i], back[i], $"{path}[{i}]");
                return;
            }
            default:
                Assert.NotNull(actual);
                Assert.True(original.GetType() == actual!.GetType(), $"{path}: {original.GetType()} came back as {actual.GetType()}");
                Assert.Equal(original, actual);
                if (original is DateTime dt) Assert.Equal(dt.Kind, ((DateTime)actual).Kind);
                if (original is DateTimeOffset dto) Assert.Equal(dto.Offset, ((DateTimeOffset)actual).Offset);
                if (original is decimal m) Assert.Equal(m.ToString(System.Globalization.CultureInfo.InvariantCulture), ((decimal)actual).ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
        }
    }

    /// <summary>An item result's start time (UTC, as it is decoded) and run time, where the test does not care which.</summary>
    public static readonly DateTime Started = new(2025, 3, 4, 5, 6, 7, 890, DateTimeKind.Utc);
    public static readonly TimeSpan Took = TimeSpan.FromTicks(123_456);

    public static ProtocolException Malformed(byte[] bytes) => Assert.Throws<ProtocolException>(() => ValueCodec.Decode(bytes));

    /// <summary>Every message type, with fields full and fields empty.</summary>
    public static IEnumerable<Message> AllMessages()
    {
        var table = new Hashtable { ["a"] = 1, ["b"] = new object[] { "x", 2L } };
        yield return new HelloMessage(HelloMessage.CurrentVersion, 4242);
        yield return new ScriptSetupMessage(
            "param($x) $_ * 2",
            new Dictionary<string, byte[]> { ["limit"] = ValueCodec.Encode(10), ["__using_table"] = ValueCodec.Encode(table) },
            new Dictionary<string, string> { ["Get-Double"] = "param($n) $n * 2", ["Empty"] = "" },
            new[] { "Microsoft.PowerShell.Utility", "/opt/mods/Tools.psd1" },
            "/home/user",
            new Dictionary<string, string> { ["VerbosePreference"] = "Continue", ["ErrorActionPreference"] = "Stop" });
        yield return new ScriptSetupMessage("", new Dictionary<string, byte[]>(), new Dictionary<string, string>(),
            Array.Empty<string>(), null, new Dictionary<string, string>());
        yield return new WorkloadSetupMessage("/opt/workloads/My.Workloads.dll", "My.Workloads.Doubler");
        yield return new SetupDoneMessage(null);
        yield return new SetupDoneMessage(new ErrorData("The module 'Nope' was not loaded.", "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand",
            "ResourceUnavailable", "System.IO.FileNotFoundException", "At line:1 char:1\n+ Import-Module Nope", "at <ScriptBlock>, <No file>: line 1"));
        yield return new ChunkMessage(new[]
        {
            new ChunkItem(0, ValueCodec.Encode(1)),
            new ChunkItem(1, ValueCodec.Encode("two")),
            new ChunkItem(long.MaxValue, ValueCodec.Encode(Custom(("Name", "n"), ("Table", table)))),
        });
        yield return new ChunkMessage(Array.Empty<ChunkItem>());
        yield return new ItemStartedMessage(0);
        yield return new ItemStartedMessage(long.MaxValue);
        yield return new ItemResultMessage(5, Started, Took, new[] { ValueCodec.Encode(null), ValueCodec.Encode(new object[] { 1, "a", TestColor.Blue }) },
            new[]
            {
                new ErrorData("boom", "RuntimeException", "OperationStopped", "System.Management.Automation.RuntimeException", "At line:1", "at <ScriptBlock>"),
                new ErrorData("no position", "Custom,Id", "NotSpecified", null, null, null),
            });
        yield return new ItemResultMessage(6, new DateTime(0, DateTimeKind.Utc), TimeSpan.Zero, Array.Empty<byte[]>(), Array.Empty<ErrorData>());
        yield return new ItemResultMessage(7, new DateTime(DateTime.MaxValue.Ticks, DateTimeKind.Utc), TimeSpan.MaxValue, Array.Empty<byte[]>(), Array.Empty<ErrorData>());
        yield return new StreamMessage(1, StreamKind.Verbose, "verbose text", Array.Empty<string>(), null);
        yield return new StreamMessage(2, StreamKind.Warning, "warning ünïcödé ✓", Array.Empty<string>(), null);
        yield return new StreamMessage(3, StreamKind.Debug, "", Array.Empty<string>(), null);
        yield return new StreamMessage(4, StreamKind.Information, "info", new[] { "PSHOST", "tag2" }, null);
        yield return new StreamMessage(5, StreamKind.Progress, "", Array.Empty<string>(),
            new ProgressData(1, -1, "Activity", "Status", "Operation", 50, 12, false));
        yield return new StreamMessage(5, StreamKind.Progress, "", Array.Empty<string>(),
            new ProgressData(2, 1, "Activity", "Done", null, -1, -1, true));
        yield return new ShutdownMessage();
    }
}
