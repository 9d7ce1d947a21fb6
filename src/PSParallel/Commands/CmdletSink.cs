using System.Management.Automation;
using PSParallel.Engine.Attempts;
using PSParallel.Engine.Protocol;
using PSParallel.Engine.Scheduling;

namespace PSParallel.Commands;

/// <summary>Writes what the engine hands over to the cmdlet's streams, on the pipeline thread.</summary>
internal sealed class CmdletSink : IBatchSink
{
    private readonly PSCmdlet _cmdlet;

    public CmdletSink(PSCmdlet cmdlet) => _cmdlet = cmdlet;

    public void WriteOutput(object? value) => _cmdlet.WriteObject(value);

    public void WriteError(ErrorRecord error) => _cmdlet.WriteError(error);

    public void WriteStream(StreamRecord record)
    {
        switch (record.Kind)
        {
            case StreamKind.Verbose: _cmdlet.WriteVerbose(record.Message); break;
            case StreamKind.Warning: _cmdlet.WriteWarning(record.Message); break;
            case StreamKind.Debug: _cmdlet.WriteDebug(record.Message); break;
            case StreamKind.Information: _cmdlet.WriteInformation(record.Information!); break;
            case StreamKind.Progress: _cmdlet.WriteProgress(record.Progress!); break;
        }
    }
}
