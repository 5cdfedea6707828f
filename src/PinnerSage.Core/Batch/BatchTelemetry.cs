using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace PinnerSage.Batch;

/// <summary>The batch job's metrics (System.Diagnostics.Metrics, meter <see cref="MeterName"/>) and log messages.</summary>
/// <remarks>The meter is process-wide and static (our choice, as Npgsql's): the library is used without dependency
/// injection, and instruments with no listener cost one branch. An exporter subscribes by name (OpenTelemetry's
/// <c>AddMeter("PinnerSage.Batch")</c>, which <c>pinnersage serve</c> does; dotnet-counters).</remarks>
public static partial class BatchTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "PinnerSage.Batch";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Users whose actions were clustered (written or not), added per batch as the writer commits it.</summary>
    internal static readonly Counter<long> Users =
        Meter.CreateCounter<long>("pinnersage.batch.users", "{user}", "Users processed by batch runs.");

    /// <summary>Profiles handed to the sinks.</summary>
    internal static readonly Counter<long> Profiles =
        Meter.CreateCounter<long>("pinnersage.batch.profiles", "{profile}", "Profiles written by batch runs.");

    /// <summary>Input lines (actions) read, per finished run.</summary>
    internal static readonly Counter<long> Actions =
        Meter.CreateCounter<long>("pinnersage.batch.actions", "{action}", "Action lines read by finished batch runs.");

    /// <summary>Finished runs' wall time.</summary>
    internal static readonly Histogram<double> Duration =
        Meter.CreateHistogram<double>("pinnersage.batch.duration", "s", "Duration of batch runs.");

    [LoggerMessage(1, LogLevel.Information, "Batch run over {Source} started: {Threads} threads, input mode {Mode}")]
    internal static partial void RunStarted(ILogger logger, string source, int threads, BatchInputMode mode);

    [LoggerMessage(2, LogLevel.Information, "Batch run: {Phase} phase, {Users} users and {Lines} lines so far ({Elapsed:0.0} s)")]
    internal static partial void Progress(ILogger logger, string phase, long users, long lines, double elapsed);

    [LoggerMessage(3, LogLevel.Information,
        "Batch run over {Source} finished: {Written} profiles from {Users} users, {Used} of {Read} actions used, {Clusters} clusters, {Elapsed:0.0} s")]
    internal static partial void RunFinished(ILogger logger, string source, long written, long users, long used, long read, long clusters, double elapsed);

    [LoggerMessage(4, LogLevel.Warning, "Batch run over {Source} refused by the shrink guard: {Reason}")]
    internal static partial void ShrinkRefused(ILogger logger, string source, string reason);

    [LoggerMessage(5, LogLevel.Information, "Batch run committed to the store: {Written} profiles, events up to sequence {Consumed} consumed")]
    internal static partial void Committed(ILogger logger, long written, long consumed);

    [LoggerMessage(6, LogLevel.Information, "Automatic {Parameter} resolved to {Value}")]
    internal static partial void Resolved(ILogger logger, string parameter, double value);
}
