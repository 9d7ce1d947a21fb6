using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Journal;

/// <summary>
/// Formats one settled item as a journal line, straight to UTF-8 (the journal may get a line per
/// item of a million-item batch, so no intermediate strings or JSON writer):
/// {"index":0,"key":"...","occurrence":1,"status":"Succeeded","attempts":1,"durationMs":1.5,
/// "worker":42,"endTime":"2025-01-01T00:00:00.000Z"} (UTC) and, when there is one, "reason" and "error".
/// One formatter per journal, used under the journal's lock: it remembers the last end time it wrote.
/// <para>
/// The journal's per-item methods here, in <see cref="JournalFile"/> and in <see cref="ItemKeys"/>
/// are compiled optimized from their first call (AggressiveOptimization). Tiered compilation would
/// run them unoptimized, then instrumented, for the first few hundred thousand items, which is most
/// of a typical batch; measured in bench/ThreadBatch.ps1's journal pairs (4 processes each,
/// alternated): journal/no journal 1.18-1.26 before, 0.97-1.15 after.
/// </para>
/// </summary>
internal sealed class JournalLine
{
    private const int MaxErrorLength = 500;
    private static readonly byte[][] StatusNames = Enum.GetValues<ItemStatus>()
        .Select(s => Encoding.UTF8.GetBytes(s.ToString())).ToArray();

    /// <summary>The last end time written, to the millisecond, and its text: items settling together share it.</summary>
    private long _lastMillisecond;
    private byte[]? _lastTime;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write(ArrayBufferWriter<byte> line, WorkItem item)
    {
        Raw(line, "{\"index\":"u8);
        Number(line, item.Index);
        Raw(line, ",\"key\":"u8);
        if (item.Key.Number is { } number)
        {
            Raw(line, "\""u8);
            Formatted(line, number, default);
            Raw(line, "\""u8);
        }
        else
        {
            Text(line, item.Key.Text);
        }
        Raw(line, ",\"occurrence\":"u8);
        Number(line, item.Key.Occurrence);
        Raw(line, ",\"status\":\""u8);
        Raw(line, StatusNames[(int)item.Status]);
        Raw(line, "\",\"attempts\":"u8);
        Number(line, item.Attempts);
        Raw(line, ",\"durationMs\":"u8);
        Milliseconds(line, item.Duration);
        Raw(line, ",\"worker\":"u8);
        // A number on this machine; 'host:pid' for a remote host.
        if (item.Host is null) Number(line, item.Worker);
        else Text(line, (string)item.WorkerName);
        Raw(line, ",\"endTime\":\""u8);
        Raw(line, TimeText(item.SettledAt));
        Raw(line, "\""u8);
        if (item.SkipReason is { } reason)
        {
            Raw(line, ",\"reason\":"u8);
            Text(line, reason);
        }
        if (item.Errors.Count > 0)
        {
            var error = item.Errors[0];
            string message = error.Exception?.Message ?? error.ToString();
            Raw(line, ",\"error\":"u8);
            Text(line, message.Length <= MaxErrorLength ? message : message[..MaxErrorLength]);
        }
        Raw(line, "}\n"u8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Raw(ArrayBufferWriter<byte> line, ReadOnlySpan<byte> bytes) => line.Write(bytes);

    /// <summary>A duration in milliseconds with up to three decimals, from whole microseconds (no floating-point formatting).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Milliseconds(ArrayBufferWriter<byte> line, TimeSpan duration)
    {
        long micro = Math.Max(0, duration.Ticks / 10);
        Number(line, micro / 1000);
        int fraction = (int)(micro % 1000);
        if (fraction == 0) return;
        var span = line.GetSpan(4);
        span[0] = (byte)'.';
        span[1] = (byte)('0' + fraction / 100);
        span[2] = (byte)('0' + fraction / 10 % 10);
        span[3] = (byte)('0' + fraction % 10);
        int length = span[3] != '0' ? 4 : span[2] != '0' ? 3 : 2;
        line.Advance(length);
    }

    /// <summary>A UTC time in ISO 8601 to the millisecond (2025-01-01T00:00:00.000Z), formatted once per millisecond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private byte[] TimeText(DateTime utc)
    {
        long millisecond = utc.Ticks / TimeSpan.TicksPerMillisecond;
        if (_lastTime is { } cached && _lastMillisecond == millisecond) return cached;
        var text = Encoding.ASCII.GetBytes(utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        _lastMillisecond = millisecond;
        return _lastTime = text;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Number<T>(ArrayBufferWriter<byte> line, T value) where T : IUtf8SpanFormattable =>
        Formatted(line, value, default);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Formatted<T>(ArrayBufferWriter<byte> line, T value, ReadOnlySpan<char> format) where T : IUtf8SpanFormattable
    {
        var span = line.GetSpan(64);
        if (!value.TryFormat(span, out int written, format, CultureInfo.InvariantCulture))
            throw new InvalidOperationException("a journal field did not fit its buffer");
        line.Advance(written);
    }

    /// <summary>A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Text(ArrayBufferWriter<byte> line, string text)
    {
        Raw(line, "\""u8);
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c >= 0x20 && c != '"' && c != '\\') continue;
            Utf8(line, text.AsSpan(start, i - start));
            switch (c)
            {
                case '"': Raw(line, "\\\""u8); break;
                case '\\': Raw(line, "\\\\"u8); break;
                case '\n': Raw(line, "\\n"u8); break;
                case '\r': Raw(line, "\\r"u8); break;
                case '\t': Raw(line, "\\t"u8); break;
                default:
                    Raw(line, "\\u00"u8);
                    Formatted(line, (int)c, "x2");
                    break;
            }
            start = i + 1;
        }
        Utf8(line, text.AsSpan(start));
        Raw(line, "\""u8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Utf8(ArrayBufferWriter<byte> line, ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty) return;
        var span = line.GetSpan(Encoding.UTF8.GetMaxByteCount(chars.Length));
        line.Advance(Encoding.UTF8.GetBytes(chars, span));
    }
}
