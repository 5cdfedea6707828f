using PinnerSage.Embeddings;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.Embeddings;

/// <summary>The geometry measurement on a catalogue whose answers are worked out by hand, and the CLI around it.</summary>
public sealed class EmbeddingGeometryTests
{
    // e1, e2, e3 and (e1 + e2)/√2 (given unnormalised: Measure normalises).
    private static readonly float[] Items = [1, 0, 0, 0, 2, 0, 0, 0, 1, 1, 1, 0];
    private static readonly double H = Math.Sqrt(0.5);

    [Fact]
    public void HandWorkedCatalogueAndUsers()
    {
        // u0: 0, 1 → next 3 (= the normalised mean of its history); u1: 0, 2 → next 1; u2: too short;
        // u3: next item already in its history. Both skipped users must not count.
        int[] start = [0, 3, 6, 8, 11];
        int[] items = [0, 1, 3, 0, 2, 1, 0, 1, 0, 1, 0];
        EmbeddingGeometryReport r = EmbeddingGeometry.Measure(Items, 4, 3, start, items, new GeometryOptions { Pairs = 60_000, Seed = 3 });
        // Six pairs, two of them at cos √½: mean √½/3, median 0.
        Assert.Equal(H / 3, r.RandomPairs.Mean, 2);
        Assert.Equal(0, r.RandomPairs.Median, 6);
        Assert.Equal(H, r.RandomPairs.Q99, 6);
        Assert.Equal(Math.Sqrt(2 * (1 + H) * (1 + H) + 1) / 4, r.CatalogueMeanNorm, 5); // ‖(1+√½, 1+√½, 1)‖ / 4
        Assert.Equal((3 * H) / 4, r.NearestNeighbour.Mean, 6); // e3 has no neighbour above 0
        UserGeometry u = r.Users!;
        Assert.Equal(2, u.Users);
        Assert.Equal(2, u.History.Mean);
        Assert.Equal(0, u.SameUserPairs.Mean, 6); // e1·e2 and e1·e3
        Assert.Equal(H, u.MeanNorm.Mean, 6);
        // u0's unit mean is item 3 itself (cos 1); u1's is (e1+e3)/√2, nearest e1 or e3 at √½.
        Assert.Equal((1 + H) / 2, u.MeanNearest.Mean, 6);
        Assert.Equal((H + H + H + 0) / 4, u.ItemsNearest.Mean, 6);
        // u0: nothing outranks item 3; u1: of the candidates {1, 3}, item 3 (0.5 by the mean, √½ by the max) outranks item 1 (0).
        Assert.Equal(0.25, u.NextPercentileMean.Mean, 6);
        Assert.Equal(0.25, u.NextPercentileMax.Mean, 6);
        Assert.Equal(0.5, u.NextPercentileMax.Q99, 2);
    }

    [Fact]
    public void QuantilesInterpolateLikeNumpy()
    {
        double[] values = [4, 1, 3, 2];
        Distribution d = Distribution.Of(values);
        Assert.Equal((2.5, 1.75, 3.25), (d.Median, d.Q25, d.Q75)); // numpy.quantile([1,2,3,4], [.5,.25,.75])
        Assert.Equal(Math.Sqrt(1.25), d.Sd, 12); // population sd
        Assert.Throws<ArgumentException>(() => EmbeddingGeometry.Measure(Items, 4, 3, [0, 1], [7], new GeometryOptions()));
    }

    [Fact]
    public void CliPrintsTheTableForAWorld()
    {
        using var dir = new TempDir();
        string world = dir.File("w");
        (int exit, string stdout, string stderr) = CliProcess.Run(["synth", "--users", "50", "--items", "300", "--topics", "6", "--dimension", "8", "--days", "30", "--out", world]);
        Assert.True(exit == 0, stderr);
        (exit, stdout, stderr) = CliProcess.Run(["embeddings", "geometry", "--vectors", Path.Combine(world, "vectors", "item.npy"), "--actions", Path.Combine(world, "actions.tsv")]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("| cos(random pair) |", stdout, StringComparison.Ordinal);
        Assert.Contains("| next item's percentile around the mean |", stdout, StringComparison.Ordinal);
        (exit, _, stderr) = CliProcess.Run(["embeddings", "geometry", "--vectors", Path.Combine(world, "vectors", "item.npy"), "--max-history", "1"]);
        Assert.Equal(3, exit);
        Assert.Contains("--max-history", stderr, StringComparison.Ordinal);
    }
}
