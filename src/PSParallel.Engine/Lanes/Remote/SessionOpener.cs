using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace PSParallel.Engine.Lanes.Remote;

/// <summary>
/// Opens one session on a host over PowerShell's own SSH transport (the 'powershell' subsystem),
/// as New-PSSession -HostName does: 'user@host:port' names, the user's ssh client and its
/// configuration. The connection settings type ships with PowerShell 7 but not with the reference
/// assemblies this module builds against, so it is made by reflection.
/// </summary>
internal static class SessionOpener
{
    private const string Subsystem = "powershell";

    // SSHConnectionInfo(string userName, string computerName, string keyFilePath, int port, string subsystem, int connectingTimeout, Hashtable options)
    private static readonly Lazy<ConstructorInfo?> SshConnectionInfo = new(() =>
        typeof(PSObject).Assembly.GetType("System.Management.Automation.Runspaces.SSHConnectionInfo")?.GetConstructor(new[]
        {
            typeof(string), typeof(string), typeof(string), typeof(int), typeof(string), typeof(int), typeof(Hashtable),
        }));

    /// <summary>The open session's runspace; <see cref="HostUnreachableException"/> with the transport's reason when it fails.</summary>
    public static async Task<Runspace> OpenAsync(SshTarget target, CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        // Opening blocks while ssh connects and the remote PowerShell starts: a thread of its own.
        var opening = Task.Factory.StartNew(() => Open(target), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            return await opening.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // A runspace cannot be stopped while it opens (disposing it then leaves the connection to
            // finish on its own): the caller goes on at once, and the session is closed as soon as it is made.
            _ = opening.ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully) t.Result.Dispose();
                else _ = t.Exception;
            }, TaskScheduler.Default);
            throw;
        }
    }

    private static Runspace Open(SshTarget target)
    {
        var (user, host, port) = Parse(target);
        var constructor = SshConnectionInfo.Value ?? throw new HostUnreachableException(target.HostName,
            "this PowerShell has no SSH remoting (PowerShell 7 or later is needed)");
        var options = target.Options is null ? null : new Hashtable(target.Options);
        var connection = (RunspaceConnectionInfo)constructor.Invoke(new object?[]
        {
            user, host, target.KeyFilePath, port, Subsystem, (int)Math.Clamp(target.ConnectTimeout.TotalMilliseconds, 1, int.MaxValue), options,
        });
        var runspace = RunspaceFactory.CreateRunspace(connection);
        try
        {
            runspace.Open();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            runspace.Dispose();
            throw new HostUnreachableException(target.HostName, Reason(ex));
        }
        return runspace;
    }

    /// <summary>
    /// 'user@host:port' as New-PSSession -HostName reads it: the user before the last '@', a port after
    /// the last ':' of a name that is not a bare IPv6 address ('[::1]:22' is). -UserName and -Port
    /// apply where the name gives none.
    /// </summary>
    public static (string? User, string Host, int Port) Parse(SshTarget target)
    {
        string name = target.HostName;
        string? user = target.UserName;
        int at = name.LastIndexOf('@');
        if (at > 0)
        {
            user = name[..at];
            name = name[(at + 1)..];
        }
        int port = target.Port;
        int colon = name.LastIndexOf(':');
        bool bracketed = name.StartsWith('[');
        if (colon > 0 && (bracketed ? name[colon - 1] == ']' : name.IndexOf(':') == colon)
            && int.TryParse(name[(colon + 1)..], out int given))
        {
            port = given;
            name = name[..colon];
        }
        if (bracketed && name.EndsWith(']')) name = name[1..^1];
        // 0: the transport's default (22, or the ssh configuration's).
        return (string.IsNullOrEmpty(user) ? null : user, name, port);
    }

    /// <summary>The transport's own words (ssh's "Connection refused", a bad key...), without the wrapping.</summary>
    private static string Reason(Exception ex)
    {
        var inner = ex is TargetInvocationException { InnerException: { } cause } ? cause : ex;
        var message = (inner is IContainsErrorRecord { ErrorRecord: { } record } ? record.ErrorDetails?.Message : null) ?? inner.Message;
        return message.Trim();
    }
}

/// <summary>No session could be opened on the host; the message is why, in the transport's words.</summary>
internal sealed class HostUnreachableException(string hostName, string reason) : Exception(reason)
{
    public string HostName { get; } = hostName;
}
