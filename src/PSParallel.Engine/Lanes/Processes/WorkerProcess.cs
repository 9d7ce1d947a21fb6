using System.Diagnostics;
using System.Text;

namespace PSParallel.Engine.Lanes.Processes;

/// <summary>
/// One started worker process: its pipes, the tail of its stderr (console output of items lands
/// there, and a crash's last words), and how to end it, the whole process tree included.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private const int StderrTailChars = 2000;
    private readonly Process _process;
    private readonly StringBuilder _stderrTail = new();

    private WorkerProcess(Process process)
    {
        _process = process;
        // Read stderr all the time: a full pipe would block the worker.
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderrTail)
            {
                _stderrTail.AppendLine(e.Data);
                if (_stderrTail.Length > StderrTailChars) _stderrTail.Remove(0, _stderrTail.Length - StderrTailChars);
            }
        };
        _process.BeginErrorReadLine();
    }

    public static WorkerProcess Start(WorkerCommand command)
    {
        var process = Process.Start(command.CreateStartInfo())
            ?? throw new InvalidOperationException($"could not start a worker with '{command.Description}'");
        return new WorkerProcess(process);
    }

    public int Id => _process.Id;
    public Stream Input => _process.StandardInput.BaseStream;
    public Stream Output => _process.StandardOutput.BaseStream;

    public double CpuSeconds()
    {
        try
        {
            return _process.HasExited ? 0 : _process.TotalProcessorTime.TotalSeconds;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return 0;
        }
    }

    /// <summary>The worker's working set now (0 once it has exited).</summary>
    public long WorkingSetBytes()
    {
        try
        {
            if (_process.HasExited) return 0;
            _process.Refresh();
            return _process.WorkingSet64;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return 0;
        }
    }

    /// <summary>"worker process 123 exited with code 3" (waits briefly for the exit), plus its last stderr line.</summary>
    public string DescribeEnd()
    {
        string state = _process.WaitForExit(2000) ? $"exited with code {_process.ExitCode}" : "stopped answering";
        string tail;
        lock (_stderrTail) tail = _stderrTail.ToString().Trim();
        string last = tail.Split('\n').LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
        return $"worker process {Id} {state}" + (last.Length > 0 ? $" (its last error output: {last})" : "");
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <summary>Closes stdin (the worker exits on its own), then kills what is left after a short grace.</summary>
    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }
        if (!_process.WaitForExit(500)) Kill();
        _process.Dispose();
    }
}
