using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSParallel.Engine.Workloads;

namespace PSParallel.Engine.Measurement;

/// <summary>The job as the caller wrote it, for writing the recommended command line.</summary>
internal sealed class JobText
{
    /// <summary>What feeds the pipeline: the caller's upstream pipeline text, or a placeholder.</summary>
    public required string Input { get; init; }
    /// <summary>The script block as written (with $using: as written), or null for a compiled workload.</summary>
    public ScriptBlock? Script { get; init; }
    public Type? Workload { get; init; }
    public IReadOnlyList<string> Functions { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Modules { get; init; } = Array.Empty<string>();
    public IDictionary? Variables { get; init; }
    /// <summary>The warm pool the job was measured on, as the caller named it (e.g. "$pool"); null for none.</summary>
    public string? Pool { get; init; }
    /// <summary>The model of that pool.</summary>
    public ExecutionModel? PoolModel { get; init; }
    /// <summary>The remote hosts as the caller named them, with their connection parameters ("-HostName a, b -Port 22"); null for none.</summary>
    public string? Hosts { get; init; }
    /// <summary>How many hosts the remote sessions are on: a remote trial's degree over them is its sessions per host.</summary>
    public int HostCount { get; init; } = 1;
}

/// <summary>
/// Writes the command line that runs the whole job the recommended way. Sequential becomes a
/// ForEach-Object calling the script in a child scope, as the sequential trial ran it (a loop runs
/// several times faster there than dot-sourced), when nothing needs setting up (no -Variable,
/// -Module or $using:, which ForEach-Object cannot provide); otherwise Invoke-ThreadBatch at 1.
/// </summary>
internal static class CommandLineWriter
{
    public static string Write(JobText job, ExecutionModel model, int throttleLimit)
    {
        if (model == ExecutionModel.Sequential && job.Script is { } script && IsPlain(job, script))
            return $"{job.Input} | ForEach-Object {{ & {{{script}}} }}";
        var line = new List<string>
        {
            $"{job.Input} |",
            model is ExecutionModel.Process or ExecutionModel.Remote ? "Invoke-ProcessBatch" : "Invoke-ThreadBatch",
            job.Script is { } body ? $"{{{body}}}" : $"-Workload {WorkloadText(job.Workload!)}",
            job.Pool is { } pool && model == job.PoolModel ? $"-Pool {pool}"
                : model == ExecutionModel.Remote ? $"{job.Hosts} -ThrottleLimit {Math.Max(1, throttleLimit / job.HostCount)}"
                : $"-ThrottleLimit {(model == ExecutionModel.Sequential ? 1 : throttleLimit)}",
        };
        if (job.Functions.Count > 0) line.Add($"-Function {string.Join(",", job.Functions.Select(Quote))}");
        if (job.Modules.Count > 0) line.Add($"-Module {string.Join(",", job.Modules.Select(Quote))}");
        if (job.Variables is { Count: > 0 } variables) line.Add($"-Variable {VariablesText(variables)}");
        return string.Join(" ", line);
    }

    private static bool IsPlain(JobText job, ScriptBlock script) =>
        job.Modules.Count == 0 && job.Variables is not { Count: > 0 } &&
        script.Ast.Find(a => a is UsingExpressionAst, searchNestedScriptBlocks: true) is null;

    private static string WorkloadText(Type workload) => WorkloadCatalog.BuiltInName(workload) ?? $"([{workload.FullName}])";

    /// <summary>A literal hashtable when every value is a plain number, string or bool; else a placeholder.</summary>
    private static string VariablesText(IDictionary variables)
    {
        var entries = new List<string>();
        foreach (DictionaryEntry entry in variables)
        {
            var value = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
            string? literal = value switch
            {
                string s => Quote(s),
                bool b => b ? "$true" : "$false",
                null => "$null",
                IConvertible c when value.GetType().IsPrimitive || value is decimal => c.ToString(CultureInfo.InvariantCulture),
                _ => null,
            };
            if (literal is null) return "$variables";
            entries.Add($"{Quote(entry.Key?.ToString() ?? "")} = {literal}");
        }
        return $"@{{ {string.Join("; ", entries)} }}";
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''") + "'";
}
