using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Protocol;

namespace PSParallel.Commands;

/// <summary>Writes what the engine hands over to the cmdlet's streams, on the pipeline thread.</summary>
internal sealed class CmdletSink : IBatchSink
{
    private readonly PSCmdlet _cmdlet;

    public CmdletSink(PSCmdlet cmdlet) => _cmdlet = cmdlet;

    public void WriteOutput(object? value) => _cmdlet.WriteObject(value);

    public void WriteError(ErrorRecord error) => _cmdlet.WriteError(error);

    public void WriteProgress(ProgressRecord record) => _cmdlet.WriteProgress(record);

    public void WriteStream(object record)
    {
        switch (record)
        {
            case VerboseRecord verbose: _cmdlet.WriteVerbose(verbose.Message); break;
            case WarningRecord warning: _cmdlet.WriteWarning(warning.Message); break;
            case DebugRecord debug: _cmdlet.WriteDebug(debug.Message); break;
            case InformationRecord information: _cmdlet.WriteInformation(information); break;
            case ProgressRecord progress: _cmdlet.WriteProgress(progress); break;
        }
    }
}
