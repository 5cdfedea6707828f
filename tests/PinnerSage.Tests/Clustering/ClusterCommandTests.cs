using PinnerSage.Cli.Commands;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.Clustering;
using PinnerSage.IO;

namespace PinnerSage.Tests.Clustering;

/// <summary>`pinnersage cluster`: the Z it writes is scipy's linkage matrix; bad arguments map to exit codes.</summary>
public sealed class ClusterCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void WritesTheLinkageMatrixOfTheVectors()
    {
        const int n = 57, d = 12;
        float[] x = ClusteringTestData.Vectors(n, d, 21);
        string npy = _dir.File("x.npy"), z = _dir.File("z.npy");
        Npy.Write(npy, x, n, d);
        File.WriteAllLines(_dir.File("x.ids"), Enumerable.Range(0, n).Select(i => $"item-{i}"));
        Assert.Equal(ExitCodes.Ok, Run("--vectors", npy, "--linkage-out", z, "--alpha", "0.8", "--keep-singletons"));
        double[] written = Npy.ReadFloat64(z, out int rows, out int cols);
        Assert.Equal((n - 1, 4), (rows, cols));
        Assert.Equal(WardClustering.Linkage(x, d).ToScipyLinkage(), written);
        if (!ScipyReference.Require(null)) return;
        double[] scipy = ScipyReference.Linkage([(x, d)])[0];
        for (int k = 0; k < scipy.Length; k++)
            ClusteringTestData.AssertClose(scipy[k], written[k], 1e-9, 1e-12, $"Z[{k / 4}, {k % 4}]");
    }

    [Fact]
    public void MapsBadArgumentsToExitCodes()
    {
        string npy = _dir.File("x.npy");
        Npy.Write(npy, ClusteringTestData.Vectors(5, 3, 1), 5, 3);
        Assert.Equal(ExitCodes.BadUsage, Run("--vectors", npy, "--linkage-out", _dir.File("z.txt")));
        Assert.Equal(ExitCodes.BadUsage, Run("--vectors", npy, "--linkage-out", _dir.File("z.npy"), "--alpha", "-1"));
        Assert.Equal(ExitCodes.IoError, Run("--vectors", _dir.File("missing.npy"), "--linkage-out", _dir.File("z.npy")));
        File.WriteAllText(_dir.File("bad.npy"), "not a numpy file");
        Assert.Equal(ExitCodes.BadData, Run("--vectors", _dir.File("bad.npy"), "--linkage-out", _dir.File("z.npy")));
    }

    private static int Run(params string[] args) => ClusterCommand.Create().Parse(args).Invoke();
}
