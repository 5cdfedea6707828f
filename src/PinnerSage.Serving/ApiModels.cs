using System.Text.Json.Serialization;

namespace PinnerSage.Serving;

// The JSON shapes of the HTTP API (notes: STORE-CONTRACT.md §3). Property names are snake_case by the HTTP JSON options
// (ServingApp.Build, the one place the naming is set, so the OpenAPI schemas match the wire); the source-generated
// context below supplies the metadata, so serialisation needs no reflection.

/// <summary>An item reference: id, catalogue title and image URL (null without a catalogue, or an image column, or for
/// an item it lacks).</summary>
public sealed record ItemRef(string ItemId, string? Title, string? ImageUrl = null);

/// <summary>GET /v1/users.</summary>
public sealed record UsersResponse(IReadOnlyList<string> Users, string? Next);

/// <summary>One served cluster (GET /v1/users/{id}/interests).</summary>
public sealed record InterestCluster(ItemRef Medoid, double Importance, int Size, string Source, IReadOnlyList<ItemRef> Members);

/// <summary>GET /v1/users/{id}/interests. Importances are decayed to <paramref name="ImportanceAsOf"/> (Unix seconds):
/// the served profile's now (the service clock, or the latest pending event), where the CLI's <c>profiles show</c>
/// prints them as of the batch run's now (<paramref name="BatchNow"/>).</summary>
public sealed record InterestsResponse(string UserId, long BatchNow, int PendingEvents, IReadOnlyList<InterestCluster> Clusters,
                                       long ImportanceAsOf);

/// <summary>A sampled medoid of a recommendation request.</summary>
public sealed record SampledMedoid(string ItemId, string? Title, double Importance);

/// <summary>Why an item was recommended: the cluster (index into the served interests) whose medoid retrieved it (paper
/// policy) or whose term dominates its mixture score (mixture policy), and that cluster's share of the score.</summary>
public sealed record RecommendationReason(ItemRef Medoid, int Cluster, double Importance, int Size, double Contribution);

/// <summary>One recommended item; score = cosine similarity to the medoid that retrieved it.</summary>
public sealed record RecommendedItem(string ItemId, string? Title, double Score, RecommendationReason Reason, string? ImageUrl = null);

/// <summary>GET /v1/users/{id}/recommendations.</summary>
public sealed record RecommendationsResponse(string UserId, int K, IReadOnlyList<SampledMedoid> Medoids,
                                             IReadOnlyList<RecommendedItem> Items);

/// <summary>One similar item; score = cosine similarity.</summary>
public sealed record ScoredItem(string ItemId, string? Title, double Score, string? ImageUrl = null);

/// <summary>GET /v1/items/{id}/similar.</summary>
public sealed record SimilarResponse(string ItemId, string? Title, IReadOnlyList<ScoredItem> Items);

/// <summary>One engaged item on the interest map: its cluster (index into the interests), whether it is the medoid, and
/// its coordinates on the two leading principal axes of the user's items.</summary>
public sealed record MapPoint(string ItemId, string? Title, int Cluster, bool Medoid, double X, double Y);

/// <summary>GET /v1/users/{id}/map: the served profile's members in 2-D (clusters as in the interests).</summary>
public sealed record InterestMapResponse(string UserId, int Clusters, IReadOnlyList<MapPoint> Points);

/// <summary>GET /v1/workspace: what the served workspace holds beyond the API (for the page).</summary>
public sealed record WorkspaceResponse(int Items, bool Titles, bool Images, string? ReportUrl);

/// <summary>POST /v1/users/{id}/actions: the body's events, durably logged.</summary>
public sealed record ActionsResponse(int Accepted, IReadOnlyList<long> Sequences);

/// <summary>One action in a POST body (documentation of the request shape; the server parses the body itself).</summary>
public sealed record ActionRequest(string ItemId, string Action, long? Timestamp);

/// <summary>GET /health.</summary>
public sealed record HealthResponse(string Status, int Items, long BatchNow, long LastEventSequence, string Store);

[JsonSerializable(typeof(UsersResponse))]
[JsonSerializable(typeof(InterestsResponse))]
[JsonSerializable(typeof(RecommendationsResponse))]
[JsonSerializable(typeof(SimilarResponse))]
[JsonSerializable(typeof(ActionsResponse))]
[JsonSerializable(typeof(ActionRequest))]
[JsonSerializable(typeof(ActionRequest[]))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(InterestMapResponse))]
[JsonSerializable(typeof(WorkspaceResponse))]
internal sealed partial class ServingJsonContext : JsonSerializerContext;
