using System.Collections;

namespace PSParallel.Engine.Lanes.Remote;

/// <summary>
/// One host to reach over SSH remoting, with the connection settings New-PSSession takes
/// (-HostName may be 'user@host:port'; -UserName, -Port and -KeyFilePath apply when given).
/// </summary>
/// <param name="HostName">the host as the user named it: how errors, ItemResult.Worker and BatchSummary.Hosts name it</param>
/// <param name="Options">-SSHOption: ssh client options (New-PSSession -Options)</param>
internal sealed record SshTarget(string HostName, string? UserName, int Port, string? KeyFilePath, IDictionary? Options,
    TimeSpan ConnectTimeout);
