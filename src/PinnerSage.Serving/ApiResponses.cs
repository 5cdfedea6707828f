using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;

namespace PinnerSage.Serving;

/// <summary>The HTTP API's documents built from library results: one mapping shared by the route handlers and the
/// CLI's <c>--json</c>, so a script gets the same shape from <c>pinnersage recommend --json</c> as from
/// <c>GET /v1/users/{id}/recommendations</c>.</summary>
public static class ApiResponses
{
    /// <summary>The recommendations document: the items with the cluster behind each, and the clusters used (in profile order).</summary>
    /// <param name="userId">The user.</param>
    /// <param name="k">The K asked for.</param>
    /// <param name="clusters">The profile the results came from.</param>
    /// <param name="results">The recommender's results.</param>
    /// <param name="items">The item table the results' rows index.</param>
    /// <param name="titleOfRow">Catalogue title of a row, or null.</param>
    /// <param name="imageOfRow">Catalogue image URL of a row, or null (null: no images).</param>
    public static RecommendationsResponse Recommendations(string userId, int k, IReadOnlyList<ProfileCluster> clusters,
                                                          ReadOnlySpan<Recommendation> results, ItemEmbeddings items,
                                                          Func<int, string?> titleOfRow, Func<int, string?>? imageOfRow = null)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(titleOfRow);
        var list = new RecommendedItem[results.Length];
        Span<bool> used = clusters.Count <= 256 ? stackalloc bool[clusters.Count] : new bool[clusters.Count];
        for (int i = 0; i < list.Length; i++)
        {
            Recommendation r = results[i];
            used[r.Cluster] = true;
            var reason = new RecommendationReason(new ItemRef(items.Id(r.Medoid), titleOfRow(r.Medoid), imageOfRow?.Invoke(r.Medoid)),
                                                  r.Cluster, r.Importance, r.Size, r.Contribution);
            list[i] = new RecommendedItem(items.Id(r.Item), titleOfRow(r.Item), r.Similarity, reason, imageOfRow?.Invoke(r.Item));
        }
        var medoids = new List<SampledMedoid>();
        for (int c = 0; c < clusters.Count; c++)
        {
            if (!used[c]) continue;
            string medoid = clusters[c].Medoid;
            medoids.Add(new SampledMedoid(medoid, items.TryGetRow(medoid, out int row) ? titleOfRow(row) : null, clusters[c].Importance));
        }
        return new RecommendationsResponse(userId, k, medoids, list);
    }

    /// <summary>The similar-items document for the item at <paramref name="row"/>.</summary>
    /// <param name="items">The item table the results' rows index.</param>
    /// <param name="row">The query item's row.</param>
    /// <param name="results">The recommender's results.</param>
    /// <param name="titleOfRow">Catalogue title of a row, or null.</param>
    /// <param name="imageOfRow">Catalogue image URL of a row, or null (null: no images).</param>
    public static SimilarResponse Similar(ItemEmbeddings items, int row, ReadOnlySpan<SimilarItem> results, Func<int, string?> titleOfRow,
                                          Func<int, string?>? imageOfRow = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(titleOfRow);
        var list = new ScoredItem[results.Length];
        for (int i = 0; i < list.Length; i++)
            list[i] = new ScoredItem(items.Id(results[i].Item), titleOfRow(results[i].Item), results[i].Similarity, imageOfRow?.Invoke(results[i].Item));
        return new SimilarResponse(items.Id(row), titleOfRow(row), list);
    }

    /// <summary>The interests document: each cluster's medoid, importance, size, source and first members.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="batchNow">The batch run's now (Unix seconds; 0 when unknown).</param>
    /// <param name="importanceAsOf">The time the importances are decayed to (Unix seconds).</param>
    /// <param name="pendingEvents">Online actions folded in.</param>
    /// <param name="clusters">The profile's clusters.</param>
    /// <param name="sources">Each cluster's source, or null when every cluster is the batch's.</param>
    /// <param name="membersShown">Members listed per cluster at most.</param>
    /// <param name="titleOf">Catalogue title of an item id, or null.</param>
    /// <param name="imageOf">Catalogue image URL of an item id, or null (null: no images).</param>
    public static InterestsResponse Interests(string userId, long batchNow, long importanceAsOf, int pendingEvents,
                                              IReadOnlyList<ProfileCluster> clusters, IReadOnlyList<ClusterSource>? sources,
                                              int membersShown, Func<string, string?> titleOf, Func<string, string?>? imageOf = null)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(titleOf);
        ArgumentOutOfRangeException.ThrowIfNegative(membersShown);
        var result = new InterestCluster[clusters.Count];
        for (int c = 0; c < result.Length; c++)
        {
            ProfileCluster cluster = clusters[c];
            var members = new ItemRef[Math.Min(membersShown, cluster.Members.Count)];
            for (int m = 0; m < members.Length; m++) members[m] = new ItemRef(cluster.Members[m], titleOf(cluster.Members[m]), imageOf?.Invoke(cluster.Members[m]));
            result[c] = new InterestCluster(new ItemRef(cluster.Medoid, titleOf(cluster.Medoid), imageOf?.Invoke(cluster.Medoid)), cluster.Importance,
                                            cluster.Size, SourceName(sources?[c] ?? ClusterSource.Batch), members);
        }
        return new InterestsResponse(userId, batchNow, pendingEvents, result, importanceAsOf);
    }

    /// <summary>The interest map document: <see cref="InterestMap.Build"/> of <paramref name="profile"/> with titles.</summary>
    /// <param name="profile">The profile whose members are placed.</param>
    /// <param name="items">The item table holding their vectors.</param>
    /// <param name="titleOf">Catalogue title of an item id, or null.</param>
    public static InterestMapResponse Map(UserProfile profile, ItemEmbeddings items, Func<string, string?> titleOf)
    {
        ArgumentNullException.ThrowIfNull(titleOf);
        InterestMapPoint[] points = InterestMap.Build(profile, items);
        var result = new MapPoint[points.Length];
        for (int i = 0; i < result.Length; i++)
        {
            InterestMapPoint p = points[i];
            result[i] = new MapPoint(p.ItemId, titleOf(p.ItemId), p.Cluster, p.IsMedoid, p.X, p.Y);
        }
        return new InterestMapResponse(profile.UserId, profile.Clusters.Count, result);
    }

    private static string SourceName(ClusterSource source) => source switch
    {
        ClusterSource.Online => "online",
        ClusterSource.BatchAndOnline => "batch+online",
        _ => "batch",
    };
}
