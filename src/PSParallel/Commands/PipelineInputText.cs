using System.Management.Automation;
using System.Management.Automation.Language;

namespace PSParallel.Commands;

/// <summary>
/// Finds the text that fed a command, so a recommended command line can start with the caller's own
/// input ("1..200 | ..."). Reads the invocation's line; when the input is not on it (a pipeline
/// spread over lines, -InputObject) it falls back to a placeholder.
/// </summary>
internal static class PipelineInputText
{
    public const string Placeholder = "$items";

    public static string Find(InvocationInfo invocation)
    {
        string line = invocation.Line ?? "";
        var ast = Parser.ParseInput(line, out _, out var errors);
        if (errors.Length > 0) return Placeholder;
        int commandStart = invocation.OffsetInLine - 1;
        var command = ast.Find(a => a is CommandAst c && c.Extent.StartOffset == commandStart, searchNestedScriptBlocks: true) as CommandAst;
        if (command is null) return Placeholder;
        if (command.Parent is not PipelineAst pipeline) return Placeholder;
        int position = pipeline.PipelineElements.IndexOf(command);
        return position > 0 ? string.Join(" | ", pipeline.PipelineElements.Take(position).Select(e => e.Extent.Text)) : Placeholder;
    }
}
