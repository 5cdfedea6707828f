using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using PinnerSage.IO;

namespace PinnerSage.Retrieval;

/// <summary>Which retrieval <see cref="Recommender"/> runs.</summary>
public enum RetrievalPolicy
{
    /// <summary>The paper's (Pal et al., KDD 2020, §3.3): e medoids sampled ∝ importance, ⌊K/e⌋ neighbours each,
    /// blended. Kept unchanged as the faithful reference.</summary>
    Paper,

    /// <summary>Every cluster scored at once by <see cref="InterestMixture"/> (<see cref="MixtureRanker"/>): the
    /// default.</summary>
    Mixture,
}

/// <summary>Everything that decides what a user is recommended, in one place: the profile's clustering and importance
/// and the retrieval policy. <c>pinnersage tune</c> writes it; <c>profiles build</c>, <c>recommend</c>, <c>serve</c>,
/// <c>workspace build</c> and <c>eval</c> read it (<c>--settings</c>); <see cref="Default"/> is what they use
/// without it.</summary>
public sealed record RetrievalSettings
{
    /// <summary>The paper's configuration (Pal et al., KDD 2020): sampled medoids, λ = 0.01, α automatic, singletons
    /// dropped — the faithful reference (<c>--settings paper</c>).</summary>
    public static RetrievalSettings Paper { get; } = new()
    {
        Policy = RetrievalPolicy.Paper, AlphaScale = 1, Lambda = 0.01, AutoLambda = false, KeepSingletons = false,
    };

    /// <summary>A named preset (<c>default</c>, <c>paper</c>) or a settings file.</summary>
    /// <exception cref="FileNotFoundException">Neither a preset nor an existing file.</exception>
    public static RetrievalSettings FromPresetOrFile(string nameOrPath) => nameOrPath switch
    {
        "default" => Default,
        "paper" => Paper,
        _ when File.Exists(nameOrPath) => Load(nameOrPath),
        _ => throw new FileNotFoundException($"{nameOrPath}: no such settings file (presets: default, paper)."),
    };

    /// <summary>The shipped defaults, chosen by <c>pinnersage tune</c>'s objective on the validation periods of the
    /// shared datasets (bench/results/retrieval-policies.md), never on a test period.</summary>
    public static RetrievalSettings Default { get; } = new();

    /// <summary>The retrieval policy.</summary>
    public RetrievalPolicy Policy { get; init; } = RetrievalPolicy.Mixture;

    /// <summary>Ward's cut height as a multiple of the automatic α (<see cref="Profiles.AutoAlpha"/>): larger, fewer
    /// and broader clusters.</summary>
    public double AlphaScale { get; init; } = 0.15;

    /// <summary>Importance decay λ per day; with <see cref="AutoLambda"/>, only the fallback when the actions are too
    /// few to choose one.</summary>
    public double Lambda { get; init; } = 0.05;

    /// <summary>Choose λ from the actions before now (<see cref="Profiles.AutoLambda"/>) instead of using
    /// <see cref="Lambda"/>.</summary>
    public bool AutoLambda { get; init; } = true;

    /// <summary>These settings with λ fixed to <paramref name="lambda"/> (what an auto-λ run resolved).</summary>
    public RetrievalSettings WithLambda(double lambda) => this with { Lambda = lambda, AutoLambda = false };

    /// <summary>Keep one-item clusters (a light user's only interests).</summary>
    public bool KeepSingletons { get; init; } = true;

    /// <summary>Mixture temperature τ (<see cref="InterestMixture"/>).</summary>
    public double Tau { get; init; } = 0.3;

    /// <summary>Clusters scored as their own mixture component.</summary>
    public int Components { get; init; } = MixtureOptions.Default.Components;

    /// <summary>The centre query fetches this many times K.</summary>
    public double CentreFetch { get; init; } = MixtureOptions.Default.CentreFetch;

    /// <summary>Share of K always taken from the head of the centre list (<see cref="MixtureOptions.CentreKeep"/>).</summary>
    public double CentreKeep { get; init; } = MixtureOptions.Default.CentreKeep;

    /// <summary>Heaviest clusters whose medoid lists add candidates.</summary>
    public int PoolClusters { get; init; } = MixtureOptions.Default.PoolClusters;

    /// <summary><paramref name="options"/> with these settings' λ and singletons (α is resolved against the embeddings:
    /// <see cref="AlphaScale"/> × <see cref="Profiles.AutoAlpha.Resolve"/>).</summary>
    public Profiles.ProfileOptions ApplyTo(Profiles.ProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with { DecayLambda = Lambda, KeepSingletons = KeepSingletons };
    }

    /// <summary>The mixture policy's options.</summary>
    [JsonIgnore]
    public MixtureOptions Mixture => new()
    {
        Tau = Tau, Components = Components, PoolClusters = PoolClusters,
        CentreFetch = CentreFetch,
        CentreKeep = CentreKeep,
    };

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value out of range (named).</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Policy)) throw new ArgumentOutOfRangeException(nameof(Policy), Policy, "unknown policy.");
        if (!(AlphaScale > 0) || !double.IsFinite(AlphaScale))
            throw new ArgumentOutOfRangeException(nameof(AlphaScale), AlphaScale, "alpha_scale must be a finite number > 0.");
        if (!(Lambda >= 0) || !double.IsFinite(Lambda))
            throw new ArgumentOutOfRangeException(nameof(Lambda), Lambda, "lambda must be a finite number ≥ 0.");
        Mixture.Validate();
    }

    /// <summary>One line for logs and reports.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"policy {Policy.ToString().ToLowerInvariant()}, α ×{AlphaScale:0.###}, λ {(AutoLambda ? "auto" : Lambda.ToString("0.###", CultureInfo.InvariantCulture))}, τ {(double.IsPositiveInfinity(Tau) ? "∞" : Tau.ToString("0.###", CultureInfo.InvariantCulture))}, {Components} components, {PoolClusters} medoid lists, singletons {(KeepSingletons ? "kept" : "dropped")}");

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    /// <summary>The settings as JSON (snake_case; τ = ∞ as "Infinity").</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    /// <summary>Reads settings written by <see cref="ToJson"/> (missing keys take the defaults).</summary>
    /// <exception cref="DataFormatException">Not valid settings JSON, an unknown key, or a value out of range; the
    /// message names the file and the key.</exception>
    public static RetrievalSettings Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Settings from JSON text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="DataFormatException">As <see cref="Load"/>.</exception>
    public static RetrievalSettings Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        string path = source;
        RetrievalSettings? settings;
        try
        {
            settings = JsonSerializer.Deserialize<RetrievalSettings>(json, s_json);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, e.LineNumber is long l ? l + 1 : 0, e.Path, $"not valid retrieval settings ({e.Message})");
        }
        if (settings is null) throw new DataFormatException(path, 1, null, "not valid retrieval settings (null).");
        try
        {
            settings.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new DataFormatException(path, 0, e.ParamName, e.Message);
        }
        return settings;
    }
}
