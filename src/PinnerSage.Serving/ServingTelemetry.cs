using System.Diagnostics;

namespace PinnerSage.Serving;

/// <summary>The service's telemetry names. Traces: one <see cref="ActivitySource"/> (<see cref="SourceName"/>) with a
/// span per recommendation, per action ingest and per store call, children of ASP.NET Core's request span; any
/// listener collects them (OpenTelemetry's <c>AddSource("PinnerSage.Serving")</c>, dotnet-trace, dotnet-monitor), and
/// without one starting a span costs a branch and allocates nothing. Metrics: the meter <see cref="MeterName"/>
/// (exported at <c>/metrics</c>).</summary>
public static class ServingTelemetry
{
    /// <summary>The activity source's name.</summary>
    public const string SourceName = "PinnerSage.Serving";

    /// <summary>The meter's name (request durations, neighbour caches, events appended).</summary>
    public const string MeterName = "PinnerSage.Serving";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>A span named <paramref name="name"/> for one store call (null when nobody listens).</summary>
    internal static Activity? StoreCall(string name, string? userId = null)
    {
        Activity? activity = Source.StartActivity(name, ActivityKind.Client);
        if (activity is not null && userId is not null) activity.SetTag("pinnersage.user_id", userId);
        return activity;
    }
}
