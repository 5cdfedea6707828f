using PinnerSage.Clustering;

namespace PinnerSage.Tests.Clustering;

/// <summary>The paper's α cut on hand-built dendrograms (slot-numbered merges, as the chain records them).</summary>
public sealed class AlphaCutTests
{
    // Items 0…4: {0,1} at h 1, {2,3} at h 2, {0,1,4} at h 3, everything at h 5 (squared distances 1, 4, 9, 25).
    private static readonly NnChainMerge[] Monotone =
    [
        new(0, 1, 1, 2), new(2, 3, 2, 2), new(1, 4, 3, 3), new(3, 4, 5, 5),
    ];

    [Theory]
    [InlineData(0.5, false, new[] { -1, -1, -1, -1, -1 })]   // α below every merge
    [InlineData(0.5, true, new[] { 0, 1, 2, 3, 4 })]
    [InlineData(1.0, false, new[] { 0, 0, -1, -1, -1 })]     // α equal to a merge distance keeps it
    [InlineData(4.0, false, new[] { 0, 0, 1, 1, -1 })]
    [InlineData(4.0, true, new[] { 0, 0, 1, 1, 2 })]
    [InlineData(9.0, false, new[] { 0, 0, 1, 1, 0 })]
    [InlineData(24.9, true, new[] { 0, 0, 1, 1, 0 })]
    [InlineData(25.0, false, new[] { 0, 0, 0, 0, 0 })]        // α at/above all: one cluster
    [InlineData(double.PositiveInfinity, false, new[] { 0, 0, 0, 0, 0 })]
    public void CutsAMonotoneDendrogram(double alpha, bool keepSingletons, int[] expected)
        => Assert.Equal(expected, Cut(Monotone, 5, alpha, keepSingletons, ones: true));

    [Fact]
    public void KeptSetsAreDisjointEvenWhenAParentIsLowerThanItsChild()
    {
        // A rounding inversion: {0,1} at h 2, then {0,1,2} at h 1. Largest first, {0,1} is kept; its parent is not
        // disjoint from it, so item 2 is in no kept set.
        NnChainMerge[] inverted = [new(0, 1, 2, 2), new(1, 2, 1, 3)];
        Assert.Equal([0, 0, -1], Cut(inverted, 3, 4.0, keepSingletons: false, ones: true));
        Assert.Equal([0, 0, 1], Cut(inverted, 3, 4.0, keepSingletons: true, ones: true));
    }

    [Fact]
    public void AParentAtTheSameDistanceAsItsChildIsKeptWhole()
    {
        // Three duplicates: {0,1} at 0 then {0,1,2} at 0; the parent comes first in the descending order.
        NnChainMerge[] duplicates = [new(0, 1, 0, 2), new(1, 2, 0, 3)];
        Assert.Equal([0, 0, 0], Cut(duplicates, 3, 0.0, keepSingletons: false, ones: true));
    }

    [Fact]
    public void AnItemWithMultiplicityIsAClusterOfItsOwnWhenInNoKeptSet()
    {
        // Multiplicities [1, 1, 1, 1, 3]: item 4's three actions merged at 0, so it is a cluster at any α ≥ 0.
        Assert.Equal([-1, -1, -1, -1, 0], Cut(Monotone, 5, 0.5, keepSingletons: false, ones: false));
        Assert.Equal([0, 0, 1, 1, 2], Cut(Monotone, 5, 4.0, keepSingletons: false, ones: false));
        Assert.Equal([0, 0, 1, 1, 0], Cut(Monotone, 5, 9.0, keepSingletons: false, ones: false));
    }

    [Fact]
    public void ClustersAreNumberedBySmallestMember()
    {
        // {3,4} at h 1, {0,2} at h 2: cluster 0 must be {0,2}.
        NnChainMerge[] merges = [new(3, 4, 1, 2), new(0, 2, 2, 2), new(1, 2, 9, 3), new(2, 4, 9, 5)];
        Assert.Equal([0, -1, 0, 1, 1], Cut(merges, 5, 4.0, keepSingletons: false, ones: true));
    }

    private static int[] Cut(NnChainMerge[] merges, int n, double alpha, bool keepSingletons, bool ones)
    {
        int[] multiplicity = ones ? Enumerable.Repeat(1, n).ToArray() : [1, 1, 1, 1, 3];
        int[] left = new int[n], right = new int[n], parent = new int[2 * n], nodeOfSlot = new int[n];
        AlphaCut.BuildTree(merges, n, nodeOfSlot, left, right, parent);
        int[] ascending = new int[n - 1];
        MergeOrder.SortStable(merges.Select(m => m.Height).ToArray(), ascending, new int[n]);
        var labels = new int[n];
        int clusters = AlphaCut.Cut(n, merges, left, right, parent, ascending, multiplicity, alpha, keepSingletons, labels,
                                    new bool[2 * n], new int[n], new int[n], new int[n + 1]);
        Assert.Equal(labels.Length == 0 ? 0 : labels.Max() + 1, clusters);
        return labels;
    }
}
