using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace PinnerSage.Serving.Apis;

/// <summary>Health and metrics.</summary>
internal static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app, ServingMetrics metrics)
    {
        app.MapGet("/health", Health).WithName("health").WithMetadata(metrics.Route("health"));
        app.MapGet("/metrics", Metrics).WithName("metrics").WithMetadata(metrics.Route("metrics"));
        return app;
    }

    /// <summary>GET /health: item count, the batch's now, the event log's end and the store kind.</summary>
    public static async Task<Ok<HealthResponse>> Health(ServingState s, HttpContext context) =>
        TypedResults.Ok(new HealthResponse("ok", s.Items.Count, (await s.MetadataAsync(context.RequestAborted))?.Now ?? 0,
                                           s.Store.LastEventSequence(), s.StoreKind));

    /// <summary>GET /metrics: per-route counts and latency quantiles, cache and event counters (JSON).</summary>
    public static FileContentHttpResult Metrics(ServingState s) => TypedResults.Bytes(s.Metrics.Render(s.Cache), "application/json");
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
