using PinnerSage.Batch;
using PinnerSage.Profiles;
using PinnerSage.Retrieval;

namespace PinnerSage.Hosting;

/// <summary>What <see cref="Microsoft.Extensions.DependencyInjection.PinnerSageServiceCollectionExtensions.AddPinnerSage"/>
/// registers: where the store and the item vectors are, and the batch pipeline's options. Validated once, when first
/// resolved (<see cref="Validate"/>).</summary>
public sealed class PinnerSageOptions
{
    /// <summary>The profile store: a SQLite file path, <c>postgres:&lt;Npgsql connection string&gt;</c> or a
    /// <c>postgresql://</c> URI (see <see cref="Storage.ProfileStores.Open"/>).</summary>
    public string Store { get; set; } = "profiles.db";

    /// <summary>Item vectors (.npy float32 [n, d]); not needed when the application registers an
    /// <see cref="IO.ItemEmbeddings"/> itself (e.g. <see cref="IO.ItemEmbeddings.FromArray"/> from memory).</summary>
    public string? EmbeddingsPath { get; set; }

    /// <summary>Their ids (null: beside the .npy, extension .ids).</summary>
    public string? IdsPath { get; set; }

    /// <summary>The user model; default: the shipped retrieval settings' λ and singletons, as <c>profiles build</c>.</summary>
    public ProfileOptions Profile { get; set; } = RetrievalSettings.Default.ApplyTo(new ProfileOptions());

    /// <summary>α = this × the automatic α of the embeddings; null: <see cref="ProfileOptions.Alpha"/> as given.</summary>
    public double? AutoAlphaScale { get; set; } = RetrievalSettings.Default.AlphaScale;

    /// <summary>The batch run (threads, strictness, shrink guard).</summary>
    public BatchOptions Batch { get; set; } = new();

    /// <summary>The pipeline's options.</summary>
    public ProfilePipelineOptions ToPipelineOptions() => new() { Profile = Profile, AutoAlphaScale = AutoAlphaScale, Batch = Batch };

    /// <summary>Checks every option, naming the first wrong one.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Store);
        ArgumentNullException.ThrowIfNull(Profile);
        ArgumentNullException.ThrowIfNull(Batch);
        if (AutoAlphaScale is double s && (!double.IsFinite(s) || s <= 0))
            throw new ArgumentOutOfRangeException(nameof(AutoAlphaScale), s, "must be a finite number > 0, or null for a fixed α.");
        Profile.Validate();
        Batch.Validate();
    }
}
