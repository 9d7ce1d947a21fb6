using System.Collections;
using System.Management.Automation;
using PSParallel.Engine.Lanes.Remote;

namespace PSParallel.Commands;

/// <summary>
/// The SSH remoting parameters, as New-PSSession -HostName takes them, written once for the three
/// cmdlets that open sessions on other hosts (Invoke-ProcessBatch, Start-WorkerPool,
/// Measure-ConcurrencyModel); each offers them as its dynamic parameters.
/// </summary>
public sealed class SshParameters
{
    /// <summary>Run on these hosts over SSH remoting ('user@host:port' accepted, as New-PSSession -HostName).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? HostName { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? UserName { get; set; }

    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyFilePath { get; set; }

    /// <summary>ssh client options for the connections (New-PSSession -Options).</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? SSHOption { get; set; }

    /// <summary>Bound on opening one host's sessions.</summary>
    [Parameter]
    [ValidatePositiveSeconds]
    public double ConnectTimeoutSeconds { get; set; } = 30;

    /// <summary>The hosts to connect to, each with the connection settings.</summary>
    internal IReadOnlyList<SshTarget> Targets() => RemoteConnector.Targets(HostName!, UserName, Port, KeyFilePath, SSHOption, ConnectTimeoutSeconds);

    /// <summary>The parameters that only mean something with -HostName.</summary>
    internal static readonly string[] ConnectionSettings =
        { nameof(UserName), nameof(Port), nameof(KeyFilePath), nameof(SSHOption), nameof(ConnectTimeoutSeconds) };
}
