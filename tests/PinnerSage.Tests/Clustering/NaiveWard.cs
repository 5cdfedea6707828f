namespace PinnerSage.Tests.Clustering;

/// <summary>Independent O(n³) Ward reference: every step recomputes the Ward cost 2·n_a·n_b/(n_a+n_b)·‖c_a − c_b‖² of
/// every pair of current clusters from their centroids and sizes (no Lance–Williams) and merges the cheapest.</summary>
internal static class NaiveWard
{
    public sealed record Result(double[] Heights, List<(int[] Members, double Distance)> Sets);

    /// <summary>Points given as n rows of d doubles (duplicates allowed, each point is one action).</summary>
    public static Result Run(double[][] points)
    {
        int n = points.Length;
        var centroids = points.Select(p => (double[])p.Clone()).ToList();
        var sizes = Enumerable.Repeat(1.0, n).ToList();
        var members = Enumerable.Range(0, n).Select(i => new List<int> { i }).ToList();
        var heights = new List<double>();
        var sets = new List<(int[], double)>();
        while (centroids.Count > 1)
        {
            int ba = -1, bb = -1;
            double best = double.PositiveInfinity;
            for (int a = 0; a < centroids.Count; a++)
                for (int b = a + 1; b < centroids.Count; b++)
                {
                    double dist = 0;
                    for (int k = 0; k < centroids[a].Length; k++)
                    {
                        double t = centroids[a][k] - centroids[b][k];
                        dist += t * t;
                    }
                    double cost = 2 * sizes[a] * sizes[b] / (sizes[a] + sizes[b]) * dist;
                    if (cost < best)
                    {
                        best = cost;
                        ba = a;
                        bb = b;
                    }
                }
            double na = sizes[ba], nb = sizes[bb];
            var c = new double[centroids[ba].Length];
            for (int k = 0; k < c.Length; k++) c[k] = (na * centroids[ba][k] + nb * centroids[bb][k]) / (na + nb);
            var m = members[ba].Concat(members[bb]).OrderBy(x => x).ToList();
            heights.Add(best);
            sets.Add((m.ToArray(), best));
            centroids[ba] = c;
            sizes[ba] = na + nb;
            members[ba] = m;
            centroids.RemoveAt(bb);
            sizes.RemoveAt(bb);
            members.RemoveAt(bb);
        }
        return new Result(heights.ToArray(), sets);
    }

    /// <summary>The partition after every merge at distance ≤ α (the α cut of a monotone dendrogram with singletons
    /// kept), as sorted member lists sorted by first member.</summary>
    public static List<int[]> Partition(int n, List<(int[] Members, double Distance)> sets, double alpha)
    {
        var owner = Enumerable.Range(0, n).Select(i => new[] { i }).ToArray();
        foreach ((int[] m, double d) in sets)
        {
            if (d > alpha) continue;
            foreach (int i in m) owner[i] = m;
        }
        return owner.Distinct().Select(m => m.ToArray()).OrderBy(m => m[0]).ToList();
    }
}
