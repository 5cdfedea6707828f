using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Clustering;

/// <summary>scipy's <c>linkage(method='ward')</c> through Debian's python3 (located, probed and run by
/// <see cref="TestData"/>, which also applies the skip-or-fail-under-CI rule).</summary>
internal static class ScipyReference
{
    /// <summary>True when scipy can be used; otherwise writes why (and fails the test under CI=true).</summary>
    public static bool Require(ITestOutputHelper? output) => TestData.RequirePython(output, "numpy", "scipy");

    /// <summary>Z of each input (float32 rows, n × d), (n − 1) × 4 row-major.</summary>
    public static List<double[]> Linkage(IReadOnlyList<(float[] X, int D)> inputs)
    {
        using var dir = new TempDir();
        for (int c = 0; c < inputs.Count; c++)
        {
            var sb = new StringBuilder();
            (float[] x, int d) = inputs[c];
            for (int i = 0; i < x.Length / d; i++)
            {
                for (int k = 0; k < d; k++)
                {
                    if (k > 0) sb.Append(' ');
                    sb.Append(x[i * d + k].ToString("R", CultureInfo.InvariantCulture));
                }
                sb.Append('\n');
            }
            File.WriteAllText(dir.File($"{c}.txt"), sb.ToString());
        }
        string script = $$"""
            import numpy as np, sys
            from scipy.cluster.hierarchy import linkage
            for c in range({{inputs.Count}}):
                x = np.loadtxt(r'{{dir.Path}}/%d.txt' % c, dtype=np.float32, ndmin=2)
                z = linkage(x, method='ward')
                print('Z', c, z.shape[0])
                for row in z:
                    print(' '.join(repr(float(v)) for v in row))
            """;
        (int exitCode, string output, string stderr) = TestData.RunPython(script, []);
        Assert.True(exitCode == 0, $"python failed: {stderr}");
        var result = new List<double[]>();
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int l = 0; l < lines.Length;)
        {
            string[] head = lines[l++].Split(' ');
            Assert.Equal("Z", head[0]);
            int rows = int.Parse(head[2], CultureInfo.InvariantCulture);
            var z = new double[rows * 4];
            for (int r = 0; r < rows; r++)
            {
                string[] v = lines[l++].Split(' ');
                for (int k = 0; k < 4; k++) z[r * 4 + k] = double.Parse(v[k], CultureInfo.InvariantCulture);
            }
            result.Add(z);
        }
        return result;
    }
}
