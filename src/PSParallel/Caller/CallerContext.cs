using System.Collections;
using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Recipes;

namespace PSParallel.Caller;

/// <summary>
/// Reads what items need from the caller's session, once, before anything runs: $using: values,
/// -Variable, -Function definitions, stream preferences and the current location.
/// </summary>
internal static class CallerContext
{
    private static readonly (string Variable, string CommonParameter, string? CaptureParameter)[] StreamPreferences =
    {
        ("VerbosePreference", "Verbose", null),
        ("DebugPreference", "Debug", null),
        ("WarningPreference", "WarningAction", "WarningVariable"),
        ("InformationPreference", "InformationAction", "InformationVariable"),
    };

    public static ScriptRecipe CreateSetup(PSCmdlet caller, ScriptBlock script, IDictionary? variables,
        string[]? functions, string[]? modules)
    {
        var captured = UsingCapture.Capture(script, caller);
        var allVariables = new List<RecipeVariable>(captured.Variables);
        foreach (DictionaryEntry entry in variables ?? new Hashtable())
        {
            string name = entry.Key?.ToString() ?? "";
            SetupException.ThrowIfScriptBlock(entry.Value, $"-Variable '{name}'");
            allVariables.Add(new RecipeVariable(name, entry.Value, VariableOrigin.Parameter, name));
        }
        return new ScriptRecipe
        {
            ScriptText = captured.ScriptText,
            Variables = allVariables,
            Functions = FunctionDefinitions(caller, functions ?? Array.Empty<string>()),
            Modules = modules ?? Array.Empty<string>(),
            Preferences = Preferences(caller),
            Location = caller.SessionState.Path.CurrentLocation.Path,
        };
    }

    private static Dictionary<string, string> FunctionDefinitions(PSCmdlet caller, string[] names)
    {
        var definitions = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in names)
        {
            bool pattern = WildcardPattern.ContainsWildcardCharacters(name);
            var found = caller.InvokeCommand.GetCommands(name, CommandTypes.Function | CommandTypes.Filter, nameIsPattern: pattern)
                .OfType<FunctionInfo>().ToList();
            if (found.Count == 0 && !pattern)
                throw Errors.FunctionNotFound(name);
            foreach (var function in found) definitions[function.Name] = function.Definition;
        }
        return definitions;
    }

    /// <summary>
    /// Items write a stream only if the caller will see it; "Continue" otherwise, so that Stop or
    /// Inquire apply in the caller (where the record is written again) rather than inside the item.
    /// </summary>
    private static Dictionary<string, ActionPreference> Preferences(PSCmdlet caller)
    {
        var result = new Dictionary<string, ActionPreference>();
        foreach (var (variable, parameter, capture) in StreamPreferences)
        {
            var effective = EffectivePreference(caller, variable, parameter);
            // -WarningVariable and -InformationVariable collect records even when they are not shown.
            bool captured = capture is not null && caller.MyInvocation.BoundParameters.ContainsKey(capture);
            result[variable] = effective is ActionPreference.SilentlyContinue or ActionPreference.Ignore && !captured
                ? ActionPreference.SilentlyContinue
                : ActionPreference.Continue;
        }
        return result;
    }

    private static ActionPreference EffectivePreference(PSCmdlet caller, string variable, string parameter)
    {
        if (caller.MyInvocation.BoundParameters.TryGetValue(parameter, out var bound))
        {
            if (bound is SwitchParameter on) return on.IsPresent ? ActionPreference.Continue : ActionPreference.SilentlyContinue;
            if (bound is ActionPreference action) return action;
        }
        var value = caller.GetVariableValue(variable);
        return value is ActionPreference preference ? preference
            : Enum.TryParse<ActionPreference>(value?.ToString(), true, out var parsed) ? parsed
            : ActionPreference.Continue;
    }
}
