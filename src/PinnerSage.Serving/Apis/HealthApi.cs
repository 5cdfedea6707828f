using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PinnerSage.Serving.Apis;

/// <summary>Health and metrics: ASP.NET Core health checks for liveness (<c>/health/live</c>: the process answers)
/// and readiness (<c>/health/ready</c>: the store answers and holds a batch run), the summary at <c>/health</c>, the
/// Prometheus scrape at <c>/metrics</c> and the JSON view at <c>/metrics.json</c>.</summary>
internal static class HealthApi
{
    /// <summary>The tag of the checks that readiness runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Registers the readiness checks (the index and embeddings are loaded before the host starts, so the
    /// store is what can fail later).</summary>
    public static IHealthChecksBuilder AddServingHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck<StoreReachableCheck>("store", tags: [ReadyTag])
            .AddCheck<RunLoadedCheck>("run", tags: [ReadyTag]);

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app, ServingMetrics metrics)
    {
        app.MapGet("/health", Health).WithName("health").WithMetadata(metrics.Route("health"));
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteReport })
            .WithMetadata(metrics.Route("health"));
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag), ResponseWriter = WriteReport })
            .WithMetadata(metrics.Route("health"));
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(metrics.Route("metrics"));
        app.MapGet("/metrics.json", Metrics).WithName("metrics").WithMetadata(metrics.Route("metrics"));
        return app;
    }

    /// <summary>GET /health: item count, the batch's now, the event log's end and the store kind.</summary>
    public static async Task<Ok<HealthResponse>> Health(ServingState s, HttpContext context) =>
        TypedResults.Ok(new HealthResponse("ok", s.Items.Count, (await s.MetadataAsync(context.RequestAborted))?.Now ?? 0,
                                           s.Store.LastEventSequence(), s.StoreKind));

    /// <summary>GET /metrics.json: per-route counts and latency quantiles, cache and event counters.</summary>
    public static FileContentHttpResult Metrics(ServingState s) => TypedResults.Bytes(s.Metrics.Render(s.Cache), "application/json");

    /// <summary>The report as JSON: overall status and each check's status and description (the status code, 200 or
    /// 503, is what probes read).</summary>
    private static Task WriteReport(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("status", report.Status.ToString());
            w.WriteStartObject("checks");
            foreach ((string name, HealthReportEntry entry) in report.Entries)
            {
                w.WriteStartObject(name);
                w.WriteString("status", entry.Status.ToString());
                w.WriteString("description", entry.Description ?? entry.Exception?.Message);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return context.Response.Body.WriteAsync(stream.ToArray()).AsTask();
    }

    /// <summary>The store answers a metadata read (an exception is reported as unhealthy by the health-check service).</summary>
    private sealed class StoreReachableCheck(ServingState state) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            await state.ReadMetadataAsync(cancellationToken);
            return HealthCheckResult.Healthy($"the {state.StoreKind} store answers");
        }
    }

    /// <summary>The store holds a committed batch run (else every user would be served from online events alone).</summary>
    private sealed class RunLoadedCheck(ServingState state) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            await state.MetadataAsync(cancellationToken) is { } run
                ? HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"batch run of {run.Users} users, now = {run.Now}"))
                : HealthCheckResult.Unhealthy("the store holds no batch run: run `pinnersage workspace batch`");
    }
}

/// <summary>The problem-details results every route shares (RFC 7807).</summary>
internal static class ApiResults
{
    public static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    public static ProblemHttpResult UnknownUser(string id) =>
        Problem(404, "Unknown user", $"User '{id}' has no profile and no logged actions.");

    /// <summary>Gives the 400 of a query value that is not an integer (written by the framework before the handler runs,
    /// without a detail) the same detail as a value out of range, from the parameter's <see cref="RangeAttribute"/>,
    /// the attribute that also puts the bounds into the OpenAPI document.</summary>
    public static void DescribeBindingFailure(ProblemDetailsContext context)
    {
        if (context.ProblemDetails.Status != 400 || context.ProblemDetails.Detail is not null) return;
        if (context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<MethodInfo>() is not MethodInfo method) return;
        IQueryCollection query = context.HttpContext.Request.Query;
        foreach (ParameterInfo p in method.GetParameters())
        {
            if (p.ParameterType != typeof(int) || p.GetCustomAttribute<RangeAttribute>() is not RangeAttribute range) continue;
            string? text = query[p.Name!];
            if (text is null || int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _)) continue;
            context.ProblemDetails.Title = $"Bad {p.Name}";
            context.ProblemDetails.Detail = $"{p.Name} must be an integer in {range.Minimum}…{range.Maximum}, got '{text}'.";
            return;
        }
    }

    /// <summary>A 400 naming <paramref name="name"/> and its bounds when <paramref name="value"/> is outside them, else null.</summary>
    public static ProblemHttpResult? OutOfRange(int value, int min, int max, string name) =>
        value >= min && value <= max ? null
            : Problem(400, $"Bad {name}", $"{name} must be an integer in {min}…{max}, got '{value}'.");
}
