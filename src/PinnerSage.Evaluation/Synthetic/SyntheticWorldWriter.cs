using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PinnerSage.IO;

namespace PinnerSage.Synthetic;

/// <summary>Counts of a written world.</summary>
/// <param name="Users">Users written.</param>
/// <param name="Items">Items written.</param>
/// <param name="Topics">Topics written.</param>
/// <param name="Actions">Actions written (lines of actions.tsv and of truth.tsv, headers excluded).</param>
public sealed record SyntheticWorldSummary(int Users, int Items, int Topics, long Actions);

/// <summary>Writes a <see cref="SyntheticWorld"/> in the generic dataset layout (datasets/README.md):
/// <c>items.tsv</c>, <c>actions.tsv</c> (grouped and sorted by user id, then time), <c>vectors/item.npy</c> +
/// <c>vectors/item.ids</c>, and the ground truth: <c>truth.tsv</c> (user_id, item_id, timestamp, topic_id; line i is
/// the interest behind line i of actions.tsv), <c>topics.tsv</c> and <c>manifest.json</c> (options and counts).</summary>
/// <remarks>Users are generated in parallel blocks and written in block order through large buffered UTF-8 writes, so
/// the bytes do not depend on the number of threads and memory stays bounded (a few blocks in flight). Every file is
/// written under a temporary name in the target folder and renamed when complete; manifest.json is written last.</remarks>
public static class SyntheticWorldWriter
{
    /// <summary>File names inside the output folder.</summary>
    public const string ActionsFile = "actions.tsv", ItemsFile = "items.tsv", TruthFile = "truth.tsv",
        TopicsFile = "topics.tsv", ManifestFile = "manifest.json", VectorsFile = "vectors/item.npy", IdsFile = "vectors/item.ids";

    /// <summary>Writes <paramref name="world"/> into <paramref name="directory"/> (created if missing; existing files of
    /// the layout are replaced).</summary>
    /// <param name="world">The world.</param>
    /// <param name="directory">Output folder.</param>
    /// <param name="maxThreads">Threads generating users (≤ 0: all cores). The output does not depend on it.</param>
    /// <param name="progress">Called after each written block with (users written, actions written); may be null.</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    /// <exception cref="IOException">A file could not be written.</exception>
    public static SyntheticWorldSummary Write(SyntheticWorld world, string directory, int maxThreads = 0,
                                              Action<int, long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(Path.Combine(directory, "vectors"));

        Npy.Write(Path.Combine(directory, VectorsFile), world.ItemVectors, world.ItemCount, world.Dimension);
        WriteText(Path.Combine(directory, IdsFile), w =>
        {
            for (int i = 0; i < world.ItemCount; i++) w.Write(world.ItemId(i) + "\n");
        });
        WriteText(Path.Combine(directory, ItemsFile), w =>
        {
            w.Write("item_id\ttitle\tcategory\tbrand\tprice\n");
            for (int i = 0; i < world.ItemCount; i++)
            {
                SyntheticTopic topic = world.Topics[world.ItemTopic(i)];
                w.Write(string.Create(CultureInfo.InvariantCulture,
                    $"{world.ItemId(i)}\t{world.ItemTitle(i)}\t{topic.Family} > {topic.Name}\t{world.ItemBrand(i)}\t{world.ItemPrice(i):F2}\n"));
            }
        });
        WriteText(Path.Combine(directory, TopicsFile), w =>
        {
            w.Write("topic_id\tname\tfamily\tpopularity\titems\n");
            foreach (SyntheticTopic t in world.Topics)
                w.Write(string.Create(CultureInfo.InvariantCulture,
                    $"{world.TopicId(t.Id)}\t{t.Name}\t{t.Family}\t{t.Popularity:G6}\t{t.ItemCount}\n"));
        });

        long actions = WriteActions(world, directory, maxThreads, progress);
        var summary = new SyntheticWorldSummary(world.UserCount, world.ItemCount, world.TopicCount, actions);
        WriteManifest(world, directory, summary);
        return summary;
    }

    private static long WriteActions(SyntheticWorld world, string directory, int maxThreads, Action<int, long>? progress)
    {
        int threads = maxThreads > 0 ? maxThreads : Environment.ProcessorCount;
        string actionsPath = Path.Combine(directory, ActionsFile), truthPath = Path.Combine(directory, TruthFile);
        long total = 0;
        using (var actionsFile = new PendingFile(actionsPath, 1 << 20))
        using (var truthFile = new PendingFile(truthPath, 1 << 20))
        {
            FileStream actionsOut = actionsFile.Stream, truthOut = truthFile.Stream;
            actionsOut.Write("user_id\titem_id\ttimestamp\taction\n"u8);
            truthOut.Write("user_id\titem_id\ttimestamp\ttopic_id\n"u8);

            // A batch of blocks is generated in parallel while the previous batch is written: at most two batches
            // (2 × inFlight blocks of ~1,024 users) are in memory.
            int inFlight = Math.Max(2, threads * 2);
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
            Task pendingWrite = Task.CompletedTask;
            int usersWritten = 0;
            for (int first = 0; first < world.BlockCount; first += inFlight)
            {
                int count = Math.Min(inFlight, world.BlockCount - first);
                var batch = new BlockText[count];
                Parallel.For(0, count, parallel, b => batch[b] = FormatBlock(world, first + b));
                pendingWrite.GetAwaiter().GetResult();
                int batchFirst = first;
                pendingWrite = Task.Run(() =>
                {
                    foreach (BlockText block in batch)
                    {
                        actionsOut.Write(block.Actions.WrittenSpan);
                        truthOut.Write(block.Truth.WrittenSpan);
                        total += block.Count;
                    }
                    usersWritten = Math.Min(world.UserCount, (batchFirst + count) * SyntheticWorld.UsersPerBlock);
                    progress?.Invoke(usersWritten, total);
                });
            }
            pendingWrite.GetAwaiter().GetResult();
            actionsFile.Commit();
            truthFile.Commit();
        }
        return total;
    }

    private sealed record BlockText(ByteBuffer Actions, ByteBuffer Truth, int Count);

    private static BlockText FormatBlock(SyntheticWorld world, int block)
    {
        var actions = new List<SyntheticAction>(SyntheticWorld.UsersPerBlock * 80);
        world.GenerateBlock(block, actions);
        (int userWidth, int itemWidth, int topicWidth) = world.IdWidths;
        var a = new ByteBuffer(actions.Count * 48);
        var t = new ByteBuffer(actions.Count * 40);
        foreach (SyntheticAction x in actions)
        {
            int lineStart = a.Length;
            a.Id((byte)'u', x.User + 1, userWidth);
            a.Byte((byte)'\t');
            a.Id((byte)'i', x.Item + 1, itemWidth);
            a.Byte((byte)'\t');
            a.Number(x.Timestamp);
            a.Byte((byte)'\t');
            t.Bytes(a.WrittenSpan[lineStart..]); // the truth line shares "user TAB item TAB timestamp TAB"
            a.Bytes(Labels[(int)x.Action]);
            a.Byte((byte)'\n');
            t.Id((byte)'t', x.Topic, topicWidth);
            t.Byte((byte)'\n');
        }
        return new BlockText(a, t, actions.Count);
    }

    private static readonly byte[][] Labels =
    [
        "click"u8.ToArray(), "save"u8.ToArray(), "add_to_cart"u8.ToArray(), "checkout"u8.ToArray(),
    ];

    private static void WriteManifest(SyntheticWorld world, string directory, SyntheticWorldSummary summary)
    {
        AtomicFile.Write(Path.Combine(directory, ManifestFile), stream =>
        {
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                SyntheticWorldOptions o = world.Options;
                json.WriteStartObject();
                json.WriteString("generator", "pinnersage synth");
                json.WriteStartObject("options");
                json.WriteNumber("users", o.Users);
                json.WriteNumber("items", world.ItemCount);
                json.WriteNumber("topics", world.TopicCount);
                json.WriteNumber("days", o.Days);
                json.WriteNumber("dimension", o.Dimension);
                json.WriteNumber("seed", o.Seed);
                json.WriteNumber("end_time", o.EndTime);
                json.WriteNumber("mean_actions_per_user", o.MeanActionsPerUser);
                json.WriteNumber("activity_sigma", o.ActivitySigma);
                json.WriteNumber("max_interests", o.MaxInterests);
                json.WriteNumber("interest_count_exponent", o.InterestCountExponent);
                json.WriteNumber("topic_zipf_exponent", o.TopicZipfExponent);
                json.WriteNumber("item_zipf_exponent", o.ItemZipfExponent);
                json.WriteNumber("topic_spread", o.TopicSpread);
                json.WriteNumber("item_noise", o.ItemNoise);
                json.WriteNumber("item_noise_variation", o.ItemNoiseVariation);
                json.WriteNumber("shared_share", o.SharedShare);
                json.WriteNumber("anisotropy", o.Anisotropy);
                json.WriteNumber("mean_product_size", o.MeanProductSize);
                json.WriteNumber("variant_noise", o.VariantNoise);
                json.WriteNumber("exploration_share", o.ExplorationShare);
                json.WriteNumber("mean_session_length", o.MeanSessionLength);
                json.WriteNumber("mean_gap_seconds", o.MeanGapSeconds);
                json.WriteStartObject("action_shares");
                json.WriteNumber("click", o.ClickShare);
                json.WriteNumber("save", o.SaveShare);
                json.WriteNumber("add_to_cart", o.AddToCartShare);
                json.WriteNumber("checkout", o.CheckoutShare);
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteStartObject("counts");
                json.WriteNumber("users", summary.Users);
                json.WriteNumber("items", summary.Items);
                json.WriteNumber("topics", summary.Topics);
                json.WriteNumber("families", world.FamilyCount);
                json.WriteNumber("actions", summary.Actions);
                json.WriteEndObject();
                json.WriteNumber("start_time", world.StartTime);
                json.WriteStartObject("files");
                json.WriteString(ActionsFile, "user_id, item_id, timestamp, action; grouped and sorted by user id, then time");
                json.WriteString(ItemsFile, "item_id, title, category (family > topic), brand, price");
                json.WriteString(VectorsFile, "item embeddings, float32 [items, dimension], unit norm; row order in vectors/item.ids");
                json.WriteString(TruthFile, "user_id, item_id, timestamp, topic_id: the ground-truth interest of line i of actions.tsv");
                json.WriteString(TopicsFile, "topic_id, name, family, popularity, items");
                json.WriteEndObject();
                json.WriteEndObject();
            }
        });
    }

    private static void WriteText(string path, Action<StreamWriter> body) => AtomicFile.WriteText(path, body, 1 << 20);

    /// <summary>A growable UTF-8 byte buffer with the few formatting operations the TSV lines need.</summary>
    private sealed class ByteBuffer(int capacity)
    {
        private byte[] _data = new byte[Math.Max(capacity, 256)];

        public int Length { get; private set; }

        public ReadOnlySpan<byte> WrittenSpan => _data.AsSpan(0, Length);

        private Span<byte> Reserve(int count)
        {
            if (Length + count > _data.Length) Array.Resize(ref _data, Math.Max(_data.Length * 2, Length + count));
            return _data.AsSpan(Length);
        }

        public void Byte(byte b)
        {
            Reserve(1)[0] = b;
            Length++;
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(Reserve(bytes.Length));
            Length += bytes.Length;
        }

        public void Number(long value)
        {
            bool ok = Utf8Formatter.TryFormat(value, Reserve(20), out int written);
            Debug.Assert(ok);
            Length += written;
        }

        /// <summary>prefix + value zero-padded to <paramref name="width"/> digits.</summary>
        public void Id(byte prefix, int value, int width)
        {
            Span<byte> span = Reserve(width + 12);
            span[0] = prefix;
            bool ok = Utf8Formatter.TryFormat(value, span[1..], out int written, new StandardFormat('D', (byte)width));
            Debug.Assert(ok);
            Length += 1 + written;
        }
    }
}
