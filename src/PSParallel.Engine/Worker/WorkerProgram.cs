using System.Management.Automation;
using System.Reflection;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Threads;
using PSParallel.Engine.Lanes.Workloads;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Worker;

/// <summary>
/// The loop a worker process runs: hello, setup, then chunks until the parent says shutdown or
/// closes stdin. A closed stdin also means the parent died, so the worker exits even mid-item.
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

            using var lane = CreateLane(setup, out var setupError);
            writer.Write(new SetupDoneMessage(setupError));
            if (lane is null) return 2;
            RunChunks(reader, writer, lane);
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
    private static void RunChunks(FrameReader reader, FrameWriter writer, ILane lane)
    {
        using var chunks = new System.Collections.Concurrent.BlockingCollection<ChunkMessage>();
        var listener = new Thread(() =>
        {
            try
            {
                while (Read(reader) is ChunkMessage chunk) chunks.Add(chunk);
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
        foreach (var chunk in chunks.GetConsumingEnumerable())
        {
            var items = chunk.Items.Select(sink.Decode).ToList();
            lane.RunAsync(items, sink, CancellationToken.None).GetAwaiter().GetResult();
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

    private static ILane? CreateLane(SetupMessage setup, out ErrorData? error)
    {
        error = null;
        try
        {
            if (setup is WorkloadSetupMessage workload)
                return new WorkloadExecutor(LoadWorkloadType(workload.AssemblyPath, workload.TypeName), 1)
                    .CreateLaneAsync(CancellationToken.None).GetAwaiter().GetResult();

            var script = (ScriptSetupMessage)setup;
            var recipe = new ScriptRecipe
            {
                ScriptText = script.ScriptText,
                Variables = script.Variables.Select(v => new RecipeVariable(v.Key, ValueCodec.Decode(v.Value), VariableOrigin.Parameter, v.Key)).ToList(),
                Functions = script.Functions,
                Modules = script.Modules,
                Location = script.Location,
                Preferences = script.Preferences.ToDictionary(p => p.Key, p => Enum.Parse<ActionPreference>(p.Value)),
            };
            return RunspaceLane.Open(SessionStateBuilder.Create(recipe), recipe);
        }
        catch (Exception ex) when (ex is not ProtocolException)
        {
            error = WireRecords.ToData(Errors.LaneSetupFailed(ex));
            return null;
        }
    }

    /// <summary>The engine's own built-ins come from this assembly; a user's type from its file.</summary>
    private static Type LoadWorkloadType(string assemblyPath, string typeName)
    {
        var own = typeof(WorkerProgram).Assembly;
        var assembly = string.Equals(assemblyPath, own.Location, StringComparison.Ordinal)
            ? own
            : Assembly.LoadFrom(assemblyPath);
        return assembly.GetType(typeName, throwOnError: true)!;
    }
}
