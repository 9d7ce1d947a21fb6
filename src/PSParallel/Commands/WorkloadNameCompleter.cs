using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSParallel.Engine.Workloads;

namespace PSParallel.Commands;

/// <summary>Tab completion of -Workload with the built-in workload names.</summary>
public sealed class WorkloadNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = wordToComplete.Trim('\'', '"');
        return WorkloadCatalog.BuiltInNames
            .Where(name => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(name => new CompletionResult(name, name, CompletionResultType.ParameterValue, $"Built-in workload {name}"));
    }
}
