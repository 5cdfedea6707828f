using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using PinnerSage.IO;
using PinnerSage.Storage;
using PinnerSage.Tests.Profiles;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Cli;

/// <summary>The prior outputs every malformed-input case starts from: a dataset, a store and its JSON lines, an index,
/// query vectors, a text vector table, a workspace and a tiny ItemSage model, all made by the CLI itself.</summary>
public sealed class MalformedInputFixture : IDisposable
{
    private readonly TempDir _root = new();
    private readonly TempDir _model = new();

    public MalformedInputFixture()
    {
        TestWorld world = TestWorld.Create(60, seed: 7);
        System.IO.File.WriteAllText(File("actions.tsv"), TestWorld.Tsv(world.Actions.OrderBy(a => a.Time)));
        world.SaveEmbeddings(File("items.npy"));
        System.IO.File.WriteAllText(File("items.tsv"), "item_id\ttitle\n" + string.Concat(world.Items.Ids.Select(id => $"{id}\tthing {id}\n")));
        float[] queries = world.Items.Matrix.Slice(0, 5 * world.Items.Dimension).ToArray();
        ItemEmbeddings.FromArray(["q0", "q1", "q2", "q3", "q4"], queries, world.Items.Dimension).Save(File("q.npy"));
        foreach (string args in new[]
                 {
                     "profiles build --actions actions.tsv --embeddings items.npy --store p.db --jsonl-out p.jsonl --threads 2",
                     "index build --vectors items.npy --out x.hnsw --threads 2",
                     "embeddings export --vectors items.npy --text t.tsv",
                     "workspace build --out ws --actions actions.tsv --embeddings items.npy --threads 2",
                 })
        {
            (int exit, string stdout, string stderr) = CliProcess.Shell($"{CliProcess.ShellCommand} {args}", _root.Path);
            Assert.True(exit == 0, $"{args}: {stdout}{stderr}");
        }
        // The model (≈ 20 MB with its checkpoint) lives outside the copied folder; its cases copy the three files they need.
        (int trained, _, string trainErr) = CliProcess.Shell(
            $"{CliProcess.ShellCommand} itemsage train --dataset {_root.Path} --out {_model.Path}/m --steps 2 --small --vectors none", _root.Path);
        Assert.True(trained == 0, trainErr);
        ModelDirectory = Path.Combine(_model.Path, "m");
        User = System.Text.Json.JsonDocument.Parse(System.IO.File.ReadLines(File("p.jsonl")).First())
            .RootElement.GetProperty("user_id").GetString()!;
    }

    /// <summary>The folder holding the prior outputs.</summary>
    public string Root => _root.Path;

    /// <summary>A user with a stored profile.</summary>
    public string User { get; }

    /// <summary>The tiny ItemSage model's folder (static: the case table's setups are static).</summary>
    public static string ModelDirectory { get; private set; } = "";

    public string File(string name) => _root.File(name);

    public void Dispose()
    {
        _root.Dispose();
        _model.Dispose();
    }
}

/// <summary>One malformed input: the command line (run in a private copy of the fixture's folder, so file names are
/// relative), what is broken first (<see cref="Setup"/>), the exit code and the fragments the one-line error must
/// contain (the file with its line, the field, or the option).</summary>
public sealed record MalformedCase(string Name, string Args, int Exit, string[] Expect, Action<string>? Setup = null,
                                   string? Stdin = null, string[]? Absent = null);

/// <summary>Every command against malformed files and option values (issue 12): each case checks the documented exit
/// code, an error naming file/line/field or option, and that every prior output (files byte for byte, stores profile
/// for profile) is unchanged, with no temporary file left behind.</summary>
public sealed class MalformedInputTests(MalformedInputFixture fixture, ITestOutputHelper output) : IClassFixture<MalformedInputFixture>
{
    private const string Build = "profiles build --embeddings items.npy --store p.db --jsonl-out p.jsonl";
    private const string BuildWith = Build + " --actions actions.tsv";
    private const string Header = "user_id\titem_id\ttimestamp\taction\n";

    private static void Write(string dir, string name, string text) => File.WriteAllText(Path.Combine(dir, name), text);

    private static void WriteBytes(string dir, string name, byte[] bytes) => File.WriteAllBytes(Path.Combine(dir, name), bytes);

    /// <summary>actions file bad.tsv: the header, <paramref name="good"/> valid lines, then <paramref name="line"/>.</summary>
    private static Action<string> BadActions(string line, int good = 1) => dir =>
    {
        var text = new StringBuilder(Header);
        for (int i = 0; i < good; i++) text.Append("U0\tt0-i00\t1700000000\tclick\n");
        text.Append(line).Append('\n');
        Write(dir, "bad.tsv", text.ToString());
    };

    /// <summary>A profiles build over bad.tsv whose line 3 has a bad <paramref name="field"/>.</summary>
    private static MalformedCase ActionsCase(string name, string line, string field, params string[] more) =>
        new(name, Build + " --actions bad.tsv", 2, ["bad.tsv:3", $"'{field}'", .. more], BadActions(line));

    /// <summary>A copy of x.hnsw with the int32 at <paramref name="offset"/> replaced.</summary>
    private static Action<string> PatchIndex(int offset, int value) => dir =>
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(dir, "x.hnsw"));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), value);
        WriteBytes(dir, "bad.hnsw", bytes);
    };

    private static Action<string> Truncate(string source, string target, int keep) => dir =>
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(dir, source));
        WriteBytes(dir, target, bytes[..Math.Min(keep, bytes.Length)]);
    };

    private static Action<string> CorruptBlob => dir =>
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(dir, "p.db")};Pooling=False");
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        // A cluster count of 2^32 − 1 in a 6-byte blob: sized from the count, this would allocate 32 GB.
        cmd.CommandText = "UPDATE profiles SET data = x'FFFFFFFF0F00'";
        cmd.ExecuteNonQuery();
    };

    /// <summary>The model's files in m/, with <paramref name="file"/> passed through <paramref name="damage"/>.</summary>
    private static Action<string> Model(string file, Func<byte[], byte[]> damage) => dir =>
    {
        Directory.CreateDirectory(Path.Combine(dir, "m"));
        foreach (string name in new[] { "features.json", "tower.bin", "vocabulary.tsv" })
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(MalformedInputFixture.ModelDirectory, name));
            WriteBytes(dir, Path.Combine("m", name), name == file ? damage(bytes) : bytes);
        }
    };

    /// <summary>A vector set vectors/v.npy + v.ids in the dataset folder (the items' vectors).</summary>
    private static void VectorSet(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "vectors"));
        File.Copy(Path.Combine(dir, "items.npy"), Path.Combine(dir, "vectors", "v.npy"));
        File.Copy(Path.Combine(dir, "items.ids"), Path.Combine(dir, "vectors", "v.ids"));
    }

    private static Action<string> Npy(string name, byte[] bytes) => dir => WriteBytes(dir, name, bytes);

    /// <summary>A float32 .npy of [rows, cols] whose cell <paramref name="nanAt"/> (if ≥ 0) is NaN.</summary>
    private static Action<string> Queries(string name, int rows, int cols, int nanAt = -1) => dir =>
    {
        float[] data = new float[rows * cols];
        for (int i = 0; i < data.Length; i++) data[i] = (i % 7) * 0.1f + 0.05f;
        if (nanAt >= 0) data[nanAt] = float.NaN;
        PinnerSage.IO.Npy.Write(Path.Combine(dir, name), data, rows, cols);
    };

    private static readonly byte[] NotNpy = Encoding.ASCII.GetBytes("this is not a numpy file at all, just text\n");

    /// <summary>A float32 .npy header announcing <paramref name="shape"/> with only 16 bytes of data.</summary>
    private static byte[] NpyHeader(string shape, string dtype = "<f4")
    {
        string dict = $"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + dict.Length + 1;
        int pad = (64 - total % 64) % 64;
        string header = dict + new string(' ', pad) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange(Encoding.ASCII.GetBytes("NUMPY"));
        bytes.AddRange([1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8)]);
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(new byte[16]);
        return [.. bytes];
    }

    private static readonly MalformedCase[] All =
    [
        // profiles build: malformed actions files (exit 2, file:line and field).
        ActionsCase("actions: text timestamp", "U1\tt0-i01\tabc\tclick", "timestamp"),
        ActionsCase("actions: millisecond timestamp", "U1\tt0-i01\t1767150408000\tclick", "timestamp", "milliseconds"),
        ActionsCase("actions: negative timestamp", "U1\tt0-i01\t-5\tclick", "timestamp", "negative"),
        new("actions: timestamp just after 2100 gets no millisecond hint", Build + " --actions bad.tsv", 2,
            ["bad.tsv:3", "'timestamp'", "out of range"], BadActions("U1\tt0-i01\t4102444801\tclick"), Absent: ["milliseconds"]),
        ActionsCase("actions: fractional timestamp", "U1\tt0-i01\t1700000000.5\tclick", "timestamp", "not an integer"),
        ActionsCase("actions: date timestamp", "U1\tt0-i01\t2024-01-01\tclick", "timestamp", "date"),
        ActionsCase("actions: 20-digit timestamp", "U1\tt0-i01\t99999999999999999999\tclick", "timestamp"),
        ActionsCase("actions: empty timestamp", "U1\tt0-i01\t\tclick", "timestamp"),
        ActionsCase("actions: empty user", "\tt0-i01\t1700000000\tclick", "user_id", "empty"),
        ActionsCase("actions: empty item", "U1\t\t1700000000\tclick", "item_id", "empty"),
        ActionsCase("actions: whitespace-only user", " \tt0-i01\t1700000000\tclick", "user_id", "whitespace"),
        ActionsCase("actions: whitespace-only item", "U1\t   \t1700000000\tclick", "item_id", "whitespace"),
        ActionsCase("actions: NUL in user", "U\01\tt0-i01\t1700000000\tclick", "user_id", "control character"),
        ActionsCase("actions: control char in item", "U1\tt0\u0001i01\t1700000000\tclick", "item_id", "control character"),
        ActionsCase("actions: DEL in user", "U\u007f1\tt0-i01\t1700000000\tclick", "user_id", "control character"),
        ActionsCase("actions: C1 control in user", "U\u00851\tt0-i01\t1700000000\tclick", "user_id", "control character"),
        ActionsCase("actions: escape sequence in item", "U1\t\u001b[31mred\t1700000000\tclick", "item_id", "control character"),
        ActionsCase("actions: 300-character user", new string('u', 300) + "\tt0-i01\t1700000000\tclick", "user_id", "longer than 256"),
        ActionsCase("actions: 300-character item", "U1\t" + new string('i', 300) + "\t1700000000\tclick", "item_id", "longer than 256"),
        ActionsCase("actions: two fields", "U1\tt0-i01", "timestamp", "expected at least 3"),
        ActionsCase("actions: one field", "U1", "item_id", "expected at least 3"),
        new("actions: comma-separated line", Build + " --actions bad.tsv", 2, ["bad.tsv:3", "comma-separated"],
            BadActions("U1,t0-i01,1700000000,click")),
        new("actions: more fields than the header", Build + " --actions bad.tsv", 2, ["bad.tsv:3", "more than the header"],
            BadActions("U1\tt0-i01\t1700000000\tclick\t1\textra")),
        new("actions: bad line after many good ones", Build + " --actions bad.tsv", 2, ["bad.tsv:42", "'timestamp'"],
            BadActions("U1\tt0-i01\tlater\tclick", good: 40)),
        new("actions: bad value column", Build + " --actions bad5.tsv", 2, ["bad5.tsv:2", "'value'"],
            d => Write(d, "bad5.tsv", "user_id\titem_id\ttimestamp\taction\tvalue\nU1\tt0-i01\t1700000000\tclick\tmuch\n")),
        new("actions: 0-byte file would wipe the store", Build + " --actions empty.tsv", 2, ["empty.tsv", "no actions read", "--allow-shrink"],
            d => Write(d, "empty.tsv", "")),
        new("actions: header-only file would wipe the store", Build + " --actions header.tsv", 2, ["header.tsv", "no actions read", "--allow-shrink"],
            d => Write(d, "header.tsv", Header)),
        new("actions: header and blank lines only", Build + " --actions blank.tsv", 2, ["blank.tsv", "no actions read"],
            d => Write(d, "blank.tsv", Header + "\n\n\r\n")),
        new("actions: a result keeping under half of the profiles", Build + " --actions bad.tsv", 2,
            ["bad.tsv", "fewer than half", "--allow-shrink"], BadActions("U1\tt0-i01\t1700000000\tclick")),
        new("actions: --now far after the data drops every profile", BuildWith + " --now 4102444800", 2,
            ["actions.tsv", "fewer than half", "outside the window", "--allow-shrink"]),
        new("actions: --strict and an unknown item", BuildWith + " --strict", 2, ["actions.tsv:", "'item_id'", "unknown item id"]),
        new("actions: missing file", Build + " --actions nosuch.tsv", 4, ["nosuch.tsv"]),
        new("actions: header-only stdin", Build + " --actions -", 2, ["standard input", "no actions read"], Stdin: "header.tsv",
            Setup: d => Write(d, "header.tsv", Header)),

        // profiles build: option values (exit 3 naming the option, before anything is read or written).
        new("build: --threads 100000", BuildWith + " --threads 100000", 3, ["--threads", "256"]),
        new("build: --threads -1", BuildWith + " --threads -1", 3, ["--threads"]),
        new("build: --threads text", BuildWith + " --threads many", 3, ["--threads", "many"], Absent: ["System."]),
        new("build: --now in milliseconds", BuildWith + " --now 1767150408000", 3, ["--now", "milliseconds"]),
        new("build: --now after 2100", BuildWith + " --now 99999999999", 3, ["--now", "4102444800"]),
        new("build: --now negative", BuildWith + " --now -5", 3, ["--now"]),
        new("build: --now text", BuildWith + " --now abc", 3, ["--now", "abc", "an integer"], Absent: ["System.", "Nullable"]),
        new("build: --lambda negative", BuildWith + " --lambda -1", 3, ["--lambda"]),
        new("build: --lambda NaN", BuildWith + " --lambda NaN", 3, ["--lambda"]),
        new("build: --window-days 0", BuildWith + " --window-days 0", 3, ["window-days"]),
        new("build: --window-days negative", BuildWith + " --window-days -3", 3, ["--window-days"]),
        new("build: --max-actions 0", BuildWith + " --max-actions 0", 3, ["--max-actions"]),
        new("build: --max-actions 1000000", BuildWith + " --max-actions 1000000", 3, ["--max-actions"]),
        new("build: --alpha negative", BuildWith + " --alpha -1", 3, ["--alpha"]),
        new("build: --alpha text", BuildWith + " --alpha big", 3, ["--alpha", "big"]),
        new("build: --action-weights not a number", BuildWith + " --action-weights click=heavy", 3, ["click"]),
        new("build: --jsonl-out = --actions", Build.Replace("p.jsonl", "actions.tsv", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "same file", "--actions"]),
        new("build: --jsonl-out a symlink to --actions", Build.Replace("p.jsonl", "link.tsv", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "same file"], d => File.CreateSymbolicLink(Path.Combine(d, "link.tsv"), Path.Combine(d, "actions.tsv"))),
        new("build: --jsonl-out a hard link of --actions", Build.Replace("p.jsonl", "hard.tsv", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "same file"], d => Assert.Equal(0, CliProcess.Shell("ln actions.tsv hard.tsv", d).Exit)),
        new("build: --jsonl-out = --actions by another path", Build.Replace("p.jsonl", "./sub/../actions.tsv", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "same file"], d => Directory.CreateDirectory(Path.Combine(d, "sub"))),
        new("build: --jsonl-out = --embeddings", Build.Replace("p.jsonl", "items.npy", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "--embeddings"]),
        new("build: --jsonl-out = the ids", Build.Replace("p.jsonl", "items.ids", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "--ids"]),
        new("build: --jsonl-out = --store", Build.Replace("p.jsonl", "p.db", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "--store"]),
        new("build: --jsonl-out is a folder", Build.Replace("p.jsonl", "ws", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "folder"]),
        new("build: --jsonl-out in a missing folder", Build.Replace("p.jsonl", "nosuch/p.jsonl", StringComparison.Ordinal) + " --actions actions.tsv", 3,
            ["--jsonl-out", "does not exist"]),
        new("build: --store = --actions", "profiles build --embeddings items.npy --store actions.tsv --actions actions.tsv", 3,
            ["--store", "same file"]),
        new("build: --store is a folder", "profiles build --embeddings items.npy --store ws --actions actions.tsv", 3, ["--store", "folder"]),
        new("build: --actions missing", Build, 3, ["--actions"]),
        new("build: unknown option", BuildWith + " --frobnicate", 3, ["--frobnicate"]),

        // profiles build: broken embeddings and ids (exit 2 naming the file, 4 when missing).
        new("embeddings: 0-byte .npy", BuildWith.Replace("items.npy", "e.npy", StringComparison.Ordinal), 2, ["e.npy"],
            d => { WriteBytes(d, "e.npy", []); File.Copy(Path.Combine(d, "items.ids"), Path.Combine(d, "e.ids")); }),
        new("embeddings: not a .npy", BuildWith.Replace("items.npy", "e.npy", StringComparison.Ordinal), 2, ["e.npy"],
            d => { WriteBytes(d, "e.npy", NotNpy); File.Copy(Path.Combine(d, "items.ids"), Path.Combine(d, "e.ids")); }),
        new("embeddings: truncated .npy", BuildWith.Replace("items.npy", "e.npy", StringComparison.Ordinal), 2, ["e.npy"],
            d => { Truncate("items.npy", "e.npy", 300)(d); File.Copy(Path.Combine(d, "items.ids"), Path.Combine(d, "e.ids")); }),
        new("embeddings: header announcing 2^40 rows", BuildWith.Replace("items.npy", "e.npy", StringComparison.Ordinal), 2, ["e.npy"],
            d => { WriteBytes(d, "e.npy", NpyHeader("(1099511627776, 16)")); File.Copy(Path.Combine(d, "items.ids"), Path.Combine(d, "e.ids")); }),
        new("embeddings: float64 header over float32 data", BuildWith.Replace("items.npy", "e.npy", StringComparison.Ordinal), 2, ["e.npy"],
            d => { WriteBytes(d, "e.npy", NpyHeader("(90, 16)", "<f8")); File.Copy(Path.Combine(d, "items.ids"), Path.Combine(d, "e.ids")); }),
        new("embeddings: missing .npy", BuildWith.Replace("items.npy", "nosuch.npy", StringComparison.Ordinal), 4, ["nosuch.npy"]),
        new("ids: missing file", BuildWith + " --ids nosuch.ids", 4, ["nosuch.ids"]),
        new("ids: duplicate id", BuildWith + " --ids dup.ids", 2, ["dup.ids:2", "'item_id'", "duplicate"],
            d => Write(d, "dup.ids", "t0-i00\nt0-i00\n" + string.Join('\n', File.ReadLines(Path.Combine(d, "items.ids")).Skip(2)) + "\n")),
        new("ids: fewer ids than rows", BuildWith + " --ids short.ids", 2, ["short.ids"],
            d => Write(d, "short.ids", string.Join('\n', File.ReadLines(Path.Combine(d, "items.ids")).Take(10)) + "\n")),
        new("ids: whitespace-only id", BuildWith + " --ids ws.ids", 2, ["ws.ids:3", "'item_id'", "whitespace"],
            d => Write(d, "ws.ids", string.Join('\n', File.ReadLines(Path.Combine(d, "items.ids")).Select((l, i) => i == 2 ? "  " : l)) + "\n")),
        new("ids: control character in an id", BuildWith + " --ids c.ids", 2, ["c.ids:4", "'item_id'", "control character"],
            d => Write(d, "c.ids", string.Join('\n', File.ReadLines(Path.Combine(d, "items.ids")).Select((l, i) => i == 3 ? l + "\u0007" : l)) + "\n")),

        // profiles map: the streaming mapper.
        new("map: without --now", "profiles map --embeddings items.npy", 3, ["--now"], Stdin: "actions.tsv"),
        new("map: --now text", "profiles map --embeddings items.npy --now abc", 3, ["--now", "an integer"], Stdin: "actions.tsv",
            Absent: ["System."]),
        new("map: --now in milliseconds", "profiles map --embeddings items.npy --now 1767150408000", 3, ["--now", "milliseconds"], Stdin: "actions.tsv"),
        new("map: a header line on stdin", "profiles map --embeddings items.npy --now 1710000000", 2, ["<stdin>:1", "'timestamp'", "header"],
            Stdin: "actions.tsv"),
        new("map: a NUL in a user id", "profiles map --embeddings items.npy --now 1710000000", 2, ["<stdin>:1", "'user_id'", "control character"],
            Stdin: "nul.tsv", Setup: d => Write(d, "nul.tsv", "U\0\tt0-i01\t1700000000\tclick\n")),
        new("map: --threads 100000", "profiles map --embeddings items.npy --now 1710000000 --threads 100000", 3, ["--threads"], Stdin: "actions.tsv"),

        // profiles show and recommend over broken stores.
        new("show: 0-byte store is not turned into one", "profiles show --store zero.db --user U0", 4, ["zero.db", "empty"],
            d => Write(d, "zero.db", "")),
        new("show: missing store", "profiles show --store nosuch.db --user U0", 4, ["nosuch.db", "no such profile store"]),
        new("show: a text file as store", "profiles show --store actions.tsv --user U0", 4, ["actions.tsv"]),
        new("show: --members -1", "profiles show --store p.db --user U0 --members -1", 3, ["--members"]),
        new("show: corrupted profile blob", "profiles show --store p.db --user {user}", 2, ["corrupt profile blob", "byte"], CorruptBlob),
        new("recommend: corrupted profile blob", "recommend --store p.db --index x.hnsw --user {user}", 2, ["corrupt profile blob"], CorruptBlob),
        new("recommend: --k 2000000000", "recommend --store p.db --index x.hnsw --user {user} --k 2000000000", 3, ["--k", "10000"]),
        new("recommend: --k 0", "recommend --store p.db --index x.hnsw --user {user} --k 0", 3, ["--k"]),
        new("recommend: --k text", "recommend --store p.db --index x.hnsw --user {user} --k ten", 3, ["--k", "ten"]),
        new("recommend: --medoids 0", "recommend --store p.db --index x.hnsw --user {user} --medoids 0", 3, ["--medoids"]),
        new("recommend: --sampling unknown", "recommend --store p.db --index x.hnsw --user {user} --sampling best", 3, ["--sampling"]),
        new("recommend: --blend unknown", "recommend --store p.db --index x.hnsw --user {user} --blend zip", 3, ["--blend"]),
        new("recommend: --now in milliseconds", "recommend --store p.db --index x.hnsw --user {user} --now 1767150408000", 3, ["--now"]),
        new("recommend: 0-byte store", "recommend --store zero.db --index x.hnsw --user U0", 4, ["zero.db", "empty"], d => Write(d, "zero.db", "")),

        // HNSW index files (exit 2, naming the file and field; sizes checked before any allocation).
        new("index: count 2^31−1 in the header", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw", "length"], PatchIndex(40, int.MaxValue)),
        new("index: dimension 2^20 in the header", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw"], PatchIndex(12, 1 << 20)),
        new("index: dimension 2^30 in the header", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw", "dimension"], PatchIndex(12, 1 << 30)),
        new("index: negative count", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw", "count"], PatchIndex(40, -1)),
        new("index: negative stride", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw", "stride"], PatchIndex(60, -8)),
        new("index: id count larger than the file", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw"], PatchIndex(76, int.MaxValue)),
        new("index: flipped byte in the vectors", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw", "checksum"], d =>
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(d, "x.hnsw"));
            bytes[200] ^= 0x40;
            WriteBytes(d, "bad.hnsw", bytes);
        }),
        new("index: truncated file", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw", "truncated"], Truncate("x.hnsw", "bad.hnsw", 500)),
        new("index: 0-byte file", "similar --index bad.hnsw --item t0-i00", 2, ["bad.hnsw"], d => WriteBytes(d, "bad.hnsw", [])),
        new("index: not an index", "similar --index actions.tsv --item t0-i00", 2, ["actions.tsv", "magic"]),
        new("index: missing file", "similar --index nosuch.hnsw --item t0-i00", 4, ["nosuch.hnsw"]),
        new("catalogue: a control character in an item id", "similar --index x.hnsw --item t0-i00 --items bad.tsv", 2,
            ["bad.tsv:3", "'item_id'", "\\u0007"], d => Write(d, "bad.tsv", "item_id\ttitle\nt0-i00\tone\nt0\u0007i01\ttwo\n")),
        new("catalogue: a duplicate item id", "similar --index x.hnsw --item t0-i00 --items bad.tsv", 2,
            ["bad.tsv:3", "'item_id'", "duplicate"], d => Write(d, "bad.tsv", "item_id\ttitle\nt0-i00\tone\nt0-i00\ttwo\n")),
        new("similar: --k 1000000000", "similar --index x.hnsw --item t0-i00 --k 1000000000", 3, ["--k"]),
        new("recommend: corrupted index", "recommend --store p.db --index bad.hnsw --user {user}", 2, ["bad.hnsw", "checksum"], d =>
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(d, "x.hnsw"));
            bytes[^20] ^= 0x01;
            WriteBytes(d, "bad.hnsw", bytes);
        }),

        // index build.
        new("index build: --out = --vectors", "index build --vectors items.npy --out items.npy", 3, ["--out", "--vectors"]),
        new("index build: --out = the ids", "index build --vectors items.npy --out items.ids", 3, ["--out", "--ids"]),
        new("index build: --out is a folder", "index build --vectors items.npy --out ws", 3, ["--out", "folder"]),
        new("index build: --M 1", "index build --vectors items.npy --out y.hnsw --M 1", 3, ["--M"]),
        new("index build: --M 100000", "index build --vectors items.npy --out y.hnsw --M 100000", 3, ["--M"]),
        new("index build: --ef-construction 0", "index build --vectors items.npy --out y.hnsw --ef-construction 0", 3, ["--ef-construction"]),
        new("index build: --ef 0", "index build --vectors items.npy --out y.hnsw --ef 0", 3, ["--ef"]),
        new("index build: --threads 100000", "index build --vectors items.npy --out y.hnsw --threads 100000", 3, ["--threads"]),
        new("index build: --metric unknown", "index build --vectors items.npy --out y.hnsw --metric manhattan", 3, ["manhattan"]),
        new("index build: --dedup-threshold 5", "index build --vectors items.npy --out y.hnsw --dedup-threshold 5", 3, ["--dedup-threshold"]),
        new("index build: --dedup-threshold 0 (one line)", "index build --vectors items.npy --out y.hnsw --dedup-threshold 0", 3,
            ["error: --dedup-threshold must be in (0, 1], not 0."], Absent: ["\nActual value", "Parameter"]),
        new("index build: 0-byte vectors", "index build --vectors e.npy --ids items.ids --out y.hnsw", 2, ["e.npy"], d => WriteBytes(d, "e.npy", [])),

        // index search.
        new("index search: --k 1000000000", "index search --index x.hnsw --queries q.npy --k 1000000000 --out n.tsv", 3, ["--k"]),
        new("index search: --out = --queries", "index search --index x.hnsw --queries q.npy --out q.npy", 3, ["--out", "--queries"]),
        new("index search: --out = --index", "index search --index x.hnsw --queries q.npy --out x.hnsw", 3, ["--out", "--index"]),
        new("index search: wrong dimension", "index search --index x.hnsw --queries q8.npy --out n.tsv", 2, ["q8.npy", "shape"], Queries("q8.npy", 3, 8)),
        new("index search: a NaN query row", "index search --index x.hnsw --queries qn.npy --out n.tsv", 2, ["qn.npy:3", "'vector'"], Queries("qn.npy", 4, 16, nanAt: 2 * 16 + 5)),
        new("index search: --threads 0", "index search --index x.hnsw --queries q.npy --out n.tsv --threads 0", 3, ["--threads"]),
        new("index search: --ef 0", "index search --index x.hnsw --queries q.npy --out n.tsv --ef 0", 3, ["--ef"]),
        new("index search: queries not a .npy", "index search --index x.hnsw --queries actions.tsv --out n.tsv", 2, ["actions.tsv"]),

        // cluster.
        new("cluster: --linkage-out = --vectors", "cluster --vectors q.npy --linkage-out q.npy", 3, ["--linkage-out", "--vectors"]),
        new("cluster: --linkage-out = the ids", "cluster --vectors items.npy --linkage-out items.ids", 3, ["--linkage-out"]),
        new("cluster: --linkage-out not .npy", "cluster --vectors items.npy --linkage-out z.txt", 3, ["--linkage-out", ".npy"]),
        new("cluster: --alpha text", "cluster --vectors items.npy --linkage-out z.npy --alpha high", 3, ["--alpha", "high"]),
        new("cluster: no rows", "cluster --vectors e.npy --linkage-out z.npy", 3, ["--vectors", "no rows"], d =>
        {
            PinnerSage.IO.Npy.Write(Path.Combine(d, "e.npy"), ReadOnlySpan<float>.Empty, 0, 16);
            Write(d, "e.ids", "");
        }),
        new("cluster: a NaN row", "cluster --vectors qn.npy --linkage-out z.npy", 2, ["qn.npy"], d =>
        {
            Queries("qn.npy", 4, 16, nanAt: 17)(d);
            Write(d, "qn.ids", "a\nb\nc\nd\n");
        }),

        // embeddings import / export / info / cooccurrence.
        new("import: --ids = --out", "embeddings import --text t.tsv --out e.npy --ids e.npy", 3, ["--ids", "--out"]),
        new("import: --out = --text", "embeddings import --text t.tsv --out t.tsv", 3, ["--out"]),
        new("import: --ids = --text", "embeddings import --text t.tsv --out e.npy --ids t.tsv", 3, ["--ids", "--text"]),
        new("import: a non-number", "embeddings import --text bad.tsv --out e.npy", 2, ["bad.tsv:2"], d => Write(d, "bad.tsv", "a\t0.1\t0.2\nb\t0.3\tzero\n")),
        new("import: a ragged row", "embeddings import --text bad.tsv --out e.npy", 2, ["bad.tsv:2"], d => Write(d, "bad.tsv", "a\t0.1\t0.2\nb\t0.3\n")),
        new("import: an empty id", "embeddings import --text bad.tsv --out e.npy", 2, ["bad.tsv:2", "'item_id'"], d => Write(d, "bad.tsv", "a\t0.1\t0.2\n\t0.3\t0.4\n")),
        new("import: a control character in an id", "embeddings import --text bad.tsv --out e.npy", 2, ["bad.tsv:1", "'item_id'", "control"],
            d => Write(d, "bad.tsv", "a\u0002\t0.1\t0.2\nb\t0.3\t0.4\n")),
        new("import: --dim 0", "embeddings import --text t.tsv --out e.npy --dim 0", 3, ["--dim"]),
        new("export: --text = --vectors", "embeddings export --vectors items.npy --text items.npy", 3, ["--text", "--vectors"]),
        new("export: --text = the ids", "embeddings export --vectors items.npy --text items.ids", 3, ["--text", "--ids"]),
        new("info: not a .npy", "embeddings info --vectors e.npy", 2, ["e.npy"], Npy("e.npy", NotNpy)),
        new("cooccurrence: --out = a vector set of the dataset", "embeddings cooccurrence --dataset . --until 1710000000 --out vectors/v.npy", 3,
            ["--out", "--dataset"], VectorSet),
        new("itemsage embed: --out = a vector set of the dataset", "itemsage embed --model m --dataset . --out vectors/v.npy", 3, ["--out", "--dataset"],
            d =>
            {
                VectorSet(d);
                Model("features.json", bytes => bytes)(d);
            }),
        new("eval: --json = --embeddings", "eval --dataset . --embeddings items.npy --json items.npy", 3, ["--json", "--embeddings"]),
        new("eval: --html = --json", "eval --dataset . --embeddings items.npy --json r.json --html r.json", 3, ["--html", "--json"]),
        new("eval: --markdown = the actions", "eval --dataset . --embeddings items.npy --markdown actions.tsv", 3, ["--markdown", "--dataset"]),
        new("cooccurrence: --until text", "embeddings cooccurrence --dataset ws --until soon --out e.npy", 3, ["--until", "soon"]),
        new("cooccurrence: --dim 0", "embeddings cooccurrence --dataset ws --until 1710000000 --out e.npy --dim 0", 3, ["--dim"]),

        // workspaces.
        new("workspace build: empty actions leaves no workspace", "workspace build --out ws2 --actions empty.tsv --embeddings items.npy", 2,
            ["empty.tsv", "no actions read"], d => Write(d, "empty.tsv", Header)),
        new("workspace build: bad actions line leaves no workspace", "workspace build --out ws2 --actions bad.tsv --embeddings items.npy", 2,
            ["bad.tsv:3", "'timestamp'"], BadActions("U1\tt0-i01\tnoon\tclick")),
        new("workspace build: --threads 100000", "workspace build --out ws2 --actions actions.tsv --embeddings items.npy --threads 100000", 3, ["--threads"]),
        new("workspace build: --now in milliseconds", "workspace build --out ws2 --actions actions.tsv --embeddings items.npy --now 1767150408000", 3, ["--now"]),
        new("workspace build: --out is a file", "workspace build --out actions.tsv --actions actions.tsv --embeddings items.npy", 3, ["actions.tsv", "is a file"]),
        new("workspace build: --store = --actions", "workspace build --out ws2 --actions actions.tsv --embeddings items.npy --store actions.tsv", 3,
            ["--store", "same file"]),
        new("workspace batch: truncated workspace.json", "workspace batch --workspace ws", 2, ["workspace.json"], d =>
        {
            string manifest = Path.Combine(d, "ws", "workspace.json");
            File.WriteAllText(manifest, File.ReadAllText(manifest)[..40]);
        }),
        new("workspace batch: missing workspace", "workspace batch --workspace nosuch", 4, ["nosuch"]),
        new("workspace batch: --threads 100000", "workspace batch --workspace ws --threads 100000", 3, ["--threads"]),

        // serve refuses before binding.
        new("serve: a public address without a key", "serve --workspace ws --urls http://0.0.0.0:1", 3, ["0.0.0.0", "API key", "--allow-anonymous"]),
        new("serve: any-address without a key", "serve --workspace ws --urls http://*:1", 3, ["http://*:1", "API key"]),
        new("serve: a short API key", "serve --workspace ws --urls http://127.0.0.1:1 --api-key short", 3, ["API key", "16"]),
        new("serve: a missing key file", "serve --workspace ws --urls http://127.0.0.1:1 --api-key-file nosuch.key", 4, ["nosuch.key"]),
        new("serve: an empty key file", "serve --workspace ws --urls http://127.0.0.1:1 --api-key-file empty.key", 3, ["--api-key-file", "empty.key"],
            d => Write(d, "empty.key", "\n")),
        new("serve: --writes-per-second -1", "serve --workspace ws --writes-per-second -1", 3, ["--writes-per-second"]),
        new("serve: --cache 0", "serve --workspace ws --cache 0", 3, ["--cache"]),

        // Other commands' options.
        new("eval: --threads 100000", "eval --dataset ws --embeddings items.npy --threads 100000", 3, ["--threads"]),
        new("eval: --bootstrap -1", "eval --dataset ws --embeddings items.npy --bootstrap -1", 3, ["--bootstrap"]),
        new("synth: --users 0", "synth --users 0 --out w", 3, ["--users"]),
        new("synth: --users 100000000", "synth --users 100000000 --out w", 3, ["--users"]),
        new("synth: --dimension 0", "synth --users 10 --out w --dimension 0", 3, ["--dimension"]),
        new("synth: --threads 100000", "synth --users 10 --out w --threads 100000", 3, ["--threads"]),
        new("quickstart: --users 0", "quickstart --users 0 --out qs", 3, ["--users"]),
        new("itemsage embed: not a dataset folder", "itemsage embed --model nosuch --dataset ws --out e.npy", 2, ["ws", "not a dataset folder"]),
        new("itemsage embed: truncated features.json", "itemsage embed --model m --dataset . --out e.npy", 2,
            ["features.json", "malformed feature spec"], Model("features.json", bytes => bytes[..60])),
        new("itemsage embed: a flipped byte in the tower", "itemsage embed --model m --dataset . --out e.npy", 2, ["tower.bin", "checksum"],
            Model("tower.bin", bytes =>
            {
                bytes[^40] ^= 0x10;
                return bytes;
            })),
        new("itemsage embed: a truncated tower", "itemsage embed --model m --dataset . --out e.npy", 2, ["tower.bin"],
            Model("tower.bin", bytes => bytes[..100])),
        new("itemsage train: an unknown task is named", "itemsage train --dataset . --out m --tasks nosuch --steps 1", 3,
            ["--tasks", "'nosuch'", "click"]),
        new("itemsage train: --batch 0", "itemsage train --dataset ws --out m --batch 0", 3, ["--batch"]),
        new("unknown command", "frobnicate", 3, ["frobnicate"]),
    ];

    public static IEnumerable<object[]> Cases() => All.Select(c => new object[] { c.Name });

    [Fact]
    public void TheTableHasAtLeastAHundredDistinctCases()
    {
        Assert.True(All.Length >= 100, $"{All.Length} cases");
        Assert.Equal(All.Length, All.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FailsCleanlyAndLeavesEveryPriorOutputAsItWas(string name)
    {
        MalformedCase c = All.Single(x => x.Name == name);
        using var dir = new TempDir();
        CopyFolder(fixture.Root, dir.Path);
        c.Setup?.Invoke(dir.Path);
        Dictionary<string, string> before = Snapshot(dir.Path);

        string args = c.Args.Replace("{user}", "'" + fixture.User + "'", StringComparison.Ordinal);
        string stdin = c.Stdin is null ? "" : $" < {c.Stdin}";
        (int exit, string stdout, string stderr) = CliProcess.Shell($"{CliProcess.ShellCommand} {args}{stdin}", dir.Path);
        output.WriteLine($"$ pinnersage {args}{stdin}\nexit {exit}\n{stderr}");

        Assert.True(exit == c.Exit, $"exit {exit}, expected {c.Exit}: {stderr}{stdout}");
        Assert.StartsWith("error: ", stderr);
        Assert.DoesNotContain("   at ", stderr); // no stack trace
        foreach (string fragment in c.Expect) Assert.Contains(fragment, stderr);
        foreach (string fragment in c.Absent ?? []) Assert.DoesNotContain(fragment, stderr);
        Dictionary<string, string> after = Snapshot(dir.Path);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach ((string file, string content) in before) Assert.True(content == after[file], $"{file} changed");
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (string path in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, path));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(path, target);
        }
    }

    /// <summary>Every file (relative path → SHA-256; for a profile store also its profiles, metadata and event log, which
    /// may sit in the WAL beside the file)
    /// and every folder, so a new file, a temporary leftover or a new workspace shows up too.</summary>
    internal static Dictionary<string, string> Snapshot(string root)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string dir in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories))
            result[Path.GetRelativePath(root, dir) + "/"] = "folder";
        foreach (string path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(root, path);
            if (rel.EndsWith("-wal", StringComparison.Ordinal) || rel.EndsWith("-shm", StringComparison.Ordinal)) continue;
            result[rel] = rel.EndsWith(".db", StringComparison.Ordinal) && new FileInfo(path).Length > 0 && IsSqlite(path)
                ? StoreDump(path) + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))
                : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
        }
        return result;
    }

    private static bool IsSqlite(string path)
    {
        byte[] head = new byte[16];
        using FileStream f = File.OpenRead(path);
        return f.Read(head) == 16 && Encoding.ASCII.GetString(head).StartsWith("SQLite format 3", StringComparison.Ordinal);
    }

    /// <summary>A SQLite store's content, read with SQL only (so a corrupted blob is compared, not decoded).</summary>
    internal static string StoreDump(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        var text = new StringBuilder();
        foreach (string sql in new[]
                 {
                     "SELECT user_id || ':' || clusters || ':' || hex(data) FROM profiles ORDER BY user_id",
                     "SELECT item || ':' || item_id FROM items ORDER BY item",
                     "SELECT key || '=' || value FROM meta ORDER BY key",
                     "SELECT sequence || ':' || user_id || ':' || item_id || ':' || timestamp FROM events ORDER BY sequence",
                 })
        {
            using SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = sql;
            using SqliteDataReader r = cmd.ExecuteReader();
            while (r.Read()) text.Append(r.GetString(0)).Append('\n');
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
