using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Engine.Lanes;
using PSParallel.Engine.Lanes.Threads;
using Xunit;

namespace PSParallel.Tests;

/// <summary>
/// The race TryBeginStop is written for (PowerShell clearing its running pipeline between the two
/// reads in Worker.Stop) is too narrow to hit on demand (none in 60,000 stops aimed at the end of an
/// invocation); these pin that it still stops what runs and is harmless on what has ended.
/// </summary>
public sealed class ShellStopTests : IDisposable
{
    private readonly Runspace _runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
    private readonly PowerShell _shell = PowerShell.Create();

    public ShellStopTests()
    {
        _runspace.Open();
        _shell.Runspace = _runspace;
    }

    public void Dispose()
    {
        _shell.Dispose();
        _runspace.Dispose();
    }

    [Fact]
    public void Stops_a_running_invocation()
    {
        _shell.AddScript("Start-Sleep -Seconds 30");
        var invocation = _shell.BeginInvoke();
        while (_shell.InvocationStateInfo.State == PSInvocationState.NotStarted) Thread.Sleep(1);

        _shell.TryBeginStop();

        Assert.True(invocation.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(20)), "the sleep was not stopped");
        Assert.Throws<PipelineStoppedException>(() => _shell.EndInvoke(invocation));
    }

    [Fact]
    public void Leaves_an_ended_invocation_and_the_next_one_alone()
    {
        _shell.AddScript("21 * 2");
        Assert.Equal(42, _shell.Invoke()[0].BaseObject);

        _shell.TryBeginStop();

        Assert.Equal(PSInvocationState.Completed, _shell.InvocationStateInfo.State);
        Assert.Equal(42, _shell.Invoke()[0].BaseObject);
    }
}
