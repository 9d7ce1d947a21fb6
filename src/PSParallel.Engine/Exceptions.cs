using System.Management.Automation;
using PSParallel.Engine.Protocol;

namespace PSParallel.Engine;

/// <summary>
/// Bad input or a setup that failed, found before an item runs (a $using: variable that does not
/// exist, a value that cannot cross, a module that does not import); carries the record the cmdlet throws.
/// </summary>
internal sealed class SetupException : Exception, IContainsErrorRecord
{
    public SetupException(string message, string errorId, ErrorCategory category, object? target) : base(message)
        => ErrorRecord = new ErrorRecord(this, errorId, category, target);

    public ErrorRecord ErrorRecord { get; }

    public static void ThrowIfScriptBlock(object? value, string what)
    {
        if ((value is PSObject p ? p.BaseObject : value) is ScriptBlock) throw Errors.ScriptBlockCannotCross(value, what);
    }
}

/// <summary>The batch could not go on (e.g. a lane could not be set up); carries the error to throw.</summary>
internal sealed class BatchFaultedException : Exception, IContainsErrorRecord
{
    public BatchFaultedException(ErrorRecord errorRecord) : base(errorRecord.Exception.Message, errorRecord.Exception)
        => ErrorRecord = errorRecord;

    public ErrorRecord ErrorRecord { get; }
}
