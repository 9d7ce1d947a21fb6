using System.Management.Automation;

namespace PSParallel.Engine.Recipes;

/// <summary>
/// A script batch as plain data, captured from the caller once before anything runs: the item
/// script (with <c>$using:</c> rewritten to variables), the variables every runspace or worker
/// gets, the caller's functions, modules, stream preferences and current location.
/// </summary>
internal sealed class ScriptRecipe
{
    public required string ScriptText { get; init; }
    public IReadOnlyList<RecipeVariable> Variables { get; init; } = Array.Empty<RecipeVariable>();
    /// <summary>Function name to definition (script text), taken from the caller.</summary>
    public IReadOnlyDictionary<string, string> Functions { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string> Modules { get; init; } = Array.Empty<string>();
    /// <summary>VerbosePreference, DebugPreference... as the caller has them, so items skip what nobody will see.</summary>
    public IReadOnlyDictionary<string, ActionPreference> Preferences { get; init; } = new Dictionary<string, ActionPreference>();
    public string? Location { get; init; }
}

/// <summary>Where a variable of a recipe came from; errors about it name it the way the user wrote it.</summary>
internal enum VariableOrigin
{
    /// <summary>A <c>$using:</c> expression of the script block, captured in the caller.</summary>
    Using,
    /// <summary>An entry of <c>-Variable</c>.</summary>
    Parameter,
}

/// <summary>One variable defined in every runspace or worker of a batch.</summary>
/// <param name="Source">what the user wrote: the <c>$using:</c> expression or the -Variable key</param>
internal sealed record RecipeVariable(string Name, object? Value, VariableOrigin Origin, string Source)
{
    /// <summary>"A $using: value ($using:x)" or "The variable 'x'", for errors.</summary>
    public string Describe() => Origin == VariableOrigin.Using ? $"The value of {Source}" : $"The variable '{Source}'";
}
