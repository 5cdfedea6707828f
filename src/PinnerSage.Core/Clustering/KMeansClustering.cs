using System.Diagnostics;
using PinnerSage.Numerics;

namespace PinnerSage.Clustering;

/// <summary>The paper's K-means variant of the per-user model (papers/PINNERSAGE.md, "Offline evaluation protocol":
/// K-means with k = 5 instead of Ward): k-means++ seeding, then Lloyd's iterations, then a medoid per cluster.</summary>
/// <remarks>
/// <para>Seeding: Arthur &amp; Vassilvitskii, "k-means++: the advantages of careful seeding", SODA 2007, §2.2 (D²
/// weighting), here weighted by multiplicity: the first centre is item i with probability ∝ k_i, each next one ∝
/// k_i·D(i)², D = distance to the nearest centre so far. Iterations: Lloyd, "Least squares quantization in PCM", IEEE
/// Trans. Inf. Theory 28 (1982): assign every item to its nearest centroid (ties: the lowest centroid), move each
/// centroid to its members' multiplicity-weighted mean; stop when no assignment changes or after
/// <see cref="MaxIterations"/>. Each step does not increase Σ k_i·‖x_i − c_{label(i)}‖².</para>
/// <para>(our choice) Deterministic: one <see cref="SplitMix64"/> stream from <c>seed</c>; plain (not "greedy")
/// k-means++. k_eff = min(k, n); seeding stops early when every item already coincides with a centre (fewer distinct
/// points than k), and a centroid that loses all its members keeps its position and is dropped at the end, so the
/// result may have fewer than k clusters. Every item gets a cluster (no −1). Distances in double, as Ward's.</para>
/// <para>Medoids as <c>Medoid.cs</c> defines them (the member minimising Σ_j k_j·‖P_m − P_j‖²), from the condensed
/// pairwise matrix that also serves the seeding. Cost O(n²·d) for that matrix + O(n·k·d) per iteration; scratch is
/// per thread and reused, so a warm call allocates nothing.</para>
/// </remarks>
public static class KMeansClustering
{
    /// <summary>Iteration cap of Lloyd's loop (our choice: per-user data converge in a handful of steps).</summary>
    public const int MaxIterations = 100;

    [ThreadStatic] private static Scratch? t_scratch;

    /// <summary>Clusters n = <paramref name="multiplicity"/>.Length items into at most <paramref name="k"/> clusters.
    /// Writes <c>labels[i]</c> = cluster 0…c−1 (numbered by smallest member index) and <c>medoids[c]</c> = the item
    /// index of cluster c's medoid; returns c ≤ min(k, n).</summary>
    /// <param name="vectors">n × <paramref name="dimension"/> floats, finite.</param>
    /// <param name="dimension">Vector dimension ≥ 1.</param>
    /// <param name="multiplicity">n counts ≥ 1 (actions per item: the item's weight).</param>
    /// <param name="k">Number of clusters requested, ≥ 1.</param>
    /// <param name="seed">Seed of the k-means++ draws; the same inputs and seed give the same result.</param>
    /// <param name="labels">At least n entries.</param>
    /// <param name="medoids">At least min(k, n) entries.</param>
    /// <exception cref="ArgumentException">Length mismatch, a multiplicity &lt; 1, a NaN or infinite value, or output
    /// spans too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> or <paramref name="k"/> ≤ 0; more than
    /// <see cref="UserClusterer.MaxItems"/> items.</exception>
    public static int Cluster(ReadOnlySpan<float> vectors, int dimension, ReadOnlySpan<int> multiplicity, int k,
                              ulong seed, Span<int> labels, Span<int> medoids)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        int n = multiplicity.Length;
        WardClustering.ValidateInput(vectors, n, dimension, multiplicity);
        if (labels.Length < n) ThrowHelper.Argument(nameof(labels), $"needs {n} entries, has {labels.Length}.");
        int kEff = Math.Min(k, n);
        if (medoids.Length < kEff) ThrowHelper.Argument(nameof(medoids), $"needs {kEff} entries, has {medoids.Length}.");
        Scratch scratch = t_scratch ??= new Scratch();
        if (!scratch.Load(vectors, n, dimension))
            ThrowHelper.Argument(nameof(vectors), "contains NaN or infinite values.");
        int centres = scratch.SeedPlusPlus(multiplicity, kEff, seed);
        scratch.Lloyd(multiplicity, centres, labels, null);
        int clusters = Renumber(labels[..n], centres, scratch.Map);
        Medoid.Compute(scratch.Pairwise, scratch.RowOffset, n, multiplicity, labels, clusters, medoids,
                       scratch.Start, scratch.Members, scratch.Sums);
        return clusters;
    }

    /// <summary>Relabels so clusters are numbered by smallest member (empty centroids vanish); returns the count.</summary>
    private static int Renumber(Span<int> labels, int centres, Span<int> map)
    {
        map[..centres].Fill(-1);
        int clusters = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            ref int m = ref map[labels[i]];
            if (m < 0) m = clusters++;
            labels[i] = m;
        }
        return clusters;
    }

    /// <summary>Per-thread working memory and the two phases, internal so tests can check each against a reference.</summary>
    internal sealed class Scratch
    {
        private double[] _rows = [];
        private double[] _pairwise = [];
        private nint[] _rowOffset = [];
        private double[] _nearest = [];
        private int[] _centreItems = [];
        private double[] _centroids = [];
        private double[] _weights = [];
        private int[] _map = [];
        private int[] _start = [];
        private int[] _members = [];
        private double[] _sums = [];
        private int _n;
        private int _stride;

        public ReadOnlySpan<double> Pairwise => _pairwise.AsSpan(0, (int)PairwiseDistances.PairCount(_n));
        public ReadOnlySpan<nint> RowOffset => _rowOffset.AsSpan(0, _n);
        public Span<int> Map => _map;
        public Span<int> Start => _start;
        public Span<int> Members => _members;
        public Span<double> Sums => _sums;

        /// <summary>Item indices chosen as initial centres by the last <see cref="SeedPlusPlus"/>.</summary>
        public ReadOnlySpan<int> CentreItems(int centres) => _centreItems.AsSpan(0, centres);

        /// <summary>Centroid c (double, padded stride) after <see cref="Lloyd"/>.</summary>
        public ReadOnlySpan<double> CentroidRow(int c, int dimension) => _centroids.AsSpan(c * _stride, dimension);

        /// <summary>Widens the items and computes their condensed pairwise squared distances; false on NaN/∞.</summary>
        public bool Load(ReadOnlySpan<float> vectors, int n, int dimension)
        {
            _n = n;
            _stride = PairwiseDistances.PaddedStride(dimension);
            int c = Math.Max(n, 1);
            if (_rows.Length < c * _stride) _rows = new double[c * _stride];
            if (_rowOffset.Length < c)
            {
                _pairwise = new double[PairwiseDistances.PairCount(c)];
                _rowOffset = new nint[c];
                _nearest = new double[c];
                _centreItems = new int[c];
                _map = new int[c];
                _start = new int[c + 1];
                _members = new int[c];
                _sums = new double[c];
                _weights = new double[c];
            }
            if (_centroids.Length < c * _stride) _centroids = new double[c * _stride];
            if (!PairwiseDistances.Widen(vectors, n, dimension, _rows, _stride)) return false;
            PairwiseDistances.SquaredEuclideanCondensed(_rows, n, _stride, _pairwise);
            for (int i = 0; i < n; i++) _rowOffset[i] = PairwiseDistances.RowOffset(n, i);
            return true;
        }

        private double Distance(int i, int j)
            => i == j ? 0 : i < j ? _pairwise[_rowOffset[i] + j] : _pairwise[_rowOffset[j] + i];

        /// <summary>Weighted k-means++ (D² sampling); writes the centres' rows as initial centroids and returns how many
        /// were chosen (fewer than <paramref name="k"/> when every item already sits on a centre).</summary>
        public int SeedPlusPlus(ReadOnlySpan<int> multiplicity, int k, ulong seed)
        {
            int n = _n;
            if (n == 0) return 0;
            var random = new SplitMix64(seed);
            double total = 0;
            for (int i = 0; i < n; i++) total += multiplicity[i];
            int first = Draw(multiplicity, ReadOnlySpan<double>.Empty, total, random.NextDoubleNonZero());
            int centres = 0;
            _centreItems[centres++] = first;
            for (int i = 0; i < n; i++) _nearest[i] = Distance(i, first);
            while (centres < k)
            {
                total = 0;
                for (int i = 0; i < n; i++) total += multiplicity[i] * _nearest[i];
                if (!(total > 0)) break;
                int next = Draw(multiplicity, _nearest.AsSpan(0, n), total, random.NextDoubleNonZero());
                _centreItems[centres++] = next;
                for (int i = 0; i < n; i++) _nearest[i] = Math.Min(_nearest[i], Distance(i, next));
            }
            for (int c = 0; c < centres; c++)
                _rows.AsSpan(_centreItems[c] * _stride, _stride).CopyTo(_centroids.AsSpan(c * _stride, _stride));
            return centres;
        }

        /// <summary>The first item whose cumulative weight k_i (× d_i when given) reaches u·total, skipping zero
        /// weights so an item already on a centre is never drawn again.</summary>
        private static int Draw(ReadOnlySpan<int> multiplicity, ReadOnlySpan<double> d2, double total, double u)
        {
            double target = u * total, cumulative = 0;
            int last = -1;
            for (int i = 0; i < multiplicity.Length; i++)
            {
                double w = d2.IsEmpty ? multiplicity[i] : multiplicity[i] * d2[i];
                if (w <= 0) continue;
                last = i;
                cumulative += w;
                if (cumulative >= target) return i;
            }
            Debug.Assert(last >= 0);
            return last; // rounding left the cumulative sum a hair below the target
        }

        /// <summary>Lloyd's iterations from the current centroids; writes labels 0…centres−1 (centroid indices) and
        /// returns the number of assignment passes. <paramref name="objectives"/>, when given, receives the objective
        /// after every assignment and every update step (tests only).</summary>
        public int Lloyd(ReadOnlySpan<int> multiplicity, int centres, Span<int> labels, List<double>? objectives)
        {
            int n = _n;
            int passes = 0;
            for (int iteration = 0; iteration < MaxIterations && n > 0; iteration++)
            {
                passes++;
                bool changed = false;
                double objective = 0;
                // Invariant: after this pass every item is labelled with its nearest centroid (lowest index on ties).
                for (int i = 0; i < n; i++)
                {
                    ReadOnlySpan<double> x = _rows.AsSpan(i * _stride, _stride);
                    int best = 0;
                    double bestD = double.PositiveInfinity;
                    for (int c = 0; c < centres; c++)
                    {
                        double d = PairwiseDistances.SquaredEuclidean(x, _centroids.AsSpan(c * _stride, _stride));
                        if (d < bestD)
                        {
                            bestD = d;
                            best = c;
                        }
                    }
                    objective += multiplicity[i] * bestD;
                    if (iteration == 0 || labels[i] != best) changed = true;
                    labels[i] = best;
                }
                objectives?.Add(objective);
                if (!changed) break;
                UpdateCentroids(multiplicity, centres, labels);
                objectives?.Add(Objective(multiplicity, labels));
            }
            return passes;
        }

        private void UpdateCentroids(ReadOnlySpan<int> multiplicity, int centres, ReadOnlySpan<int> labels)
        {
            Span<double> weights = _weights.AsSpan(0, centres);
            weights.Clear();
            for (int i = 0; i < _n; i++) weights[labels[i]] += multiplicity[i];
            for (int c = 0; c < centres; c++)
                if (weights[c] > 0) _centroids.AsSpan(c * _stride, _stride).Clear();
            for (int i = 0; i < _n; i++)
            {
                Span<double> centroid = _centroids.AsSpan(labels[i] * _stride, _stride);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(_rows.AsSpan(i * _stride, _stride),
                                                                     (double)multiplicity[i], centroid, centroid);
            }
            for (int c = 0; c < centres; c++)
            {
                // An emptied centroid keeps its position (our choice): the objective cannot rise and it may win items back.
                if (weights[c] == 0) continue;
                Span<double> centroid = _centroids.AsSpan(c * _stride, _stride);
                System.Numerics.Tensors.TensorPrimitives.Multiply(centroid, 1.0 / weights[c], centroid);
            }
        }

        private double Objective(ReadOnlySpan<int> multiplicity, ReadOnlySpan<int> labels)
        {
            double objective = 0;
            for (int i = 0; i < _n; i++)
                objective += multiplicity[i] * PairwiseDistances.SquaredEuclidean(_rows.AsSpan(i * _stride, _stride),
                                                               _centroids.AsSpan(labels[i] * _stride, _stride));
            return objective;
        }
    }
}
