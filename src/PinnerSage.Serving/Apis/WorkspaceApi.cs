using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace PinnerSage.Serving.Apis;

/// <summary>What the workspace holds beyond the API, for the page: catalogue titles and images, and the offline
/// evaluation report (served as is at <c>/report</c>).</summary>
internal static class WorkspaceApi
{
    /// <summary>Where the page finds the report.</summary>
    public const string ReportRoute = "/report";

    public static IEndpointRouteBuilder MapWorkspaceApi(this IEndpointRouteBuilder app, ServingMetrics metrics)
    {
        app.MapGet("/v1/workspace", Describe).WithName("workspace").WithMetadata(metrics.Route("workspace"));
        app.MapGet(ReportRoute, Report).ExcludeFromDescription().WithMetadata(metrics.Route("page"));
        return app;
    }

    /// <summary>GET /v1/workspace: item count, whether the catalogue gives titles and images, and the report's address
    /// (null when the workspace has no <see cref="Workspace.ReportFile"/>).</summary>
    public static Ok<WorkspaceResponse> Describe(ServingState s) =>
        TypedResults.Ok(new WorkspaceResponse(s.Items.Count, s.Workspace.ItemsPath is not null, s.HasImages,
                                              s.ReportPath is null ? null : ReportRoute));

    /// <summary>The report's own policy: its styles and SVG plots are inline, and it runs no script at all.</summary>
    public const string ReportSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>GET /report: the workspace's self-contained evaluation report (HTML written by <c>pinnersage eval</c>).</summary>
    public static Results<PhysicalFileHttpResult, ProblemHttpResult> Report(ServingState s, HttpContext context)
    {
        if (s.ReportPath is not string path)
            return TypedResults.Problem(detail: $"The workspace has no {Workspace.ReportFile} (write one with pinnersage eval --html).",
                                        statusCode: 404, title: "Not found");
        context.Response.Headers.ContentSecurityPolicy = ReportSecurityPolicy;
        return TypedResults.PhysicalFile(path, "text/html; charset=utf-8");
    }
}
