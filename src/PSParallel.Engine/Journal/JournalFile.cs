using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Journal;

/// <summary>
/// A batch's journal (-JournalPath): one JSON line per settled item, after a header line that
/// marks the file as ours. Opening it locks it against other batches (the lock ends with the
/// process, even on kill -9), reads what an earlier run recorded (-Resume), cuts off a torn last
/// line and starts a run. A settling item's line is formatted on the lane that settled it and
/// queued; <see cref="Flush"/> writes what is queued as one write. The pipeline thread flushes
/// before it emits settled items, so nothing the caller has seen can be missing from the file.
/// </summary>
internal sealed class JournalFile : IDisposable
{
    public const int FormatVersion = 1;
    private const string HeaderProperty = "psparallelJournal";
    private static readonly byte[] HeaderPrefix = Encoding.UTF8.GetBytes("{\"" + HeaderProperty + "\":");
    private static readonly JsonWriterOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly FileStream _file;
    private readonly string _fullPath;
    private readonly HashSet<(UInt128 Hash, int Occurrence)> _succeeded;
    private readonly object _gate = new();
    private readonly object _flushGate = new();
    private readonly JournalLine _line = new();
    private ArrayBufferWriter<byte> _pending = new(64 * 1024);
    private ArrayBufferWriter<byte> _writing = new(64 * 1024);
    private Action<Exception> _failed = _ => { };
    private static readonly TimeSpan MaxFlushDelay = TimeSpan.FromMilliseconds(100);
    private Timer? _flushTimer;
    private long _offset;
    private bool _closed;
    private Exception? _failure;

    private JournalFile(string path, FileStream file, HashSet<(UInt128, int)> succeeded, long offset)
    {
        Path = path;
        _fullPath = System.IO.Path.GetFullPath(path);
        _file = file;
        _succeeded = succeeded;
        _offset = offset;
    }

    public string Path { get; }

    /// <summary>Entries the journal held as Succeeded when the run began (-Resume).</summary>
    public int SucceededBefore => _succeeded.Count;

    /// <summary>
    /// Opens (or creates) the journal at <paramref name="path"/> for one run. Without
    /// <paramref name="resume"/> a journal of ours starts afresh; with it, the entries recorded as
    /// Succeeded are kept for <see cref="RecordsSucceeded"/>. A file that is not a journal of ours,
    /// or one that another batch is writing, is refused and left as it is.
    /// </summary>
    public static JournalFile Open(string path, bool resume, string command)
    {
        var file = OpenLocked(path);
        try
        {
            // Without -Resume only the first line is read: it says whether the file is ours to start afresh.
            var (succeeded, end) = Read(file, path, allLines: resume);
            long offset = resume ? end : 0;
            // A torn last line (the run before was killed while writing it) is cut off; without
            // -Resume the whole journal starts afresh.
            if (file.Length != offset) file.SetLength(offset);
            if (!resume) succeeded.Clear();
            var journal = new JournalFile(path, file, succeeded, offset);
            journal.WriteHeader(command, resume);
            return journal;
        }
        catch (IOException ex)
        {
            Release(file, path);
            throw Errors.JournalNotWritable(path, ex.Message);
        }
        catch
        {
            Release(file, path);
            throw;
        }
    }

    private static void Release(FileStream file, string path)
    {
        file.Dispose();
        s_openHere.TryRemove(System.IO.Path.GetFullPath(path), out _);
    }

    /// <summary>
    /// Opens the file locked against other batches, and only them: a reader (Get-Content, tail) may
    /// look at it while the batch runs. Another process is kept out by the sharing mode on Windows
    /// and by a record lock on Linux (POSIX record locks are per process and leave readers alone;
    /// where .NET has none, as on macOS, an exclusive lock, which keeps .NET readers out too); another batch of this process by the list of journals open here. Every lock ends with
    /// the process, even on kill -9.
    /// </summary>
    private static FileStream OpenLocked(string path)
    {
        string fullPath;
        try
        {
            fullPath = System.IO.Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Errors.JournalNotWritable(path, ex.Message);
        }
        if (!s_openHere.TryAdd(fullPath, 0)) throw Errors.JournalInUse(path);
        bool recordLock = OperatingSystem.IsLinux();
        var share = OperatingSystem.IsWindows() || recordLock ? FileShare.Read : FileShare.None;
        FileStream? file = null;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, share, bufferSize: 0);
            if (OperatingSystem.IsLinux()) file.Lock(0, 1);
            return file;
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or UnauthorizedAccessException or PathTooLongException
                                       or NotSupportedException or ArgumentException)
        {
            s_openHere.TryRemove(fullPath, out _);
            throw Errors.JournalNotWritable(path, ex.Message);
        }
        catch (IOException ex)
        {
            file?.Dispose();
            s_openHere.TryRemove(fullPath, out _);
            throw file is not null || File.Exists(path) ? Errors.JournalInUse(path) : Errors.JournalNotWritable(path, ex.Message);
        }
    }

    /// <summary>Full paths of the journals batches of this process have open.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> s_openHere =
        new(OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Reads the complete lines (only the first unless <paramref name="allLines"/>): the first must be
    /// our header; entry lines recorded as Succeeded are collected. Returns them and where the
    /// complete lines end (a torn last line is left out).
    /// </summary>
    private static (HashSet<(UInt128, int)> Succeeded, long End) Read(FileStream file, string path, bool allLines)
    {
        var succeeded = new HashSet<(UInt128, int)>();
        file.Position = 0;
        var buffer = new byte[64 * 1024];
        var line = new ArrayBufferWriter<byte>(256);
        long position = 0, end = 0;
        int lineNumber = 0;
        int read;
        while ((read = file.Read(buffer, 0, buffer.Length)) > 0)
        {
            int start = 0;
            for (int i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer.AsSpan(start, i - start));
                ReadLine(line.WrittenSpan, ++lineNumber, succeeded, path);
                line.ResetWrittenCount();
                start = i + 1;
                end = position + i + 1;
                if (!allLines) return (succeeded, end);
            }
            line.Write(buffer.AsSpan(start, read - start));
            position += read;
        }
        // Only a torn line and no complete one: ours if it begins like our header.
        if (lineNumber == 0 && line.WrittenCount > 0 && !line.WrittenSpan.StartsWith(HeaderPrefix))
            throw Errors.JournalNotOurs(path);
        return (succeeded, end);
    }

    private static void ReadLine(ReadOnlySpan<byte> line, int lineNumber, HashSet<(UInt128, int)> succeeded, string path)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
        if (lineNumber == 1)
        {
            if (!IsHeader(line)) throw Errors.JournalNotOurs(path);
            return;
        }
        if (line.Trim((byte)' ').IsEmpty) return;
        try
        {
            var reader = new Utf8JsonReader(line);
            string? key = null, status = null;
            int occurrence = 0;
            bool header = false;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("not an object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "key" when reader.TokenType == JsonTokenType.String: key = reader.GetString(); break;
                    case "status" when reader.TokenType == JsonTokenType.String: status = reader.GetString(); break;
                    case "occurrence" when reader.TokenType == JsonTokenType.Number: occurrence = reader.GetInt32(); break;
                    case HeaderProperty: header = true; reader.Skip(); break;
                    default: reader.Skip(); break;
                }
            }
            if (header) return; // a later run's header
            if (key is null || status is null || occurrence < 1) throw new JsonException("key, occurrence or status missing");
            if (status == nameof(ItemStatus.Succeeded)) succeeded.Add((ItemKey.HashOf(key), occurrence));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw Errors.JournalDamaged(path, lineNumber, ex.Message);
        }
    }

    private static bool IsHeader(ReadOnlySpan<byte> line)
    {
        if (!line.StartsWith(HeaderPrefix)) return false;
        try
        {
            using var document = JsonDocument.Parse(line.ToArray());
            return document.RootElement.TryGetProperty(HeaderProperty, out var version) && version.ValueKind == JsonValueKind.Number;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Whether an earlier run recorded the item with this key as Succeeded (-Resume).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool RecordsSucceeded(ItemKey key) => _succeeded.Contains((key.Hash, key.Occurrence));

    /// <summary>
    /// Starts flushing at least every <see cref="MaxFlushDelay"/>; <paramref name="failed"/> is told
    /// once when a write fails.
    /// </summary>
    public void Start(Action<Exception> failed)
    {
        _failed = failed;
        _flushTimer = new Timer(_ => Flush(), null, MaxFlushDelay, MaxFlushDelay);
    }

    /// <summary>
    /// Queues the settled item's line, formatted on the calling thread straight into the queue (a
    /// line takes well under a microsecond; a thread-local line and a copy cost more than the lock
    /// held that long); <see cref="Flush"/> writes it. The batch flushes before it passes any
    /// settled item on, so a line is in the file before the caller sees its item.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Append(WorkItem item)
    {
        lock (_gate)
        {
            if (!_closed && _failure is null) _line.Write(_pending, item);
        }
    }

    /// <summary>
    /// Writes every queued line with one write. Called by the pipeline thread before it passes
    /// settled items on (so lines settling together share a write: a file-system write costs
    /// microseconds, as a journaling file system updates the file's times on each), and by a timer,
    /// so that the file never lags the batch by more than <see cref="MaxFlushDelay"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Flush()
    {
        lock (_flushGate)
        {
            lock (_gate)
            {
                if (_pending.WrittenCount == 0 || _failure is not null) return;
                (_pending, _writing) = (_writing, _pending);
            }
            try
            {
                WriteOut(_writing.WrittenSpan);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                lock (_gate) _failure = ex;
                _failed(ex);
            }
            finally
            {
                _writing.ResetWrittenCount();
            }
        }
    }

    private void WriteHeader(string command, bool resume)
    {
        var header = new ArrayBufferWriter<byte>(256);
        using var json = new Utf8JsonWriter(header, LineOptions);
        json.WriteStartObject();
        json.WriteNumber(HeaderProperty, FormatVersion);
        json.WriteString("started", DateTimeOffset.Now);
        json.WriteString("command", command);
        json.WriteBoolean("resume", resume);
        json.WriteEndObject();
        json.Flush();
        header.Write("\n"u8);
        WriteOut(header.WrittenSpan);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteOut(ReadOnlySpan<byte> bytes)
    {
        RandomAccess.Write(_file.SafeFileHandle, bytes, _offset);
        _offset += bytes.Length;
    }

    /// <summary>Writes what is queued and lets go of the file (and its lock); later lines are not written.</summary>
    public void Dispose()
    {
        lock (_flushGate)
        {
            if (_closed) return;
            _flushTimer?.Dispose();
            Flush();
            lock (_gate) _closed = true;
        }
        _file.Dispose();
        s_openHere.TryRemove(_fullPath, out _);
    }
}
