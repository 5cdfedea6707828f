using PinnerSage.IO;
using PinnerSage.Numerics;
using PinnerSage.Profiles;

namespace PinnerSage.Tests.Numerics;

/// <summary><see cref="PrincipalComponents"/> against the textbook reference: the covariance matrix formed explicitly,
/// its eigenvectors by Jacobi, the centred rows projected on the two largest.</summary>
public sealed class PrincipalComponentsTests
{
    /// <summary>n points of dimension d with independent spreads <paramref name="spread"/> along d random orthonormal
    /// directions, shifted by a common offset (so centring matters).</summary>
    private static float[] Cloud(int n, int d, double[] spread, ulong seed)
    {
        var random = new Random((int)seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var basis = new double[d * d];
        for (int i = 0; i < basis.Length; i++) basis[i] = Normal();
        RandomizedSvd.Orthonormalize(basis, d, d);
        var rows = new float[n * d];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < d; a++)
            {
                double z = Normal() * spread[a];
                for (int j = 0; j < d; j++) rows[i * d + j] += (float)(z * basis[a * d + j]);
            }
        for (int i = 0; i < rows.Length; i++) rows[i] += 3;
        return rows;
    }

    /// <summary>The reference: explicit covariance, Jacobi eigenvectors sorted by eigenvalue, the same sign rule.</summary>
    private static double[] Reference(float[] rows, int d, int k)
    {
        int n = rows.Length / d;
        var mean = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += rows[i * d + j] / (double)n;
        var cov = new double[d * d];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++) cov[a * d + b] += (rows[i * d + a] - mean[a]) * (rows[i * d + b] - mean[b]) / n;
        var values = new double[d];
        var vectors = new double[d * d];
        RandomizedSvd.JacobiEigen(cov, d, values, vectors);
        int[] order = [.. Enumerable.Range(0, d).OrderByDescending(i => values[i])];
        var result = new double[n * k];
        for (int c = 0; c < k; c++)
        {
            double[] axis = [.. Enumerable.Range(0, d).Select(j => vectors[j * d + order[c]])];
            if (axis.MaxBy(Math.Abs) < 0) for (int j = 0; j < d; j++) axis[j] = -axis[j];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < d; j++) result[i * k + c] += (rows[i * d + j] - mean[j]) * axis[j];
        }
        return result;
    }

    [Theory]
    [InlineData(40, 6, 2)]
    [InlineData(200, 32, 2)]
    [InlineData(15, 64, 2)]   // fewer points than dimensions, as for most users
    [InlineData(50, 8, 3)]
    public void MatchesTheCovarianceEigenvectors(int n, int d, int k)
    {
        double[] spread = [.. Enumerable.Range(0, d).Select(a => a switch { 0 => 6.0, 1 => 3.0, 2 => 1.5, _ => 0.3 })];
        float[] rows = Cloud(n, d, spread, (ulong)(n * 31 + d));
        var got = new float[n * k];
        Assert.Equal(n, PrincipalComponents.Project(rows, d, k, got));
        double[] expected = Reference(rows, d, k);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], got[i], 3e-3 * 6);
    }

    [Fact]
    public void ThePictureIsDeterministicAndAxesBeyondTheRankAreZero()
    {
        const int d = 5;
        // Five points on one line through (1, 1, 1, 1, 1): rank 1 after centring.
        float[] rows = [.. Enumerable.Range(0, 5).SelectMany(i => Enumerable.Range(0, d).Select(j => 1f + i * (j + 1)))];
        var first = new float[10];
        var second = new float[10];
        PrincipalComponents.Project(rows, d, 2, first);
        PrincipalComponents.Project(rows, d, 2, second);
        Assert.Equal(first, second);
        for (int i = 0; i < 5; i++) Assert.Equal(0f, first[i * 2 + 1]);
        // Along the line, the coordinate is the distance from the mean point (the middle one).
        double step = Math.Sqrt(Enumerable.Range(1, d).Sum(j => (double)j * j));
        for (int i = 0; i < 5; i++) Assert.Equal((i - 2) * step, first[i * 2], 1e-4);
    }

    [Fact]
    public void OnePointSitsAtTheOriginAndNoPointsIsNothing()
    {
        var one = new float[2] { 9, 9 };
        Assert.Equal(1, PrincipalComponents.Project([1f, 2f, 3f], 3, 2, one));
        Assert.Equal([0f, 0f], one);
        Assert.Equal(0, PrincipalComponents.Project([], 3, 2, []));
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PrincipalComponents.Project([1f, 2f], 2, 3, new float[6]));
        Assert.Throws<ArgumentException>(() => PrincipalComponents.Project([1f, 2f, 3f], 2, 1, new float[2]));
        Assert.Throws<ArgumentException>(() => PrincipalComponents.Project([1f, float.NaN], 2, 1, new float[1]));
        Assert.Throws<ArgumentException>(() => PrincipalComponents.Project([1f, 2f, 3f, 4f], 2, 2, new float[3]));
    }

    [Fact]
    public void TheInterestMapPlacesEveryEmbeddedMemberWithItsClusterAndMarksMedoids()
    {
        const int d = 4;
        string[] ids = ["a", "b", "c", "x", "y"];
        float[] data = [1, 0, 0, 0, 0.9f, 0.1f, 0, 0, 0.8f, 0, 0.2f, 0, 0, 0, 1, 0, 0, 0.1f, 0.9f, 0];
        using ItemEmbeddings items = ItemEmbeddings.FromArray(ids, data, d);
        var profile = new UserProfile("u", [
            new ProfileCluster("b", 2, 3, ["a", "b", "c"]),
            new ProfileCluster("x", 1, 3, ["x", "gone", "y"]),
        ]);
        InterestMapPoint[] points = InterestMap.Build(profile, items);
        Assert.Equal(["a", "b", "c", "x", "y"], points.Select(p => p.ItemId));
        Assert.Equal([0, 0, 0, 1, 1], points.Select(p => p.Cluster));
        Assert.Equal(["b", "x"], points.Where(p => p.IsMedoid).Select(p => p.ItemId));
        var xy = new float[10];
        PrincipalComponents.Project(data, d, 2, xy);
        Assert.Equal(xy, points.SelectMany(p => new[] { p.X, p.Y }));
        // The two interests are apart on the first axis: the map separates them.
        Assert.True(points.Take(3).All(p => Math.Sign(p.X) == Math.Sign(points[0].X)) && points.Skip(3).All(p => Math.Sign(p.X) == -Math.Sign(points[0].X)));
    }
}
