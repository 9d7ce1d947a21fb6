using PSParallel.Engine.Worker;

namespace PSParallel;

/// <summary>
/// Entry point of a worker process started by Invoke-ProcessBatch. Lives in the module root so the
/// worker's bootstrap command can name it; the loop itself is in the engine.
/// </summary>
public static class WorkerHost
{
    public static int Run() => WorkerProgram.Run();
}
