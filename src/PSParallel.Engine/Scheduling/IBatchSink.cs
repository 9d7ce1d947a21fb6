using System.Management.Automation;
using PSParallel.Engine.Attempts;

namespace PSParallel.Engine.Scheduling;

/// <summary>Where a batch writes; implemented by the cmdlet. Called on the pipeline thread only.</summary>
internal interface IBatchSink
{
    void WriteOutput(object? value);
    void WriteError(ErrorRecord error);
    /// <summary>A Verbose, Warning, Debug, Information or Progress record (an item's, or the batch's own progress).</summary>
    void WriteStream(StreamRecord record);
}
