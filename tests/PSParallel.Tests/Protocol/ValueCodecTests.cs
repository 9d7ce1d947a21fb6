using static PSParallel.Tests.Protocol.ProtocolAssert;
using System.Buffers;
using System.Collections;
using System.Collections.ObjectModel;
using System.Collections.Specialized;
using System.Management.Automation;
using MessagePack;
using PSParallel.Engine.Protocol;
using Xunit;

namespace PSParallel.Tests.Protocol;

public class ValueCodecTests
{
    public static IEnumerable<object?[]> Scalars()
    {
        object?[] values =
        {
            null, true, false,
            sbyte.MinValue, sbyte.MaxValue, (sbyte)0,
            byte.MinValue, byte.MaxValue,
            short.MinValue, short.MaxValue,
            ushort.MinValue, ushort.MaxValue,
            int.MinValue, int.MaxValue, 0, -1, 127, 128,
            uint.MinValue, uint.MaxValue,
            long.MinValue, long.MaxValue, 0L, 5L,
            ulong.MinValue, ulong.MaxValue,
            0f, -1.5f, float.MaxValue, float.NaN, float.NegativeInfinity,
            0d, -0d, Math.PI, double.MaxValue, double.Epsilon, double.NaN, double.PositiveInfinity,
            0m, 1.10m, -0.000000000000000000000000001m, decimal.MaxValue, decimal.MinValue, 12345.678900m,
            "", "text", "ünïcödé ✓ 𝄞", new string('x', 100_000),
            'a', '\0', '\uffff', '✓',
            Array.Empty<byte>(), new byte[] { 0, 1, 2, 255 },
            new DateTime(2024, 2, 29, 13, 14, 15, 678, DateTimeKind.Utc).AddTicks(9),
            new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Local),
            new DateTime(1999, 12, 31, 23, 59, 59, DateTimeKind.Unspecified),
            DateTime.MinValue, DateTime.MaxValue,
            new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.FromMinutes(330)),
            new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.FromHours(-14)),
            DateTimeOffset.MinValue, DateTimeOffset.MaxValue,
            TimeSpan.Zero, TimeSpan.FromMilliseconds(1234.5), TimeSpan.MinValue, TimeSpan.MaxValue,
            Guid.Empty, Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
            DayOfWeek.Friday, ConsoleColor.DarkCyan, TestColor.Blue, TestFlags.A | TestFlags.High, TestSigned.Minus,
            TestOuter.Nested.Low, (TestColor)77,
        };
        return values.Select(v => new[] { v });
    }

    [Theory]
    [MemberData(nameof(Scalars))]
    public void Every_scalar_of_the_table_comes_back_as_the_same_type_and_value(object? value) => Same(value, RoundTrip(value));

    [Fact]
    public void Small_values_stay_small()
    {
        Assert.Single(ValueCodec.Encode(null));
        Assert.Single(ValueCodec.Encode(5));
        Assert.Equal(2, ValueCodec.Encode("a").Length);
        Assert.Equal(3, ValueCodec.Encode(5L).Length);
    }

    [Fact]
    public void An_enum_whose_type_is_not_loaded_comes_back_as_its_underlying_integer()
    {
        var bytes = Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write(14);
            w.Write("No.Such.Namespace.MissingEnum");
            w.WriteArrayHeader(2);
            w.Write(4);
            w.Write((ushort)7);
        });
        Assert.Equal((ushort)7, Assert.IsType<ushort>(ValueCodec.Decode(bytes)));
    }

    [Theory]
    [InlineData("System.String")]                                   // loaded, but not an enum
    [InlineData("System.Collections.Generic.List`1[[System.DayOfWeek]]")]
    [InlineData("System.DayOfWeek, System.Private.CoreLib")]        // assembly-qualified: never resolved
    [InlineData("System.DayOfWeek[]")]
    [InlineData("No.Such.Namespace.Nothing")]
    [InlineData("")]
    public void An_enum_name_that_is_not_a_plain_loaded_enum_gives_the_integer(string name)
    {
        var bytes = Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write(14);
            w.Write(name);
            w.Write(3);
        });
        Assert.Equal(3, Assert.IsType<int>(ValueCodec.Decode(bytes)));
    }

    [Fact]
    public void An_enum_name_never_loads_an_assembly_not_even_through_a_facade_forwarder()
    {
        // Facades forward their names to other assemblies; Assembly.GetType would load those.
        System.Reflection.Assembly.Load("netstandard");
        System.Reflection.Assembly.Load("mscorlib");
        var candidates = new[]
        {
            ("System.Net.Mail.MailPriority", "System.Net.Mail"),
            ("System.Transactions.IsolationLevel", "System.Transactions.Local"),
            ("System.Xml.Linq.SaveOptions", "System.Private.Xml.Linq"),
            ("System.Threading.Channels.BoundedChannelFullMode", "System.Threading.Channels"),
            ("System.IO.Pipes.PipeOptions", "System.IO.Pipes"),
        };
        int checkedNames = 0;
        foreach (var (name, assembly) in candidates)
        {
            if (Loaded(assembly)) continue;
            var value = ValueCodec.Decode(Raw((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(3);
                w.Write(14);
                w.Write(name);
                w.Write(1);
            }));
            Assert.Equal(1, Assert.IsType<int>(value));
            Assert.False(Loaded(assembly), $"decoding the enum name {name} loaded {assembly}");
            checkedNames++;
        }
        Assert.True(checkedNames > 0, "every candidate assembly was already loaded; pick others");

        static bool Loaded(string name) => AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == name);
    }

    [Fact]
    public void An_enum_defined_by_a_PowerShell_script_is_found_in_its_dynamic_assembly()
    {
        using var runspace = System.Management.Automation.Runspaces.RunspaceFactory.CreateRunspace(
            System.Management.Automation.Runspaces.InitialSessionState.CreateDefault2());
        runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create(runspace);
        var results = ps.AddScript("enum PSParallelProtocolScriptEnum { One = 1; Two = 2 }; [PSParallelProtocolScriptEnum]::Two").Invoke();
        var value = Assert.Single(results).BaseObject;
        Assert.True(value.GetType().Assembly.IsDynamic);
        var back = RoundTrip(value);
        Assert.Equal(value.GetType(), back!.GetType());
        Assert.Equal(value, back);
    }

    [Fact]
    public void An_enum_in_an_assembly_loaded_from_bytes_is_found()
    {
        // What Add-Type does: an assembly with no file, loaded from bytes.
        var builder = new System.Reflection.Emit.PersistedAssemblyBuilder(
            new System.Reflection.AssemblyName("PSParallelProtocolInMemory"), typeof(object).Assembly);
        var module = builder.DefineDynamicModule("PSParallelProtocolInMemory");
        var enumBuilder = module.DefineEnum("InMemory.Shade", System.Reflection.TypeAttributes.Public, typeof(long));
        enumBuilder.DefineLiteral("Dark", 5_000_000_000L);
        enumBuilder.CreateType();
        var image = new MemoryStream();
        builder.Save(image);
        var assembly = System.Reflection.Assembly.Load(image.ToArray());
        Assert.True(string.IsNullOrEmpty(assembly.Location));

        var shade = Enum.ToObject(assembly.GetType("InMemory.Shade", throwOnError: true)!, 5_000_000_000L);
        var back = RoundTrip(shade);
        Assert.Equal(shade.GetType(), back!.GetType());
        Assert.Equal(shade, back);
    }

    [Fact]
    public void An_enum_with_a_different_underlying_type_than_sent_gives_the_integer()
    {
        // TestColor is a byte enum; an Int64 underlying value does not fit its shape.
        var bytes = Raw((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write(14);
            w.Write(typeof(TestColor).FullName);
            w.WriteArrayHeader(2);
            w.Write(6);
            w.Write(1L);
        });
        Assert.Equal(1L, Assert.IsType<long>(ValueCodec.Decode(bytes)));
    }

    [Fact]
    public void Arrays_come_back_as_object_arrays()
    {
        Same(new object?[] { 1, "a", null, 2L, new byte[] { 9 } }, RoundTrip(new object?[] { 1, "a", null, 2L, new byte[] { 9 } }));
        var ints = Assert.IsType<object[]>(RoundTrip(new[] { 1, 2, 3 }));
        Assert.Equal(new object[] { 1, 2, 3 }, ints);
        Assert.Empty(Assert.IsType<object[]>(RoundTrip(Array.Empty<string>())));
        var chars = Assert.IsType<object[]>(RoundTrip("ab".ToCharArray()));
        Assert.Equal(new object[] { 'a', 'b' }, chars);
        var grid = Assert.IsType<object[]>(RoundTrip(new int[,] { { 1, 2 }, { 3, 4 } }));
        Assert.Equal(new object[] { 1, 2, 3, 4 }, grid);
    }

    [Fact]
    public void Lists_come_back_as_lists_of_objects()
    {
        var arrayList = new ArrayList { 1, "two", null, 3.5 };
        Same(arrayList, RoundTrip(arrayList));
        Same(new List<int> { 4, 5 }, RoundTrip(new List<int> { 4, 5 }));
        var collection = new Collection<PSObject> { PSObject.AsPSObject(1), PSObject.AsPSObject("x") };
        Assert.Equal(new List<object?> { 1, "x" }, Assert.IsType<List<object?>>(RoundTrip(collection)));
        Assert.Equal(new List<object?> { 1, 2 }, Assert.IsType<List<object?>>(RoundTrip(new HashSet<int> { 1, 2 })));
        Assert.Equal(new List<object?> { "q" }, Assert.IsType<List<object?>>(RoundTrip(new Queue<string>(new[] { "q" }))));
    }

    [Fact]
    public void Hashtables_come_back_case_insensitive_like_PowerShell()
    {
        var table = new Hashtable { ["Name"] = "n", [5] = 5L, ["Nested"] = new Hashtable { ["x"] = new object[] { 1, 2 } } };
        var back = Assert.IsType<Hashtable>(RoundTrip(table));
        Same(table, back);
        Assert.Equal("n", back["NAME"]);
        Assert.Equal("n", back["name"]);
        Assert.Equal(5L, back[5]);
    }

    [Fact]
    public void Ordered_dictionaries_keep_order_and_ignore_case()
    {
        var ordered = new OrderedDictionary { ["z"] = 1, ["a"] = 2, ["M"] = new OrderedDictionary { ["in"] = "side" } };
        var back = Assert.IsType<OrderedDictionary>(RoundTrip(ordered));
        Same(ordered, back);
        Assert.Equal(new object[] { "z", "a", "M" }, back.Keys.Cast<object>());
        Assert.Equal(2, back["A"]);
        Assert.IsType<OrderedDictionary>(back["m"]);
    }

    [Fact]
    public void Other_dictionaries_come_back_as_hashtables()
    {
        var dictionary = new Dictionary<string, int> { ["one"] = 1, ["two"] = 2 };
        var back = Assert.IsType<Hashtable>(RoundTrip(dictionary));
        Assert.Equal(1, back["ONE"]);
        Same(new SortedList { ["b"] = 1 }, RoundTrip(new SortedList { ["b"] = 1 }));
    }

    [Fact]
    public void A_PSCustomObject_comes_back_with_the_same_properties_in_order()
    {
        var inner = Custom(("Deep", new[] { 1, 2 }));
        var value = Custom(("Zeta", 1), ("alpha", "a"), ("Mid", null), ("Inner", inner), ("When", DateTime.UtcNow), ("Color", TestColor.Green));
        var back = Assert.IsType<PSObject>(RoundTrip(value));
        Same(value, back);
        Assert.IsType<PSCustomObject>(back.BaseObject);
        Assert.Equal(new[] { "Zeta", "alpha", "Mid", "Inner", "When", "Color" }, back.Properties.Select(p => p.Name));
        Assert.Equal(TestColor.Green, back.Properties["color"].Value);
        Assert.Equal(new[] { "System.Management.Automation.PSCustomObject", "System.Object" }, back.TypeNames);
    }

    [Fact]
    public void A_PSCustomObject_keeps_its_custom_type_names()
    {
        var value = Custom(("A", 1));
        value.TypeNames.Insert(0, "My.Record");
        var back = Assert.IsType<PSObject>(RoundTrip(value));
        Assert.Equal(new[] { "My.Record", "System.Management.Automation.PSCustomObject", "System.Object" }, back.TypeNames);
        Assert.Empty(Assert.IsType<PSObject>(RoundTrip(new PSObject())).Properties);
    }

    [Fact]
    public void A_PSObject_wrapping_a_value_sends_the_value()
    {
        Assert.Equal(5, RoundTrip(PSObject.AsPSObject(5)));
        var table = new Hashtable { ["a"] = PSObject.AsPSObject("b") };
        Assert.Equal("b", Assert.IsType<Hashtable>(RoundTrip(PSObject.AsPSObject(table)))["a"]);
        Assert.Null(RoundTrip(System.Management.Automation.Internal.AutomationNull.Value));
    }

    [Fact]
    public void Nested_combinations_round_trip()
    {
        var value = new object?[]
        {
            new Hashtable
            {
                ["list"] = new List<object?> { 1, 2L, (short)3, new OrderedDictionary { ["o"] = Custom(("P", new object[] { 'c', 1.5m })) } },
                ["bytes"] = new byte[] { 1, 2 },
                ["guid"] = Guid.NewGuid(),
                ["empty"] = new Hashtable(),
            },
            Custom(("Arr", new object?[] { null, Custom(("X", TestFlags.B)) }), ("Span", TimeSpan.FromDays(1))),
            new ArrayList { new object[] { new object[] { "deep" } } },
        };
        Same(value, RoundTrip(value));
    }

    [Fact]
    public void The_same_object_twice_is_not_a_cycle()
    {
        var shared = new Hashtable { ["k"] = 1 };
        var back = Assert.IsType<object[]>(RoundTrip(new object[] { shared, shared, Custom(("a", shared), ("b", shared)) }));
        Assert.Equal(1, ((Hashtable)back[1])["k"]);
    }

    [Fact]
    public void An_arbitrary_object_crosses_as_a_deserialized_property_bag()
    {
        var sample = new BagSample { Child = new BagSample { Count = 7, Text = null }, Anything = new Uri("https://example.org/x") };
        var bag = Assert.IsType<PSObject>(RoundTrip(sample));
        Assert.IsType<PSCustomObject>(bag.BaseObject);
        Assert.Equal(new[]
        {
            "Deserialized.PSParallel.Tests.Protocol.BagSample",
            "Deserialized.PSParallel.Tests.Protocol.BagBase",
            "Deserialized.System.Object",
        }, bag.TypeNames);
        var names = bag.Properties.Select(p => p.Name).ToList();
        Assert.Contains("Count", names);
        Assert.Contains("BaseName", names);
        Assert.DoesNotContain("Throws", names);   // the getter throws: skipped
        Assert.DoesNotContain("Static", names);
        Assert.DoesNotContain("Internal", names);
        Assert.DoesNotContain("Item", names);     // indexer
        Assert.DoesNotContain("WriteOnly", names);
        Assert.Equal(42, bag.Properties["Count"].Value);
        Assert.Equal("base", bag.Properties["BaseName"].Value);
        Assert.Equal(sample.When, bag.Properties["When"].Value);
        Assert.Equal(new object[] { 1, 2, 3 }, bag.Properties["Numbers"].Value);
        // A handle inside a snapshot is text, not a refusal: a Process must be able to cross.
        Assert.Equal("1234", bag.Properties["Handle"].Value);
        var child = Assert.IsType<PSObject>(bag.Properties["Child"].Value);
        Assert.Equal(7, child.Properties["Count"].Value);
        Assert.Null(child.Properties["Text"].Value);
        var uri = Assert.IsType<PSObject>(bag.Properties["Anything"].Value);
        Assert.Equal("Deserialized.System.Uri", uri.TypeNames[0]);
        Assert.Equal("example.org", uri.Properties["Host"].Value);
    }

    [Fact]
    public void Property_bags_stop_at_the_depth_bound_with_ToString()
    {
        var root = new Node(0, 10);
        var level = Assert.IsType<PSObject>(RoundTrip(root));
        for (int depth = 0; depth < ValueCodec.DefaultMaxDepth - 1; depth++)
        {
            Assert.Equal(depth, level.Properties["Depth"].Value);
            level = Assert.IsType<PSObject>(level.Properties["Next"].Value);
        }
        Assert.Equal(ValueCodec.DefaultMaxDepth - 1, level.Properties["Depth"].Value);
        Assert.Equal($"Node {ValueCodec.DefaultMaxDepth}", level.Properties["Next"].Value);
    }

    [Fact]
    public void A_back_reference_inside_a_property_bag_becomes_text()
    {
        var sample = new BagSample();
        sample.Child = sample;
        var bag = Assert.IsType<PSObject>(RoundTrip(sample));
        Assert.Equal("BagSample 42", bag.Properties["Child"].Value);
    }

    [Fact]
    public void A_bag_of_a_big_framework_object_stays_bounded()
    {
        var bytes = ValueCodec.Encode(typeof(string));
        Assert.True(bytes.Length < 64 * 1024 * 1024, $"{bytes.Length} bytes");
        Assert.IsType<PSObject>(ValueCodec.Decode(bytes));
        Assert.IsType<PSObject>(RoundTrip(new System.IO.DirectoryInfo(Path.GetTempPath())));
        Assert.IsType<PSObject>(RoundTrip(System.Diagnostics.Process.GetCurrentProcess()));
    }

    // ---- refusals ---------------------------------------------------------------------------------

    public static IEnumerable<object[]> Refused()
    {
        yield return new object[] { ScriptBlock.Create("1 + 1"), "System.Management.Automation.ScriptBlock" };
        yield return new object[] { new IntPtr(5), "System.IntPtr" };
        yield return new object[] { new UIntPtr(5), "System.UIntPtr" };
        yield return new object[] { new Func<int>(() => 1), "System.Func`1[[System.Int32" };
        yield return new object[] { new EventHandler((_, _) => { }), "System.EventHandler" };
        yield return new object[] { PointerBox(), "System.Reflection.Pointer" };
        yield return new object[] { new Hashtable { ["code"] = ScriptBlock.Create("2") }, "System.Management.Automation.ScriptBlock" };
        yield return new object[] { new object[] { 1, new List<object> { new IntPtr(1) } }, "System.IntPtr" };
        yield return new object[] { Custom(("Handler", new Action(() => { }))), "System.Action" };
        yield return new object[] { PSObject.AsPSObject(ScriptBlock.Create("3")), "System.Management.Automation.ScriptBlock" };
    }

    // A boxed pointer without unsafe code: reflection boxes the pointer argument it is given.
    private static object PointerBox() =>
        typeof(System.Reflection.Pointer).GetMethod("Box")!.Invoke(null, new object[] { new IntPtr(16), typeof(int).MakePointerType() })!;

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_value_that_cannot_cross_is_refused_naming_its_type(object value, string typeName)
    {
        var ex = Assert.Throws<ValueNotTransferableException>(() => ValueCodec.Encode(value));
        Assert.StartsWith(typeName, ex.TypeName);
        Assert.Contains(typeName, ex.Message);
    }

    [Fact]
    public void Cycles_are_refused_naming_the_type()
    {
        var table = new Hashtable();
        table["self"] = table;
        Assert.Equal("System.Collections.Hashtable", Assert.Throws<ValueNotTransferableException>(() => ValueCodec.Encode(table)).TypeName);

        var array = new object[2];
        array[1] = new List<object> { array };
        var ex = Assert.Throws<ValueNotTransferableException>(() => ValueCodec.Encode(array));
        Assert.Equal("System.Object[]", ex.TypeName);
        Assert.Contains("cyclic", ex.Message);

        var custom = Custom(("A", 1));
        custom.Properties.Add(new PSNoteProperty("Me", custom));
        Assert.Equal("System.Management.Automation.PSObject", Assert.Throws<ValueNotTransferableException>(() => ValueCodec.Encode(custom)).TypeName);

        var ordered = new OrderedDictionary();
        ordered["wrapped"] = PSObject.AsPSObject(ordered);
        Assert.Equal("System.Collections.Specialized.OrderedDictionary", Assert.Throws<ValueNotTransferableException>(() => ValueCodec.Encode(ordered)).TypeName);
    }

    [Fact]
    public void Nesting_past_the_bound_is_refused_and_just_below_it_crosses()
    {
        object deep = "leaf";
        for (int i = 0; i < ValueCodec.MaxNesting; i++) deep = new object[] { deep };
        var back = RoundTrip(deep);
        for (int i = 0; i < ValueCodec.MaxNesting; i++) back = Assert.Single(Assert.IsType<object[]>(back));
        Assert.Equal("leaf", back);

        var tooDeep = new object[] { deep };
        var ex = Assert.Throws<ValueNotTransferableException>(() => ValueCodec.Encode(tooDeep));
        Assert.Equal("System.Object[]", ex.TypeName);
        Assert.Contains("nested", ex.Message);
    }

    // ---- malformed input ----------------------------------------------------------------------

    [Fact]
    public void Malformed_values_raise_ProtocolException_with_a_reason()
    {
        Assert.Contains("no bytes", Assert.Throws<ProtocolException>(() => ValueCodec.Decode(null!)).Message);
        Malformed(Array.Empty<byte>());
        Assert.Contains("after the end", Malformed(new byte[] { 0x01, 0x02 }).Message);
        Assert.Contains("unknown value tag 99", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(1); w.Write(99); })).Message);
        Assert.Contains("empty array", Malformed(Raw((ref MessagePackWriter w) => w.WriteArrayHeader(0))).Message);
        Assert.Contains("out of range", Malformed(Raw((ref MessagePackWriter w) => w.Write(long.MaxValue))).Message);
        Assert.Contains("out of range", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(1); w.Write(300); })).Message);
        Assert.Contains("fields", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(6); w.Write(1); w.Write(2); })).Message);
        Assert.Contains("nil", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(17); w.WriteNil(); w.Write(1); })).Message);
        Assert.Contains("pairs", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(17); w.Write(1); })).Message);
        Assert.Contains("twice", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(6); w.Write(19); w.WriteArrayHeader(0); w.Write("a"); w.Write(1); w.Write("A"); w.Write(2); })).Message);
        Assert.Contains("empty", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(19); w.WriteArrayHeader(0); w.Write(""); w.Write(1); })).Message);
        Assert.Contains("Decimal", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(5); w.Write(8); w.Write(1); w.Write(0); w.Write(0); w.Write(int.MaxValue); })).Message);
        Assert.Contains("DateTime", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(10); w.Write(long.MaxValue); w.Write(1); })).Message);
        Assert.Contains("DateTimeKind", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(10); w.Write(0L); w.Write(7); })).Message);
        Assert.Contains("DateTimeOffset", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(11); w.Write(0L); w.Write(TimeSpan.FromHours(15).Ticks); })).Message);
        Assert.Contains("16 bytes", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(13); w.Write(new byte[] { 1, 2 }); })).Message);
        Assert.Contains("not an integer", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(14); w.Write("System.DayOfWeek"); w.Write("x"); })).Message);
        Assert.Contains("a map", Malformed(Raw((ref MessagePackWriter w) => w.WriteMapHeader(0))).Message);
        Assert.Contains("extension", Malformed(Raw((ref MessagePackWriter w) => w.WriteExtensionFormat(new ExtensionResult(5, new byte[] { 1 })))).Message);
        Assert.Contains("ends in the middle", Malformed(Raw((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(15); w.Write(1); })).Message);
    }

    [Fact]
    public void Nesting_past_the_depth_bound_is_refused_on_decode()
    {
        var bytes = Raw((ref MessagePackWriter w) =>
        {
            for (int i = 0; i < 1000; i++)
            {
                w.WriteArrayHeader(2);
                w.Write(15);
            }
            w.WriteNil();
        });
        Assert.Contains("nested deeper", Malformed(bytes).Message);
    }

    internal delegate void WriteAction(ref MessagePackWriter writer);

    internal static byte[] Raw(WriteAction write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
