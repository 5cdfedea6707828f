using System.Text.Json;
using PinnerSage.Ann;
using PinnerSage.Batch;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>What <see cref="WorkspaceBuilder.Create"/> builds a workspace from.</summary>
public sealed record WorkspaceSources
{
    /// <summary>The workspace folder to create or update.</summary>
    public required string Directory { get; init; }

    /// <summary>The batch input, actions.tsv (kept in place and referenced, not copied).</summary>
    public required string ActionsPath { get; init; }

    /// <summary>Item embeddings (.npy; referenced).</summary>
    public required string EmbeddingsPath { get; init; }

    /// <summary>Their ids (.ids); null: beside the .npy.</summary>
    public string? IdsPath { get; init; }

    /// <summary>Catalogue for titles (items.tsv); null: none.</summary>
    public string? ItemsPath { get; init; }

    /// <summary>Store location; null: <c>profiles.db</c> in the folder.</summary>
    public string? StoreLocation { get; init; }

    /// <summary>Action types accepted online; empty: any.</summary>
    public IReadOnlyList<string> ActionTypes { get; init; } = [];

    /// <summary>The user model's options (their Alpha is replaced when <see cref="AutoAlpha"/>).</summary>
    public ProfileOptions ProfileOptions { get; init; } = new();

    /// <summary>Resolve α from the embeddings (<see cref="Profiles.AutoAlpha.Resolve"/>), as profiles build does by default.</summary>
    public bool AutoAlpha { get; init; } = true;

    /// <summary>Options of the HNSW index over the embeddings (cosine by default).</summary>
    public HnswOptions IndexOptions { get; init; } = new() { Metric = VectorMetric.Cosine };
}

/// <summary>Builds serving workspaces and runs their batch: <see cref="Create"/> (index, profiles, workspace.json)
/// and <see cref="RunBatch"/> (the next batch run: actions.tsv plus the event log up to its current end, replacing
/// every profile and the online state in one transaction).</summary>
public static class WorkspaceBuilder
{
    /// <summary>The index file inside the folder.</summary>
    public const string IndexFile = "items.hnsw";

    /// <summary>Creates (or rebuilds) the workspace: HNSW index over the embeddings, workspace.json, then a batch run.</summary>
    /// <param name="sources">Inputs and options.</param>
    /// <param name="threads">Threads for the index build and the batch (0: all cores).</param>
    /// <param name="summary">The batch run's summary.</param>
    public static Workspace Create(WorkspaceSources sources, int threads, out BatchSummary summary)
    {
        ArgumentNullException.ThrowIfNull(sources);
        string dir = Path.GetFullPath(sources.Directory);
        Directory.CreateDirectory(dir);
        if (threads <= 0) threads = Environment.ProcessorCount;
        ProfileOptions options;
        string indexPath = Path.Combine(dir, IndexFile);
        using (ItemEmbeddings items = ItemEmbeddings.Load(sources.EmbeddingsPath, sources.IdsPath))
        {
            options = sources.AutoAlpha
                ? sources.ProfileOptions with { Alpha = Profiles.AutoAlpha.Resolve(items, sources.ProfileOptions.NormalizeVectors) }
                : sources.ProfileOptions;
            options.Validate();
            var index = new HnswIndex(items.Dimension, sources.IndexOptions, items.Count);
            index.Build(items.Matrix, items.Count, threads);
            index.SetItemIds(items.Ids);
            index.Save(indexPath);
        }
        var workspace = new Workspace
        {
            Directory = dir,
            EmbeddingsPath = Path.GetFullPath(sources.EmbeddingsPath),
            IdsPath = sources.IdsPath is null ? null : Path.GetFullPath(sources.IdsPath),
            IndexPath = indexPath,
            ItemsPath = sources.ItemsPath is null ? null : Path.GetFullPath(sources.ItemsPath),
            StoreLocation = sources.StoreLocation is null ? Path.Combine(dir, Workspace.DefaultStore)
                : Workspace.IsFileStore(sources.StoreLocation) ? Path.GetFullPath(sources.StoreLocation) : sources.StoreLocation,
            ActionsPath = Path.GetFullPath(sources.ActionsPath),
            ActionTypes = sources.ActionTypes,
            ProfileOptions = options,
        };
        workspace.Save();
        summary = RunBatch(workspace, new BatchOptions { Threads = threads });
        return workspace;
    }

    /// <summary>The next batch run on <paramref name="workspace"/>: builds every profile from actions.tsv plus every
    /// logged event up to the log's end at the start of the run, and commits them with that sequence as consumed, so
    /// the events folded in leave the online state and later ones stay in it.</summary>
    /// <exception cref="InvalidOperationException">The workspace has no actions file.</exception>
    public static BatchSummary RunBatch(Workspace workspace, BatchOptions batchOptions, IProgress<BatchProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(batchOptions);
        string actions = workspace.ActionsPath
            ?? throw new InvalidOperationException($"{workspace.Directory}: the workspace has no actions file to rebuild from.");
        using ItemEmbeddings items = ItemEmbeddings.Load(workspace.EmbeddingsPath, workspace.IdsPath);
        using IProfileStore store = ProfileStores.Open(workspace.StoreLocation);
        var job = new ProfileBatchJob(items, workspace.ProfileOptions, batchOptions);
        BatchSummary summary = job.RunIntoStore(actions, store, s => new ProfileRunMetadata(SqliteProfileStore.SchemaVersion, s.Now,
            DateTimeOffset.UtcNow, OptionsJson(workspace.ProfileOptions), s.UsersWritten, actions), progress: progress);
        return summary;
    }

    /// <summary>The options as stored beside a run (the workspace manifest's profile_options shape).</summary>
    internal static string OptionsJson(ProfileOptions options) =>
        JsonSerializer.Serialize(Workspace.ManifestProfileOptions.From(options), WorkspaceJsonContext.Default.ManifestProfileOptions);
}
