using System.Text.Json;
using PinnerSage.IO;
using PinnerSage.Synthetic;

namespace PinnerSage.Tests.Synthetic;

public sealed class SyntheticWorldWriterTests : IDisposable
{
    private static readonly SyntheticWorldOptions Options = new() { Users = 2500, Seed = 5, Dimension = 64 };
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("pinnersage-synth-tests-");

    public void Dispose() => _root.Delete(recursive: true);

    private static readonly string[] Files =
    [
        SyntheticWorldWriter.ActionsFile, SyntheticWorldWriter.ItemsFile, SyntheticWorldWriter.TruthFile,
        SyntheticWorldWriter.TopicsFile, SyntheticWorldWriter.ManifestFile, SyntheticWorldWriter.VectorsFile,
        SyntheticWorldWriter.IdsFile,
    ];

    [Fact]
    public void OutputIsByteIdenticalForAnyThreadCountAndRebuild()
    {
        string one = Path.Combine(_root.FullName, "one"), three = Path.Combine(_root.FullName, "three");
        SyntheticWorldWriter.Write(SyntheticWorld.Create(Options), one, maxThreads: 1);
        SyntheticWorldWriter.Write(SyntheticWorld.Create(Options), three, maxThreads: 3);
        foreach (string file in Files)
            Assert.True(File.ReadAllBytes(Path.Combine(one, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(three, file))),
                $"{file} differs between 1 and 3 threads");

        // Nothing but the layout is left behind (temporary files were renamed).
        string[] present = Directory.GetFiles(one, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(one, p).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Files.Order(StringComparer.Ordinal), present);
    }

    [Fact]
    public void LayoutIsReadableByTheLoadersAndTruthIsAligned()
    {
        string dir = Path.Combine(_root.FullName, "world");
        SyntheticWorld world = SyntheticWorld.Create(Options);
        SyntheticWorldSummary summary = SyntheticWorldWriter.Write(world, dir);
        var expected = new List<SyntheticAction>();
        for (int b = 0; b < world.BlockCount; b++) world.GenerateBlock(b, expected);
        Assert.Equal(expected.Count, summary.Actions);

        using (ItemEmbeddings embeddings = ItemEmbeddings.Load(Path.Combine(dir, SyntheticWorldWriter.VectorsFile)))
        {
            Assert.Equal(world.ItemCount, embeddings.Count);
            Assert.Equal(world.Dimension, embeddings.Dimension);
            for (int i = 0; i < world.ItemCount; i++) Assert.Equal(world.ItemId(i), embeddings.Id(i));
            Assert.True(embeddings.Matrix.SequenceEqual(world.ItemVectors));
        }

        using var actions = new ActionsTsvReader(Path.Combine(dir, SyntheticWorldWriter.ActionsFile));
        using var truth = new StreamReader(Path.Combine(dir, SyntheticWorldWriter.TruthFile));
        Assert.Equal("user_id\titem_id\ttimestamp\ttopic_id", truth.ReadLine());
        string previousUser = "";
        int index = 0;
        while (actions.MoveNext())
        {
            SyntheticAction a = expected[index++];
            string user = actions.UserId.ToString();
            Assert.True(string.CompareOrdinal(previousUser, user) <= 0, "actions.tsv is sorted by user id (ordinal)");
            previousUser = user;
            Assert.Equal(world.UserId(a.User), user);
            Assert.Equal(world.ItemId(a.Item), actions.ItemId.ToString());
            Assert.Equal(a.Timestamp, actions.Timestamp);
            Assert.Equal(SyntheticWorld.Label(a.Action), actions.Action.ToString());
            string[] t = truth.ReadLine()!.Split('\t');
            Assert.Equal([user, actions.ItemId.ToString(), actions.Timestamp.ToString(), world.TopicId(a.Topic)], t);
        }
        Assert.Equal(expected.Count, index);
        Assert.Null(truth.ReadLine());

        string[] items = File.ReadAllLines(Path.Combine(dir, SyntheticWorldWriter.ItemsFile));
        Assert.Equal("item_id\ttitle\tcategory\tbrand\tprice", items[0]);
        Assert.Equal(world.ItemCount + 1, items.Length);
        Assert.All(items.Skip(1), line => Assert.Equal(5, line.Split('\t').Length));
        ItemCatalog catalog = ItemCatalog.Load(Path.Combine(dir, SyntheticWorldWriter.ItemsFile));
        Assert.Equal(world.ItemCount, catalog.Count);
        for (int i = 0; i < world.ItemCount; i += 97) Assert.Equal(world.ItemTitle(i), catalog.Title(world.ItemId(i)));

        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, SyntheticWorldWriter.ManifestFile)));
        JsonElement counts = manifest.RootElement.GetProperty("counts");
        Assert.Equal(summary.Actions, counts.GetProperty("actions").GetInt64());
        Assert.Equal(2500, counts.GetProperty("users").GetInt32());
        Assert.Equal(5UL, manifest.RootElement.GetProperty("options").GetProperty("seed").GetUInt64());
    }
}
