using PinnerSage.Clustering;

namespace PinnerSage.Evaluation;

/// <summary>One clustering of a user's distinct history items: labels (−1 = in no cluster) and medoids, both as
/// indices of distinct items.</summary>
internal sealed class ClusterResult
{
    public int Count;
    public int[] Labels = new int[64];
    public int[] Medoids = new int[64];
    public bool Valid;
}

/// <summary>What a method sees of one evaluation point: the history actions (items with a vector, sorted by time,
/// all strictly before <see cref="Now"/>), their distinct items, and lazily computed clusterings shared by the
/// PinnerSage variants. Per-thread and reused between points, so a warm point allocates nothing beyond growth.</summary>
/// <remarks>Clusterings are computed once per point and per kind (Ward, K-means, complete linkage) on the distinct
/// items' unit vectors with size 1 each, as <see cref="Profiles.UserProfileBuilder"/> does by default; a cluster's
/// importance counts every action (repeats included).</remarks>
internal sealed class UserHistory
{
    private readonly float[] _unit;
    private readonly double _alpha;
    private readonly bool _keepSingletons;
    private readonly UserClusterer _ward;
    private readonly ClusterResult[] _clusterings = [new(), new(), new()];
    private readonly float[] _scratch;

    private int[] _rows = new int[64];
    private long[] _times = new long[64];
    private int[] _actionItem = new int[64];
    private int[] _distinct = new int[64];
    private int[] _multiplicity = new int[64];
    private int[] _ones = new int[64];
    private float[] _vectors = [];
    private double[] _importance = new double[64];
    private double[] _keys = new double[64];
    private int[] _picked = new int[64];
    private float[] _centroids = [];
    private int _m, _n;
    private ClusterResult[] _wardAt = new ClusterResult[4];
    private double[] _wardAtAlpha = new double[4];
    private int _wardAtCount;

    public UserHistory(float[] unit, int dimension, double alpha, bool keepSingletons)
    {
        _unit = unit;
        Dimension = dimension;
        _alpha = alpha;
        _keepSingletons = keepSingletons;
        _ward = new UserClusterer(dimension);
        _scratch = new float[dimension];
        Array.Fill(_ones, 1);
    }

    public int Dimension { get; }

    /// <summary>The unit-normalised catalogue (rows × d).</summary>
    public ReadOnlySpan<float> Unit => _unit;

    /// <summary>The same, as memory (kept by scored methods between calls).</summary>
    public ReadOnlyMemory<float> UnitMemory => _unit;

    /// <summary>The evaluation's Ward cut height α.</summary>
    public double Alpha => _alpha;

    /// <summary>Item row of each history action, oldest first.</summary>
    public ReadOnlySpan<int> Rows => _rows.AsSpan(0, _m);

    /// <summary>The profile's now: every history action is strictly before it.</summary>
    public long Now { get; private set; }

    /// <summary>Seed of this point's sampling (shared by every method: common random numbers).</summary>
    public ulong Seed { get; private set; }

    /// <summary>Number of distinct history items.</summary>
    public int Distinct => _n;

    /// <summary>A d-float scratch vector for the averaging methods.</summary>
    public Span<float> Scratch => _scratch;

    /// <summary>Loads a history: <paramref name="rows"/> (−1 entries, items without a vector, are skipped) and
    /// <paramref name="times"/>, time-sorted, all &lt; <paramref name="now"/>.</summary>
    public void Reset(ReadOnlySpan<int> rows, ReadOnlySpan<long> times, long now, ulong seed)
    {
        Now = now;
        Seed = seed;
        Grow(ref _rows, rows.Length);
        Grow(ref _times, rows.Length);
        Grow(ref _actionItem, rows.Length);
        _m = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i] < 0) continue;
            _rows[_m] = rows[i];
            _times[_m++] = times[i];
        }

        // Distinct items in ascending row order (deterministic cluster numbering).
        Grow(ref _distinct, _m);
        Grow(ref _multiplicity, _m);
        _rows.AsSpan(0, _m).CopyTo(_distinct);
        Span<int> distinct = _distinct.AsSpan(0, _m);
        distinct.Sort();
        _n = 0;
        for (int i = 0; i < _m; i++)
        {
            if (_n == 0 || distinct[i] != distinct[_n - 1]) distinct[_n++] = distinct[i];
        }
        _multiplicity.AsSpan(0, _n).Clear();
        for (int i = 0; i < _m; i++)
        {
            int k = _distinct.AsSpan(0, _n).BinarySearch(_rows[i]);
            _actionItem[i] = k;
            _multiplicity[k]++;
        }
        int d = Dimension;
        Grow(ref _vectors, _n * d);
        for (int i = 0; i < _n; i++) DistinctVector(i).CopyTo(_vectors.AsSpan(i * d, d));
        foreach (ClusterResult c in _clusterings) c.Valid = false;
        _wardAtCount = 0;
    }

    /// <summary>Age of history action i in days at <see cref="Now"/>.</summary>
    public double AgeDays(int i) => (Now - _times[i]) / (double)UnixTime.SecondsPerDay;

    /// <summary>Item row of distinct item i.</summary>
    public int DistinctRow(int i) => _distinct[i];

    /// <summary>Unit vector of distinct item i.</summary>
    public ReadOnlySpan<float> DistinctVector(int i) => _unit.AsSpan(_distinct[i] * Dimension, Dimension);

    /// <summary>Distinct items' rows.</summary>
    public ReadOnlySpan<int> DistinctRows => _distinct.AsSpan(0, _n);

    /// <summary>The clustering of the distinct items by <paramref name="kind"/>, computed on first use.</summary>
    public ClusterResult Clusters(UserClustering kind)
    {
        ClusterResult c = _clusterings[(int)kind];
        if (c.Valid) return c;
        Grow(ref c.Labels, _n);
        Grow(ref c.Medoids, _n);
        EnsureOnes();
        ReadOnlySpan<float> vectors = _vectors.AsSpan(0, _n * Dimension);
        ReadOnlySpan<int> ones = _ones.AsSpan(0, _n);
        c.Count = kind switch
        {
            UserClustering.Ward => _ward.Cluster(vectors, ones, _alpha, _keepSingletons, c.Labels, c.Medoids),
            UserClustering.KMeans5 => KMeansClustering.Cluster(vectors, Dimension, ones, 5, Seed, c.Labels, c.Medoids),
            _ => CompleteLinkage.Cluster(vectors, Dimension, ones, CompleteLinkage.ThresholdFromAlpha(_alpha), _keepSingletons, c.Labels, c.Medoids),
        };
        c.Valid = true;
        return c;
    }

    /// <summary>Ward at cut height <paramref name="alpha"/> (the variants that tune α), computed once per point and
    /// height.</summary>
    public ClusterResult WardAt(double alpha)
    {
        if (alpha == _alpha) return Clusters(UserClustering.Ward);
        for (int i = 0; i < _wardAtCount; i++)
        {
            if (_wardAtAlpha[i] == alpha) return _wardAt[i];
        }
        if (_wardAtCount == _wardAt.Length)
        {
            Array.Resize(ref _wardAt, _wardAt.Length * 2 + 1);
            Array.Resize(ref _wardAtAlpha, _wardAt.Length);
        }
        ClusterResult c = _wardAt[_wardAtCount] ??= new ClusterResult();
        _wardAtAlpha[_wardAtCount++] = alpha;
        Grow(ref c.Labels, _n);
        Grow(ref c.Medoids, _n);
        EnsureOnes();
        c.Count = _ward.Cluster(_vectors.AsSpan(0, _n * Dimension), _ones.AsSpan(0, _n), alpha, _keepSingletons, c.Labels, c.Medoids);
        c.Valid = true;
        return c;
    }

    private void EnsureOnes()
    {
        if (_ones.Length >= _n) return;
        _ones = new int[Math.Max(_n, _ones.Length * 2)];
        Array.Fill(_ones, 1);
    }

    /// <summary>Mean of each cluster's member unit vectors, not normalised (a spread cluster's is shorter),
    /// c.Count × d.</summary>
    public Span<float> Means(ClusterResult c) => ClusterCentroids(c, normalize: false);

    /// <summary>Importance Σ exp(−λ·Δdays) of each cluster over its actions (valid until the next call).</summary>
    public Span<double> Importance(ClusterResult c, double lambda)
    {
        Grow(ref _importance, c.Count);
        Span<double> importance = _importance.AsSpan(0, c.Count);
        importance.Clear();
        for (int i = 0; i < _m; i++)
        {
            int k = c.Labels[_actionItem[i]];
            if (k >= 0) importance[k] += Math.Exp(-lambda * AgeDays(i));
        }
        return importance;
    }

    /// <summary>Scratch for the sampler's keys.</summary>
    public Span<double> Keys(int n)
    {
        Grow(ref _keys, n);
        return _keys.AsSpan(0, n);
    }

    /// <summary>Scratch for the picked cluster indices.</summary>
    public Span<int> Picked(int n)
    {
        Grow(ref _picked, n);
        return _picked.AsSpan(0, n);
    }

    /// <summary>Unit-normalised centroid of each cluster (each distinct item once), c.Count × d.</summary>
    public Span<float> Centroids(ClusterResult c) => ClusterCentroids(c, normalize: true);

    /// <summary>Both of the above share one buffer (valid until the next call of either).</summary>
    private Span<float> ClusterCentroids(ClusterResult c, bool normalize)
    {
        Grow(ref _centroids, c.Count * Dimension);
        Span<float> centroids = _centroids.AsSpan(0, c.Count * Dimension);
        Centroid.Compute(_vectors.AsSpan(0, _n * Dimension), Dimension, _ones.AsSpan(0, _n), c.Labels.AsSpan(0, _n),
                         c.Count, normalize, centroids);
        return centroids;
    }

    /// <summary>Grows <paramref name="array"/> to at least <paramref name="length"/> (doubling; contents not kept).</summary>
    internal static void Grow<T>(ref T[] array, int length)
    {
        if (array.Length < length) array = new T[Math.Max(length, array.Length * 2)];
    }
}
