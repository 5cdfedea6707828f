using System.Text.Json;
using System.Text.Json.Serialization;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>A serving workspace: one folder whose <c>workspace.json</c> ties together what <c>pinnersage serve</c>
/// needs — the item embeddings (.npy + .ids), the HNSW index over them, the optional catalogue (items.tsv, for titles),
/// the profile store (its location: a SQLite file, by default <c>profiles.db</c> in the folder, or a
/// <c>postgres:…</c> connection), the batch input (actions.tsv) and the profile options the batch ran with (the online
/// rule clusters pending actions with the same α and λ).</summary>
/// <remarks>Paths in the file are relative to the folder (or absolute); a store location that is not a file path
/// (<c>postgres:</c>, <c>postgresql://</c>) is kept as is. The file is written through a temporary file and a rename.
/// Format (version 1; snake_case keys):
/// <code>
/// {"format":"pinnersage-workspace","version":1,"embeddings":"vectors/item.npy","ids":"vectors/item.ids",
///  "index":"items.hnsw","items":"items.tsv","store":"profiles.db","actions":"actions.tsv",
///  "action_types":["click","save"],"profile_options":{"alpha":2,"lambda":0.01,"window_days":90,"max_actions":2000,
///  "count_repeats":false,"keep_singletons":false,"normalize":true,"action_weights":null,"include_actions":null}}
/// </code></remarks>
public sealed record Workspace
{
    /// <summary>The manifest's file name inside the folder.</summary>
    public const string FileName = "workspace.json";

    /// <summary>The value of the manifest's "format" key.</summary>
    public const string Format = "pinnersage-workspace";

    /// <summary>The manifest version this code writes and reads.</summary>
    public const int Version = 1;

    /// <summary>The offline evaluation report a workspace may hold (<c>pinnersage eval --html DIR/eval.html</c>; the
    /// quickstart writes one): the page links to it when present.</summary>
    public const string ReportFile = "eval.html";

    /// <summary>The default SQLite store file inside the folder.</summary>
    public const string DefaultStore = "profiles.db";

    /// <summary>The folder (absolute).</summary>
    public required string Directory { get; init; }

    /// <summary>Item embeddings (.npy), absolute.</summary>
    public required string EmbeddingsPath { get; init; }

    /// <summary>Item ids of the embeddings (.ids), absolute; null: the default beside the .npy.</summary>
    public string? IdsPath { get; init; }

    /// <summary>HNSW index over the embeddings (ids included), absolute.</summary>
    public required string IndexPath { get; init; }

    /// <summary>Catalogue for titles (items.tsv), absolute; null when the workspace has none.</summary>
    public string? ItemsPath { get; init; }

    /// <summary>Profile store location for <c>ProfileStores.Open</c>: an absolute SQLite path or a PostgreSQL location.</summary>
    public required string StoreLocation { get; init; }

    /// <summary>The batch input (actions.tsv), absolute; null when the workspace was made without one (then the next
    /// batch run cannot be run from the workspace alone).</summary>
    public string? ActionsPath { get; init; }

    /// <summary>Action types accepted online (POST actions); empty: any well-formed action name.</summary>
    public IReadOnlyList<string> ActionTypes { get; init; } = [];

    /// <summary>The options of the user model, α resolved (the batch run and the online rule both use them).</summary>
    public required ProfileOptions ProfileOptions { get; init; }

    /// <summary>The retrieval settings served by default (<c>"retrieval"</c>; absent in older workspaces: the shipped
    /// defaults).</summary>
    public Retrieval.RetrievalSettings Retrieval { get; init; } = PinnerSage.Retrieval.RetrievalSettings.Default;

    /// <summary>Reads <c>DIR/workspace.json</c>.</summary>
    /// <exception cref="DataFormatException">The manifest is malformed (the message names the field).</exception>
    /// <exception cref="FileNotFoundException">The folder has no manifest.</exception>
    public static Workspace Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string dir = Path.GetFullPath(directory);
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: not a PinnerSage workspace (no {FileName}; create one with `pinnersage quickstart --out DIR` or `pinnersage workspace build`).", path);
        Manifest? m;
        try
        {
            m = JsonSerializer.Deserialize(File.ReadAllBytes(path), WorkspaceJsonContext.Default.Manifest);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, (int)(e.LineNumber ?? 0) + 1, e.Path ?? "$", e.Message);
        }
        if (m is null) throw new DataFormatException(path, 1, "$", "expected a JSON object");
        if (m.Format != Format) throw new DataFormatException(path, 1, "format", $"expected \"{Format}\", got \"{m.Format}\"");
        if (m.Version != Version) throw new DataFormatException(path, 1, "version", $"version {m.Version} is not supported (expected {Version})");
        if (string.IsNullOrEmpty(m.Embeddings)) throw new DataFormatException(path, 1, "embeddings", "missing");
        if (string.IsNullOrEmpty(m.Index)) throw new DataFormatException(path, 1, "index", "missing");
        ProfileOptions options = (m.ProfileOptions ?? new ManifestProfileOptions()).ToOptions();
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException(path, 1, "profile_options", e.Message);
        }
        return new Workspace
        {
            Directory = dir,
            EmbeddingsPath = Resolve(dir, m.Embeddings),
            IdsPath = m.Ids is null ? null : Resolve(dir, m.Ids),
            IndexPath = Resolve(dir, m.Index),
            ItemsPath = m.Items is null ? null : Resolve(dir, m.Items),
            StoreLocation = ResolveStore(dir, m.Store ?? DefaultStore),
            ActionsPath = m.Actions is null ? null : Resolve(dir, m.Actions),
            ActionTypes = m.ActionTypes ?? [],
            ProfileOptions = options,
            Retrieval = m.Retrieval is JsonElement r ? PinnerSage.Retrieval.RetrievalSettings.Parse(r.GetRawText(), path + " (retrieval)")
                                                     : PinnerSage.Retrieval.RetrievalSettings.Default,
        };
    }

    /// <summary>Writes <c>workspace.json</c> into <see cref="Directory"/> (paths inside the folder stored relative).</summary>
    public void Save() => SaveTo(Directory);

    /// <summary>Writes the <c>workspace.json</c> of <see cref="Directory"/> into <paramref name="folder"/> (a staging
    /// folder that becomes <see cref="Directory"/> by a rename).</summary>
    internal void SaveTo(string folder)
    {
        System.IO.Directory.CreateDirectory(folder);
        var m = new Manifest
        {
            Format = Format,
            Version = Version,
            Embeddings = Relative(EmbeddingsPath),
            Ids = IdsPath is null ? null : Relative(IdsPath),
            Index = Relative(IndexPath),
            Items = ItemsPath is null ? null : Relative(ItemsPath),
            Store = IsFileStore(StoreLocation) ? Relative(StoreLocation) : StoreLocation,
            Actions = ActionsPath is null ? null : Relative(ActionsPath),
            ActionTypes = ActionTypes.Count == 0 ? null : [.. ActionTypes],
            ProfileOptions = ManifestProfileOptions.From(ProfileOptions),
            Retrieval = JsonDocument.Parse(Retrieval.ToJson()).RootElement.Clone(),
        };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(m, WorkspaceJsonContext.Default.Manifest);
        AtomicFile.Write(Path.Combine(folder, FileName), s => s.Write(json));
    }

    /// <summary>True when <paramref name="location"/> names a SQLite file rather than a server (see ProfileStores.Open).</summary>
    public static bool IsFileStore(string location) => !ProfileStores.IsPostgres(location);

    private string Relative(string path)
    {
        string rel = Path.GetRelativePath(Directory, path);
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? Path.GetFullPath(path) : rel.Replace('\\', '/');
    }

    private static string Resolve(string dir, string path) => Path.GetFullPath(Path.Combine(dir, path));

    private static string ResolveStore(string dir, string location) => IsFileStore(location) ? Resolve(dir, location) : location;

    internal sealed class Manifest
    {
        public string? Format { get; set; }
        public int Version { get; set; }
        public string? Embeddings { get; set; }
        public string? Ids { get; set; }
        public string? Index { get; set; }
        public string? Items { get; set; }
        public string? Store { get; set; }
        public string? Actions { get; set; }
        public List<string>? ActionTypes { get; set; }
        public ManifestProfileOptions? ProfileOptions { get; set; }
        public JsonElement? Retrieval { get; set; }
    }

    internal sealed class ManifestProfileOptions
    {
        public double Alpha { get; set; } = PinnerSage.Profiles.ProfileOptions.DefaultAlpha;
        public double Lambda { get; set; } = 0.01;
        public double WindowDays { get; set; } = 90;
        public int MaxActions { get; set; } = PinnerSage.Profiles.ProfileOptions.DefaultMaxActions;
        public bool CountRepeats { get; set; }
        public bool KeepSingletons { get; set; }
        public bool Normalize { get; set; } = true;
        public Dictionary<string, double>? ActionWeights { get; set; }
        public List<string>? IncludeActions { get; set; }

        public ProfileOptions ToOptions() => new()
        {
            Alpha = Alpha,
            DecayLambda = Lambda,
            WindowDays = WindowDays,
            MaxActions = MaxActions,
            CountRepeats = CountRepeats,
            KeepSingletons = KeepSingletons,
            NormalizeVectors = Normalize,
            ActionWeights = ActionWeights,
            IncludeActions = IncludeActions is null ? null : new HashSet<string>(IncludeActions, StringComparer.Ordinal),
        };

        public static ManifestProfileOptions From(ProfileOptions o) => new()
        {
            Alpha = o.Alpha,
            Lambda = o.DecayLambda,
            WindowDays = o.WindowDays,
            MaxActions = o.MaxActions,
            CountRepeats = o.CountRepeats,
            KeepSingletons = o.KeepSingletons,
            Normalize = o.NormalizeVectors,
            ActionWeights = o.ActionWeights is null ? null : new Dictionary<string, double>(o.ActionWeights, StringComparer.Ordinal),
            IncludeActions = o.IncludeActions is null ? null : [.. o.IncludeActions.Order(StringComparer.Ordinal)],
        };
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
                             DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
                             ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(Workspace.Manifest))]
[JsonSerializable(typeof(Workspace.ManifestProfileOptions))]
internal sealed partial class WorkspaceJsonContext : JsonSerializerContext;
