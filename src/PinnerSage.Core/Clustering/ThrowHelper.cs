using System.Diagnostics.CodeAnalysis;

namespace PinnerSage.Clustering;

/// <summary>Throw helpers, so validated hot methods carry no throw code.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Argument(string paramName, string problem) => throw new ArgumentException($"'{paramName}' {problem}", paramName);
}
