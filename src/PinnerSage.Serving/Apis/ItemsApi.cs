using System.Buffers;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PinnerSage.Retrieval;

namespace PinnerSage.Serving.Apis;

/// <summary>The items' routes: similar items through the same index as the recommendations.</summary>
internal static class ItemsApi
{
    public static IEndpointRouteBuilder MapItemsApi(this IEndpointRouteBuilder app, ServingMetrics metrics)
    {
        app.MapGet("/v1/items/{id}/similar", Similar).WithName("similar").WithMetadata(metrics.Route("similar"))
            .ProducesProblem(400).ProducesProblem(404);
        return app;
    }

    /// <summary>GET /v1/items/{id}/similar: the k nearest items by cosine similarity.</summary>
    public static Results<Ok<SimilarResponse>, ProblemHttpResult> Similar(
        ServingState s, string id, [Range(1, ServingApp.MaxK), Description("Items to return.")] int k = 20)
    {
        if (ApiResults.OutOfRange(k, 1, ServingApp.MaxK, "k") is { } bad) return bad;
        if (!s.Items.TryGetRow(id, out int row)) return ApiResults.Problem(404, "Unknown item", $"Item '{id}' is not in the catalogue's embeddings.");
        SimilarItem[] buffer = ArrayPool<SimilarItem>.Shared.Rent(k);
        try
        {
            int n = s.Recommender(k, 3).Similar(row, k, buffer);
            return TypedResults.Ok(ApiResponses.Similar(s.Items, row, buffer.AsSpan(0, n), r => s.Title(r),
                                                         s.HasImages ? r => s.ImageUrl(r) : null));
        }
        finally
        {
            ArrayPool<SimilarItem>.Shared.Return(buffer);
        }
    }
}
