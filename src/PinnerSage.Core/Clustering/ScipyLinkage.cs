using System.Diagnostics;

namespace PinnerSage.Clustering;

/// <summary>Conversion of a chain-order merge history to scipy's linkage matrix Z.</summary>
/// <remarks>Mirrors scipy.cluster.hierarchy (1.10) <c>_hierarchy.nn_chain</c> followed by its <c>label</c> step: rows
/// sorted stably by height (<c>argsort(kind='mergesort')</c>), then a union–find gives each merged cluster the label n + row;
/// a row's two children are its ≤ labels first. Height = √(Ward distance), computed as scipy computes it (see
/// <see cref="LanceWilliams"/>); count = the merged size (the sum of multiplicities). O(n log n) sort + O(n α(n)) union–find.</remarks>
internal static class ScipyLinkage
{
    /// <summary>Writes Z (n − 1 rows of [left, right, height, size], row-major) for the merges.</summary>
    /// <param name="merges">Chain-order merges.</param>
    /// <param name="ascending">Merge indices sorted stably by height (<see cref="MergeOrder.SortStable"/>).</param>
    /// <param name="n">Number of items.</param>
    /// <param name="z">(n − 1) × 4 doubles out.</param>
    public static void Write(ReadOnlySpan<NnChainMerge> merges, ReadOnlySpan<int> ascending, int n, Span<double> z)
    {
        Debug.Assert(z.Length >= 4 * (n - 1));
        int m = Math.Max(0, n - 1);
        ReadOnlySpan<int> order = ascending;
        // Union–find over scipy labels: parent[label] = label of the cluster that absorbed it, or itself.
        var parent = new int[2 * n - 1];
        for (int i = 0; i < parent.Length; i++) parent[i] = i;
        for (int r = 0; r < m; r++)
        {
            NnChainMerge merge = merges[order[r]];
            int a = Find(parent, merge.X), b = Find(parent, merge.Y);
            int label = n + r;
            parent[a] = label;
            parent[b] = label;
            z[4 * r] = Math.Min(a, b);
            z[4 * r + 1] = Math.Max(a, b);
            z[4 * r + 2] = merge.Height;
            z[4 * r + 3] = merge.Size;
        }
    }

    private static int Find(int[] parent, int x)
    {
        int root = x;
        while (parent[root] != root) root = parent[root];
        while (parent[x] != root) (x, parent[x]) = (parent[x], root);
        return root;
    }
}
