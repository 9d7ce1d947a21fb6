using System.Collections.Specialized;

namespace PSParallel;

/// <summary>What Measure-ConcurrencyModel found: the model to use, why, and the trials behind it.</summary>
public sealed class ConcurrencyReport
{
    public ConcurrencyReport(string recommendation, int throttleLimit, string reason, string classification,
        double cpuUtilization, ConcurrencyTrial[] trials, OrderedDictionary projected, string command,
        long totalItems, int sampleSize, int processorCount, string powerShellVersion)
    {
        Recommendation = recommendation;
        ThrottleLimit = throttleLimit;
        Reason = reason;
        Classification = classification;
        CpuUtilization = cpuUtilization;
        Trials = trials;
        Projected = projected;
        Command = command;
        TotalItems = totalItems;
        SampleSize = sampleSize;
        ProcessorCount = processorCount;
        PowerShellVersion = powerShellVersion;
    }

    /// <summary>Sequential, Thread, Process or Remote.</summary>
    public string Recommendation { get; }
    /// <summary>The degree of parallelism to run the job at (1 for Sequential).</summary>
    public int ThrottleLimit { get; }
    /// <summary>One plain sentence with the numbers behind the recommendation.</summary>
    public string Reason { get; }
    /// <summary>CpuBound, IoBound or Mixed, from processor time over wall time per item.</summary>
    public string Classification { get; }
    /// <summary>Processor time over wall time of one item running alone, 0 to 1.</summary>
    public double CpuUtilization { get; }
    public ConcurrencyTrial[] Trials { get; }
    /// <summary>Model name to the projected TimeSpan of the whole job (TotalItems), start-up included.</summary>
    public OrderedDictionary Projected { get; }
    /// <summary>A command line that runs the whole job the recommended way.</summary>
    public string Command { get; }
    public long TotalItems { get; }
    /// <summary>Items each trial ran.</summary>
    public int SampleSize { get; }
    public int ProcessorCount { get; }
    public string PowerShellVersion { get; }
}

/// <summary>One run of the sample items with one model at one degree of parallelism.</summary>
public sealed class ConcurrencyTrial
{
    public ConcurrencyTrial(string model, int throttleLimit, int items, TimeSpan duration, double speedup,
        double cpuSeconds, double startupSeconds, double peakMemoryMB, int failed)
    {
        Model = model;
        ThrottleLimit = throttleLimit;
        Items = items;
        Duration = duration;
        Speedup = speedup;
        CpuSeconds = cpuSeconds;
        StartupSeconds = startupSeconds;
        PeakMemoryMB = peakMemoryMB;
        Failed = failed;
    }

    /// <summary>Sequential, Thread, Process or Remote.</summary>
    public string Model { get; }
    public int ThrottleLimit { get; }
    public int Items { get; }
    /// <summary>Wall time of the items, with the pool already open (see <see cref="StartupSeconds"/>).</summary>
    public TimeSpan Duration { get; }
    public double ItemsPerSecond => Duration.TotalSeconds > 0 ? Items / Duration.TotalSeconds : 0;
    /// <summary>Sequential duration over this trial's (1 for the sequential trial; 0 when it did not run).</summary>
    public double Speedup { get; }
    /// <summary>Processor time used, worker processes included.</summary>
    public double CpuSeconds { get; }
    /// <summary>Time to open and warm up the pool (runspaces opened, workers started), before the clock of <see cref="Duration"/>.</summary>
    public double StartupSeconds { get; }
    /// <summary>Largest working set seen during the trial, this process plus its workers.</summary>
    public double PeakMemoryMB { get; }
    /// <summary>Sample items that failed in this trial.</summary>
    public int Failed { get; }
}
