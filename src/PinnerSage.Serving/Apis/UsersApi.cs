using System.Buffers;
using System.Diagnostics;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Storage;

namespace PinnerSage.Serving.Apis;

/// <summary>The users' routes: list, interests, recommendations with reasons, and online actions.</summary>
internal static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app, ServingMetrics metrics, ApiKeyAuth auth, string writePolicy)
    {
        app.MapGet("/v1/users", ListUsers).WithName("listUsers").WithMetadata(metrics.Route("users")).ProducesProblem(400);
        app.MapGet("/v1/users/{id}/interests", Interests).WithName("interests").WithMetadata(metrics.Route("interests"))
            .ProducesProblem(404);
        app.MapGet("/v1/users/{id}/map", Map).WithName("interestMap").WithMetadata(metrics.Route("map")).ProducesProblem(404);
        app.MapGet("/v1/users/{id}/recommendations", Recommendations).WithName("recommendations")
            .WithMetadata(metrics.Route("recommendations")).ProducesProblem(400).ProducesProblem(404);
        app.MapPost("/v1/users/{id}/actions", PostActions).WithName("postActions").WithMetadata(metrics.Route("actions"))
            .AddEndpointFilter(auth.Filter).RequireRateLimiting(writePolicy)
            .Accepts<ActionRequest[]>("application/json")
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(404).ProducesProblem(413).ProducesProblem(429);
        return app;
    }

    /// <summary>GET /v1/users: user ids in code-point order, a page at a time.</summary>
    public static async Task<Results<Ok<UsersResponse>, ProblemHttpResult>> ListUsers(
        ServingState s, HttpContext context,
        [Range(1, ServingApp.MaxUsersLimit), Description("Page size.")] int limit = 50,
        [Description("Only ids starting with this.")] string? prefix = null,
        [Description("The previous page's next: ids after it.")] string? after = null)
    {
        if (ApiResults.OutOfRange(limit, 1, ServingApp.MaxUsersLimit, "limit") is { } bad) return bad;
        IReadOnlyList<string> users;
        using (ServingTelemetry.StoreCall("store.list_users"))
            users = await s.Store.ListUsersAsync(string.IsNullOrEmpty(prefix) ? null : prefix, string.IsNullOrEmpty(after) ? null : after,
                                                 limit + 1, context.RequestAborted);
        string? next = null;
        if (users.Count > limit)
        {
            users = users.Take(limit).ToArray();
            next = users[^1];
        }
        return TypedResults.Ok(new UsersResponse(users, next));
    }

    /// <summary>GET /v1/users/{id}/interests: the served profile (batch + pending online actions).</summary>
    public static async Task<Results<Ok<InterestsResponse>, ProblemHttpResult>> Interests(ServingState s, string id, HttpContext context)
    {
        (ServedProfile? served, ProfileRunMetadata? run) = await s.ServeAsync(id, context.RequestAborted);
        long batchNow = run?.Now ?? 0;
        if (served is null) return ApiResults.UnknownUser(id);
        return TypedResults.Ok(ApiResponses.Interests(id, batchNow, served.Now, served.PendingUsed, served.Profile.Clusters, served.Sources,
                                                      ServingApp.MembersShown, s.Title, s.HasImages ? s.ImageUrl : null));
    }

    /// <summary>GET /v1/users/{id}/map: the served profile's members on the two leading principal axes of their
    /// embeddings, by cluster (the interests' order), medoids marked.</summary>
    public static async Task<Results<Ok<InterestMapResponse>, ProblemHttpResult>> Map(ServingState s, string id, HttpContext context)
    {
        (ServedProfile? served, _) = await s.ServeAsync(id, context.RequestAborted);
        if (served is null) return ApiResults.UnknownUser(id);
        return TypedResults.Ok(ApiResponses.Map(served.Profile, s.Items, s.Title));
    }

    /// <summary>GET /v1/users/{id}/recommendations: k items with the interest behind each.</summary>
    public static async Task<Results<Ok<RecommendationsResponse>, ProblemHttpResult>> Recommendations(
        ServingState s, string id, HttpContext context,
        [Range(1, ServingApp.MaxK), Description("Items to return.")] int k = 20,
        [Range(1, ServingApp.MaxMedoids), Description("Medoids sampled (paper policy).")] int medoids = 3,
        [Description("'mixture' or 'paper' (default: the workspace's).")] string? policy = null)
    {
        if (ApiResults.OutOfRange(k, 1, ServingApp.MaxK, "k") is { } bad) return bad;
        if (ApiResults.OutOfRange(medoids, 1, ServingApp.MaxMedoids, "medoids") is { } badMedoids) return badMedoids;
        RetrievalPolicy? chosen = null;
        if (policy is not null)
        {
            if (!Enum.TryParse(policy, ignoreCase: true, out RetrievalPolicy parsed) || !Enum.IsDefined(parsed) || int.TryParse(policy, out _))
                return ApiResults.Problem(400, "Bad policy", $"policy must be 'paper' or 'mixture', not '{policy}'.");
            chosen = parsed;
        }
        (ServedProfile? served, _) = await s.ServeAsync(id, context.RequestAborted);
        if (served is null) return ApiResults.UnknownUser(id);
        return Recommend(s, id, k, medoids, chosen, served);
    }

    private static Ok<RecommendationsResponse> Recommend(ServingState s, string id, int k, int medoids, RetrievalPolicy? chosen, ServedProfile served)
    {
        using Activity? activity = ServingTelemetry.Source.StartActivity("recommend");
        Recommender recommender = s.Recommender(k, medoids, chosen);
        Recommendation[] buffer = ArrayPool<Recommendation>.Shared.Rent(k);
        try
        {
            RecommendationSummary summary = recommender.Recommend(served.Profile, served.Now, buffer);
            activity?.SetTag("pinnersage.user_id", id).SetTag("pinnersage.k", k).SetTag("pinnersage.policy", recommender.Options.Policy.ToString())
                .SetTag("pinnersage.clusters", served.Profile.Clusters.Count).SetTag("pinnersage.items", summary.Count);
            return TypedResults.Ok(ApiResponses.Recommendations(id, k, served.Profile.Clusters, buffer.AsSpan(0, summary.Count),
                                                                s.Items, row => s.Title(row), s.HasImages ? row => s.ImageUrl(row) : null));
        }
        finally
        {
            ArrayPool<Recommendation>.Shared.Return(buffer);
        }
    }

    /// <summary>POST /v1/users/{id}/actions: logs the body's events durably, then acknowledges.</summary>
    public static async Task<Results<Ok<ActionsResponse>, ProblemHttpResult>> PostActions(ServingState s, string id, HttpContext context)
    {
        using Activity? activity = ServingTelemetry.Source.StartActivity("actions.ingest");
        activity?.SetTag("pinnersage.user_id", id);
        if (IdRules.Problem(id) is string idProblem)
            return ApiResults.Problem(400, "Bad user id", $"The user id {idProblem}: ids are 1–{IdRules.MaxLength} characters, " +
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
            long now = await s.NowAsync(context.RequestAborted);
            events = ActionBodyParser.Parse(read.Buffer, id, now, s.WallNow, s.Options.MaxBatchEvents, s.ActionTypes,
                                            s.Options.MaxFutureSeconds, out error);
            reader.AdvanceTo(read.Buffer.End);
        }
        catch (BadHttpRequestException e)
        {
            return ApiResults.Problem(e.StatusCode, e.StatusCode == 413 ? "Request body too large" : "Bad request",
                                      e.StatusCode == 413 ? $"The body exceeds {s.Options.MaxRequestBodyBytes} bytes." : e.Message);
        }
        if (events is null) return ApiResults.Problem(400, "Bad actions", error!);
        foreach (ActionEvent e in events)
        {
            if (!s.Items.TryGetRow(e.ItemId, out _))
                return ApiResults.Problem(404, "Unknown item", $"Item '{e.ItemId}' is not in the catalogue's embeddings; nothing was logged.");
        }
        // Durable before the acknowledgement: the store returns after its (group) commit.
        IReadOnlyList<long> sequences;
        using (Activity? append = ServingTelemetry.StoreCall("store.append_events", id))
        {
            append?.SetTag("pinnersage.events", events.Count);
            sequences = await s.Store.AppendEventsAsync(events, context.RequestAborted);
        }
        s.Metrics.Appended(events.Count);
        return TypedResults.Ok(new ActionsResponse(events.Count, sequences));
    }
}
