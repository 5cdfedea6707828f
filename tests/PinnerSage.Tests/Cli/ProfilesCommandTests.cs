using PinnerSage.Storage;
using PinnerSage.Tests.Profiles;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Cli;

/// <summary>Runs the built CLI (`dotnet pinnersage.dll …`) as a child process, as a user or a Hadoop task would.</summary>
public sealed class ProfilesCommandTests(ITestOutputHelper output)
{
    /// <summary>`pinnersage ARGS` through bash, so ARGS is split as a user's command line would be.</summary>
    private static (int Exit, string Out, string Err) Run(string args) => CliProcess.Shell($"{CliProcess.ShellCommand} {args}");

    private static (TempDir Dir, string Actions, string Embeddings) World(int users, int seed)
    {
        var dir = new TempDir();
        TestWorld world = TestWorld.Create(users, seed);
        string actions = dir.File("actions.tsv"), embeddings = dir.File("items.npy");
        // Time-ordered log, as an event store would export it: not grouped by user.
        File.WriteAllText(actions, TestWorld.Tsv(world.Actions.OrderBy(a => a.Time)));
        world.SaveEmbeddings(embeddings);
        return (dir, actions, embeddings);
    }

    [Fact]
    public void BuildWritesStoreAndJsonLinesAndShowPrintsAUser()
    {
        (TempDir dir, string actions, string embeddings) = World(200, 1);
        using TempDir cleanup = dir;
        string store = dir.File("profiles.db"), jsonl = dir.File("profiles.jsonl");
        (int exit, string stdout, string stderr) = Run(
            $"profiles build --actions {actions} --embeddings {embeddings} --store {store} --jsonl-out {jsonl} --threads 2 --action-weights save=2");
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, exit);
        Assert.Contains("users written", stdout);
        Assert.Contains("users/s", stdout); // plain progress lines: stdout is not a terminal here
        Assert.Contains("not grouped by user", stdout); // the summary table may wrap the rest of the line
        Assert.Contains("(sorted in", stdout);

        string[] lines = File.ReadAllLines(jsonl);
        using SqliteProfileStore s = SqliteProfileStore.Open(store);
        Assert.Equal(lines.Length, s.CountUsers());
        string firstUser = System.Text.Json.JsonDocument.Parse(lines[0]).RootElement.GetProperty("user_id").GetString()!;
        Assert.Equal(lines[0], ProfileJson.ToLine(s.Get(firstUser)!));
        Assert.Contains("\"save\":2", s.GetMetadata()!.OptionsJson);

        (exit, stdout, _) = Run($"profiles show --store {store} --user {firstUser}");
        Assert.Equal(0, exit);
        Assert.Contains(firstUser, stdout);
        Assert.Contains("importance", stdout);

        (exit, _, stderr) = Run($"profiles show --store {store} --user nobody");
        Assert.Equal(1, exit);
        Assert.Contains("no profile for user 'nobody'", stderr);
    }

    [Fact]
    public void ShellPipelineWithSortAsTheShuffleEqualsTheBatchJob()
    {
        (TempDir dir, string actions, string embeddings) = World(300, 2);
        using TempDir cleanup = dir;
        long now = TestWorld.Start + 100 * 86400L;
        string store = dir.File("p.db"), batch = dir.File("batch.jsonl"), streamed = dir.File("streamed.jsonl");
        (int exit, _, string err) = Run($"profiles build --actions {actions} --embeddings {embeddings} --store {store} --jsonl-out {batch} --now {now}");
        Assert.True(exit == 0, err);
        // The build chose λ from the actions (auto); a mapper sees one shard, so it is given that λ (the documented recipe).
        double lambda;
        using (SqliteProfileStore s = SqliteProfileStore.Open(store))
        using (var options = System.Text.Json.JsonDocument.Parse(s.GetMetadata()!.OptionsJson))
        {
            Assert.True(options.RootElement.GetProperty("lambda_auto").GetBoolean());
            lambda = options.RootElement.GetProperty("lambda").GetDouble();
        }

        // The MapReduce equivalent: drop the header, shuffle = sort by user (stable, bytewise), map = profiles map.
        (exit, _, err) = CliProcess.Shell(
            $"set -o pipefail; tail -n +2 {actions} | LC_ALL=C sort -t$'\\t' -k1,1 -s | " +
            $"{CliProcess.ShellCommand} profiles map --embeddings {embeddings} --now {now} --threads 3 " +
            $"--lambda {lambda.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} > {streamed}");
        output.WriteLine(err);
        Assert.True(exit == 0, err);
        Assert.Contains("profiles map:", err);
        Assert.True(new FileInfo(batch).Length > 1000);
        Assert.Equal(File.ReadAllBytes(batch), File.ReadAllBytes(streamed));

        // Both resolved the same auto α from the embeddings (what keeps their outputs identical), and it is recorded.
        double alpha = StoredAlpha(store, out bool auto);
        Assert.True(auto);
        Assert.Contains(PinnerSage.Cli.Commands.ProfilesCommand.AlphaText(alpha, auto: true), err);
        using (PinnerSage.IO.ItemEmbeddings items = PinnerSage.IO.ItemEmbeddings.Load(embeddings))
            Assert.Equal(PinnerSage.Retrieval.RetrievalSettings.Default.AlphaScale * PinnerSage.Profiles.AutoAlpha.Resolve(items, normalizeVectors: true), alpha);
    }

    private static double StoredAlpha(string store, out bool auto)
    {
        using SqliteProfileStore s = SqliteProfileStore.Open(store);
        using var options = System.Text.Json.JsonDocument.Parse(s.GetMetadata()!.OptionsJson);
        auto = options.RootElement.GetProperty("alpha_auto").GetBoolean();
        return options.RootElement.GetProperty("alpha").GetDouble();
    }

    [Fact]
    public void AlphaIsAutoOrANumberAndCountRepeatsRestoresActionCountWardSizes()
    {
        (TempDir dir, string actions, string embeddings) = World(200, 6);
        using TempDir cleanup = dir;
        string Build(string name, string extra)
        {
            (int exit, string stdout, string err) = Run(
                $"profiles build --actions {actions} --embeddings {embeddings} --store {dir.File(name + ".db")} --jsonl-out {dir.File(name + ".jsonl")} {extra}");
            Assert.True(exit == 0, err);
            return stdout;
        }
        string stdout = Build("default", "");
        Build("auto", "--alpha auto");
        Assert.Equal(File.ReadAllBytes(dir.File("default.jsonl")), File.ReadAllBytes(dir.File("auto.jsonl")));
        double alpha = StoredAlpha(dir.File("default.db"), out bool auto);
        Assert.True(auto);
        Assert.Contains(PinnerSage.Cli.Commands.ProfilesCommand.AlphaText(alpha, auto: true), stdout); // in the summary

        // A number is used as given and recorded as fixed.
        string fixedAlpha = alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        Build("fixed", $"--alpha {fixedAlpha}");
        Assert.Equal(File.ReadAllBytes(dir.File("default.jsonl")), File.ReadAllBytes(dir.File("fixed.jsonl")));
        Assert.Equal(alpha, StoredAlpha(dir.File("fixed.db"), out auto));
        Assert.False(auto);

        // --count-repeats: x and y (squared distance 0.6) engaged 5 times each merge at 0.6 ≤ α = 1 as distinct items,
        // at 2·5·5/10·0.6 = 3 > α as action counts; the cluster sizes count all 10 actions either way.
        using (PinnerSage.IO.ItemEmbeddings pair = PinnerSage.IO.ItemEmbeddings.FromArray(["x", "y"], [1f, 0f, 0.7f, MathF.Sqrt(0.51f)], 2))
            pair.Save(dir.File("pair.npy"));
        File.WriteAllText(dir.File("pair.tsv"), "user_id\titem_id\ttimestamp\taction\n" + string.Concat(
            Enumerable.Range(0, 10).Select(i => $"u\t{(i % 2 == 0 ? "x" : "y")}\t{1_700_000_000 + i * 3600}\tclick\n")));
        string[] Clusters(string extra)
        {
            (int exit, _, string err) = Run($"profiles build --actions {dir.File("pair.tsv")} --embeddings {dir.File("pair.npy")} " +
                                            $"--store {dir.File("pair.db")} --jsonl-out {dir.File("pair.jsonl")} --alpha 1 {extra}");
            Assert.True(exit == 0, err);
            using var line = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("pair.jsonl")));
            return line.RootElement.GetProperty("clusters").EnumerateArray()
                .Select(c => $"{c.GetProperty("size").GetInt32()}:{string.Join(",", c.GetProperty("members").EnumerateArray().Select(m => m.GetString()).Order())}")
                .Order().ToArray();
        }
        Assert.Equal(["10:x,y"], Clusters(""));
        Assert.Equal(["5:x", "5:y"], Clusters("--count-repeats"));
        using (SqliteProfileStore s = SqliteProfileStore.Open(dir.File("pair.db")))
            Assert.Contains("\"count_repeats\":true", s.GetMetadata()!.OptionsJson);

        Assert.Equal(3, Run($"profiles build --actions {actions} --embeddings {embeddings} --store {dir.File("x.db")} --alpha much").Exit);
    }

    [Fact]
    public void BuildFromStdinEqualsBuildFromTheFile()
    {
        (TempDir dir, string actions, string embeddings) = World(150, 5);
        using TempDir cleanup = dir;
        (int exit, _, string err) = Run($"profiles build --actions {actions} --embeddings {embeddings} --store {dir.File("a.db")} --jsonl-out {dir.File("a.jsonl")}");
        Assert.True(exit == 0, err);
        (exit, _, err) = CliProcess.Shell($"cat {actions} | {CliProcess.ShellCommand} profiles build --actions - --embeddings {embeddings} --store {dir.File("b.db")} --jsonl-out {dir.File("b.jsonl")}");
        Assert.True(exit == 0, err);
        Assert.Equal(File.ReadAllBytes(dir.File("a.jsonl")), File.ReadAllBytes(dir.File("b.jsonl")));
    }

    [Fact]
    public void MapRequiresNowAndGroupedInput()
    {
        (TempDir dir, string actions, string embeddings) = World(50, 3);
        using TempDir cleanup = dir;
        (int exit, _, string err) = CliProcess.Shell($"tail -n +2 {actions} | {CliProcess.ShellCommand} profiles map --embeddings {embeddings}");
        Assert.NotEqual(0, exit);
        Assert.Contains("--now", err);

        // Time-ordered lines interleave users: not grouped.
        (exit, _, err) = CliProcess.Shell($"tail -n +2 {actions} | {CliProcess.ShellCommand} profiles map --embeddings {embeddings} --now 1700000000");
        Assert.Equal(2, exit);
        Assert.Contains("field 'user_id'", err);
        Assert.Contains("grouped by user", err);
    }

    [Fact]
    public void BadInputExitsNonZeroNamingFileLineAndFieldAndKeepsThePreviousProfiles()
    {
        (TempDir dir, string actions, string embeddings) = World(100, 4);
        using TempDir cleanup = dir;
        string store = dir.File("p.db");
        Assert.Equal(0, Run($"profiles build --actions {actions} --embeddings {embeddings} --store {store}").Exit);
        long users;
        using (SqliteProfileStore s = SqliteProfileStore.Open(store)) users = s.CountUsers();

        string bad = dir.File("bad.tsv");
        var lines = File.ReadAllLines(actions);
        lines[700] = lines[700].Split('\t') is var f ? $"{f[0]}\t{f[1]}\t17e8\t{f[3]}" : "";
        File.WriteAllLines(bad, lines);
        (int exit, _, string err) = Run($"profiles build --actions {bad} --embeddings {embeddings} --store {store}");
        Assert.Equal(2, exit);
        Assert.Contains("bad.tsv:701: field 'timestamp'", err);

        string unknown = dir.File("unknown.tsv");
        File.WriteAllText(unknown, "user_id\titem_id\ttimestamp\taction\nu1\tt0-i00\t1700000000\tclick\nu1\tnope\t1700000001\tclick\n");
        (exit, _, err) = Run($"profiles build --actions {unknown} --embeddings {embeddings} --store {store} --strict");
        Assert.Equal(2, exit);
        Assert.Contains("unknown.tsv:3: field 'item_id'", err);

        (exit, _, err) = Run($"profiles build --actions {actions} --embeddings {embeddings} --store {store} --alpha -1");
        Assert.Equal(3, exit);
        (exit, _, err) = Run($"profiles build --actions {dir.File("missing.tsv")} --embeddings {embeddings} --store {store}");
        Assert.Equal(4, exit);

        using (SqliteProfileStore s = SqliteProfileStore.Open(store)) Assert.Equal(users, s.CountUsers());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void BuildsProfilesOnAmazonScientificWithTextVectors()
    {
        string? actions = TestData.RequireDataset("amazon-scientific/actions.tsv", output);
        string? vectors = TestData.RequireDataset("amazon-scientific/vectors/text_lm.npy", output);
        string? items = TestData.RequireDataset("amazon-scientific/items.tsv", output);
        if (actions is null || vectors is null || items is null) return;
        using var dir = new TempDir();
        string store = dir.File("p.db"), jsonl = dir.File("p.jsonl");
        // Timestamps there are synthetic (one day apart per user, from the same start): use a window covering all.
        (int exit, string stdout, string err) = Run(
            $"profiles build --actions {actions} --embeddings {vectors} --store {store} --jsonl-out {jsonl} --window-days 100000 --keep-singletons");
        output.WriteLine(stdout + err);
        Assert.True(exit == 0, err);

        int actionLines = File.ReadLines(actions).Count() - 1;
        string[] lines = File.ReadAllLines(jsonl);
        Assert.Equal(2928, lines.Length); // every user of the dataset
        long size = 0;
        foreach (string line in lines)
        {
            System.Text.Json.JsonElement root = System.Text.Json.JsonDocument.Parse(line).RootElement;
            foreach (System.Text.Json.JsonElement c in root.GetProperty("clusters").EnumerateArray())
            {
                string medoid = c.GetProperty("medoid").GetString()!;
                Assert.Contains(medoid, c.GetProperty("members").EnumerateArray().Select(m => m.GetString()));
                size += c.GetProperty("size").GetInt32();
            }
        }
        Assert.True(size <= actionLines && size > actionLines * 0.9, $"{size} of {actionLines} actions clustered");

        string user = System.Text.Json.JsonDocument.Parse(lines[0]).RootElement.GetProperty("user_id").GetString()!;
        (exit, stdout, _) = Run($"profiles show --store {store} --user {user} --items {items}");
        Assert.Equal(0, exit);
        Assert.Contains(user, stdout);
        output.WriteLine(stdout);
        // The medoid's title from items.tsv is printed beside its id.
        string firstMedoid = System.Text.Json.JsonDocument.Parse(lines[0]).RootElement.GetProperty("clusters")[0].GetProperty("medoid").GetString()!;
        string title = File.ReadLines(items).First(l => l.StartsWith(firstMedoid + "\t", StringComparison.Ordinal)).Split('\t')[1];
        Assert.Contains(title.Split(' ')[0], stdout);
    }
}
