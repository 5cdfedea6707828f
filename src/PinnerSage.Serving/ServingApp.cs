using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PinnerSage.IO;
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
/// <c>POST /v1/users/{id}/actions</c>, <c>GET /health</c>, <c>GET /metrics</c>, <c>GET /openapi/v1.json</c>,
/// and the page at <c>/</c> with <c>/assets/{file}</c>.</para>
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

    /// <summary>The page's Content-Security-Policy: everything from this server only, no inline script or style, no
    /// framing (the page loads /assets/app.js and app.css and calls the API on the same origin).</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string WritePolicy = "writes";

    /// <summary>Builds the application over <paramref name="options"/>' workspace (loads embeddings, index, titles and
    /// opens the store); run it with <c>app.Run()</c> or <c>StartAsync</c>.</summary>
    /// <exception cref="FileNotFoundException">The workspace or one of its files is missing.</exception>
    /// <exception cref="IO.DataFormatException">A workspace file is malformed.</exception>
    public static WebApplication Build(ServeOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var state = new ServingState(options);
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
        builder.Services.AddSingleton(_ => state); // factory-made: the container disposes it on shutdown
        builder.Services.AddProblemDetails();
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
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.TypeInfoResolverChain.Insert(0, ServingJsonContext.Default));

        WebApplication app = builder.Build();
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
            route.Record(context.Response.StatusCode, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRateLimiter();
        var auth = new ApiKeyAuth(options.ApiKey);

        app.MapOpenApi();
        app.MapGet("/", () => StaticPage.Serve("index.html")).ExcludeFromDescription().WithMetadata(state.Metrics.Route("page"));
        app.MapGet("/assets/{file}", (string file) => StaticPage.Serve(file)).ExcludeFromDescription()
            .WithMetadata(state.Metrics.Route("page"));
        app.MapGet("/health", Health).WithName("health").WithMetadata(state.Metrics.Route("health"));
        app.MapGet("/metrics", (ServingState s) => Results.Bytes(s.Metrics.Render(s.Cache), "application/json"))
            .WithName("metrics").WithMetadata(state.Metrics.Route("metrics"));
        app.MapGet("/v1/users", ListUsers).WithName("listUsers").WithMetadata(state.Metrics.Route("users"))
            .Produces<UsersResponse>().ProducesProblem(400);
        app.MapGet("/v1/users/{id}/interests", Interests).WithName("interests").WithMetadata(state.Metrics.Route("interests"))
            .Produces<InterestsResponse>().ProducesProblem(404);
        app.MapGet("/v1/users/{id}/recommendations", Recommendations).WithName("recommendations")
            .WithMetadata(state.Metrics.Route("recommendations"))
            .Produces<RecommendationsResponse>().ProducesProblem(400).ProducesProblem(404);
        app.MapGet("/v1/items/{id}/similar", Similar).WithName("similar").WithMetadata(state.Metrics.Route("similar"))
            .Produces<SimilarResponse>().ProducesProblem(400).ProducesProblem(404);
        app.MapPost("/v1/users/{id}/actions", PostActions).WithName("postActions").WithMetadata(state.Metrics.Route("actions"))
            .AddEndpointFilter(auth.Filter).RequireRateLimiting(WritePolicy)
            .Accepts<ActionRequest[]>("application/json")
            .Produces<ActionsResponse>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(404).ProducesProblem(413)
            .ProducesProblem(429);
        return app;
    }

    private static IResult Health(ServingState s)
    {
        long batchNow = s.Metadata()?.Now ?? 0;
        return TypedResults.Json(new HealthResponse("ok", s.Items.Count, batchNow, s.Store.LastEventSequence(), s.StoreKind),
                                 ServingJsonContext.Default.HealthResponse);
    }

    private static IResult ListUsers(ServingState s, string? limit, string? prefix, string? after)
    {
        if (!TryParseRange(limit, 50, 1, MaxUsersLimit, "limit", out int n, out IResult? bad)) return bad;
        IReadOnlyList<string> users = s.Store.ListUsers(string.IsNullOrEmpty(prefix) ? null : prefix,
                                                            string.IsNullOrEmpty(after) ? null : after, n + 1);
        string? next = null;
        if (users.Count > n)
        {
            users = users.Take(n).ToArray();
            next = users[^1];
        }
        return TypedResults.Json(new UsersResponse(users, next), ServingJsonContext.Default.UsersResponse);
    }

    private static IResult Interests(ServingState s, string id)
    {
        ServedProfile? served = s.Serve(id, out ProfileRunMetadata? run);
        long batchNow = run?.Now ?? 0;
        if (served is null) return UnknownUser(id);
        IReadOnlyList<ProfileCluster> clusters = served.Profile.Clusters;
        var result = new InterestCluster[clusters.Count];
        for (int c = 0; c < result.Length; c++)
        {
            ProfileCluster cluster = clusters[c];
            var members = new ItemRef[Math.Min(MembersShown, cluster.Members.Count)];
            for (int m = 0; m < members.Length; m++) members[m] = Ref(s, cluster.Members[m]);
            result[c] = new InterestCluster(Ref(s, cluster.Medoid), cluster.Importance, cluster.Size,
                                            SourceName(served.Sources[c]), members);
        }
        return TypedResults.Json(new InterestsResponse(id, batchNow, served.PendingUsed, result),
                                 ServingJsonContext.Default.InterestsResponse);
    }

    private static IResult Recommendations(ServingState s, string id, string? k, string? medoids, string? policy)
    {
        if (!TryParseRange(k, 20, 1, MaxK, "k", out int kk, out IResult? bad)) return bad;
        if (!TryParseRange(medoids, 3, 1, MaxMedoids, "medoids", out int e, out bad)) return bad;
        RetrievalPolicy? chosen = null;
        if (policy is not null)
        {
            if (!Enum.TryParse(policy, ignoreCase: true, out RetrievalPolicy parsed) || !Enum.IsDefined(parsed) || int.TryParse(policy, out _))
                return Problem(400, "Bad policy", $"policy must be 'paper' or 'mixture', not '{policy}'.");
            chosen = parsed;
        }
        ServedProfile? served = s.Serve(id, out _);
        if (served is null) return UnknownUser(id);
        Recommender recommender = s.Recommender(kk, e, chosen);
        Recommendation[] buffer = ArrayPool<Recommendation>.Shared.Rent(kk);
        try
        {
            RecommendationSummary summary = recommender.Recommend(served.Profile, served.Now, buffer);
            IReadOnlyList<ProfileCluster> clusters = served.Profile.Clusters;
            var items = new RecommendedItem[summary.Count];
            Span<bool> sampled = clusters.Count <= 256 ? stackalloc bool[clusters.Count] : new bool[clusters.Count];
            for (int i = 0; i < items.Length; i++)
            {
                Recommendation r = buffer[i];
                sampled[r.Cluster] = true;
                var reason = new RecommendationReason(new ItemRef(s.Items.Id(r.Medoid), s.Title(r.Medoid)), r.Cluster, r.Importance, r.Size, r.Contribution);
                items[i] = new RecommendedItem(s.Items.Id(r.Item), s.Title(r.Item), r.Similarity, reason);
            }
            var medoidList = new List<SampledMedoid>(e);
            for (int c = 0; c < clusters.Count; c++)
                if (sampled[c]) medoidList.Add(new SampledMedoid(clusters[c].Medoid, s.Title(clusters[c].Medoid), clusters[c].Importance));
            return TypedResults.Json(new RecommendationsResponse(id, kk, medoidList, items),
                                     ServingJsonContext.Default.RecommendationsResponse);
        }
        finally
        {
            ArrayPool<Recommendation>.Shared.Return(buffer);
        }
    }

    private static IResult Similar(ServingState s, string id, string? k)
    {
        if (!TryParseRange(k, 20, 1, MaxK, "k", out int kk, out IResult? bad)) return bad;
        if (!s.Items.TryGetRow(id, out int row)) return Problem(404, "Unknown item", $"Item '{id}' is not in the catalogue's embeddings.");
        SimilarItem[] buffer = ArrayPool<SimilarItem>.Shared.Rent(kk);
        try
        {
            int n = s.Recommender(kk, 3).Similar(row, kk, buffer);
            var items = new ScoredItem[n];
            for (int i = 0; i < n; i++) items[i] = new ScoredItem(s.Items.Id(buffer[i].Item), s.Title(buffer[i].Item), buffer[i].Similarity);
            return TypedResults.Json(new SimilarResponse(id, s.Title(row), items), ServingJsonContext.Default.SimilarResponse);
        }
        finally
        {
            ArrayPool<SimilarItem>.Shared.Return(buffer);
        }
    }

    private static async Task<IResult> PostActions(ServingState s, string id, HttpContext context)
    {
        if (IdRules.Problem(id) is string idProblem)
            return Problem(400, "Bad user id", $"The user id {idProblem}: ids are 1–{IdRules.MaxLength} characters, " +
                                               "not only spaces, without control characters.");
        PipeReader reader = context.Request.BodyReader;
        List<ActionEvent>? events;
        string? error;
        try
        {
            ReadResult read;
            while (true)
            {
                read = await reader.ReadAsync(context.RequestAborted);
                if (read.IsCompleted) break;
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
            events = ActionBodyParser.Parse(read.Buffer, id, s.Now, s.WallNow, s.Options.MaxBatchEvents, s.ActionTypes,
                                            s.Options.MaxFutureSeconds, out error);
            reader.AdvanceTo(read.Buffer.End);
        }
        catch (BadHttpRequestException e)
        {
            return Problem(e.StatusCode, e.StatusCode == 413 ? "Request body too large" : "Bad request",
                           e.StatusCode == 413 ? $"The body exceeds {s.Options.MaxRequestBodyBytes} bytes." : e.Message);
        }
        if (events is null) return Problem(400, "Bad actions", error!);
        foreach (ActionEvent e in events)
        {
            if (!s.Items.TryGetRow(e.ItemId, out _))
                return Problem(404, "Unknown item", $"Item '{e.ItemId}' is not in the catalogue's embeddings; nothing was logged.");
        }
        // Durable before the acknowledgement: the store returns after its (group) commit.
        IReadOnlyList<long> sequences = s.Store.AppendEvents(events);
        s.Metrics.Appended(events.Count);
        return TypedResults.Json(new ActionsResponse(events.Count, sequences), ServingJsonContext.Default.ActionsResponse);
    }

    private static ItemRef Ref(ServingState s, string itemId) => new(itemId, s.Title(itemId));

    private static string SourceName(ClusterSource source) => source switch
    {
        ClusterSource.Online => "online",
        ClusterSource.BatchAndOnline => "batch+online",
        _ => "batch",
    };

    private static IResult UnknownUser(string id) =>
        Problem(404, "Unknown user", $"User '{id}' has no profile and no logged actions.");

    private static IResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    private static bool TryParseRange(string? text, int fallback, int min, int max, string name, out int value,
                                      [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out IResult? bad)
    {
        bad = null;
        value = fallback;
        if (string.IsNullOrEmpty(text)) return true;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max) return true;
        bad = Problem(400, $"Bad {name}", $"{name} must be an integer in {min}…{max}, got '{text}'.");
        return false;
    }
}
