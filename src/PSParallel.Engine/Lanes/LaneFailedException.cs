namespace PSParallel.Engine.Lanes;

/// <summary>The lane broke (runspace failed, process died); its running item fails with this error.</summary>
internal sealed class LaneFailedException : Exception
{
    public LaneFailedException(string message, Exception? inner = null) : base(message, inner) { }
}
