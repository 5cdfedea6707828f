using System.Collections.Concurrent;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Storage;

/// <summary>The <see cref="IProfileStore"/> contract (notes: STORE-CONTRACT.md, section 1), run against every store:
/// each subclass says how to make a fresh store location and how to open it.</summary>
public abstract class ProfileStoreContractTests(ITestOutputHelper output) : IDisposable
{
    protected ITestOutputHelper Output { get; } = output;

    /// <summary>A fresh, empty store location (a file path, or "postgres:…" with its own schema).</summary>
    protected abstract string NewLocation();

    /// <summary>The schema version the store writes into its metadata.</summary>
    protected abstract int SchemaVersion { get; }

    /// <summary>True when the store can be tested here; otherwise the test passes with a message (fails under CI).</summary>
    protected abstract bool Available();

    /// <summary>Opens a store at <paramref name="location"/> (a second call opens a second, independent instance).</summary>
    protected virtual IProfileStore Open(string location) => ProfileStores.Open(location);

    public virtual void Dispose() => GC.SuppressFinalize(this);

    internal static List<UserProfile> RandomProfiles(int users, int seed, string prefix = "")
    {
        var rng = new Random(seed);
        var result = new List<UserProfile>();
        for (int u = 0; u < users; u++)
        {
            var clusters = new List<ProfileCluster>();
            int k = rng.Next(0, 6);
            for (int c = 0; c < k; c++)
            {
                string[] members = Enumerable.Range(0, 1 + rng.Next(20)).Select(_ => $"{prefix}item-{rng.Next(3000)}-ü").Distinct().ToArray();
                clusters.Add(new ProfileCluster(members[rng.Next(members.Length)], rng.NextDouble() * 50, members.Length + rng.Next(5), members));
            }
            result.Add(new UserProfile($"user-{u:D5}-é", clusters));
        }
        return result;
    }

    internal static ProfileRunMetadata Meta(long now, long consumed = 0) =>
        new(SqliteProfileStore.SchemaVersion, now, new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero), """{"alpha":0.75}""", 0, "a.tsv")
        {
            ConsumedEventSequence = consumed,
        };

    internal static void Write(IProfileStore store, IEnumerable<UserProfile> profiles, ProfileRunMetadata meta)
    {
        using IProfileReplaceSession session = store.BeginReplaceAll();
        foreach (UserProfile p in profiles.OrderBy(p => p.UserId, StringComparer.Ordinal)) session.Write(p);
        session.Commit(meta);
    }

    private static ActionEvent Ev(string user, string item, long t, string action = "click") => new(user, item, action, t);

    private static void AssertSameProfile(UserProfile expected, UserProfile? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(ProfileJson.ToLine(expected), ProfileJson.ToLine(actual));
    }

    [Fact]
    public async Task TheAsynchronousApiReturnsWhatTheSynchronousOneDoesAndHonoursCancellation()
    {
        if (!Available()) return;
        using IProfileStore store = Open(NewLocation());
        List<UserProfile> profiles = RandomProfiles(40, 11);
        Write(store, profiles, Meta(5, consumed: 0));
        IReadOnlyList<long> sequences = await store.AppendEventsAsync([Ev(profiles[3].UserId, "i-1", 10), Ev(profiles[3].UserId, "i-2", 12), Ev("online-only", "i-3", 11)]);
        Assert.Equal(3, sequences.Count);
        Assert.Equal(store.LastEventSequence(), sequences[^1]);

        Assert.Equal(store.GetMetadata(), await store.GetMetadataAsync());
        foreach (UserProfile p in profiles.Take(10)) AssertSameProfile(p, await store.GetAsync(p.UserId));
        Assert.Null(await store.GetAsync("nobody"));
        Assert.Equal(store.GetPendingEvents(profiles[3].UserId, 10), await store.GetPendingEventsAsync(profiles[3].UserId, 10));
        Assert.Equal(["i-1", "i-2"], (await store.GetPendingEventsAsync(profiles[3].UserId, 10)).Select(e => e.Event.ItemId));
        Assert.Equal(store.ListUsers("user-0001", null, 5), await store.ListUsersAsync("user-0001", null, 5));

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.GetAsync(profiles[0].UserId, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.GetPendingEventsAsync(profiles[3].UserId, 5, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.AppendEventsAsync([Ev("x", "i-9", 13)], cancelled.Token));
        Assert.Equal(sequences[^1], store.LastEventSequence()); // nothing appended
    }

    [Fact]
    public void AnEmptyStoreHasNothing()
    {
        if (!Available()) return;
        using IProfileStore store = Open(NewLocation());
        Assert.Null(store.GetMetadata());
        Assert.Equal(0, store.CountUsers());
        Assert.Equal(0, store.LastEventSequence());
        Assert.Empty(store.ListUsers(null, null, 10));
        Assert.Empty(store.GetPendingEvents("u", 20));
        Assert.Empty(store.ReadEvents(0, long.MaxValue));
        Assert.Null(store.Get("u"));
    }

    [Fact]
    public void ProfilesAndMetadataRoundTripAndARunReplacesThePreviousOneEntirely()
    {
        if (!Available()) return;
        string location = NewLocation();
        List<UserProfile> first = RandomProfiles(300, 1, "a-");
        using (IProfileStore store = Open(location)) Write(store, first, Meta(1, consumed: 7));
        using (IProfileStore store = Open(location))
        {
            Assert.Equal(first.Count, store.CountUsers());
            foreach (UserProfile p in first) AssertSameProfile(p, store.Get(p.UserId));
            Assert.Null(store.Get("nobody"));
            Assert.Equal(Meta(1, consumed: 7) with { Users = first.Count, SchemaVersion = SchemaVersion }, store.GetMetadata());

            List<UserProfile> second = RandomProfiles(40, 2, "b-");
            Write(store, second, Meta(2, consumed: 9));
            Assert.Equal(40, store.CountUsers());
            Assert.Null(store.Get("user-00100-é"));
            foreach (UserProfile p in second) AssertSameProfile(p, store.Get(p.UserId));
            Assert.Equal(9, store.GetMetadata()!.ConsumedEventSequence);
        }
    }

    [Fact]
    public void AnUncommittedRunIsInvisibleUntilCommitAndRollsBackOnDispose()
    {
        if (!Available()) return;
        string location = NewLocation();
        List<UserProfile> first = RandomProfiles(200, 3, "a-");
        List<UserProfile> second = RandomProfiles(150, 4, "b-");
        using IProfileStore store = Open(location);
        using IProfileStore reader = Open(location);
        Write(store, first, Meta(1));

        using (IProfileReplaceSession session = store.BeginReplaceAll())
        {
            foreach (UserProfile p in second) session.Write(p);
            // Another instance (another server process behaves the same) and the writing instance both see run 1.
            foreach (IProfileStore s in new[] { reader, store })
            {
                Assert.Equal(200, s.CountUsers());
                AssertSameProfile(first[42], s.Get(first[42].UserId));
                Assert.Equal(1, s.GetMetadata()!.Now);
            }
            // No commit: the run fails here.
        }
        Assert.Equal(200, reader.CountUsers());
        foreach (UserProfile p in first) AssertSameProfile(p, reader.Get(p.UserId));
        Assert.Equal(1, reader.GetMetadata()!.Now);

        using (IProfileReplaceSession session = store.BeginReplaceAll())
        {
            foreach (UserProfile p in second.OrderBy(p => p.UserId, StringComparer.Ordinal)) session.Write(p);
            AssertSameProfile(first[5], reader.Get(first[5].UserId));
            session.Commit(Meta(2));
        }
        Assert.Equal(150, reader.CountUsers());
        AssertSameProfile(second[5], reader.Get(second[5].UserId));
        Assert.Equal(2, reader.GetMetadata()!.Now);
    }

    [Fact]
    public void ADuplicateUserFailsTheRunAndRollsBack()
    {
        if (!Available()) return;
        using IProfileStore store = Open(NewLocation());
        Write(store, RandomProfiles(5, 1), Meta(1));
        using (IProfileReplaceSession session = store.BeginReplaceAll())
        {
            var p = new UserProfile("dup", []);
            session.Write(p);
            Assert.Throws<IOException>(() =>
            {
                session.Write(p);
                session.Commit(Meta(2)); // a store may detect the duplicate only when it commits
            });
        }
        Assert.Equal(5, store.CountUsers());
        Assert.Equal(1, store.GetMetadata()!.Now);
    }

    [Fact]
    public void ListUsersMergesProfilesAndEventUsersInCodePointOrder()
    {
        if (!Available()) return;
        using IProfileStore store = Open(NewLocation());
        Write(store, new[] { "a1", "a2", "b1", "u\uE000" }.Select(u => new UserProfile(u, [])), Meta(1));
        store.AppendEvents([Ev("a3", "i", 1), Ev("b0", "i", 2), Ev("c1", "i", 3), Ev("a2", "i", 4), Ev("u😀", "i", 5), Ev("a3", "j", 6)]);
        string[] all = ["a1", "a2", "a3", "b0", "b1", "c1", "u\uE000", "u😀"]; // U+E000 < U+1F600 in code-point order
        Assert.Equal(all, store.ListUsers(null, null, 100));
        Assert.Equal(all, store.ListUsers("", null, 100));
        Assert.Equal(["a1", "a2", "a3"], store.ListUsers("a", null, 100));
        Assert.Equal(["a1", "a2"], store.ListUsers("a", null, 2));
        Assert.Equal(["a3", "b0", "b1"], store.ListUsers(null, "a2", 3));
        Assert.Equal(["a3"], store.ListUsers("a", "a2", 10));
        Assert.Equal(["b0", "b1"], store.ListUsers("b", "a9", 10)); // after below the prefix: the prefix bounds
        Assert.Empty(store.ListUsers("b", "b1", 10));
        Assert.Empty(store.ListUsers("zz", null, 10));
        Assert.Empty(store.ListUsers(null, null, 0));
        Assert.Equal(["u😀"], store.ListUsers("u", "u\uE000", 10));

        // Paging with `after` visits every user exactly once.
        var paged = new List<string>();
        string? after = null;
        while (true)
        {
            IReadOnlyList<string> page = store.ListUsers(null, after, 3);
            if (page.Count == 0) break;
            paged.AddRange(page);
            after = page[^1];
        }
        Assert.Equal(all, paged);
    }

    [Fact]
    public void AppendedEventsAreDurableAcrossReopenAndSequencesIncreaseInCommitOrder()
    {
        if (!Available()) return;
        string location = NewLocation();
        IReadOnlyList<long> s1, s2, s3;
        var events1 = new[] { Ev("u1", "i1", 100), Ev("u2", "i2", 50, "save"), Ev("u1", "i3", 90) };
        using (IProfileStore store = Open(location))
        using (IProfileStore other = Open(location))
        {
            s1 = store.AppendEvents(events1);
            s2 = other.AppendEvents([Ev("u3", "i4", 10)]);
            s3 = store.AppendEvents([Ev("u1", "i5", 120)]);
            Assert.Empty(store.AppendEvents([]));
        }
        long[] all = [.. s1, .. s2, .. s3];
        Assert.True(all[0] > 0);
        for (int i = 1; i < all.Length; i++) Assert.True(all[i] > all[i - 1], $"sequence {all[i]} after {all[i - 1]}");

        using (IProfileStore store = Open(location))
        {
            Assert.Equal(all[^1], store.LastEventSequence());
            List<LoggedEvent> read = store.ReadEvents(0, long.MaxValue).ToList();
            Assert.Equal(all, read.Select(e => e.Sequence));
            Assert.Equal([.. events1, Ev("u3", "i4", 10), Ev("u1", "i5", 120)], read.Select(e => e.Event));
            DateTimeOffset now = DateTimeOffset.UtcNow;
            Assert.All(read, e => Assert.InRange(e.ReceivedAtUtc, now.AddMinutes(-5), now.AddSeconds(1)));
        }
    }

    [Fact]
    public void InvalidEventsAppendNothing()
    {
        if (!Available()) return;
        using IProfileStore store = Open(NewLocation());
        Assert.Throws<ArgumentException>(() => store.AppendEvents([Ev("u", "i", 1), Ev("u", "", 2)]));
        Assert.Throws<ArgumentException>(() => store.AppendEvents([Ev("", "i", 1)]));
        Assert.Equal(0, store.LastEventSequence());
        Assert.Empty(store.ListUsers(null, null, 10));
    }

    [Fact]
    public void ReadEventsReturnsExactlyTheRangeInSequenceOrder()
    {
        if (!Available()) return;
        using IProfileStore store = Open(NewLocation());
        var seq = new List<long>();
        for (int i = 0; i < 10; i++) seq.AddRange(store.AppendEvents([Ev($"u{i % 3}", $"i{i}", 1000 - i)]));
        Assert.Equal(seq, store.ReadEvents(0, seq[^1]).Select(e => e.Sequence));
        Assert.Equal(seq.Skip(2).Take(3), store.ReadEvents(seq[1], seq[4]).Select(e => e.Sequence));
        Assert.Equal(seq.Take(1), store.ReadEvents(seq[0] - 1, seq[0]).Select(e => e.Sequence));
        Assert.Empty(store.ReadEvents(seq[^1], seq[^1] + 100));
        Assert.Empty(store.ReadEvents(seq[5], seq[5]));
        Assert.Equal("i4", store.ReadEvents(seq[3], seq[4]).Single().Event.ItemId);
    }

    [Fact]
    public void CompactionDeletesOnlyConsumedEventsBeforeTheWindowAndKeepsTheLastSequence()
    {
        if (!Available()) return;
        using IProfileStore store = Open(NewLocation());
        long[] seq = [.. store.AppendEvents([Ev("a", "i1", 10), Ev("b", "i2", 20), Ev("a", "i3", 30), Ev("c", "i4", 40)])];
        // Consumed through the third, window from 35: the first three go, the fourth (unconsumed... and newer) stays.
        Assert.Equal(3, store.CompactEvents(seq[2], 35));
        Assert.Equal([seq[3]], store.ReadEvents(0, long.MaxValue).Select(e => e.Sequence));
        // The last event is kept even when consumed and old, so the last sequence never goes back.
        Assert.Equal(0, store.CompactEvents(seq[3], 1000));
        Assert.Equal(seq[3], store.LastEventSequence());
        // A pending event (after the consumed sequence) stays however old; the consumed one before it can now go.
        long pending = store.AppendEvents([Ev("d", "i5", 1)])[0];
        Assert.True(pending > seq[3]);
        Assert.Equal(1, store.CompactEvents(seq[3], 1000));
        Assert.Equal([pending], store.ReadEvents(0, long.MaxValue).Select(e => e.Sequence));
        Assert.Equal([pending], store.GetPendingEvents("d", 10).Select(e => e.Sequence));
    }

    [Fact]
    public void PendingEventsAreTheMostRecentAfterTheConsumedSequenceOldestFirst()
    {
        if (!Available()) return;
        using IProfileStore store = Open(NewLocation());
        // Timestamps out of arrival order, and a tie (t = 300) broken by sequence.
        IReadOnlyList<long> s = store.AppendEvents([
            Ev("u", "a", 100), Ev("u", "b", 300), Ev("v", "x", 999), Ev("u", "c", 200), Ev("u", "d", 300), Ev("u", "e", 50),
        ]);
        Assert.Equal(["e", "a", "c", "b", "d"], store.GetPendingEvents("u", 20).Select(e => e.Event.ItemId));
        Assert.Equal(["c", "b", "d"], store.GetPendingEvents("u", 3).Select(e => e.Event.ItemId));
        Assert.Equal([s[2]], store.GetPendingEvents("v", 20).Select(e => e.Sequence));
        Assert.Empty(store.GetPendingEvents("u", 0));
        Assert.Empty(store.GetPendingEvents("nobody", 20));

        // A run that consumed the log up to s[3] leaves only the later events pending.
        Write(store, [new UserProfile("u", [])], Meta(1, consumed: s[3]));
        Assert.Equal(["d", "e"], store.GetPendingEvents("u", 20).Select(e => e.Event.ItemId).Order());
        Assert.Equal(["e", "d"], store.GetPendingEvents("u", 20).Select(e => e.Event.ItemId));
        Assert.Empty(store.GetPendingEvents("v", 20));
        IReadOnlyList<long> later = store.AppendEvents([Ev("v", "y", 1)]);
        Assert.Equal(later, store.GetPendingEvents("v", 20).Select(e => e.Sequence));
    }

    [Fact]
    public void ConcurrentAppendsForOneUserLoseNothingAndGetUniqueSequences()
    {
        if (!Available()) return;
        string location = NewLocation();
        using IProfileStore store = Open(location);
        using IProfileStore second = Open(location);
        const int Threads = 8, Calls = 25;
        var sequences = new ConcurrentBag<long>();
        var failures = new ConcurrentBag<Exception>();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                IProfileStore s = t % 2 == 0 ? store : second;
                for (int c = 0; c < Calls; c++)
                {
                    var batch = Enumerable.Range(0, 1 + c % 3).Select(j => Ev("hot", $"t{t}-c{c}-j{j}", 1000 + c)).ToList();
                    foreach (long q in s.AppendEvents(batch)) sequences.Add(q);
                    // Readers run concurrently with the writers.
                    Assert.NotEmpty(s.GetPendingEvents("hot", 20));
                    Assert.Contains("hot", s.ListUsers(null, null, 10));
                }
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        })).ToList();
        // Commit order: whatever a reader saw up to sequence L must never grow later (no sequence ≤ L commits after L
        // became visible).
        var snapshots = new List<(long Last, int Count)>();
        bool writing = true;
        var observer = new Thread(() =>
        {
            try
            {
                while (Volatile.Read(ref writing))
                {
                    long last = second.LastEventSequence();
                    snapshots.Add((last, second.ReadEvents(0, last).Count()));
                }
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        });
        observer.Start();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Volatile.Write(ref writing, false);
        observer.Join();
        Assert.Empty(failures);
        Assert.NotEmpty(snapshots);
        foreach ((long last, int count) in snapshots) Assert.Equal(count, store.ReadEvents(0, last).Count());

        int expected = Threads * Enumerable.Range(0, Calls).Sum(c => 1 + c % 3);
        Assert.Equal(expected, sequences.Count);
        Assert.Equal(expected, sequences.Distinct().Count());
        List<LoggedEvent> read = store.ReadEvents(0, long.MaxValue).ToList();
        Assert.Equal(sequences.Order(), read.Select(e => e.Sequence));
        Assert.Equal(expected, read.Select(e => e.Event.ItemId).Distinct().Count());
        Assert.Equal(expected, store.GetPendingEvents("hot", 10_000).Count);
        Assert.Equal(sequences.Max(), store.LastEventSequence());
    }

    [Fact]
    public void AppendsDuringARunAreNotBlockedAndStayPendingAfterItCommits()
    {
        if (!Available()) return;
        string location = NewLocation();
        using IProfileStore store = Open(location);
        using IProfileStore server = Open(location);
        IReadOnlyList<long> before = server.AppendEvents([Ev("user-00001-é", "old", 1)]);
        long upTo = store.LastEventSequence();
        Assert.Equal(before[0], upTo);
        IReadOnlyList<long> during;
        using (IProfileReplaceSession session = store.BeginReplaceAll())
        {
            foreach (UserProfile p in RandomProfiles(2500, 5)) session.Write(p);
            IReadOnlyList<long>? appended = null;
            var append = new Thread(() => appended = server.AppendEvents([Ev("user-00001-é", "new", 2)]));
            append.Start();
            Assert.True(append.Join(TimeSpan.FromSeconds(20)), "an append waited for the whole batch run");
            during = appended!;
            session.Commit(Meta(1, consumed: upTo));
        }
        Assert.Equal(during, server.GetPendingEvents("user-00001-é", 20).Select(e => e.Sequence));
        Assert.Equal(upTo, server.GetMetadata()!.ConsumedEventSequence);
    }
}
