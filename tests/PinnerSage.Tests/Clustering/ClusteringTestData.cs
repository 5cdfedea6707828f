namespace PinnerSage.Tests.Clustering;

/// <summary>Random inputs for the clustering tests.</summary>
internal static class ClusteringTestData
{
    /// <summary>n × d floats; with <paramref name="duplicates"/> &gt; 0 about that share of rows copy an earlier row,
    /// with <paramref name="grid"/> values are small integers (many tied distances).</summary>
    public static float[] Vectors(int n, int d, int seed, double duplicates = 0, bool grid = false)
    {
        var random = new Random(seed);
        var x = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            if (i > 0 && random.NextDouble() < duplicates)
            {
                int j = random.Next(i);
                Array.Copy(x, j * d, x, i * d, d);
                continue;
            }
            for (int k = 0; k < d; k++)
                x[i * d + k] = grid ? random.Next(-3, 4) : (float)(random.NextDouble() * 2 - 1);
        }
        return x;
    }

    public static int[] Multiplicities(int n, int seed, int max)
    {
        var random = new Random(seed ^ 0x5bd1e995);
        var m = new int[n];
        for (int i = 0; i < n; i++) m[i] = random.NextDouble() < 0.5 ? 1 : random.Next(1, max + 1);
        return m;
    }

    /// <summary>‖x_i − x_j‖² of rows of an n × d float matrix, summed in double (a plain reference loop).</summary>
    public static double SquaredDistance(float[] x, int d, int i, int j)
    {
        double s = 0;
        for (int k = 0; k < d; k++)
        {
            double t = (double)x[i * d + k] - x[j * d + k];
            s += t * t;
        }
        return s;
    }

    public static void AssertClose(double expected, double actual, double relative, double absolute, string what)
    {
        double tolerance = relative * Math.Max(Math.Abs(expected), Math.Abs(actual)) + absolute;
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected:R}, got {actual:R}");
    }

    /// <summary>Clusters of a labelling as sorted member lists sorted by first member (−1 = not in a cluster).</summary>
    public static List<int[]> Partition(IReadOnlyList<int> labels)
        => Enumerable.Range(0, labels.Count).Where(i => labels[i] >= 0).GroupBy(i => labels[i])
                     .Select(g => g.OrderBy(i => i).ToArray()).OrderBy(m => m[0]).ToList();

    public static string Show(List<int[]> partition) => string.Join(" ", partition.Select(m => "{" + string.Join(",", m) + "}"));
}
