using System.Numerics.Tensors;
using PinnerSage.Ann;
using System.Runtime.InteropServices;

namespace PinnerSage.Retrieval;

/// <summary>Where <see cref="MixtureRanker"/> gets candidates: nearest-neighbour lists and the items to leave out.</summary>
public interface ICandidateSource
{
    /// <summary>The first <paramref name="fetch"/> neighbours of <paramref name="query"/>. <paramref name="row"/> ≥ 0
    /// says the query is that item's own vector (a medoid), so a cache may serve it. Valid until the next call.</summary>
    ReadOnlySpan<Neighbor> Neighbours(ReadOnlySpan<float> query, int row, int fetch);

    /// <summary>True when <paramref name="row"/> may not be recommended (an engaged item, a history item).</summary>
    bool Excluded(int row);

    /// <summary>How many rows are excluded (each list is fetched that much deeper).</summary>
    int ExcludedCount { get; }

    /// <summary>The vector of item <paramref name="row"/> (any length; the ranker normalises).</summary>
    ReadOnlySpan<float> Vector(int row);
}

/// <summary>One ranked candidate of the mixture policy: the item, its mixture score, and its reason — the cluster whose
/// term is largest and that term's share of the score.</summary>
public readonly record struct RankedItem(int Item, float Score, int Cluster, float Contribution);

/// <summary>The mixture retrieval policy for one user at a time (<see cref="InterestMixture"/>): every cluster is a
/// component, candidates come from one query at the mixture's linear centre plus the cached neighbour lists of the
/// heaviest clusters' medoids, and all of them are re-ranked by the mixture score.</summary>
/// <remarks>
/// <para>Components: the <see cref="MixtureOptions.Components"/> heaviest clusters, then one component for all the
/// rest (their importance-weighted mean anchor and summed weight), so the τ → ∞ limit stays exact while the cost per
/// candidate is bounded for users with hundreds of clusters.</para>
/// <para>Candidates (our choice): the centre Σ w_c·q_c is the τ → ∞ query, the neighbourhood a decay average would
/// search; the medoid lists reach interests the centre averages away (τ → 0). The centre fetches
/// <see cref="MixtureOptions.CentreFetch"/>·K deeper by the number of excluded items; its first
/// <see cref="MixtureOptions.CentreKeep"/>·K are always kept and the rest of K are the pool's best mixture scores; the
/// K are then ordered by the mixture score. Not thread-safe: one instance per thread; nothing is allocated once warm.</para>
/// </remarks>
public sealed class MixtureRanker
{
    private readonly int _d;
    private MixtureOptions _options = MixtureOptions.Default;
    private float[] _means = [];
    private double[] _weight = [];
    private int[] _medoid = [];
    private int[] _order = [];
    private double[] _sortKeys = [];
    private float[] _anchors = [];
    private double[] _w = [];
    private int[] _componentCluster = [];
    private float[] _dots = [];
    private readonly float[] _centre;
    private int _clusters, _components;
    private bool _hasRest;
    private readonly HashSet<int> _seen = [];
    private int[] _pool = [];
    private float[] _keys = [];
    private int[] _positions = [];
    private float[] _inv = [];
    private float[] _poolDots = [];
    private float[] _scores = [];
    private int[] _reasons = [];
    private float[] _contributions = [];
    private float[] _wf = [];

    /// <summary>A ranker for vectors of dimension <paramref name="dimension"/>.</summary>
    public MixtureRanker(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        _d = dimension;
        _centre = new float[dimension];
    }

    /// <summary>The vectors' dimension.</summary>
    public int Dimension => _d;

    /// <summary>Number of clusters loaded.</summary>
    public int Clusters => _clusters;

    /// <summary>Loads one user's interests.</summary>
    /// <param name="means">C × d: each cluster's mean of its members' unit vectors (not normalised).</param>
    /// <param name="importance">C importances ≥ 0 (any scale; normalised to weights here).</param>
    /// <param name="medoidRows">C medoid item rows (−1: none; the cluster then adds no neighbour list).</param>
    /// <param name="options">The policy's options.</param>
    /// <returns>False when no cluster has a positive weight and a non-zero centre (nothing to recommend).</returns>
    public bool Load(ReadOnlySpan<float> means, ReadOnlySpan<double> importance, ReadOnlySpan<int> medoidRows, MixtureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int c = importance.Length, d = _d;
        if (means.Length != c * d || medoidRows.Length != c)
            throw new ArgumentException($"Expected {c} × {d} means and {c} medoid rows.", nameof(means));
        _options = options;
        _clusters = c;
        Grow(ref _means, c * d);
        Grow(ref _weight, c);
        Grow(ref _medoid, c);
        Grow(ref _order, c);
        Grow(ref _sortKeys, c);
        means.CopyTo(_means);
        medoidRows.CopyTo(_medoid);
        double total = 0;
        foreach (double v in importance) total += v > 0 && double.IsFinite(v) ? v : 0;
        _components = 0;
        _centre.AsSpan().Clear();
        if (!(total > 0)) return false;
        for (int k = 0; k < c; k++)
        {
            double v = importance[k];
            _weight[k] = v > 0 && double.IsFinite(v) ? v / total : 0;
            _order[k] = k;
            _sortKeys[k] = -_weight[k];
        }
        // Heaviest first; ties by cluster index (a stable order for a stable profile).
        SortWithTies(_sortKeys.AsSpan(0, c), _order.AsSpan(0, c));

        int top = Math.Min(c, options.Components);
        _hasRest = c > top;
        _components = top + (_hasRest ? 1 : 0);
        Grow(ref _anchors, _components * d);
        Grow(ref _w, _components);
        Grow(ref _componentCluster, _components);
        Grow(ref _dots, Math.Max(_components, c));
        Span<float> anchors = _anchors.AsSpan(0, _components * d);
        anchors.Clear();
        for (int j = 0; j < c; j++)
        {
            int k = _order[j];
            ReadOnlySpan<float> q = _means.AsSpan(k * d, d);
            if (j < top)
            {
                q.CopyTo(anchors.Slice(j * d, d));
                _w[j] = _weight[k];
                _componentCluster[j] = k;
            }
            else
            {
                Span<float> rest = anchors.Slice(top * d, d);
                TensorPrimitives.MultiplyAdd(q, (float)_weight[k], rest, rest);
                _w[top] = j == top ? _weight[k] : _w[top] + _weight[k];
                _componentCluster[top] = -1;
            }
        }
        if (_hasRest && _w[top] > 0)
            TensorPrimitives.Multiply(anchors.Slice(top * d, d), (float)(1 / _w[top]), anchors.Slice(top * d, d));
        Grow(ref _wf, _components);
        for (int j = 0; j < _components; j++) _wf[j] = (float)_w[j];
        Span<float> centre = _centre;
        for (int j = 0; j < _components; j++) TensorPrimitives.MultiplyAdd(anchors.Slice(j * d, d), _wf[j], centre, centre);
        float norm = TensorPrimitives.Norm(centre);
        if (!(norm > 0)) return false;
        TensorPrimitives.Multiply(centre, 1 / norm, centre);
        return true;
    }

    /// <summary>The unit vector of the mixture's linear centre Σ w_c·q_c (after <see cref="Load"/>).</summary>
    public ReadOnlySpan<float> Centre => _centre;

    /// <summary>The mixture score of <paramref name="vector"/> (normalised here), its reason cluster and the reason's
    /// share.</summary>
    public float Score(ReadOnlySpan<float> vector, out int cluster, out float contribution)
    {
        if (vector.Length != _d) throw new ArgumentException($"Expected a vector of {_d}.", nameof(vector));
        Span<float> dots = _dots.AsSpan(0, _components);
        float inv = Dots(vector, dots);
        float score = 0;
        int best = 0;
        contribution = 0;
        InterestMixture.EvaluateRows(dots, _wf.AsSpan(0, _components), _options.Tau, new Span<float>(ref score),
                                     new Span<int>(ref best), new Span<float>(ref contribution));
        cluster = _componentCluster[best];
        if (cluster < 0) cluster = BestOfRest(vector, inv);
        return score;
    }

    /// <summary>Ranks up to <paramref name="destination"/>.Length candidates from <paramref name="source"/>, best first.</summary>
    /// <returns>How many were written.</returns>
    public int Rank(ICandidateSource source, Span<RankedItem> destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        int k = destination.Length;
        if (_components == 0 || k == 0) return 0;
        _seen.Clear();
        int pooled = 0;
        int extra = source.ExcludedCount;
        int centreFetch = (int)Math.Min(int.MaxValue - extra, Math.Ceiling(k * _options.CentreFetch)) + extra;
        AddAll(source, source.Neighbours(_centre, -1, centreFetch), ref pooled);
        int forced = Math.Min(pooled, (int)Math.Ceiling(k * _options.CentreKeep));
        int lists = Math.Min(_clusters, _options.PoolClusters);
        for (int j = 0; j < lists; j++)
        {
            int cluster = _order[j];
            int row = _medoid[cluster];
            if (row < 0) continue;
            double share = Math.Max(_weight[cluster], 1.0 / lists);
            // Not deepened by the excluded count: the centre list alone already guarantees k candidates.
            int fetch = Math.Max(_options.MinListFetch, (int)Math.Ceiling(k * share));
            AddAll(source, source.Neighbours(source.Vector(row), row, fetch), ref pooled);
        }
        // Every candidate's C dot products straight from the item table (no copy), then the mixture of all rows at once.
        int c = _components;
        Grow(ref _inv, pooled);
        Grow(ref _poolDots, pooled * c);
        Grow(ref _scores, pooled);
        Grow(ref _reasons, pooled);
        Grow(ref _contributions, pooled);
        for (int i = 0; i < pooled; i++) _inv[i] = Dots(source.Vector(_pool[i]), _poolDots.AsSpan(i * c, c));
        InterestMixture.EvaluateRows(_poolDots.AsSpan(0, pooled * c), _wf.AsSpan(0, c), _options.Tau, _scores.AsSpan(0, pooled),
                                     _reasons.AsSpan(0, pooled), _contributions.AsSpan(0, pooled));

        Grow(ref _keys, pooled);
        Grow(ref _positions, pooled);
        for (int i = 0; i < pooled; i++)
        {
            _keys[i] = -_scores[i];
            _positions[i] = i;
        }
        // Best first; equal scores in pool order (deterministic: the pool is built in a fixed order). The first `forced`
        // pool positions are the head of the centre list (added first): always taken; the others compete for the rest.
        Span<float> keys = _keys.AsSpan(0, pooled);
        Span<int> order = _positions.AsSpan(0, pooled);
        SortWithTies(keys, order);
        int n = Math.Min(pooled, k);
        int free = n - forced, written = 0;
        for (int i = 0; i < pooled && written < n; i++)
        {
            int at = order[i];
            if (at >= forced)
            {
                if (free == 0) continue;
                free--;
            }
            int cluster = _componentCluster[_reasons[at]];
            if (cluster < 0) cluster = BestOfRest(source.Vector(_pool[at]), _inv[at]);
            destination[written++] = new RankedItem(_pool[at], _scores[at], cluster, _contributions[at]);
        }
        return n;
    }

    /// <summary><paramref name="dots"/> = the unit vector of <paramref name="vector"/> against every anchor; returns
    /// 1/‖vector‖ (0 for a zero vector).</summary>
    private float Dots(ReadOnlySpan<float> vector, Span<float> dots)
    {
        ref float x = ref MemoryMarshal.GetReference(vector);
        float squared = DistanceKernels.Dot(ref x, ref x, _d);
        float inv = squared > 0 ? 1 / MathF.Sqrt(squared) : 0;
        DistanceKernels.DotMany(ref x, ref MemoryMarshal.GetArrayDataReference(_anchors), _d, dots);
        TensorPrimitives.Multiply(dots, inv, dots);
        return inv;
    }

    private void AddAll(ICandidateSource source, ReadOnlySpan<Neighbor> list, ref int pooled)
    {
        foreach (Neighbor nb in list)
        {
            if (source.Excluded(nb.Label) || !_seen.Add(nb.Label)) continue;
            if (_pool.Length == pooled) Array.Resize(ref _pool, Math.Max(64, pooled * 2));
            _pool[pooled++] = nb.Label;
        }
    }

    /// <summary>The cluster among those merged into the rest component with the largest term.</summary>
    private int BestOfRest(ReadOnlySpan<float> vector, float inv)
    {
        int d = _d, top = _components - 1, best = _order[top];
        double bestTerm = double.NegativeInfinity;
        for (int j = top; j < _clusters; j++)
        {
            int k = _order[j];
            if (!(_weight[k] > 0)) continue;
            double dot = inv * TensorPrimitives.Dot(vector, _means.AsSpan(k * d, d));
            double term = double.IsPositiveInfinity(_options.Tau) ? _weight[k] * dot : Math.Log(_weight[k]) + dot / _options.Tau;
            if (term > bestTerm)
            {
                bestTerm = term;
                best = k;
            }
        }
        return best;
    }

    /// <summary>Sorts by key ascending, equal keys by item ascending (Span.Sort alone is not stable).</summary>
    private static void SortWithTies<TKey>(Span<TKey> keys, Span<int> items) where TKey : IComparable<TKey>
    {
        keys.Sort(items);
        for (int i = 0; i < keys.Length;)
        {
            int j = i + 1;
            while (j < keys.Length && keys[j].CompareTo(keys[i]) == 0) j++;
            if (j - i > 1) items[i..j].Sort();
            i = j;
        }
    }

    private static void Grow<T>(ref T[] array, int length)
    {
        if (array.Length < length) array = new T[Math.Max(length, array.Length * 2)];
    }
}

/// <summary>Options of the mixture policy (<see cref="MixtureRanker"/>).</summary>
public sealed record MixtureOptions
{
    /// <summary>The shipped defaults (chosen on the shared datasets' validation periods; bench/results/retrieval-policies.md).</summary>
    public static MixtureOptions Default { get; } = new();

    /// <summary>Temperature τ of <see cref="InterestMixture"/>; +∞ ranks like the importance-weighted centroid average.</summary>
    public double Tau { get; init; } = 0.3;

    /// <summary>Clusters scored as their own component (the rest share one). Default 32.</summary>
    public int Components { get; init; } = 32;

    /// <summary>How many of the heaviest clusters add their medoid's neighbour list to the candidates. Default 3 — the
    /// paper's e = 3, taken by importance instead of sampled: on the six validation runs 3, 4 and 8 lists scored within
    /// 0.07 % of each other (0 lists 0.1 % less, most of it recall on image vectors), while each uncached list costs
    /// about one HNSW search (bench/results/retrieval-policies.md, serving cost).</summary>
    public int PoolClusters { get; init; } = 3;

    /// <summary>The centre query fetches this many times K. Default 1.5 (chosen on validation with <see cref="CentreKeep"/>).</summary>
    public double CentreFetch { get; init; } = 1.5;

    /// <summary>Share of K always taken from the head of the centre list, in its order: the neighbours the
    /// importance-weighted average itself would return; the rest of K goes to the pool's best mixture scores. Default 0.9
    /// (chosen on validation: the mixture's gain is in the ranking and in the interests the average misses, while the
    /// average's own neighbourhood is hard to beat as a set; 0 let the mixture replace up to a quarter of it and lost
    /// relevance on every dataset).</summary>
    public double CentreKeep { get; init; } = 0.9;

    /// <summary>The least a medoid list fetches. Default 10.</summary>
    public int MinListFetch { get; init; } = 10;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value out of range (named).</exception>
    public void Validate()
    {
        if (!(Tau > 0) || double.IsNaN(Tau)) throw new ArgumentOutOfRangeException(nameof(Tau), Tau, "tau must be > 0 (or +∞).");
        ArgumentOutOfRangeException.ThrowIfLessThan(Components, 1, nameof(Components));
        ArgumentOutOfRangeException.ThrowIfNegative(PoolClusters, nameof(PoolClusters));
        if (!(CentreKeep >= 0 && CentreKeep <= 1))
            throw new ArgumentOutOfRangeException(nameof(CentreKeep), CentreKeep, "must be in [0, 1].");
        if (!(CentreFetch >= 0) || !double.IsFinite(CentreFetch))
            throw new ArgumentOutOfRangeException(nameof(CentreFetch), CentreFetch, "must be a finite number ≥ 0.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MinListFetch, 1, nameof(MinListFetch));
    }
}
