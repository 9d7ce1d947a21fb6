using System.Management.Automation;
using System.Management.Automation.Runspaces;
using PSParallel.Engine;
using Xunit;

namespace PSParallel.Tests;

/// <summary>
/// The race TryBeginStop is written for (PowerShell clearing its running pipeline between the two
/// reads in Worker.Stop) is too narrow to hit on demand (none in 60,000 stops aimed at the end of an
/// invocation); these pin that it still stops what runs and is harmless on what has ended.
/// </summary>
public class ShellStopTests
{
    [Fact]
    public void Stops_a_running_invocation()
    {
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        using var shell = PowerShell.Create(runspace);
        shell.AddScript("Start-Sleep -Seconds 30");
        var invocation = shell.BeginInvoke();
        while (shell.InvocationStateInfo.State == PSInvocationState.NotStarted) Thread.Sleep(1);

        shell.TryBeginStop();

        Assert.True(invocation.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(20)), "the sleep was not stopped");
        Assert.Throws<PipelineStoppedException>(() => shell.EndInvoke(invocation));
    }

    [Fact]
    public void Leaves_an_ended_invocation_and_the_next_one_alone()
    {
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        using var shell = PowerShell.Create(runspace);
        shell.AddScript("21 * 2");
        Assert.Equal(42, shell.Invoke()[0].BaseObject);

        shell.TryBeginStop();

        Assert.Equal(PSInvocationState.Completed, shell.InvocationStateInfo.State);
        Assert.Equal(42, shell.Invoke()[0].BaseObject);
    }
}
