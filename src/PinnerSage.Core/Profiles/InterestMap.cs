using PinnerSage.IO;
using PinnerSage.Numerics;

namespace PinnerSage.Profiles;

/// <summary>One engaged item on a user's interest map.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Cluster">Index of its cluster in <see cref="UserProfile.Clusters"/>.</param>
/// <param name="IsMedoid">Whether it is that cluster's medoid.</param>
/// <param name="X">Coordinate on the first principal axis of the user's items.</param>
/// <param name="Y">Coordinate on the second (0 when the items span one direction only).</param>
public readonly record struct InterestMapPoint(string ItemId, int Cluster, bool IsMedoid, float X, float Y);

/// <summary>A 2-D picture of where a user's interests lie: the members of every cluster (the items engaged in the
/// profile's window), projected onto the two leading principal axes of their own embeddings
/// (<see cref="PrincipalComponents"/>), so clusters far apart in the embedding space are far apart on the map (as far
/// as two axes can show).</summary>
public static class InterestMap
{
    /// <summary>The points of <paramref name="profile"/>'s members, cluster by cluster in profile order, members in
    /// stored order. Members without a row in <paramref name="items"/> are left out (the map shows what it can place).</summary>
    /// <exception cref="ArgumentNullException">A null argument.</exception>
    public static InterestMapPoint[] Build(UserProfile profile, ItemEmbeddings items)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(items);
        var placed = new List<(string Id, int Row, int Cluster, bool Medoid)>();
        for (int c = 0; c < profile.Clusters.Count; c++)
        {
            ProfileCluster cluster = profile.Clusters[c];
            foreach (string member in cluster.Members)
                if (items.TryGetRow(member, out int row)) placed.Add((member, row, c, member == cluster.Medoid));
        }
        int d = items.Dimension;
        var vectors = new float[placed.Count * d];
        for (int i = 0; i < placed.Count; i++) items.Vector(placed[i].Row).CopyTo(vectors.AsSpan(i * d, d));
        var xy = new float[placed.Count * 2];
        PrincipalComponents.Project(vectors, d, Math.Min(2, d), xy.AsSpan(0, placed.Count * Math.Min(2, d)));
        var points = new InterestMapPoint[placed.Count];
        for (int i = 0; i < points.Length; i++)
        {
            float y = d >= 2 ? xy[i * 2 + 1] : 0;
            float x = d >= 2 ? xy[i * 2] : xy[i];
            points[i] = new InterestMapPoint(placed[i].Id, placed[i].Cluster, placed[i].Medoid, x, y);
        }
        return points;
    }
}
