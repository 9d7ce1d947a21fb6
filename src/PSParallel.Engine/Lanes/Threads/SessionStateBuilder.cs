using System.Management.Automation.Runspaces;
using PSParallel.Engine.Recipes;

namespace PSParallel.Engine.Lanes.Threads;

/// <summary>The session state every runspace of a script batch opens with.</summary>
internal static class SessionStateBuilder
{
    public static InitialSessionState Create(ScriptRecipe recipe)
    {
        // CreateDefault, not CreateDefault2: the built-in modules come pre-loaded, so each new runspace
        // does not pay a module auto-load on its first Start-Sleep or Get-Date (measured: 29 vs 54 ms).
        var state = InitialSessionState.CreateDefault();
        state.ThrowOnRunspaceOpenError = true;
        foreach (var variable in recipe.Variables)
            state.Variables.Add(new SessionStateVariableEntry(variable.Name, variable.Value, description: null));
        foreach (var (name, value) in recipe.Preferences)
            state.Variables.Add(new SessionStateVariableEntry(name, value, description: null));
        foreach (var (name, definition) in recipe.Functions)
            state.Commands.Add(new SessionStateFunctionEntry(name, definition));
        if (recipe.Modules.Count > 0) state.ImportPSModule(recipe.Modules.ToArray());
        return state;
    }
}
