namespace PSParallel.Engine.Lanes;

/// <summary>
/// Opening a lane with retries: one that breaks while starting (a worker process that died or
/// garbled its start) is tried again, up to three times; any other failure (a module that does not
/// import) is the caller's at once. Used by batches and by warm pools alike.
/// </summary>
internal static class LaneStart
{
    private const int Tries = 3;

    public static async Task<T> WithRetriesAsync<T>(Func<CancellationToken, Task<T>> open, Func<bool> stopping, CancellationToken token)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await open(token).ConfigureAwait(false);
            }
            catch (LaneFailedException) when (attempt < Tries && !stopping() && !token.IsCancellationRequested)
            {
            }
        }
    }
}
