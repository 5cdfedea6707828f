using System.Text;
using System.Text.Json;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;

namespace PinnerSage.Batch;

/// <summary>Options of <see cref="ProfilePipeline"/>: the user model, how α is chosen, and the batch run.</summary>
public sealed record ProfilePipelineOptions
{
    /// <summary>The user model (papers/PINNERSAGE.md); its <see cref="ProfileOptions.Alpha"/> is used only when
    /// <see cref="AutoAlphaScale"/> is null.</summary>
    public ProfileOptions Profile { get; init; } = new();

    /// <summary>Null: α is <see cref="ProfileOptions.Alpha"/> as given. A number s: α = s × <see cref="AutoAlpha.Resolve"/>
    /// on the run's embeddings (deterministic, so every caller resolves the same α on the same embeddings); the run
    /// records <c>"alpha_auto": true</c>.</summary>
    public double? AutoAlphaScale { get; init; }

    /// <summary>The batch run (threads, strictness, shrink guard).</summary>
    public BatchOptions Batch { get; init; } = new();
}

/// <summary>The one batch → store pipeline (papers/PINNERSAGE.md, "Production serving": the daily batch job writes
/// every user's profile into a key-value store). <c>profiles build</c>, <c>quickstart</c> and <c>workspace build</c>
/// / <c>workspace batch</c> all run it: α resolved once, options validated once (by <see cref="ProfileBatchJob"/>),
/// the store's event log folded in, the shrink guard, an optional JSON-lines export committed with the store, and
/// one run-metadata shape (<see cref="OptionsJson"/>), whose schema version the store fills.</summary>
public sealed class ProfilePipeline
{
    private readonly ProfileBatchJob _job;
    private readonly bool _autoAlpha;

    /// <summary>Resolves α on <paramref name="items"/> when asked, then validates every option.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public ProfilePipeline(ItemEmbeddings items, ProfilePipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Profile);
        if (options.AutoAlphaScale is double scale)
        {
            if (!double.IsFinite(scale) || scale <= 0)
                throw new ArgumentOutOfRangeException(nameof(options), scale, "AutoAlphaScale must be a finite number > 0.");
            ProfileOptions = options.Profile with { Alpha = scale * AutoAlpha.Resolve(items, options.Profile.NormalizeVectors) };
        }
        else
        {
            ProfileOptions = options.Profile;
        }
        _autoAlpha = options.AutoAlphaScale is not null;
        _job = new ProfileBatchJob(items, ProfileOptions, options.Batch);
    }

    /// <summary>The user model the run uses (α resolved).</summary>
    public ProfileOptions ProfileOptions { get; }

    /// <summary>Replaces every profile in <paramref name="store"/> by a run over <paramref name="source"/> plus the
    /// store's logged events (see <see cref="ProfileBatchJob.RunIntoStore(IActionSource, IProfileStore, Func{BatchSummary, ProfileRunMetadata}, IReadOnlyList{IProfileSink}?, IProgress{BatchProgress}?, CancellationToken, Action{BatchSummary}?)"/>),
    /// in one transaction. With <paramref name="export"/>, the same profiles go to that JSON-lines writer, which is
    /// written and synced before the store commits and renamed into place right after, so a failure anywhere leaves
    /// both as they were.</summary>
    /// <exception cref="ShrinkRefusedException">See <see cref="BatchOptions.AllowShrink"/>.</exception>
    /// <exception cref="DataFormatException">A bad record, or an unknown item with <see cref="BatchOptions.Strict"/>.</exception>
    public BatchSummary RunIntoStore(IActionSource source, IProfileStore store, JsonLinesProfileWriter? export = null,
                                     IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(store);
        BatchSummary summary = _job.RunIntoStore(source, store, Metadata(source.Name), export is null ? null : [export],
                                                 progress, cancellationToken, beforeCommit: _ => export?.Prepare());
        // The store has committed; the export is complete and synced on disk, so only its rename remains.
        export?.Commit();
        return summary;
    }

    /// <summary>As <see cref="RunIntoStore"/>, on a worker thread (the run itself uses its own threads).</summary>
    public Task<BatchSummary> RunIntoStoreAsync(IActionSource source, IProfileStore store, JsonLinesProfileWriter? export = null,
                                                IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => RunIntoStore(source, store, export, progress, cancellationToken), cancellationToken);

    private Func<BatchSummary, ProfileRunMetadata> Metadata(string source) => s =>
        new ProfileRunMetadata(ProfileRunMetadata.SchemaVersionFilledByStore, s.Now, DateTimeOffset.UtcNow,
                               OptionsJson(ProfileOptions, s.Now, _autoAlpha), s.UsersWritten, source);

    /// <summary>The model options as the JSON object stored with a run (the one shape every caller records):
    /// alpha, alpha_auto, count_repeats, lambda, window_days, max_actions, now, keep_singletons, normalize and, when
    /// set, action_weights and actions_include (both sorted by code point).</summary>
    public static string OptionsJson(ProfileOptions options, long now, bool autoAlpha)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("alpha", options.Alpha);
            w.WriteBoolean("alpha_auto", autoAlpha);
            w.WriteBoolean("count_repeats", options.CountRepeats);
            w.WriteNumber("lambda", options.DecayLambda);
            w.WriteNumber("window_days", options.WindowDays);
            w.WriteNumber("max_actions", options.MaxActions);
            w.WriteNumber("now", now);
            w.WriteBoolean("keep_singletons", options.KeepSingletons);
            w.WriteBoolean("normalize", options.NormalizeVectors);
            if (options.ActionWeights is not null)
            {
                w.WriteStartObject("action_weights");
                foreach (KeyValuePair<string, double> kv in options.ActionWeights.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    w.WriteNumber(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            if (options.IncludeActions is not null)
            {
                w.WriteStartArray("actions_include");
                foreach (string a in options.IncludeActions.Order(StringComparer.Ordinal)) w.WriteStringValue(a);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
