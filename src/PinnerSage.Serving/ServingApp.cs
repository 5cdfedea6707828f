using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO.Pipelines;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.Serving.Apis;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>The PinnerSage HTTP service (<c>pinnersage serve</c>): an ASP.NET Core minimal API over a
/// <see cref="Workspace"/> with online updates, an OpenAPI document and the web page.</summary>
/// <remarks>
/// <para>Routes (JSON, snake_case; errors are RFC 7807 problem details):
/// <c>GET /v1/users?limit=&amp;prefix=&amp;after=</c>, <c>GET /v1/users/{id}/interests</c>,
/// <c>GET /v1/users/{id}/recommendations?k=&amp;medoids=</c>, <c>GET /v1/items/{id}/similar?k=</c>,
/// <c>POST /v1/users/{id}/actions</c>, <c>GET /health</c> (and the probes <c>/health/live</c>, <c>/health/ready</c>),
/// <c>GET /metrics</c> (Prometheus text), <c>GET /metrics.json</c>, <c>GET /openapi/v1.json</c>, and the page at
/// <c>/</c> with <c>/assets/{file}</c>.</para>
/// <para>Observability: metrics through System.Diagnostics.Metrics (<see cref="ServingTelemetry.MeterName"/> and the
/// batch job's <see cref="BatchTelemetry.MeterName"/>) exported by OpenTelemetry's Prometheus exporter, traces through
/// <see cref="ServingTelemetry"/>.</para>
/// <para>Served profile = batch profile + pending online actions (<see cref="OnlineProfile"/>), read from the store
/// on every request. A POST is acknowledged only after the store committed its events (the stores group concurrent
/// appends into one transaction). Bad input never yields a 500: unknown user or item → 404; malformed JSON, too many events, k or
/// medoids out of range, unknown action type, bad timestamp, an id breaking <see cref="IdRules"/> → 400; a body over the
/// size limit → 413.</para>
/// <para>Hardening (issue 12): POSTs need <see cref="ServeOptions.ApiKey"/> when one is set (401 otherwise, see
/// <see cref="ApiKeyAuth"/>) and pass ASP.NET Core's rate limiter (<see cref="ServeOptions.WritesPerSecond"/>, 429);
/// every response carries <see cref="ContentSecurityPolicy"/>, X-Content-Type-Options and X-Frame-Options; default
/// timestamps follow <see cref="ServiceClock"/>.</para>
/// </remarks>
public static class ServingApp
{
    /// <summary>Largest k of recommendations and similar items.</summary>
    public const int MaxK = 400;

    /// <summary>Largest number of medoids per recommendation request.</summary>
    public const int MaxMedoids = 20;

    /// <summary>Largest page of GET /v1/users.</summary>
    public const int MaxUsersLimit = 1000;

    /// <summary>Members listed per interest cluster.</summary>
    public const int MembersShown = 10;

    /// <summary>The page's Content-Security-Policy: everything from this server only (but catalogue images over https),
    /// no inline script or style, no framing (the page loads /assets/app.js and app.css and calls the API on the same origin).</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string WritePolicy = "writes";

    /// <summary>Builds the application over <paramref name="options"/>' workspace (loads embeddings, index, titles and
    /// opens the store); run it with <c>app.Run()</c> or <c>StartAsync</c>.</summary>
    /// <exception cref="FileNotFoundException">The workspace or one of its files is missing.</exception>
    /// <exception cref="IO.DataFormatException">A workspace file is malformed.</exception>
    public static WebApplication Build(ServeOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args ?? [] });
        if (options.Urls is not null) builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(options.Verbose ? LogLevel.Information : LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        // Factory-made: the container disposes it on shutdown; its meter comes from the host's factory.
        builder.Services.AddSingleton(sp => new ServingState(options, sp.GetRequiredService<IMeterFactory>()));
        builder.Services.AddServingHealthChecks();
        // OpenTelemetry rather than prometheus-net (our choice): the System.Diagnostics.Metrics instruments need no
        // adapter, the same SDK exports to OTLP or anything else with one more line, and it is the stack Microsoft's
        // own ASP.NET Core metrics and docs target. Its Prometheus exporter is still a beta package.
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            // .NET's own runtime meter too (GC, memory, CPU time, thread pool), for the process beside the requests.
            .AddMeter(ServingTelemetry.MeterName, BatchTelemetry.MeterName, "System.Runtime")
            // No scrape cache: a scrape shows every request finished before it (scrapes are cheap here).
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        // OpenTelemetry subscribes to meters by name only: a meter of the same name made by another host's factory in
        // this process (several services, or tests) belongs to that host, so its instruments are dropped here.
        builder.Services.ConfigureOpenTelemetryMeterProvider((services, m) =>
        {
            IMeterFactory own = services.GetRequiredService<IMeterFactory>();
            m.AddView(i => i.Meter.Scope is null || ReferenceEquals(i.Meter.Scope, own) ? null : MetricStreamConfiguration.Drop);
        });
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ApiResults.DescribeBindingFailure);
        builder.Services.AddRateLimiter(r =>
        {
            r.AddPolicy(WritePolicy, context => options.WritesPerSecond <= 0
                ? RateLimitPartition.GetNoLimiter("all")
                : RateLimitPartition.GetTokenBucketLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "", _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.WritesPerSecond,
                    TokensPerPeriod = options.WritesPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                }));
            r.OnRejected = (rejected, _) =>
            {
                rejected.HttpContext.Response.Headers.RetryAfter = "1";
                return new ValueTask(TypedResults.Problem(statusCode: 429, title: "Too many writes",
                    detail: $"At most {options.WritesPerSecond} write requests per second per client; retry after a second.")
                    .ExecuteAsync(rejected.HttpContext));
            };
        });
        builder.Services.AddOpenApi();
        // The one place the wire's JSON naming is set: responses and the OpenAPI document's schemas both read it.
        builder.Services.ConfigureHttpJsonOptions(j =>
        {
            j.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            j.SerializerOptions.TypeInfoResolverChain.Insert(0, ServingJsonContext.Default);
        });

        WebApplication app = builder.Build();
        ServingState state;
        try
        {
            state = app.Services.GetRequiredService<ServingState>(); // loads the workspace now: its errors surface here
        }
        catch
        {
            ((IDisposable)app).Dispose();
            throw;
        }
        RouteMetrics other = state.Metrics.Route("other");
        // Outermost: times every request, including the problem details written by the handlers below.
        app.Use(async (context, next) =>
        {
            long start = Stopwatch.GetTimestamp();
            IHeaderDictionary headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            await next(context);
            RouteMetrics route = context.GetEndpoint()?.Metadata.GetMetadata<RouteMetrics>() ?? other;
            route.Record(context.Response.StatusCode, Stopwatch.GetElapsedTime(start));
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRateLimiter();
        var auth = new ApiKeyAuth(options.ApiKey);

        app.MapOpenApi();
        app.MapGet("/", () => StaticPage.Serve("index.html")).ExcludeFromDescription().WithMetadata(state.Metrics.Route("page"));
        app.MapGet("/assets/{file}", (string file) => StaticPage.Serve(file)).ExcludeFromDescription()
            .WithMetadata(state.Metrics.Route("page"));
        app.MapHealthApi(state.Metrics).MapUsersApi(state.Metrics, auth, WritePolicy).MapItemsApi(state.Metrics);
        app.MapWorkspaceApi(state.Metrics);
        return app;
    }
}
