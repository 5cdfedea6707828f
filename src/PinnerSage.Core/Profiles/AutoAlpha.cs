using PinnerSage.Clustering;
using PinnerSage.IO;
using PinnerSage.Numerics;

namespace PinnerSage.Profiles;

/// <summary>The default α of the CLI ("--alpha auto"): <see cref="WardClustering.SuggestAlpha"/> on the catalogue the
/// profiles are built on, with a fixed sample size and seed, so every tool that runs the model on the same embeddings
/// (the batch job, the streaming mapper, quickstart) resolves the same α and writes identical profiles.</summary>
/// <remarks>(our choice; the paper does not publish α) α is a squared distance, so its right value scales with how far
/// apart unrelated items of the embedding are: ≈ 2 for near-orthogonal unit vectors, ≈ 1 for normalised text-model
/// vectors whose random pairs have cos ≈ 0.5. Auto measures that scale as the median squared distance of random pairs
/// and multiplies it by <see cref="WardClustering.AlphaPerMedianDistance"/> (calibrated on the synthetic world's
/// separable geometry, SyntheticWorldOptions.Separable, see
/// <see cref="WardClustering.DefaultAlphaUnitNorm"/>). The library itself always takes a numeric
/// <see cref="ProfileOptions.Alpha"/>; resolve it here first.</remarks>
public static class AutoAlpha
{
    /// <summary>Random pairs measured: the sampled median's standard error is ≈ 1.25·σ/√20,000 ≈ 0.009·σ (σ the spread
    /// of the pair distances), under 1% of the median for embeddings, where σ is below the median; well under a
    /// second.</summary>
    public const int SamplePairs = 20_000;

    /// <summary>Seed of the pair sampler.</summary>
    public const int Seed = 0;

    /// <summary>α for <paramref name="items"/>: <see cref="WardClustering.AlphaPerMedianDistance"/> × the median squared
    /// distance of <see cref="SamplePairs"/> random pairs of rows (seed <see cref="Seed"/>), each row scaled to unit
    /// length first when <paramref name="normalizeVectors"/> (as <see cref="UserProfileBuilder"/> does; zero rows stay
    /// zero). Equals <c>WardClustering.SuggestAlpha(catalogue, d, SamplePairs, Seed)</c> on the (normalised) catalogue
    /// without copying it, so memory-mapped tables are read only at the sampled rows. Deterministic.</summary>
    /// <param name="items">The item embeddings.</param>
    /// <param name="normalizeVectors">Whether the profiles cluster unit-normalised vectors
    /// (<see cref="ProfileOptions.NormalizeVectors"/>).</param>
    /// <returns>The α; <see cref="WardClustering.DefaultAlphaUnitNorm"/> for a catalogue of fewer than two items (any α
    /// then gives the same profiles).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="items"/> is null.</exception>
    public static double Resolve(ItemEmbeddings items, bool normalizeVectors)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count < 2) return WardClustering.DefaultAlphaUnitNorm;
        int d = items.Dimension;
        (int I, int J)[] pairs = WardClustering.SamplePairs(items.Count, SamplePairs, Seed);
        var distances = new double[SamplePairs];
        float[] a = new float[d], b = new float[d];
        for (int p = 0; p < pairs.Length; p++)
        {
            Row(items, pairs[p].I, normalizeVectors, a);
            Row(items, pairs[p].J, normalizeVectors, b);
            distances[p] = PairwiseDistances.SquaredEuclidean(a, b);
        }
        return WardClustering.AlphaFromDistances(distances);
    }

    private static void Row(ItemEmbeddings items, int row, bool normalize, Span<float> destination)
    {
        items.Vector(row).CopyTo(destination);
        if (normalize) VectorNorms.Normalize(destination, destination);
    }
}
