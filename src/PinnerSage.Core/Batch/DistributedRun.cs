using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;

namespace PinnerSage.Batch;

/// <summary>What the mappers of a distributed run (Dask, Spark <c>RDD.pipe</c>, Hadoop Streaming: each runs
/// <c>profiles map</c> on a shard of users) must all be told so that their profiles equal what <c>profiles build</c>
/// writes for the same input: the values that need every user's actions (now, λ = auto, α = auto) and the store's
/// event log up to a sequence (<see cref="ProfilePipeline.Plan"/>). <see cref="ProfileLoad"/> then commits the
/// mappers' output with this plan's run metadata.</summary>
/// <param name="Now">The run's now (Unix seconds): the given one, else the latest timestamp of the actions and of the
/// usable logged events, as the batch job takes it.</param>
/// <param name="Alpha">Ward's α, resolved.</param>
/// <param name="Lambda">The importance decay per day, resolved (auto λ chosen on the whole input).</param>
/// <param name="ConsumedEventSequence">Logged events with a sequence ≤ this are in the run (exported as action lines
/// for the mappers) and are marked consumed by the load.</param>
/// <param name="EventsExported">How many logged events were exported.</param>
/// <param name="OptionsJson">The run's options as <c>profiles build</c> records them (<see cref="ProfilePipeline.OptionsJson"/>).</param>
public sealed record ProfileRunPlan(long Now, double Alpha, double Lambda, long ConsumedEventSequence, long EventsExported,
                                   string OptionsJson)
{
    /// <summary>The plan as one JSON object (numbers in round-trip form, the options as a nested object).</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["now"] = Now,
            ["alpha"] = Alpha,
            ["lambda"] = Lambda,
            ["consumed_event_sequence"] = ConsumedEventSequence,
            ["events_exported"] = EventsExported,
            ["options"] = JsonNode.Parse(OptionsJson),
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads a plan written by <see cref="ToJson"/>.</summary>
    /// <exception cref="DataFormatException">Not a plan: names the file and the key.</exception>
    public static ProfileRunPlan Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        JsonObject o;
        try
        {
            o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DataFormatException(path, 1, null, "expected a JSON object (a plan from profiles plan)");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, (e.LineNumber ?? 0) + 1, null, $"not valid JSON ({e.Message})");
        }
        T Get<T>(string key)
        {
            try
            {
                return o[key] is JsonValue v ? v.GetValue<T>() : throw new DataFormatException(path, 1, key, "missing");
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw new DataFormatException(path, 1, key, $"expected a {typeof(T).Name}");
            }
        }
        string options = o["options"] is JsonObject opts ? opts.ToJsonString() : throw new DataFormatException(path, 1, "options", "missing");
        return new ProfileRunPlan(Get<long>("now"), Get<double>("alpha"), Get<double>("lambda"), Get<long>("consumed_event_sequence"),
                                  Get<long>("events_exported"), options);
    }
}

/// <summary>Commits profiles computed elsewhere (the JSON-lines parts of a distributed run's mappers) into a store, as
/// <see cref="ProfilePipeline.RunIntoStore"/> would have: every profile replaced in one transaction, the plan's run
/// metadata, the logged events it covered marked consumed, the same refusal to shrink the store.</summary>
public static class ProfileLoad
{
    /// <summary>Merges <paramref name="parts"/> (each in user-id order, as the mapper writes a sorted shard) in user-id
    /// order into <paramref name="store"/> (and <paramref name="export"/>, committed after the store), with
    /// <paramref name="plan"/>'s metadata. A failure anywhere — a bad line, a user in two parts, a shrink — commits
    /// nothing.</summary>
    /// <returns>How many profiles were written.</returns>
    /// <exception cref="DataFormatException">A part's line is not a profile, is out of order, or repeats a user.</exception>
    /// <exception cref="ShrinkRefusedException">Fewer than half the store's profiles (or none), without <paramref name="allowShrink"/>.</exception>
    /// <exception cref="InvalidOperationException">The plan covers events the store does not have (another store's plan).</exception>
    public static long Run(IReadOnlyList<string> parts, IProfileStore store, ProfileRunPlan plan, bool allowShrink,
                           JsonLinesProfileWriter? export = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.ConsumedEventSequence > store.LastEventSequence())
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"the plan covers logged events up to sequence {plan.ConsumedEventSequence}, but the store's log ends at {store.LastEventSequence()}: it was planned against another store."));
        long previousUsers = store.CountUsers();
        var readers = new List<PartReader>();
        try
        {
            foreach (string part in parts) readers.Add(new PartReader(part));
            using IProfileReplaceSession session = store.BeginReplaceAll();
            // k-way merge in user-id order; a user in two parts is an error (the shuffle must send a user to one shard).
            var queue = new PriorityQueue<PartReader, string>(Comparer<string>.Create(UserIdOrder.Compare));
            foreach (PartReader r in readers)
                if (r.MoveNext()) queue.Enqueue(r, r.Current.UserId);
            long written = 0;
            string? last = null;
            while (queue.TryDequeue(out PartReader? r, out string? user))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (last is not null && UserIdOrder.Compare(last, user) == 0)
                    throw new DataFormatException(r.Path, r.Line, "user_id", $"user '{user}' is also in another part: the shuffle must send each user to one part");
                session.Write(r.Current);
                export?.Write(r.Current);
                written++;
                last = user;
                if (r.MoveNext()) queue.Enqueue(r, r.Current.UserId);
            }
            if (!allowShrink && (written == 0 || (previousUsers > 0 && written * 2 < previousUsers)))
                throw ShrinkRefusedException.ForLoad(written, previousUsers, parts.Count);
            export?.Prepare();
            session.Commit(new ProfileRunMetadata(ProfileRunMetadata.SchemaVersionFilledByStore, plan.Now, DateTimeOffset.UtcNow,
                                                  plan.OptionsJson, written, $"{parts.Count} parts")
            { ConsumedEventSequence = plan.ConsumedEventSequence });
            export?.Commit();
            // As profiles build: consumed events before the run's window are deleted after the commit.
            double windowDays = JsonNode.Parse(plan.OptionsJson)?["window_days"]?.GetValue<double>() ?? new ProfileOptions().WindowDays;
            store.CompactEvents(plan.ConsumedEventSequence, ProfileOptions.WindowStart(plan.Now, windowDays) + 1);
            return written;
        }
        finally
        {
            foreach (PartReader r in readers) r.Dispose();
        }
    }

    /// <summary>One part's profiles in order, checked to be strictly increasing by user id.</summary>
    private sealed class PartReader(string path) : IDisposable
    {
        private readonly StreamReader _reader = new(path, Encoding.UTF8);
        private byte[] _buffer = new byte[1024];

        public string Path { get; } = path;

        public long Line { get; private set; }

        public UserProfile Current { get; private set; } = null!;

        public bool MoveNext()
        {
            string? text = _reader.ReadLine();
            if (text is null) return false;
            Line++;
            int bytes = Encoding.UTF8.GetByteCount(text);
            if (_buffer.Length < bytes) _buffer = new byte[bytes * 2];
            Encoding.UTF8.GetBytes(text, _buffer);
            UserProfile next;
            try
            {
                next = ProfileJson.Parse(_buffer.AsSpan(0, bytes));
            }
            catch (FormatException e)
            {
                throw new DataFormatException(Path, Line, null, e.Message);
            }
            if (Current is not null && UserIdOrder.Compare(Current.UserId, next.UserId) >= 0)
                throw new DataFormatException(Path, Line, "user_id",
                    $"user '{next.UserId}' comes after '{Current.UserId}': a part must be in user-id order (code points, as LC_ALL=C sort)");
            Current = next;
            return true;
        }

        public void Dispose() => _reader.Dispose();
    }
}
