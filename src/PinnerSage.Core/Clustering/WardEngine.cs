using System.Diagnostics;
using PinnerSage.Numerics;

namespace PinnerSage.Clustering;

/// <summary>Which Lance–Williams update the engine's chain uses.</summary>
internal enum LinkageKind
{
    /// <summary>Ward's method on heights √d (the PinnerSage default).</summary>
    Ward,

    /// <summary>Complete linkage on Euclidean distances (the paper's variant); multiplicities do not change it.</summary>
    Complete,
}

/// <summary>Reusable scratch and the pipeline of one Ward (or complete-linkage) run: widen → pairwise distances →
/// NN-chain → tree; then any number of α cuts and medoid passes over it. Not thread-safe; one per thread.</summary>
/// <remarks>Memory (our choice): the condensed n(n−1)/2 pairwise squared distances (kept for the medoids) and the full
/// n × n matrix of Ward heights the chain works on and destroys (see <see cref="NnChain"/>), i.e. 12·n² bytes, plus
/// O(n·d). Buffers only grow (by at least a quarter, to the largest n and d seen), so a warm call allocates nothing.</remarks>
internal sealed class WardEngine
{
    private double[] _rows = [];
    private double[] _pairwise = [];
    private double[] _heights = [];
    private double[] _penalty = [];
    private nint[] _rowOffset = [];
    private double[] _size = [];
    private int[] _chain = [];
    private int[] _slotOf = [];
    private int[] _newIndex = [];
    private NnChainMerge[] _merges = [];
    private double[] _keys = [];
    private int[] _ascending = [];
    private int[] _sortScratch = [];
    private int[] _nodeOfSlot = [];
    private int[] _left = [];
    private int[] _right = [];
    private int[] _parent = [];
    private bool[] _blocked = [];
    private int[] _leafNode = [];
    private int[] _nodeLabel = [];
    private int[] _stack = [];
    private int[] _start = [];
    private int[] _members = [];
    private double[] _sums = [];
    private int[] _ones = [];

    /// <summary>Items of the current run.</summary>
    public int Count { get; private set; }

    /// <summary>Merges of the current run in chain order.</summary>
    public ReadOnlySpan<NnChainMerge> Merges => _merges.AsSpan(0, Math.Max(0, Count - 1));

    /// <summary>Merge indices in stable ascending distance.</summary>
    public ReadOnlySpan<int> Ascending => _ascending.AsSpan(0, Math.Max(0, Count - 1));

    /// <summary>Condensed pairwise squared distances of the current run.</summary>
    public ReadOnlySpan<double> Pairwise => _pairwise.AsSpan(0, (int)PairwiseDistances.PairCount(Count));

    /// <summary>Row offsets of the condensed layout for the current run.</summary>
    public ReadOnlySpan<nint> RowOffset => _rowOffset.AsSpan(0, Count);

    /// <summary>Left and right child node of merge k (chain order; leaves 0…n−1, merge k = node n + k).</summary>
    public ReadOnlySpan<int> Left => _left.AsSpan(0, Math.Max(0, Count - 1));

    /// <inheritdoc cref="Left"/>
    public ReadOnlySpan<int> Right => _right.AsSpan(0, Math.Max(0, Count - 1));

    /// <summary>Squared Euclidean distance of items i and j (0 when equal).</summary>
    public double SquaredDistance(int i, int j)
        => i == j ? 0 : i < j ? _pairwise[_rowOffset[i] + j] : _pairwise[_rowOffset[j] + i];

    /// <summary>Ones, for callers without multiplicities.</summary>
    public ReadOnlySpan<int> Ones(int n)
    {
        if (_ones.Length < n)
        {
            _ones = new int[Grow(_ones.Length, n)];
            _ones.AsSpan().Fill(1);
        }
        return _ones.AsSpan(0, n);
    }

    /// <summary>Clusters n items (inputs validated by the caller; returns false when a value is NaN or infinite).</summary>
    public bool Linkage(ReadOnlySpan<float> vectors, int n, int dimension, ReadOnlySpan<int> multiplicity)
        => Linkage(vectors, n, dimension, multiplicity, LinkageKind.Ward);

    /// <summary>Clusters n items with the given linkage (inputs validated by the caller; false on NaN or ∞).</summary>
    public bool Linkage(ReadOnlySpan<float> vectors, int n, int dimension, ReadOnlySpan<int> multiplicity, LinkageKind kind)
    {
        Debug.Assert(vectors.Length == n * dimension && multiplicity.Length == n);
        EnsureCapacity(n, dimension);
        Count = n;
        int stride = PairwiseDistances.PaddedStride(dimension);
        if (!PairwiseDistances.Widen(vectors, n, dimension, _rows, stride)) return false;
        int pairs = (int)PairwiseDistances.PairCount(n);
        Span<double> pairwise = _pairwise.AsSpan(0, pairs);
        PairwiseDistances.SquaredEuclideanCondensed(_rows, n, stride, pairwise);
        for (int i = 0; i < n; i++)
        {
            _rowOffset[i] = PairwiseDistances.RowOffset(n, i);
            _size[i] = multiplicity[i];
        }
        // The chain works on heights √d (see LanceWilliams: scipy's arithmetic, so ties break as in scipy) in a full
        // n × n matrix.
        Span<double> heights = _heights.AsSpan(0, n * n);
        // Complete linkage: duplicates of an item merge at height 0 and a max ignores sizes, so multiplicities leave
        // every initial distance as it is.
        HeightMatrix.Build(pairwise, n, _size, kind == LinkageKind.Complete || AllOnes(multiplicity), heights);
        if (kind == LinkageKind.Complete)
            NnChain.Run<CompleteUpdate>(heights, n, _size, _penalty, _chain, _slotOf, _newIndex, _merges);
        else
            NnChain.Run<WardUpdate>(heights, n, _size, _penalty, _chain, _slotOf, _newIndex, _merges);
        int m = Math.Max(0, n - 1);
        for (int k = 0; k < m; k++) _keys[k] = _merges[k].Height;
        MergeOrder.SortStable(_keys.AsSpan(0, m), _ascending, _sortScratch);
        AlphaCut.BuildTree(Merges, n, _nodeOfSlot, _left, _right, _parent);
        return true;
    }

    /// <summary>α cut of the current run; returns the number of clusters.</summary>
    public int Cut(ReadOnlySpan<int> multiplicity, double alpha, bool keepSingletons, Span<int> labels)
        => AlphaCut.Cut(Count, Merges, Left, Right, _parent, Ascending, multiplicity, alpha, keepSingletons, labels,
                        _blocked, _leafNode, _nodeLabel, _stack);

    /// <summary>Medoids of the clusters given by <paramref name="labels"/>.</summary>
    public void Medoids(ReadOnlySpan<int> multiplicity, ReadOnlySpan<int> labels, int clusters, Span<int> medoids)
        => Medoid.Compute(Pairwise, RowOffset, Count, multiplicity, labels, clusters, medoids, _start, _members, _sums);

    private static bool AllOnes(ReadOnlySpan<int> multiplicity)
    {
        foreach (int k in multiplicity)
            if (k != 1) return false;
        return true;
    }

    // Growth by a quarter (our choice): the condensed matrices are quadratic in n, so overshooting is expensive.
    private static int Grow(int current, int needed) => Math.Max(needed, current + current / 4);

    private void EnsureCapacity(int n, int dimension)
    {
        Debug.Assert(n <= UserClusterer.MaxItems);
        n = Math.Max(n, 1); // the medoid pass needs clusters + 1 entries even for no items
        int stride = PairwiseDistances.PaddedStride(dimension);
        if (_rows.Length < n * stride) _rows = new double[Grow(_rows.Length, n * stride)];
        if (_size.Length >= n) return;
        int c = Math.Min(Grow(_size.Length, n), UserClusterer.MaxItems); // so c × c still fits one array
        int pairs = (int)Math.Min(PairwiseDistances.PairCount(c), Array.MaxLength);
        _pairwise = new double[pairs];
        _heights = new double[c * c];
        _penalty = new double[c];
        _rowOffset = new nint[c];
        _size = new double[c];
        _chain = new int[c];
        _slotOf = new int[c];
        _newIndex = new int[c];
        _merges = new NnChainMerge[c];
        _keys = new double[c];
        _ascending = new int[c];
        _sortScratch = new int[c];
        _nodeOfSlot = new int[c];
        _left = new int[c];
        _right = new int[c];
        _parent = new int[2 * c];
        _blocked = new bool[2 * c];
        _leafNode = new int[c];
        _nodeLabel = new int[c];
        _stack = new int[c + 1];
        _start = new int[c + 1];
        _members = new int[c];
        _sums = new double[c];
    }
}
