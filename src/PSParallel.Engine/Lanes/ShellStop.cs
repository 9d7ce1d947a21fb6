using System.Management.Automation;

namespace PSParallel.Engine.Lanes;

/// <summary>Asks a PowerShell invocation to stop from another thread, where it may be ending meanwhile.</summary>
internal static class ShellStop
{
    /// <summary>
    /// Begins stopping <paramref name="shell"/> and never throws. PowerShell's Worker.Stop checks its
    /// running pipeline for null and then reads it again, while the thread ending the invocation
    /// clears it without the lock: a stop that lands in between throws a NullReferenceException
    /// (PowerShell issue 21275; seen here about once in 60 trials, when a trial's batch was disposed
    /// as its last chunk ended). Then the invocation has ended and there is nothing left to stop.
    /// Callers use this from cancellation callbacks, where a throw would leave
    /// CancellationTokenSource.Cancel half done and the rest of the batch's stop undone. A remote
    /// lane's shell may also have been disposed, or its invocation never started, by then.
    /// </summary>
    public static void TryBeginStop(this PowerShell shell)
    {
        try
        {
            shell.BeginStop(null, null);
        }
        catch (Exception ex) when (ex is NullReferenceException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }
}
