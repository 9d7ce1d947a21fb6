using System.Management.Automation;

namespace PSParallel.Commands;

/// <summary>The errors Measure-ConcurrencyModel raises itself.</summary>
internal static class MeasurementErrors
{
    public static ErrorRecord NoSampleItems() => new(
        new ArgumentException(
            "Measure-ConcurrencyModel got no sample items, so there is nothing to measure. Pipe the items to it " +
            "(for example 1..100 | Measure-ConcurrencyModel { ... }) or pass them with -InputObject."),
        "NoSampleItems", ErrorCategory.InvalidArgument, null);
}
