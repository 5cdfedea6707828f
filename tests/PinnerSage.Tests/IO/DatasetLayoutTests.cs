using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.IO;

public sealed class DatasetLayoutTests(ITestOutputHelper output)
{
    [Fact]
    public void FindsTheFilesOfASharedDataset()
    {
        string? root = TestData.RequireDataset("amazon-scientific", output);
        if (root is null) return;
        var layout = DatasetLayout.Open(root);
        Assert.Equal(Path.Combine(root, "actions.tsv"), layout.ActionsPath);
        Assert.Equal(Path.Combine(root, "items.tsv"), layout.ItemsPath);
        Assert.Equal(["image", "text_lm"], layout.Vectors.Keys);
    }

    [Fact]
    public void AFolderWithoutActionsIsAnError()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DataFormatException>(() => DatasetLayout.Open(dir.Path));
        Assert.Equal(dir.Path, e.File);
        Assert.Throws<DirectoryNotFoundException>(() => DatasetLayout.Open(dir.File("none")));
        File.WriteAllText(dir.File("actions.tsv.gz"), "");
        var layout = DatasetLayout.Open(dir.Path);
        Assert.Null(layout.ItemsPath);
        Assert.Empty(layout.Vectors);
    }

    [Fact]
    public void CoverageCountsActionsWithAndWithoutVectors()
    {
        using var e = ItemEmbeddings.FromArray(["a", "b"], [1, 0, 0, 1], 2);
        const string text = "user_id\titem_id\ttimestamp\nu1\ta\t1\nu1\tx\t2\nu2\tb\t3\nu2\tx\t4\nu3\ty\t5\n";
        using var reader = new ActionsTsvReader(new StringReader(text), "a.tsv");
        ActionsCoverage c = ActionsCoverage.Measure(reader, e);
        Assert.Equal((5L, 3L, 2L, 3L, 2L, 3L), (c.Actions, c.Users, c.KnownActions, c.UnknownActions, c.UnknownItems, c.FirstUnknownLine));
        Assert.Equal(["x", "y"], c.UnknownExamples);
    }

    [Fact]
    public void EveryActionOfAmazonScientificHasBothVectorSets()
    {
        string? root = TestData.RequireDataset("amazon-scientific", output);
        if (root is null) return;
        var layout = DatasetLayout.Open(root);
        foreach (string npy in layout.Vectors.Values)
        {
            using var e = ItemEmbeddings.Load(npy);
            using var reader = new ActionsTsvReader(layout.ActionsPath);
            ActionsCoverage c = ActionsCoverage.Measure(reader, e);
            Assert.Equal((19_712L, 2_928L, 0L), (c.Actions, c.Users, c.UnknownActions));
        }
    }
}
