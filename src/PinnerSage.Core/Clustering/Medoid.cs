using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PinnerSage.Clustering;

/// <summary>Medoid of each cluster from the stored pairwise distance matrix.</summary>
/// <remarks>
/// papers/PINNERSAGE.md, Model step 2 (Pal et al., KDD 2020, §3.2): the medoid of C is the member m minimising
/// Σ_{j∈C} ‖P_m − P_j‖², reusing the distance matrix computed for Ward. (our choice) With multiplicities each member
/// counts n_j times: Σ_j n_j·‖P_m − P_j‖², which is what the expanded list of actions gives; ties go to the lowest item
/// index. Each pair of a cluster is read once and added to both ends: O(Σ|C|²) ≤ O(n²) time, O(n) scratch.
/// </remarks>
internal static class Medoid
{
    /// <summary>Writes <paramref name="medoids"/>[c] for every cluster c &lt; <paramref name="clusters"/>.</summary>
    /// <param name="pairwise">Condensed squared distances of the n items (not Ward-updated).</param>
    /// <param name="rowOffset">Row offsets of the condensed layout.</param>
    /// <param name="n">Number of items.</param>
    /// <param name="multiplicity">Actions per item.</param>
    /// <param name="labels">Cluster of each item or −1.</param>
    /// <param name="clusters">Number of clusters.</param>
    /// <param name="medoids">Medoid item index per cluster, out.</param>
    /// <param name="start">clusters + 1 ints of scratch.</param>
    /// <param name="members">n ints of scratch.</param>
    /// <param name="sums">n doubles of scratch.</param>
    public static void Compute(ReadOnlySpan<double> pairwise, ReadOnlySpan<nint> rowOffset, int n,
                               ReadOnlySpan<int> multiplicity, ReadOnlySpan<int> labels, int clusters, Span<int> medoids,
                               Span<int> start, Span<int> members, Span<double> sums)
    {
        Debug.Assert(start.Length >= clusters + 1 && members.Length >= n && sums.Length >= n);
        // Counting sort of the items by cluster; members stay in increasing index order within a cluster.
        start[..(clusters + 1)].Clear();
        for (int i = 0; i < n; i++)
            if (labels[i] >= 0) start[labels[i] + 1]++;
        for (int c = 0; c < clusters; c++) start[c + 1] += start[c];
        for (int i = 0; i < n; i++)
            if (labels[i] >= 0) members[start[labels[i]]++] = i;
        for (int c = clusters; c > 0; c--) start[c] = start[c - 1];
        start[0] = 0;

        ref double p0 = ref MemoryMarshal.GetReference(pairwise);
        for (int c = 0; c < clusters; c++)
        {
            ReadOnlySpan<int> cluster = members[start[c]..start[c + 1]];
            Span<double> s = sums[..cluster.Length];
            s.Clear();
            for (int a = 0; a < cluster.Length; a++)
            {
                int i = cluster[a];
                nint offset = rowOffset[i];
                double sa = 0;
                double wi = multiplicity[i];
                for (int b = a + 1; b < cluster.Length; b++)
                {
                    int j = cluster[b];
                    double d = Unsafe.Add(ref p0, offset + j);
                    sa += multiplicity[j] * d;
                    s[b] += wi * d;
                }
                s[a] += sa;
            }
            int best = 0;
            for (int a = 1; a < cluster.Length; a++)
                if (s[a] < s[best]) best = a;
            medoids[c] = cluster[best];
        }
    }
}
