using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests.Cli;

namespace PinnerSage.Tests.IO;

/// <summary>The id rules, file identity and the atomic writer's failure paths (issue 12).</summary>
public sealed class HardeningTests
{
    [Theory]
    [InlineData("u1", null)]
    [InlineData("ü-😀 x/../y <b>", null)]
    [InlineData("", "is empty")]
    [InlineData(" ", "whitespace")]
    [InlineData("\u3000\t", "control character")]
    [InlineData("\u3000 ", "whitespace")]
    [InlineData("a\tb", "control character")]
    [InlineData("a\nb", "control character")]
    [InlineData("a\0", "control character")]
    [InlineData("a\u007f", "control character")]
    [InlineData("a\u009f", "control character")]
    public void Ids_follow_one_rule(string id, string? problem)
    {
        string? actual = IdRules.Problem(id);
        if (problem is null) Assert.Null(actual);
        else Assert.Contains(problem, actual);
    }

    [Fact]
    public void Errors_show_ids_escaped_and_shortened()
    {
        Assert.Equal("user id 'a\\u0000b\\u001B[2J' contains a control character (U+0000) at position 2",
                     IdRules.Describe("user id", "a\0b\u001b[2J"));
        Assert.Equal("item id '" + new string('x', 40) + "…' is longer than 256 characters (300)", IdRules.Describe("item id", new string('x', 300)));
        Assert.Null(IdRules.Describe("item id", "fine"));
    }

    [Fact]
    public void Ids_have_a_length_limit()
    {
        Assert.Null(IdRules.Problem(new string('x', IdRules.MaxLength)));
        Assert.Contains("longer than", IdRules.Problem(new string('x', IdRules.MaxLength + 1)));
    }

    [Fact]
    public void The_same_file_is_recognised_by_identity_not_by_name()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.txt"), "a");
        File.WriteAllText(dir.File("b.txt"), "a");
        Directory.CreateDirectory(dir.File("sub"));
        File.CreateSymbolicLink(dir.File("link.txt"), dir.File("a.txt"));
        Assert.Equal(0, CliProcess.Shell("ln a.txt hard.txt", dir.Path).Exit);
        Assert.True(FileIdentity.Same(dir.File("a.txt"), dir.File("link.txt")));
        Assert.True(FileIdentity.Same(dir.File("a.txt"), dir.File("hard.txt")));
        Assert.True(FileIdentity.Same(dir.File("a.txt"), Path.Combine(dir.Path, "sub", "..", "a.txt")));
        Assert.False(FileIdentity.Same(dir.File("a.txt"), dir.File("b.txt"))); // same content, another file
    }

    [Fact]
    public void A_failed_rename_leaves_the_target_and_no_temporary_file()
    {
        using var dir = new TempDir();
        string target = dir.File("out.jsonl");
        Directory.CreateDirectory(target); // the rename over a folder fails
        using (var writer = new JsonLinesProfileWriter(target))
        {
            writer.Write(new UserProfile("u1", [new ProfileCluster("i1", 1, 1, ["i1"])]));
            Assert.ThrowsAny<IOException>(writer.Commit);
        }
        Assert.True(Directory.Exists(target));
        Assert.Equal([target], Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Outputs_written_together_are_all_or_nothing()
    {
        using var dir = new TempDir();
        string a = dir.File("a.md"), b = dir.File("b.json");
        File.WriteAllText(a, "old a");
        File.WriteAllText(b, "old b");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteAll(
        [
            (a, p => File.WriteAllText(p, "new a")),
            (b, _ => throw new InvalidOperationException("the second output failed")),
        ]));
        Assert.Equal(("old a", "old b"), (File.ReadAllText(a), File.ReadAllText(b)));
        Assert.Equal(2, Directory.EnumerateFileSystemEntries(dir.Path).Count()); // no temporary file left

        AtomicFile.WriteAll([(a, p => File.WriteAllText(p, "new a")), (b, p => AtomicFile.WriteText(p, w => w.Write("new b")))]);
        Assert.Equal(("new a", "new b"), (File.ReadAllText(a), File.ReadAllText(b)));
        Assert.Equal(2, Directory.EnumerateFileSystemEntries(dir.Path).Count());
    }

    [Fact]
    public void An_export_prepared_but_not_committed_leaves_the_previous_file()
    {
        using var dir = new TempDir();
        string target = dir.File("out.jsonl");
        File.WriteAllText(target, "previous\n");
        using (var writer = new JsonLinesProfileWriter(target))
        {
            writer.Write(new UserProfile("u1", [new ProfileCluster("i1", 1, 1, ["i1"])]));
            writer.Prepare(); // the store's commit would fail after this point
        }
        Assert.Equal("previous\n", File.ReadAllText(target));
        Assert.Equal([target], Directory.EnumerateFileSystemEntries(dir.Path));
    }
}
