using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using System.Text;
using System.Text.Json;
using PSParallel.Engine;
using PSParallel.Engine.Journal;
using PSParallel.Engine.Scheduling;
using Xunit;

namespace PSParallel.Tests.Journal;

public sealed class ItemKeyTests
{
    [Fact]
    public void Strings_and_numbers_are_their_text_so_a_list_read_from_a_file_resumes_a_list_of_numbers()
    {
        Assert.Equal("5", ItemKey.TextOf(5));
        Assert.Equal("5", ItemKey.TextOf("5"));
        Assert.Equal("5", ItemKey.TextOf(PSObject.AsPSObject(5L)));
        Assert.Equal("1.5", ItemKey.TextOf(1.5));
        Assert.Equal("host1", ItemKey.TextOf(PSObject.AsPSObject("host1")));
        Assert.Equal("$null", ItemKey.TextOf(null));
    }

    [Fact]
    public void A_string_with_note_properties_is_still_its_text()
    {
        // Get-Content attaches PSPath, ReadCount... to each line; the key is the line.
        var line = PSObject.AsPSObject("web1");
        line.Properties.Add(new PSNoteProperty("ReadCount", 7));
        Assert.Equal("web1", ItemKey.TextOf(line));
    }

    [Fact]
    public void Files_are_known_by_full_path_not_by_their_changing_times()
    {
        var file = new FileInfo(Path.Combine(Path.GetTempPath(), "some.log"));
        Assert.Equal(file.FullName, ItemKey.TextOf(PSObject.AsPSObject(file)));
    }

    [Fact]
    public void Hashtables_are_sorted_by_key_and_objects_keep_their_property_order()
    {
        var a = new Hashtable { ["b"] = 2, ["a"] = 1 };
        var b = new Hashtable { ["a"] = 1, ["b"] = 2 };
        Assert.Equal(ItemKey.TextOf(a), ItemKey.TextOf(b));
        Assert.Equal("{\"a\":\"1\",\"b\":\"2\"}", ItemKey.TextOf(a));

        var custom = new PSObject();
        custom.Properties.Add(new PSNoteProperty("Name", "n1"));
        custom.Properties.Add(new PSNoteProperty("Size", 10));
        Assert.Equal("{\"Name\":\"n1\",\"Size\":\"10\"}", ItemKey.TextOf(custom));

        var ordered = new OrderedDictionary { ["x"] = new object[] { 1, "two" } };
        Assert.Equal("{\"x\":[\"1\",\"two\"]}", ItemKey.TextOf(ordered));
    }

    [Fact]
    public void A_long_value_is_known_by_its_SHA256()
    {
        var text = new string('x', 1000);
        var key = ItemKey.TextOf(text);
        Assert.StartsWith("sha256:", key);
        Assert.Equal(key, ItemKey.TextOf(new string('x', 1000)));
        Assert.NotEqual(key, ItemKey.TextOf(new string('x', 999)));
    }

    [Fact]
    public void Repeated_values_are_counted_in_input_order()
    {
        var keys = new ItemKeys();
        var seen = new[] { "a", "b", "a", "a", "b" }.Select(v => keys.Next(v)).Select(k => (k.Text, k.Occurrence)).ToList();
        Assert.Equal(new[] { ("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2) }, seen);
    }

    [Fact]
    public void A_number_is_keyed_like_its_text_though_its_text_is_made_later()
    {
        // Numbers skip making a string on the pipeline thread; the key must not change by it.
        var keys = new ItemKeys();
        var values = new object?[] { 5, "5", PSObject.AsPSObject(5L), 1.5, "1.5", -7.25m, (byte)200, ulong.MaxValue, double.NaN };
        var seen = values.Select(v => keys.Next(v)).ToList();
        Assert.Equal(new[] { "5", "5", "5", "1.5", "1.5", "-7.25", "200", "18446744073709551615", "NaN" }, seen.Select(k => k.Text));
        Assert.Equal(new[] { 1, 2, 3, 1, 2, 1, 1, 1, 1 }, seen.Select(k => k.Occurrence));
        for (int i = 0; i < values.Length; i++) Assert.Equal(ItemKey.HashOf(ItemKey.TextOf(values[i])), seen[i].Hash);
    }
}

public sealed class JournalFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("psparallel-journal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static BatchOptions Options(string journal, bool resume = false) => new()
    {
        ThrottleLimit = 3,
        JournalPath = journal,
        Resume = resume,
        Activity = "Test",
    };

    private static List<JsonElement> Entries(string path) => File.ReadAllLines(path)
        .Select(l => JsonDocument.Parse(l).RootElement)
        .Where(e => e.TryGetProperty("key", out _))
        .ToList();

    [Fact]
    public void Writes_a_header_then_one_line_per_settled_item_with_the_contract_fields()
    {
        var journal = PathOf("run.jsonl");
        var inputs = new object?[] { Step.Echo(0), Step.Fail(1), Step.Echo(2) };
        var run = Drive.Run(Options(journal), typeof(StepWorkload), inputs, asResult: true).Ok();
        Drive.AssertCounts(run, succeeded: 2, failed: 1);

        var lines = File.ReadAllLines(journal);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("{\"psparallelJournal\":1,", lines[0]);
        var entries = Entries(journal).OrderBy(e => e.GetProperty("index").GetInt64()).ToList();
        Assert.Equal(new[] { "step 0", "step 1", "step 2" }, entries.Select(e => e.GetProperty("key").GetString()));
        Assert.Equal(new[] { "Succeeded", "Failed", "Succeeded" }, entries.Select(e => e.GetProperty("status").GetString()));
        foreach (var e in entries)
        {
            Assert.Equal(1, e.GetProperty("occurrence").GetInt32());
            Assert.Equal(1, e.GetProperty("attempts").GetInt32());
            Assert.True(e.GetProperty("durationMs").GetDouble() >= 0);
            Assert.NotEqual(0, e.GetProperty("worker").GetInt32());
            Assert.True(DateTimeOffset.TryParse(e.GetProperty("endTime").GetString(), out _));
        }
        Assert.Contains("boom 1", entries[1].GetProperty("error").GetString());
    }

    [Fact]
    public void Resume_skips_what_succeeded_and_runs_the_rest_and_new_items()
    {
        var journal = PathOf("resume.jsonl");
        Drive.Run(Options(journal), typeof(StepWorkload), new object?[] { Step.Echo(0), Step.Fail(1), Step.Echo(2) }).Ok();

        // Reordered, extended, and item 1 now works.
        var again = new[] { Step.Echo(2), Step.Echo(3), Step.Echo(1), Step.Echo(0) };
        var run = Drive.Run(Options(journal, resume: true), typeof(StepWorkload), again, asResult: true).Ok();

        Assert.Equal(new[] { 0, 1, 1, 0 }, again.Select(s => s.Calls));
        Assert.Equal(2, run.Summary.Resumed);
        Drive.AssertCounts(run, succeeded: 2, skipped: 2);
        var skipped = run.Sink.Results.Where(r => r.Status == ItemStatus.Skipped).ToList();
        Assert.All(skipped, r => Assert.Equal("journal", r.SkipReason));
        Assert.All(skipped, r => Assert.Equal(0, r.Attempts));
        // Resumed items are not journaled again; the new run's items are, after a second header.
        Assert.Equal(5, Entries(journal).Count);
        Assert.Equal(2, File.ReadAllLines(journal).Count(l => l.StartsWith("{\"psparallelJournal\"")));
    }

    [Fact]
    public void Without_resume_a_journal_starts_afresh_and_resume_without_one_creates_it()
    {
        var journal = PathOf("fresh.jsonl");
        var first = new[] { Step.Echo(0), Step.Echo(1) };
        var run = Drive.Run(Options(journal, resume: true), typeof(StepWorkload), first).Ok();
        Assert.Equal(0, run.Summary.Resumed);
        Assert.Equal(2, Entries(journal).Count);

        var second = new[] { Step.Echo(0), Step.Echo(1) };
        Drive.Run(Options(journal), typeof(StepWorkload), second).Ok();
        Assert.Equal(new[] { 1, 1 }, second.Select(s => s.Calls));
        Assert.Equal(2, Entries(journal).Count);
        Assert.Single(File.ReadAllLines(journal), l => l.StartsWith("{\"psparallelJournal\""));
    }

    [Fact]
    public void Duplicates_are_resumed_by_occurrence()
    {
        var journal = PathOf("dup.jsonl");
        // The journal knows the first 'a' and 'b': on resume the second and third 'a' run.
        Drive.Run(Options(journal), typeof(EchoWorkload), new object?[] { "a", "b" }).Ok();
        var run = Drive.Run(Options(journal, resume: true), typeof(EchoWorkload), new object?[] { "a", "a", "b", "a" }, asResult: true).Ok();
        Assert.Equal(2, run.Summary.Resumed);
        Assert.Equal(new long[] { 1, 3 }, run.Sink.Results.Where(r => r.Status == ItemStatus.Succeeded).Select(r => r.Index).OrderBy(i => i));
    }

    [Fact]
    public void A_torn_last_line_is_ignored_and_cut_off()
    {
        var journal = PathOf("torn.jsonl");
        Drive.Run(Options(journal), typeof(EchoWorkload), Enumerable.Range(0, 5).Cast<object?>()).Ok();
        var bytes = File.ReadAllBytes(journal);
        // Tear the last entry in the middle: that item runs again, the others do not.
        int lastStart = Array.LastIndexOf(bytes, (byte)'\n', bytes.Length - 2) + 1;
        string torn = Encoding.UTF8.GetString(bytes, lastStart, bytes.Length - lastStart);
        var tornKey = JsonDocument.Parse(torn).RootElement.GetProperty("key").GetString();
        File.WriteAllBytes(journal, bytes[..(lastStart + 20)]);

        var run = Drive.Run(Options(journal, resume: true), typeof(EchoWorkload), Enumerable.Range(0, 5).Cast<object?>(), asResult: true).Ok();
        Assert.Equal(4, run.Summary.Resumed);
        var ran = Assert.Single(run.Sink.Results, r => r.Status == ItemStatus.Succeeded);
        Assert.Equal(tornKey, ran.Input!.ToString());
        // Every line parses: the torn one is gone.
        Assert.All(File.ReadAllLines(journal), l => JsonDocument.Parse(l));
        Assert.Equal(5, Entries(journal).Count);
    }

    [Fact]
    public void A_file_that_is_not_a_journal_is_refused_and_left_untouched()
    {
        foreach (var content in new[] { "hello world\nsecond line\n", "name,size\n", "{\"other\":1}\n", "no newline at all" })
        {
            var path = PathOf("foreign.txt");
            File.WriteAllText(path, content);
            foreach (bool resume in new[] { false, true })
            {
                var ex = Assert.Throws<SetupException>(() => JournalFile.Open(path, resume, "Test"));
                Assert.Equal("JournalNotOurs", ex.ErrorRecord.FullyQualifiedErrorId);
                Assert.Contains(path, ex.Message);
                Assert.Equal(content, File.ReadAllText(path));
            }
        }
    }

    [Fact]
    public void A_damaged_line_in_the_middle_is_refused_with_its_number()
    {
        var journal = PathOf("damaged.jsonl");
        Drive.Run(Options(journal), typeof(EchoWorkload), Enumerable.Range(0, 3).Cast<object?>()).Ok();
        var lines = File.ReadAllLines(journal).ToList();
        lines.Insert(2, "garbage");
        File.WriteAllLines(journal, lines);
        var before = File.ReadAllText(journal);
        var ex = Assert.Throws<SetupException>(() => JournalFile.Open(journal, true, "Test"));
        Assert.Equal("JournalDamaged", ex.ErrorRecord.FullyQualifiedErrorId);
        Assert.Contains("Line 3", ex.Message);
        Assert.Equal(before, File.ReadAllText(journal));
    }

    [Fact]
    public void A_journal_in_use_by_another_batch_is_refused_and_readers_may_still_read_it()
    {
        var journal = PathOf("busy.jsonl");
        using (var first = JournalFile.Open(journal, false, "Test"))
        {
            foreach (bool resume in new[] { false, true })
            {
                var ex = Assert.Throws<SetupException>(() => JournalFile.Open(journal, resume, "Test"));
                Assert.Equal("JournalInUse", ex.ErrorRecord.FullyQualifiedErrorId);
            }
            if (!OperatingSystem.IsMacOS()) Assert.StartsWith("{\"psparallelJournal\"", File.ReadAllText(journal));
        }
        using var again = JournalFile.Open(journal, true, "Test"); // free once the first let go
    }

    /// <summary>Checks, as each item is emitted, that the journal file already holds its line.</summary>
    private sealed class JournalCheckingSink : IBatchSink
    {
        private readonly string _journal;
        public readonly List<string> Missing = new();
        public int Emitted;
        public JournalCheckingSink(string journal) => _journal = journal;

        public void WriteOutput(object? value)
        {
            Emitted++;
            using var stream = new FileStream(_journal, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var text = new StreamReader(stream).ReadToEnd();
            if (!text.Contains($"\"key\":\"{value}\"")) Missing.Add($"{value}");
        }

        public void WriteError(System.Management.Automation.ErrorRecord error) { }
        public void WriteStream(PSParallel.Engine.Attempts.StreamRecord record) { }
    }

    [Fact]
    public void An_item_reaches_the_caller_only_after_its_line_is_in_the_file()
    {
        var journal = PathOf("before.jsonl");
        var sink = new JournalCheckingSink(journal);
        using (var runner = new BatchRunner(Options(journal), new PSParallel.Engine.Lanes.Workloads.WorkloadExecutor(typeof(EchoWorkload), 3), sink, asResult: false))
        {
            foreach (var i in Enumerable.Range(0, 300)) runner.Add($"item{i}");
            runner.Complete();
        }
        Assert.Equal(300, sink.Emitted);
        Assert.Empty(sink.Missing);
    }

    [Fact]
    public void An_empty_file_is_taken_as_a_new_journal()
    {
        var journal = PathOf("empty.jsonl");
        File.WriteAllText(journal, "");
        var run = Drive.Run(Options(journal, resume: true), typeof(EchoWorkload), new object?[] { 1 }).Ok();
        Assert.Equal(1, run.Summary.Succeeded);
        Assert.Single(Entries(journal));
    }

    [Fact]
    public void A_stopped_batch_journals_every_item_it_settled()
    {
        var journal = PathOf("stopped.jsonl");
        using var gate = new Gate();
        var inputs = Enumerable.Range(0, 40).Select(i => (object?)(i < 5 ? Step.Echo(i) : Step.Cancellable(i, gate))).ToList();
        var run = Drive.Run(Options(journal), typeof(StepWorkload), inputs, asResult: true, started: runner =>
            Task.Run(() =>
            {
                gate.WaitForEntered(1, TimeSpan.FromSeconds(10));
                runner.Stop();
            }));
        Drive.AssertAccounted(run.Summary, 40);
        var entries = Entries(journal);
        Assert.Equal(40, entries.Count);
        Assert.Equal(run.Summary.Succeeded, entries.Count(e => e.GetProperty("status").GetString() == "Succeeded"));
        Assert.All(entries.Where(e => e.GetProperty("status").GetString() == "Skipped"),
            e => Assert.Equal("stopped", e.GetProperty("reason").GetString()));
    }
}
