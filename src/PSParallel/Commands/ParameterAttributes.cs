using System.Management.Automation;
using System.Management.Automation.Language;

namespace PSParallel.Commands;

/// <summary>Accepts script text as well as a script block, and names the syntax error when it does not parse.</summary>
internal sealed class ScriptBlockTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject p ? p.BaseObject : inputData;
        if (value is not string text) return inputData;
        Parser.ParseInput(text, out _, out var errors);
        if (errors.Length > 0)
        {
            var first = errors[0];
            throw new ArgumentTransformationMetadataException(
                $"The script does not parse: {first.Message} (line {first.Extent.StartLineNumber}, column {first.Extent.StartColumnNumber}). " +
                "Fix the script; nothing was run.");
        }
        return ScriptBlock.Create(text);
    }
}

/// <summary>A number of seconds that must be greater than 0.</summary>
internal sealed class ValidatePositiveSecondsAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var value = Convert.ToDouble(arguments is PSObject p ? p.BaseObject : arguments, System.Globalization.CultureInfo.InvariantCulture);
        if (!(value > 0) || double.IsInfinity(value))
            throw new ValidationMetadataException($"The value must be a number of seconds greater than 0; {value} was given.");
    }
}

/// <summary>A percentage greater than 0 and at most 100.</summary>
internal sealed class ValidatePercentAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var value = Convert.ToDouble(arguments is PSObject p ? p.BaseObject : arguments, System.Globalization.CultureInfo.InvariantCulture);
        if (!(value > 0 && value <= 100))
            throw new ValidationMetadataException($"The value must be a percentage greater than 0 and at most 100; {value} was given.");
    }
}

/// <summary>A finite number greater than 0.</summary>
internal sealed class ValidatePositiveNumberAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var value = Convert.ToDouble(arguments is PSObject p ? p.BaseObject : arguments, System.Globalization.CultureInfo.InvariantCulture);
        if (!(value > 0) || double.IsInfinity(value))
            throw new ValidationMetadataException($"The value must be a number greater than 0; {value} was given.");
    }
}
