using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using PinnerSage.Profiles;
using PinnerSage.Storage;

namespace PinnerSage.Tests.Storage;

public sealed class ProfileJsonTests
{
    [Fact]
    public void LineHasTheExactDocumentedLayout()
    {
        var p = new UserProfile("u1", [
            new ProfileCluster("i9", 1.23, 4, ["i9", "i2"]),
            new ProfileCluster("i3", 0.1 + 0.2, 1, ["i3"]),
        ]);
        Assert.Equal("""{"user_id": "u1", "clusters": [{"medoid": "i9", "importance": 1.23, "size": 4, "members": ["i9", "i2"]}, {"medoid": "i3", "importance": 0.30000000000000004, "size": 1, "members": ["i3"]}]}""",
                     ProfileJson.ToLine(p));
        Assert.Equal("""{"user_id": "x", "clusters": []}""", ProfileJson.ToLine(new UserProfile("x", [])));
    }

    [Fact]
    public void StringsAreEscapedAndNonAsciiIsRawUtf8()
    {
        var p = new UserProfile("a\"b\\c\td\u0001é€😀", [new ProfileCluster("m\n", 2, 1, ["m\n"])]);
        string line = ProfileJson.ToLine(p);
        Assert.StartsWith("""{"user_id": "a\"b\\c\td\u0001é€😀", "clusters": [{"medoid": "m\n", """, line);
        Assert.Equal(p.UserId, JsonDocument.Parse(line).RootElement.GetProperty("user_id").GetString());
    }

    [Fact]
    public void ImportanceRoundTripsExactly()
    {
        var rng = new Random(1);
        for (int i = 0; i < 2000; i++)
        {
            double v = i switch { 0 => 1e-300, 1 => 123456789012345.0, 2 => 5e-7, _ => rng.NextDouble() * Math.Pow(10, rng.Next(-8, 8)) };
            string line = ProfileJson.ToLine(new UserProfile("u", [new ProfileCluster("m", v, 1, ["m"])]));
            double back = JsonDocument.Parse(line).RootElement.GetProperty("clusters")[0].GetProperty("importance").GetDouble();
            Assert.Equal(BitConverter.DoubleToInt64Bits(v), BitConverter.DoubleToInt64Bits(back));
        }
    }

    [Fact]
    public void ArbitraryIdsGiveValidJsonThatParsesBack()
    {
        Prop.ForAll<string, string[]>((user, members) =>
        {
            user ??= "";
            string[] ms = (members ?? []).Select(m => m ?? "").Where(m => !m.Any(char.IsSurrogate)).ToArray();
            if (user.Any(char.IsSurrogate) || ms.Length == 0) return true;
            string line = ProfileJson.ToLine(new UserProfile(user, [new ProfileCluster(ms[0], 1.5, ms.Length, ms)]));
            JsonElement root = JsonDocument.Parse(line).RootElement;
            JsonElement cluster = root.GetProperty("clusters")[0];
            return root.GetProperty("user_id").GetString() == user
                   && cluster.GetProperty("members").EnumerateArray().Select(e => e.GetString()).SequenceEqual(ms)
                   && !line.Contains('\n');
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void FileWriterRenamesOnCommitAndLeavesNothingOnAbort()
    {
        using var dir = new TempDir();
        string path = dir.File("p.jsonl");
        var profile = new UserProfile("u", [new ProfileCluster("m", 1, 1, ["m"])]);
        using (var w = new JsonLinesProfileWriter(path))
        {
            w.Write(profile);
            Assert.False(File.Exists(path));
        }
        Assert.Empty(Directory.GetFiles(dir.Path));

        File.WriteAllText(path, "old\n");
        using (var w = new JsonLinesProfileWriter(path))
        {
            for (int i = 0; i < 5000; i++) w.Write(profile with { UserId = $"u{i:D5}" });
            Assert.Equal("old\n", File.ReadAllText(path));
            w.Commit();
        }
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(5000, lines.Length);
        Assert.Equal(ProfileJson.ToLine(profile with { UserId = "u04999" }), lines[^1]);
        Assert.Single(Directory.GetFiles(dir.Path));
    }
}
