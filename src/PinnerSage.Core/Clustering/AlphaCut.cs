using System.Diagnostics;

namespace PinnerSage.Clustering;

/// <summary>The dendrogram of a merge history and the paper's α cut over it.</summary>
/// <remarks>
/// <para>papers/PINNERSAGE.md, Model step 1 (Pal et al., KDD 2020, §3): sort the merge history by distance, largest
/// first; keep a merged set when its distance is ≤ α and it is disjoint from every set already kept. Implemented
/// literally (so it stays correct even if rounding made a parent a hair lower than its child): merges are visited in
/// reverse of the stable ascending order (parents before children at equal distance, see <see cref="MergeOrder"/>); a
/// node is blocked once a kept node is its ancestor or descendant. Keeping a node walks its subtree once (kept sets are
/// disjoint) and its ancestors until the first blocked one, so the cut is O(n) after the O(n log n) sort.</para>
/// <para>(our choice) Items in no kept set: with <c>keepSingletons</c> each becomes its own cluster, otherwise its label
/// is −1. An item with multiplicity k ≥ 2 stands for k identical actions, i.e. a set its duplicates already merged at
/// distance 0 ≤ α, so when it is in no larger kept set it is a cluster of its own even without
/// <c>keepSingletons</c>.</para>
/// <para>(our choice) Cluster order: by smallest member index, which makes labels deterministic.</para>
/// </remarks>
internal static class AlphaCut
{
    /// <summary>Dendrogram nodes: leaves 0…n−1, merge k (chain order) = node n + k with children
    /// <paramref name="left"/>[k] and <paramref name="right"/>[k]; <paramref name="parent"/> of the root is −1.</summary>
    public static void BuildTree(ReadOnlySpan<NnChainMerge> merges, int n, Span<int> nodeOfSlot, Span<int> left,
                                 Span<int> right, Span<int> parent)
    {
        Debug.Assert(merges.Length >= n - 1 && nodeOfSlot.Length >= n && parent.Length >= 2 * n - 1);
        for (int i = 0; i < n; i++) nodeOfSlot[i] = i;
        parent[..Math.Max(0, 2 * n - 1)].Fill(-1);
        for (int k = 0; k < n - 1; k++)
        {
            int a = nodeOfSlot[merges[k].X], b = nodeOfSlot[merges[k].Y];
            left[k] = a;
            right[k] = b;
            parent[a] = n + k;
            parent[b] = n + k;
            nodeOfSlot[merges[k].Y] = n + k;
        }
    }

    /// <summary>Applies the cut; writes <paramref name="labels"/>[i] = cluster of item i or −1, returns the number of
    /// clusters.</summary>
    /// <param name="n">Number of items.</param>
    /// <param name="merges">Chain-order merges.</param>
    /// <param name="left">Left child node of each merge.</param>
    /// <param name="right">Right child node of each merge.</param>
    /// <param name="parent">Parent node of each node (−1 for the root).</param>
    /// <param name="multiplicity">Actions per item.</param>
    /// <param name="alpha">Cut level on the squared scale, ≥ 0.</param>
    /// <param name="keepSingletons">Whether uncovered items become clusters.</param>
    /// <param name="labels">n labels out.</param>
    /// <param name="ascending">Merge indices in stable ascending distance (<see cref="MergeOrder.SortStable"/>).</param>
    /// <param name="blocked">2n − 1 flags of scratch.</param>
    /// <param name="leafNode">n ints of scratch.</param>
    /// <param name="nodeLabel">n − 1 ints of scratch.</param>
    /// <param name="stack">n ints of scratch.</param>
    public static int Cut(int n, ReadOnlySpan<NnChainMerge> merges, ReadOnlySpan<int> left, ReadOnlySpan<int> right,
                          ReadOnlySpan<int> parent, ReadOnlySpan<int> ascending, ReadOnlySpan<int> multiplicity,
                          double alpha, bool keepSingletons, Span<int> labels, Span<bool> blocked, Span<int> leafNode,
                          Span<int> nodeLabel, Span<int> stack)
    {
        Debug.Assert(alpha >= 0 && labels.Length >= n && leafNode.Length >= n);
        // Heights are √distance; comparing h ≤ √α (both correctly rounded) keeps a merge whose squared distance is α.
        double heightAlpha = Math.Sqrt(alpha);
        blocked[..Math.Max(0, 2 * n - 1)].Clear();
        leafNode[..n].Fill(-1);
        for (int r = n - 2; r >= 0; r--)
        {
            int k = ascending[r];
            int node = n + k;
            if (!(merges[k].Height <= heightAlpha) || blocked[node]) continue;
            blocked[node] = true;
            int top = 0;
            stack[top++] = node;
            while (top > 0)
            {
                int v = stack[--top];
                if (v < n)
                {
                    leafNode[v] = node;
                    continue;
                }
                blocked[v] = true;
                stack[top++] = left[v - n];
                stack[top++] = right[v - n];
            }
            // Ancestors of a blocked node are blocked already, so the walk stops early and totals O(n).
            for (int p = parent[node]; p >= 0 && !blocked[p]; p = parent[p]) blocked[p] = true;
        }
        int clusters = 0;
        nodeLabel[..Math.Max(0, n - 1)].Fill(-1);
        for (int i = 0; i < n; i++)
        {
            int node = leafNode[i];
            if (node >= 0)
            {
                ref int label = ref nodeLabel[node - n];
                if (label < 0) label = clusters++;
                labels[i] = label;
            }
            else
            {
                labels[i] = keepSingletons || multiplicity[i] >= 2 ? clusters++ : -1;
            }
        }
        return clusters;
    }
}
