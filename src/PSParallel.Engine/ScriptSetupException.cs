using System.Management.Automation;

namespace PSParallel.Engine;

/// <summary>Bad input found before anything runs; carries the error record the cmdlet throws.</summary>
internal sealed class ScriptSetupException : Exception, IContainsErrorRecord
{
    public ScriptSetupException(string message, string errorId, ErrorCategory category, object? target) : base(message)
        => ErrorRecord = new ErrorRecord(this, errorId, category, target);

    public ErrorRecord ErrorRecord { get; }

    /// <summary>Script blocks are bound to the runspace that made them and must not cross to another.</summary>
    public static void ThrowIfScriptBlock(object? value, string what)
    {
        if ((value is PSObject p ? p.BaseObject : value) is ScriptBlock)
            throw new ScriptSetupException(
                $"{char.ToUpperInvariant(what[0])}{what[1..]} is a script block; script blocks cannot cross to another runspace or process. " +
                "Pass the script text instead and create it inside the item with [scriptblock]::Create().",
                "ScriptBlockCannotCrossRunspaces", ErrorCategory.InvalidArgument, value);
    }
}
