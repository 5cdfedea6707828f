using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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

    /// <summary>The user model's options (their Alpha is replaced when <see cref="AutoAlpha"/>); default: the shipped
    /// retrieval settings' λ and singletons, as <c>profiles build</c> uses without options.</summary>
    public ProfileOptions ProfileOptions { get; init; } = PinnerSage.Retrieval.RetrievalSettings.Default.ApplyTo(new ProfileOptions());

    /// <summary>Resolve α from the embeddings (<see cref="Profiles.AutoAlpha.Resolve"/>), as profiles build does by default.</summary>
    public bool AutoAlpha { get; init; } = true;

    /// <summary>The automatic α is multiplied by this (<see cref="Retrieval.RetrievalSettings.AlphaScale"/>).</summary>
    public double AutoAlphaScale { get; init; } = PinnerSage.Retrieval.RetrievalSettings.Default.AlphaScale;

    /// <summary>The retrieval settings the workspace serves by default.</summary>
    public Retrieval.RetrievalSettings Retrieval { get; init; } = PinnerSage.Retrieval.RetrievalSettings.Default;

    /// <summary>Options of the HNSW index over the embeddings (cosine by default).</summary>
    public HnswOptions IndexOptions { get; init; } = new() { Metric = VectorMetric.Cosine };
}

/// <summary>Builds serving workspaces and runs their batch: <see cref="Create"/> (index, profiles, workspace.json)
/// and <see cref="RunBatch"/> (the next batch run: actions.tsv plus the event log up to its current end, replacing
/// every profile and the online state in one transaction).</summary>
public static partial class WorkspaceBuilder
{
    /// <summary>The index file inside the folder.</summary>
    public const string IndexFile = "items.hnsw";

    /// <summary>Creates (or rebuilds) the workspace: HNSW index over the embeddings, a batch run, workspace.json.</summary>
    /// <remarks>All or nothing: the index and a new SQLite store are built in a hidden staging folder beside the
    /// workspace, which then becomes the workspace by one rename (a new folder) or whose files are renamed into it with
    /// workspace.json last (an existing folder, e.g. one holding the dataset). A failure removes the staging folder and
    /// leaves the previous workspace as it was. A store that already exists (a rebuild, or one outside the folder)
    /// is replaced by the batch's own transaction, so its event log is kept.</remarks>
    /// <param name="sources">Inputs and options.</param>
    /// <param name="threads">Threads for the index build and the batch (0: all cores).</param>
    /// <param name="summary">The batch run's summary.</param>
    /// <param name="batchOptions">Options of the batch run (null: defaults with <paramref name="threads"/>).</param>
    /// <param name="logger">Logs the index build, the batch run (<see cref="ProfilePipeline"/>) and the publication;
    /// null: nowhere.</param>
    public static Workspace Create(WorkspaceSources sources, int threads, out BatchSummary summary, BatchOptions? batchOptions = null,
                                   ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        logger ??= NullLogger.Instance;
        string dir = Path.GetFullPath(sources.Directory);
        if (File.Exists(dir)) throw new ArgumentException($"{sources.Directory} is a file, not a workspace folder.");
        string parent = Path.GetDirectoryName(dir) ?? throw new ArgumentException($"{sources.Directory}: cannot build a workspace at a file-system root.");
        Directory.CreateDirectory(parent);
        if (threads <= 0) threads = Environment.ProcessorCount;
        string staging = Path.Combine(parent, $".{Path.GetFileName(dir)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            using ItemEmbeddings items = ItemEmbeddings.Load(sources.EmbeddingsPath, sources.IdsPath);
            var pipeline = new ProfilePipeline(items, new ProfilePipelineOptions
            {
                Profile = sources.ProfileOptions,
                AutoAlphaScale = sources.AutoAlpha ? sources.AutoAlphaScale : null,
                AutoLambda = sources.Retrieval.AutoLambda,
                Batch = batchOptions ?? new BatchOptions { Threads = threads },
            }, logger);
            ProfileOptions options = pipeline.ProfileOptions;
            long started = Stopwatch.GetTimestamp();
            IndexBuilding(logger, items.Count, items.Dimension, threads);
            BuildIndex(items, sources.IndexOptions, threads, Path.Combine(staging, IndexFile));
            IndexBuilt(logger, items.Count, Stopwatch.GetElapsedTime(started).TotalSeconds);
            string store = sources.StoreLocation is null ? Path.Combine(dir, Workspace.DefaultStore)
                : Workspace.IsFileStore(sources.StoreLocation) ? Path.GetFullPath(sources.StoreLocation) : sources.StoreLocation;
            bool stageStore = Workspace.IsFileStore(store) && !File.Exists(store) && Path.GetDirectoryName(store) == dir;
            var workspace = new Workspace
            {
                Directory = dir,
                EmbeddingsPath = Path.GetFullPath(sources.EmbeddingsPath),
                IdsPath = sources.IdsPath is null ? null : Path.GetFullPath(sources.IdsPath),
                IndexPath = Path.Combine(dir, IndexFile),
                ItemsPath = sources.ItemsPath is null ? null : Path.GetFullPath(sources.ItemsPath),
                StoreLocation = store,
                ActionsPath = Path.GetFullPath(sources.ActionsPath),
                ActionTypes = sources.ActionTypes,
                ProfileOptions = options,
                Retrieval = sources.Retrieval,
            };
            string stagedStore = stageStore ? Path.Combine(staging, Path.GetFileName(store)) : store;
            summary = RunPipeline(workspace with { StoreLocation = stagedStore }, pipeline, progress: null);
            // The λ the run chose (automatic λ) is the workspace's from now on: online updates and later batch runs decay with it.
            workspace = workspace with { ProfileOptions = pipeline.ProfileOptions };
            workspace.SaveTo(staging);
            Publish(staging, dir, stageStore ? [IndexFile, Path.GetFileName(store), Workspace.FileName] : [IndexFile, Workspace.FileName]);
            Published(logger, dir);
            return workspace;
        }
        finally
        {
            if (Directory.Exists(staging)) TryDeleteFolder(staging);
        }
    }

    /// <summary>Moves the staged files into <paramref name="dir"/>: the whole folder by one rename when
    /// <paramref name="dir"/> does not exist yet, else file by file in the given order (workspace.json last: it is what
    /// makes the folder a workspace); then syncs the folder so the renames are durable.</summary>
    private static void Publish(string staging, string dir, string[] files)
    {
        if (!Directory.Exists(dir))
        {
            Directory.Move(staging, dir);
            AtomicFile.SyncDirectory(Path.GetDirectoryName(dir)!);
            return;
        }
        foreach (string file in files) File.Move(Path.Combine(staging, file), Path.Combine(dir, file), overwrite: true);
        AtomicFile.SyncDirectory(dir);
    }

    private static void TryDeleteFolder(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original error matters more than a leftover staging folder.
        }
    }

    /// <summary>The next batch run on <paramref name="workspace"/>: builds every profile from actions.tsv plus every
    /// logged event up to the log's end at the start of the run, and commits them with that sequence as consumed, so
    /// the events folded in leave the online state and later ones stay in it.</summary>
    /// <exception cref="InvalidOperationException">The workspace has no actions file.</exception>
    /// <param name="workspace">The workspace.</param>
    /// <param name="batchOptions">The run's options.</param>
    /// <param name="progress">Progress, or null.</param>
    /// <param name="logger">The run's log (see <see cref="ProfileBatchJob"/>); null: none.</param>
    public static BatchSummary RunBatch(Workspace workspace, BatchOptions batchOptions, IProgress<BatchProgress>? progress = null,
                                        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(batchOptions);
        using ItemEmbeddings items = ItemEmbeddings.Load(workspace.EmbeddingsPath, workspace.IdsPath);
        return RunPipeline(workspace, new ProfilePipeline(items, new ProfilePipelineOptions { Profile = workspace.ProfileOptions, Batch = batchOptions }, logger),
                        progress);
    }

    [LoggerMessage(1, LogLevel.Information, "Workspace: building the HNSW index over {Items} items of dimension {Dimension} on {Threads} threads")]
    private static partial void IndexBuilding(ILogger logger, int items, int dimension, int threads);

    [LoggerMessage(2, LogLevel.Information, "Workspace: index over {Items} items built and saved in {Elapsed:0.0} s")]
    private static partial void IndexBuilt(ILogger logger, int items, double elapsed);

    [LoggerMessage(3, LogLevel.Information, "Workspace published at {Directory}")]
    private static partial void Published(ILogger logger, string directory);

    private static BatchSummary RunPipeline(Workspace workspace, ProfilePipeline pipeline, IProgress<BatchProgress>? progress)
    {
        string actions = workspace.ActionsPath
            ?? throw new InvalidOperationException($"{workspace.Directory}: the workspace has no actions file to rebuild from.");
        using IProfileStore store = ProfileStores.Open(workspace.StoreLocation);
        return pipeline.RunIntoStore(ActionSource.File(actions), store, progress: progress);
    }

    /// <summary>The HNSW index over the embeddings, saved to <paramref name="path"/> (the graph is released on return).</summary>
    private static void BuildIndex(ItemEmbeddings items, HnswOptions options, int threads, string path)
    {
        var index = new HnswIndex(items.Dimension, options, items.Count);
        index.Build(items.Matrix, items.Count, threads);
        index.SetItemIds(items.Ids);
        index.Save(path);
    }
}
