using System.Management.Automation;
using System.Reflection;
using PSParallel.Engine.Protocol;

namespace PSParallel.Engine.Worker;

/// <summary>
/// The loop a worker process runs: hello, setup, then chunks until the parent says shutdown or
/// closes stdin. A closed stdin also means the parent died, so the worker exits even mid-item.
/// A worker of a warm pool gets another setup before each batch's chunks: the batch's script (run
/// in the runspace the first setup opened) or its compiled workload.
/// </summary>
internal static class WorkerProgram
{
    private const int BufferBytes = 1 << 16;
    /// <summary>How long a per-item frame may wait in the buffer: tiny items share writes, yet
    /// starts, results and stream records still reach the parent promptly.</summary>
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(10);

    public static int Run()
    {
        var (input, output) = StdioTakeover.Take();
        WorkerPreamble.Write(output);
        var writer = new FrameWriter(new BufferedStream(output, BufferBytes));
        var reader = new FrameReader(input); // no BufferedStream: it would block for more after a whole frame
        try
        {
            writer.Write(new HelloMessage(HelloMessage.CurrentVersion, Environment.ProcessId));
            if (Read(reader) is not HelloMessage hello || hello.ProtocolVersion != HelloMessage.CurrentVersion)
                throw new ProtocolException("the parent did not say hello with protocol version " + HelloMessage.CurrentVersion);
            if (Read(reader) is not SetupMessage setup) throw new ProtocolException("expected the setup message");

            var lanes = new WorkerLanes();
            using var _ = lanes;
            var setupError = lanes.SetUp(setup);
            writer.Write(new SetupDoneMessage(setupError));
            if (setupError is not null) return 2;
            RunChunks(reader, writer, lanes);
            return 0;
        }
        catch (ProtocolException ex)
        {
            Console.Error.WriteLine($"PSParallel worker {Environment.ProcessId}: {ex.Message}");
            return 3;
        }
    }

    private static Message? Read(FrameReader reader) =>
        reader.ReadFrameAsync().AsTask().GetAwaiter().GetResult() is { } frame ? MessageCodec.Decode(frame) : null;

    /// <summary>
    /// Frames are read on a background thread so that a closed stdin is noticed while an item runs;
    /// chunks run one after the other on this thread.
    /// </summary>
    private static void RunChunks(FrameReader reader, FrameWriter writer, WorkerLanes lanes)
    {
        using var work = new System.Collections.Concurrent.BlockingCollection<Message>();
        var listener = new Thread(() =>
        {
            try
            {
                while (Read(reader) is { } message && message is ChunkMessage or SetupMessage) work.Add(message);
            }
            catch (ProtocolException ex)
            {
                Console.Error.WriteLine($"PSParallel worker {Environment.ProcessId}: {ex.Message}");
            }
            // Shutdown, end of input or a broken stream: nothing more will come, stop now.
            Environment.Exit(0);
        }) { IsBackground = true, Name = "PSParallel frame reader" };
        listener.Start();

        var sink = new WorkerAttemptSink(writer);
        using var flusher = new Timer(_ => FlushQuietly(writer), null, FlushInterval, FlushInterval);
        foreach (var message in work.GetConsumingEnumerable())
        {
            if (message is SetupMessage next)
            {
                writer.Write(new SetupDoneMessage(lanes.SetUp(next)));
            }
            else
            {
                var items = ((ChunkMessage)message).Items.Select(sink.Decode).ToList();
                lanes.Current!.RunAsync(items, sink, CancellationToken.None).GetAwaiter().GetResult();
            }
            writer.Flush();
        }
    }

    private static void FlushQuietly(FrameWriter writer)
    {
        try
        {
            writer.Flush();
        }
        catch (IOException)
        {
            // The parent is gone; the reader thread ends the process.
        }
    }
}
