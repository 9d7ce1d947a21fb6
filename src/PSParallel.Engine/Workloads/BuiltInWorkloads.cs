using System.Diagnostics;
using System.IO.Compression;
using System.Management.Automation;
using System.Security.Cryptography;
using System.Text;
using PSParallel.Engine.Measurement;

namespace PSParallel.Engine.Workloads;

// The built-in workloads, each driven by the item alone. Public so that a worker process can
// load them by type name and users can name them with [type].

/// <summary>Sleeps the item's milliseconds (simulates I/O); returns the milliseconds slept.</summary>
public sealed class SleepWorkload : IAsyncWorkload
{
    public async Task<object?> InvokeAsync(object? input, CancellationToken token)
    {
        int ms = WorkloadInput.ToInt32(input, "Sleep", "milliseconds");
        await Task.Delay(ms, token).ConfigureAwait(false);
        return ms;
    }
}

/// <summary>Burns the item's milliseconds of CPU (simulates computation); returns them.</summary>
/// <remarks>
/// It counts the thread's processor time, not the wall clock: with more threads than cores, or on a
/// busy machine, a wall-clock spin would burn less than it says and make threads look faster on
/// computing work than they are. Where no thread clock exists it falls back to the wall clock.
/// </remarks>
public sealed class SpinWorkload : IWorkload
{
    // Windows updates a thread's processor time once per clock tick (about 15.6 ms).
    private static readonly TimeSpan ClockGranularity = OperatingSystem.IsWindows() ? TimeSpan.FromMilliseconds(16) : TimeSpan.Zero;

    public object? Invoke(object? input, CancellationToken token)
    {
        int ms = WorkloadInput.ToInt32(input, "Spin", "milliseconds");
        if (ms <= 0) return ms;
        var budget = TimeSpan.FromMilliseconds(ms);
        var wall = Stopwatch.StartNew();
        var cpuStart = ThreadCpuClock.Now()?.Cpu;
        double x = 1;
        do
        {
            for (int i = 0; i < 10_000; i++) x = Math.Sqrt(x + i);
            token.ThrowIfCancellationRequested();
        }
        while (!Burnt(budget, wall.Elapsed, cpuStart));
        GC.KeepAlive(x);
        return ms;
    }

    private static bool Burnt(TimeSpan budget, TimeSpan wall, TimeSpan? cpuStart)
    {
        if (wall < budget) return false;   // processor time never runs ahead of the wall clock
        if (cpuStart is not { } start || ThreadCpuClock.Now() is not { } now) return true;
        return now.Cpu - start >= budget - ClockGranularity;
    }
}

/// <summary>Whether the item is a prime number (trial division, as in the seed article).</summary>
public sealed class IsPrimeWorkload : IWorkload
{
    public object? Invoke(object? input, CancellationToken token) => IsPrime(WorkloadInput.ToInt64(input, "IsPrime"));

    public static bool IsPrime(long n)
    {
        if (n < 2) return false;
        if (n % 2 == 0) return n == 2;
        long root = (long)Math.Sqrt(n);
        for (long f = 3; f <= root; f += 2)
            if (n % f == 0) return false;
        return true;
    }
}

/// <summary>SHA-256 of a file (path), a string (UTF-8) or bytes, as upper-case hex like Get-FileHash.</summary>
public sealed class Sha256Workload : IWorkload
{
    public object? Invoke(object? input, CancellationToken token)
    {
        var hash = WorkloadInput.ToStreamOrBytes(input, "Sha256") switch
        {
            byte[] bytes => SHA256.HashData(bytes),
            Stream stream => HashAndClose(stream),
            _ => throw new InvalidOperationException(),
        };
        return Convert.ToHexString(hash);
    }

    private static byte[] HashAndClose(Stream stream)
    {
        using (stream) return SHA256.HashData(stream);
    }
}

/// <summary>GZip-compressed length of a file (path), a string (UTF-8) or bytes.</summary>
public sealed class GZipWorkload : IWorkload
{
    public object? Invoke(object? input, CancellationToken token)
    {
        var source = WorkloadInput.ToStreamOrBytes(input, "GZip") switch
        {
            byte[] bytes => new MemoryStream(bytes, writable: false),
            Stream stream => stream,
            _ => throw new InvalidOperationException(),
        };
        using (source)
        {
            var counter = new CountingStream();
            using (var gzip = new GZipStream(counter, CompressionLevel.Optimal, leaveOpen: true)) source.CopyTo(gzip);
            return counter.Length;
        }
    }

    /// <summary>Counts bytes written and keeps none.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
    }
}

/// <summary>What HttpGet returns for each URL.</summary>
public sealed record HttpGetResult(string Url, int StatusCode, long Length, TimeSpan Duration);

/// <summary>HTTP GET of the item's URL; asynchronous, so many requests wait without holding threads.</summary>
public sealed class HttpGetWorkload : IAsyncWorkload
{
    // One client for the process: sockets are pooled and reused across items and batches.
    private static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 1024,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
    }) { Timeout = Timeout.InfiniteTimeSpan };

    public async Task<object?> InvokeAsync(object? input, CancellationToken token)
    {
        var url = WorkloadInput.ToUri(input);
        var clock = Stopwatch.StartNew();
        using var response = await Client.GetAsync(url, HttpCompletionOption.ResponseContentRead, token).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
        return new HttpGetResult(url.ToString(), (int)response.StatusCode, body.LongLength, clock.Elapsed);
    }
}

/// <summary>Turns items into what a built-in needs, with errors that say what was expected.</summary>
internal static class WorkloadInput
{
    private static object? Unwrap(object? input) => input is PSObject p ? p.BaseObject : input;

    public static int ToInt32(object? input, string workload, string unit) =>
        (int)Math.Clamp(ToInt64(input, workload, unit), 0, int.MaxValue);

    public static long ToInt64(object? input, string workload, string unit = "integer")
    {
        try
        {
            return Convert.ToInt64(Unwrap(input), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or OverflowException)
        {
            throw new ArgumentException($"The {workload} workload needs a whole number ({unit}) as its item, not '{input}'.", ex);
        }
    }

    public static Uri ToUri(object? input)
    {
        var value = Unwrap(input);
        if (value is Uri uri) return uri;
        if (value is string s && Uri.TryCreate(s, UriKind.Absolute, out var parsed)) return parsed;
        throw new ArgumentException($"The HttpGet workload needs an absolute URL as its item, not '{input}'.");
    }

    /// <summary>byte[] as is, a string naming an existing file as a file stream, any other string as UTF-8.</summary>
    public static object ToStreamOrBytes(object? input, string workload) => Unwrap(input) switch
    {
        byte[] bytes => bytes,
        FileInfo file => file.OpenRead(),
        string path when File.Exists(path) => File.OpenRead(path),
        string text => Encoding.UTF8.GetBytes(text),
        _ => throw new ArgumentException($"The {workload} workload needs a path, a string or a byte[] as its item, not '{input}'."),
    };
}
