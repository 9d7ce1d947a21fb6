using System.Management.Automation;
using System.Management.Automation.Language;
using System.Reflection;

namespace PSParallel.Commands;

/// <summary>
/// Finds the text that fed a command, so a recommended command line can start with the caller's own
/// input ("1..200 | ..."): the pipeline elements before the command, in the script it was called from.
/// When there are none (input from -InputObject, or a call from a host that keeps no script text) it
/// falls back to a placeholder.
/// </summary>
internal static class PipelineInputText
{
    public const string Placeholder = "$items";

    // The whole script around the call is kept by the engine but not published; PowerShell's
    // public InvocationInfo only gives the command's first line. Read by reflection, with the
    // line as the fallback if a future PowerShell renames it.
    private static readonly PropertyInfo? ScriptPosition =
        typeof(InvocationInfo).GetProperty("ScriptPosition", BindingFlags.Instance | BindingFlags.NonPublic);

    public static string Find(InvocationInfo invocation)
    {
        if (Command(invocation) is not { Parent: PipelineAst pipeline } command) return Placeholder;
        int position = pipeline.PipelineElements.IndexOf(command);
        return position > 0 ? string.Join(" | ", pipeline.PipelineElements.Take(position).Select(e => e.Extent.Text)) : Placeholder;
    }

    /// <summary>The text of the argument given to <paramref name="parameter"/> (as "-Pool $p"), or null.</summary>
    public static string? FindArgument(InvocationInfo invocation, string parameter)
    {
        if (Command(invocation) is not { } command) return null;
        var elements = command.CommandElements;
        for (int i = 0; i < elements.Count; i++)
        {
            if (elements[i] is not CommandParameterAst named ||
                !parameter.StartsWith(named.ParameterName, StringComparison.OrdinalIgnoreCase)) continue;
            if (named.Argument is { } argument) return argument.Extent.Text;
            return i + 1 < elements.Count ? elements[i + 1].Extent.Text : null;
        }
        return null;
    }

    /// <summary>The command's own syntax tree, from the script it was called in; null when there is no script text.</summary>
    private static CommandAst? Command(InvocationInfo invocation)
    {
        var (script, commandStart) = Source(invocation);
        var ast = Parser.ParseInput(script, out _, out var errors);
        if (errors.Length > 0) return null;
        return ast.Find(a => a is CommandAst c && c.Extent.StartOffset == commandStart, searchNestedScriptBlocks: true) as CommandAst;
    }

    private static (string Script, int CommandStart) Source(InvocationInfo invocation)
    {
        if (ScriptPosition?.GetValue(invocation) is IScriptExtent extent && extent.StartScriptPosition.GetFullScript() is { Length: > 0 } full)
            return (full, extent.StartOffset);
        return (invocation.Line ?? "", invocation.OffsetInLine - 1);
    }
}
