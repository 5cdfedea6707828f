using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>Everything a serving process loads once: the workspace's embeddings, index and titles, the medoid
/// neighbour cache, the online rule and the store.</summary>
/// <remarks>The online state is never cached in the process (our choice): every request reads the user's pending
/// events from the store, so several instances sharing one PostgreSQL store, and a batch run committing underneath,
/// are always seen at once. Caches: the paper's neighbour lists by medoid (they depend on the index alone), and decoded
/// batch profiles keyed by the batch run (see <see cref="ServeAsync"/>).</remarks>
internal sealed class ServingState : IDisposable
{
    private readonly ConcurrentDictionary<int, Recommender> _recommenders = new();
    private readonly string?[] _titles;
    private readonly string?[]? _images;
    private ProfileCache _profiles;
    private RunCheck? _runCheck;

    /// <param name="options">The service's options.</param>
    /// <param name="meterFactory">The host's meter factory for <see cref="Metrics"/>; null: a meter of its own.</param>
    public ServingState(ServeOptions options, IMeterFactory? meterFactory = null)
    {
        options.Validate();
        Options = options;
        Workspace = Workspace.Load(options.Workspace);
        _profiles = new ProfileCache(null, options.ProfileCacheCapacity);
        Items = ItemEmbeddings.Load(Workspace.EmbeddingsPath, Workspace.IdsPath);
        try
        {
            // A float or an int8 index (`index build --quantization int8`): the file says which.
            if (QuantizedHnswIndex.IsQuantizedFile(Workspace.IndexPath))
            {
                _quantized = QuantizedHnswIndex.Load(Workspace.IndexPath);
                Index = _quantized;
            }
            else Index = HnswIndex.Load(Workspace.IndexPath);
            if (Index.Dimension != Items.Dimension)
                throw new DataFormatException(Workspace.IndexPath, 0, "dimension",
                    $"the index has dimension {Index.Dimension}, the embeddings {Items.Dimension}");
            Cache = new NeighborCache(Index, options.NeighborCacheCapacity);
            CentreCache = new NeighborCache(Index, options.NeighborCacheCapacity);
            Metrics = new ServingMetrics(meterFactory, [("medoid", Cache), ("centre", CentreCache)]);
            _titles = new string?[Items.Count];
            if (Workspace.ItemsPath is not null && File.Exists(Workspace.ItemsPath))
            {
                ItemCatalog catalog = ItemCatalog.Load(Workspace.ItemsPath);
                for (int r = 0; r < _titles.Length; r++) _titles[r] = catalog.Title(Items.Id(r));
                if (catalog.HasImages)
                {
                    _images = new string?[Items.Count];
                    for (int r = 0; r < _images.Length; r++) _images[r] = catalog.ImageUrl(Items.Id(r));
                }
            }
            Online = new OnlineProfile(Items, Workspace.ProfileOptions, options.MaxPendingEvents);
            ActionTypes = Workspace.ActionTypes.Count > 0
                ? new HashSet<string>(Workspace.ActionTypes, StringComparer.Ordinal)
                : Workspace.ProfileOptions.IncludeActions;
            Store = ProfileStores.Open(Workspace.StoreLocation);
            StoreKind = Workspace.IsFileStore(Workspace.StoreLocation) ? "sqlite" : "postgresql";
        }
        catch
        {
            Metrics?.Dispose();
            _quantized?.Dispose();
            Items.Dispose();
            throw;
        }
    }

    public ServeOptions Options { get; }

    public Workspace Workspace { get; }

    /// <summary>The retrieval settings served: serve --settings, else the workspace's.</summary>
    public RetrievalSettings Retrieval => Options.Retrieval ?? Workspace.Retrieval;

    public ItemEmbeddings Items { get; }

    /// <summary>The workspace's index: <see cref="HnswIndex"/> or <see cref="QuantizedHnswIndex"/>.</summary>
    public IVectorIndex Index { get; }

    private readonly QuantizedHnswIndex? _quantized;

    public NeighborCache Cache { get; }

    /// <summary>The mixture policy's centre lists, keyed by a hash of the centre vector (as many as medoid lists).</summary>
    public NeighborCache CentreCache { get; }

    public OnlineProfile Online { get; }

    public IReadOnlySet<string>? ActionTypes { get; }

    /// <summary>The store, shared by all requests: both stores are thread-safe (pooled read connections) and group
    /// concurrent appends into one transaction and fsync (Storage/GroupCommit).</summary>
    public IProfileStore Store { get; }

    public ServingMetrics Metrics { get; }

    public string StoreKind { get; }

    /// <summary>The service's now, Unix seconds: the wall clock, or the data clock when the data is older than one
    /// profile window (<see cref="ServiceClock"/>).</summary>
    public long Now => ServiceClock.Now(Options.Clock.GetUtcNow(), Metadata(), Online.Options.WindowDays);

    /// <summary>The wall clock, Unix seconds: posted timestamps may reach it (plus the skew allowance).</summary>
    public long WallNow => Options.Clock.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Title of item row <paramref name="row"/> (null without a catalogue).</summary>
    public string? Title(int row) => _titles[row];

    public string? Title(string itemId) => Items.TryGetRow(itemId, out int row) ? _titles[row] : null;

    /// <summary>Image URL of item row <paramref name="row"/> (null without a catalogue image column).</summary>
    public string? ImageUrl(int row) => _images?[row];

    public string? ImageUrl(string itemId) => _images is not null && Items.TryGetRow(itemId, out int row) ? _images[row] : null;

    /// <summary>Whether the catalogue has an image column.</summary>
    public bool HasImages => _images is not null;

    /// <summary>The workspace's evaluation report (<see cref="Workspace.ReportFile"/>), or null; looked up on each call,
    /// so a report written while the server runs is linked at once.</summary>
    public string? ReportPath => Path.Combine(Workspace.Directory, Workspace.ReportFile) is var path && File.Exists(path) ? path : null;

    /// <summary>One recommender per (k, medoids, policy): options are immutable, the cache and index are shared.</summary>
    public Recommender Recommender(int k, int medoids, RetrievalPolicy? policy = null)
    {
        RetrievalPolicy p = policy ?? Retrieval.Policy;
        return _recommenders.GetOrAdd((k * 64 + medoids) * 2 + (int)p, static (_, a) =>
            new Recommender(a.State.Index, a.State.Items,
                            new RecommenderOptions { K = a.K, Medoids = a.Medoids, Policy = a.Policy, Mixture = a.State.Retrieval.Mixture },
                            a.State.Cache, a.State.CentreCache),
            (State: this, K: k, Medoids: medoids, Policy: p));
    }

    /// <summary>The current batch run's metadata, re-read from the store at most every
    /// <see cref="ServeOptions.RunCheckInterval"/> (always when the interval is zero).</summary>
    /// <remarks>Synchronous store read: for tools and benchmarks; request paths use <see cref="MetadataAsync"/> (never
    /// sync-over-async, which starves the thread pool under load with a network store).</remarks>
    public ProfileRunMetadata? Metadata() =>
        TryRecentRun(out ProfileRunMetadata? run, out long tick) ? run : Remember(Store.GetMetadata(), tick);

    /// <inheritdoc cref="Metadata"/>
    public async ValueTask<ProfileRunMetadata?> MetadataAsync(CancellationToken cancellationToken = default) =>
        TryRecentRun(out ProfileRunMetadata? run, out long tick) ? run
            : Remember(await ReadMetadataAsync(cancellationToken).ConfigureAwait(false), tick);

    /// <summary>The run's metadata straight from the store (traced).</summary>
    public async ValueTask<ProfileRunMetadata?> ReadMetadataAsync(CancellationToken cancellationToken = default)
    {
        using (ServingTelemetry.StoreCall("store.get_metadata"))
            return await Store.GetMetadataAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The service's now (see <see cref="Now"/>), reading the run asynchronously.</summary>
    public async ValueTask<long> NowAsync(CancellationToken cancellationToken = default) =>
        ServiceClock.Now(Options.Clock.GetUtcNow(), await MetadataAsync(cancellationToken).ConfigureAwait(false), Online.Options.WindowDays);

    /// <summary>The run read less than <see cref="ServeOptions.RunCheckInterval"/> ago, if any.</summary>
    private bool TryRecentRun(out ProfileRunMetadata? run, out long tick)
    {
        tick = Environment.TickCount64;
        RunCheck? last = Volatile.Read(ref _runCheck);
        run = last?.Run;
        return last is not null && Options.RunCheckInterval > TimeSpan.Zero && tick - last.Tick < (long)Options.RunCheckInterval.TotalMilliseconds;
    }

    private ProfileRunMetadata? Remember(ProfileRunMetadata? run, long tick)
    {
        if (Options.RunCheckInterval > TimeSpan.Zero) Volatile.Write(ref _runCheck, new RunCheck(run, tick));
        return run;
    }

    /// <summary>The profile served now: batch profile + pending events (null when the user has neither), and the batch
    /// run it was read against.</summary>
    /// <remarks>Pending events (the online state) are read from the store on every request, never cached. Decoded batch
    /// profiles are cached per batch run (<see cref="ServeOptions.ProfileCacheCapacity"/>); the cache is dropped when
    /// the run changes. How soon a new run is noticed is <see cref="ServeOptions.RunCheckInterval"/>:
    /// <list type="bullet">
    /// <item>Zero: a seqlock over the run's metadata — read before and after the profile and the pending events, and
    /// everything read again when a batch run committed in between — so the batch profile and the pending events always
    /// belong to the same run (two extra metadata reads per request).</item>
    /// <item>Positive (default 1 s): the run's metadata is re-read at most that often, so for at most that long after a
    /// batch run commits (in any process or instance) a request may pair the previous run's profile with the new run's
    /// pending events: events the new run consumed are then missing from the served profile for that moment (never
    /// lost: they are in the new run's profiles, served once the change is noticed).</item>
    /// </list></remarks>
    public async ValueTask<(ServedProfile? Served, ProfileRunMetadata? Run)> ServeAsync(string userId, CancellationToken cancellationToken = default)
    {
        bool strict = Options.RunCheckInterval <= TimeSpan.Zero;
        for (int attempt = 0; ; attempt++)
        {
            ProfileRunMetadata? before = await MetadataAsync(cancellationToken).ConfigureAwait(false);
            ProfileCache cache = CacheFor(before);
            bool cached = cache.TryGet(userId, out UserProfile? batch);
            if (!cached)
            {
                using (ServingTelemetry.StoreCall("store.get_profile", userId))
                    batch = await Store.GetAsync(userId, cancellationToken).ConfigureAwait(false);
            }
            IReadOnlyList<LoggedEvent> pending;
            using (ServingTelemetry.StoreCall("store.get_pending_events", userId))
                pending = await Store.GetPendingEventsAsync(userId, Options.MaxPendingEvents, cancellationToken).ConfigureAwait(false);
            ProfileRunMetadata? after = strict ? await ReadMetadataAsync(cancellationToken).ConfigureAwait(false) : before;
            if (!Equals(before, after) && attempt < 5) continue;
            if (!cached) cache.Add(userId, batch is null ? null : Canonical(batch));
            if (batch is null && pending.Count == 0) return (null, after);
            var actions = new OnlineAction[pending.Count];
            long now = await NowAsync(cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < actions.Length; i++)
            {
                ActionEvent e = pending[i].Event;
                actions[i] = new OnlineAction(e.ItemId, e.Action, e.Timestamp);
                // An accepted event is never in its profile's future, whichever clock stamped it.
                now = Math.Max(now, e.Timestamp);
            }
            return (Online.Apply(userId, batch, after?.Now ?? 0, actions, now), after);
        }
    }

    private ProfileCache CacheFor(ProfileRunMetadata? run)
    {
        ProfileCache current = Volatile.Read(ref _profiles);
        if (Equals(current.Run, run)) return current;
        var fresh = new ProfileCache(run, Options.ProfileCacheCapacity);
        Interlocked.CompareExchange(ref _profiles, fresh, current);
        return fresh;
    }

    /// <summary>The profile with its item ids replaced by the embedding table's own strings (cached profiles then share
    /// one string per item instead of one per decode).</summary>
    private UserProfile Canonical(UserProfile profile)
    {
        var clusters = new ProfileCluster[profile.Clusters.Count];
        for (int c = 0; c < clusters.Length; c++)
        {
            ProfileCluster k = profile.Clusters[c];
            var members = new string[k.Members.Count];
            for (int m = 0; m < members.Length; m++) members[m] = Intern(k.Members[m]);
            clusters[c] = k with { Medoid = Intern(k.Medoid), Members = members };
        }
        return profile with { Clusters = clusters };
    }

    private string Intern(string itemId) => Items.TryGetRow(itemId, out int row) ? Items.Id(row) : itemId;

    private sealed record RunCheck(ProfileRunMetadata? Run, long Tick);

    /// <summary>Decoded batch profiles of one run; cleared whole when full (simple, and refilled at the store's pace).</summary>
    private sealed class ProfileCache(ProfileRunMetadata? run, int capacity)
    {
        private readonly ConcurrentDictionary<string, UserProfile?> _profiles = new(StringComparer.Ordinal);

        public ProfileRunMetadata? Run { get; } = run;

        public bool TryGet(string userId, out UserProfile? profile) => _profiles.TryGetValue(userId, out profile);

        public void Add(string userId, UserProfile? profile)
        {
            if (capacity <= 0) return;
            if (_profiles.Count >= capacity) _profiles.Clear();
            _profiles[userId] = profile;
        }
    }

    public void Dispose()
    {
        Metrics.Dispose();
        Store.Dispose();
        Items.Dispose();
        // After the host stopped taking requests: no search runs on the mapped float rows any more.
        _quantized?.Dispose();
    }
}
