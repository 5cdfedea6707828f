using System.Collections.Concurrent;
using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;
using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>Everything a serving process loads once: the workspace's embeddings, index and titles, the medoid
/// neighbour cache, the online rule, store connections and the event appender.</summary>
/// <remarks>The online state is never cached in the process (our choice): every request reads the user's batch
/// profile and pending events from the store, so several instances sharing one PostgreSQL store, and a batch run
/// committing underneath, are always seen consistently. The only cache is the paper's: neighbour lists by medoid,
/// which depend on the index alone. The batch run's metadata (its now, for the decay) is re-read at most once a
/// second.</remarks>
internal sealed class ServingState : IAsyncDisposable
{
    private readonly ConcurrentDictionary<int, Recommender> _recommenders = new();
    private readonly string?[] _titles;
    private readonly Lock _metaLock = new();
    private long _metaReadAt;
    private bool _metaRead;
    private ProfileRunMetadata? _meta;

    public ServingState(ServeOptions options)
    {
        options.Validate();
        Options = options;
        Workspace = Workspace.Load(options.Workspace);
        Items = ItemEmbeddings.Load(Workspace.EmbeddingsPath, Workspace.IdsPath);
        try
        {
            Index = HnswIndex.Load(Workspace.IndexPath);
            if (Index.Dimension != Items.Dimension)
                throw new DataFormatException(Workspace.IndexPath, 0, "dimension",
                    $"the index has dimension {Index.Dimension}, the embeddings {Items.Dimension}");
            Cache = new NeighborCache(Index, options.NeighborCacheCapacity);
            _titles = new string?[Items.Count];
            if (Workspace.ItemsPath is not null && File.Exists(Workspace.ItemsPath))
            {
                ItemCatalog catalog = ItemCatalog.Load(Workspace.ItemsPath);
                for (int r = 0; r < _titles.Length; r++) _titles[r] = catalog.Title(Items.Id(r));
            }
            Online = new OnlineProfile(Items, Workspace.ProfileOptions, options.MaxPendingEvents);
            ActionTypes = Workspace.ActionTypes.Count > 0
                ? new HashSet<string>(Workspace.ActionTypes, StringComparer.Ordinal)
                : Workspace.ProfileOptions.IncludeActions;
            Stores = new StorePool(() => ProfileStores.Open(Workspace.StoreLocation));
            Appender = new EventAppender(ProfileStores.Open(Workspace.StoreLocation), Metrics);
            StoreKind = Workspace.IsFileStore(Workspace.StoreLocation) ? "sqlite" : "postgresql";
        }
        catch
        {
            Items.Dispose();
            throw;
        }
    }

    public ServeOptions Options { get; }

    public Workspace Workspace { get; }

    public ItemEmbeddings Items { get; }

    public HnswIndex Index { get; }

    public NeighborCache Cache { get; }

    public OnlineProfile Online { get; }

    public IReadOnlySet<string>? ActionTypes { get; }

    public StorePool Stores { get; }

    public EventAppender Appender { get; }

    public ServingMetrics Metrics { get; } = new();

    public string StoreKind { get; }

    public long Now => Options.Clock.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Title of item row <paramref name="row"/> (null without a catalogue).</summary>
    public string? Title(int row) => _titles[row];

    public string? Title(string itemId) => Items.TryGetRow(itemId, out int row) ? _titles[row] : null;

    /// <summary>One recommender per (k, medoids): options are immutable, the cache and index are shared.</summary>
    public Recommender Recommender(int k, int medoids) =>
        _recommenders.GetOrAdd(k * 64 + medoids, static (_, a) =>
            new Recommender(a.State.Index, a.State.Items, new RecommenderOptions { K = a.K, Medoids = a.Medoids }, a.State.Cache),
            (State: this, K: k, Medoids: medoids));

    /// <summary>The current batch run's metadata, re-read from the store at most once a second.</summary>
    public ProfileRunMetadata? Metadata(IProfileStore store)
    {
        long tick = Environment.TickCount64;
        lock (_metaLock)
        {
            if (_metaRead && tick - _metaReadAt < 1000) return _meta;
        }
        ProfileRunMetadata? meta = store.GetMetadata();
        lock (_metaLock)
        {
            _meta = meta;
            _metaReadAt = tick;
            _metaRead = true;
        }
        return meta;
    }

    /// <summary>The profile served now: batch profile + pending events (null when the user has neither).</summary>
    public ServedProfile? Serve(IProfileStore store, string userId)
    {
        UserProfile? batch = store.Get(userId);
        IReadOnlyList<LoggedEvent> pending = store.GetPendingEvents(userId, Options.MaxPendingEvents);
        if (batch is null && pending.Count == 0) return null;
        long batchNow = Metadata(store)?.Now ?? 0;
        var actions = new OnlineAction[pending.Count];
        for (int i = 0; i < actions.Length; i++)
        {
            ActionEvent e = pending[i].Event;
            actions[i] = new OnlineAction(e.ItemId, e.Action, e.Timestamp);
        }
        return Online.Apply(userId, batch, batchNow, actions, Now);
    }

    public async ValueTask DisposeAsync()
    {
        await Appender.DisposeAsync().ConfigureAwait(false);
        Stores.Dispose();
        Items.Dispose();
    }
}
