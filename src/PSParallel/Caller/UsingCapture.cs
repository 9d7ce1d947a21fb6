using System.Management.Automation;
using System.Management.Automation.Language;
using System.Text;
using PSParallel.Engine;
using PSParallel.Engine.Recipes;

namespace PSParallel.Caller;

/// <summary>
/// Captures <c>$using:</c> values once, in the caller's scope, and rewrites the script so each
/// <c>$using:expr</c> reads a variable defined in every runspace or worker. Member and index chains
/// (<c>$using:h['k']</c>, <c>$using:o.Prop</c>) are evaluated whole in the caller.
/// </summary>
internal static class UsingCapture
{
    private const string VariablePrefix = "__pspUsing";

    public sealed record Result(string ScriptText, IReadOnlyList<RecipeVariable> Variables);

    public static Result Capture(ScriptBlock script, PSCmdlet caller)
    {
        var ast = script.Ast;
        string fullText = ast.Extent.Text;
        var usings = ast.FindAll(a => a is UsingExpressionAst, searchNestedScriptBlocks: true)
            .Cast<UsingExpressionAst>().OrderBy(u => u.Extent.StartOffset).ToList();

        var variables = new List<RecipeVariable>(usings.Count);
        var text = new StringBuilder();
        int copied = 0;
        foreach (var usingAst in usings)
        {
            string name = VariablePrefix + variables.Count;
            variables.Add(new RecipeVariable(name, Evaluate(usingAst, caller), VariableOrigin.Using, usingAst.Extent.Text));
            int start = usingAst.Extent.StartOffset - ast.Extent.StartOffset;
            text.Append(fullText, copied, start - copied).Append('$').Append(name);
            copied = start + usingAst.Extent.Text.Length;
        }
        text.Append(fullText, copied, fullText.Length - copied);
        return new Result(StripBraces(text.ToString(), fullText, script), variables);
    }

    /// <summary>A literal's Ast text keeps its braces; the script to run must not.</summary>
    private static string StripBraces(string rewritten, string fullText, ScriptBlock script)
    {
        bool literal = fullText.Length >= 2 && fullText[0] == '{' && fullText[^1] == '}' && script.ToString() != fullText;
        return literal ? rewritten[1..^1] : rewritten;
    }

    private static object? Evaluate(UsingExpressionAst usingAst, PSCmdlet caller)
    {
        var variable = UsingExpressionAst.ExtractUsingVariable(usingAst);
        string path = variable.VariablePath.UserPath;
        object? baseValue;
        if (variable.VariablePath.IsDriveQualified)
        {
            baseValue = caller.GetVariableValue(path);
        }
        else
        {
            var found = caller.SessionState.PSVariable.Get(path)
                ?? throw Errors.UsingVariableNotDefined(usingAst.Extent.Text, path);
            baseValue = found.Value;
        }

        object? value = usingAst.SubExpression is VariableExpressionAst ? baseValue : EvaluateChain(usingAst, variable, baseValue);
        SetupException.ThrowIfScriptBlock(value, $"the value of {usingAst.Extent.Text}");
        return value;
    }

    /// <summary>Evaluates <c>$using:x.a['b']</c> as <c>$x.a['b']</c> with $x bound to the captured value.</summary>
    private static object? EvaluateChain(UsingExpressionAst usingAst, VariableExpressionAst variable, object? baseValue)
    {
        var sub = usingAst.SubExpression;
        int varStart = variable.Extent.StartOffset - sub.Extent.StartOffset;
        string chain = "$__pspBase" + sub.Extent.Text[(varStart + variable.Extent.Text.Length)..];
        var result = ScriptBlock.Create("param($__pspBase) " + chain).Invoke(baseValue);
        return result.Count switch
        {
            0 => null,
            1 => result[0],
            _ => result.Select(r => (object?)r).ToArray(),
        };
    }
}
