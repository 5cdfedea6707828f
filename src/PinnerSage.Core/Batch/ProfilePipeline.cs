using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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

    /// <summary>True: each run chooses λ from its own actions before now (<see cref="Profiles.AutoLambda"/>, one
    /// extra pass over the source; a source read only once is held in memory first), falling back to
    /// <see cref="ProfileOptions.DecayLambda"/> when the actions are too few; the run records
    /// <c>"lambda_auto": true</c>.</summary>
    public bool AutoLambda { get; init; }

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
    private readonly ItemEmbeddings _items;
    private readonly ProfilePipelineOptions _options;
    private ProfileBatchJob _job;
    private readonly bool _autoAlpha;
    private long? _sourceLatest; // the latest timestamp the last auto-λ pass saw (null: no such pass)
    private readonly ILogger _logger;

    /// <summary>Resolves α on <paramref name="items"/> when asked, then validates every option.</summary>
    /// <param name="items">The item embeddings.</param>
    /// <param name="options">The pipeline's options.</param>
    /// <param name="logger">The runs' log (see <see cref="ProfileBatchJob"/>) and the automatic α and λ; null: none.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public ProfilePipeline(ItemEmbeddings items, ProfilePipelineOptions options, ILogger? logger = null)
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
        _items = items;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        if (_autoAlpha) BatchTelemetry.Resolved(_logger, "alpha", ProfileOptions.Alpha);
        _job = new ProfileBatchJob(items, ProfileOptions, options.Batch, _logger);
    }

    /// <summary>The user model (α resolved; with <see cref="ProfilePipelineOptions.AutoLambda"/>, λ as the last run
    /// resolved it).</summary>
    public ProfileOptions ProfileOptions { get; private set; }

    /// <summary>What the last run's automatic λ chose (null without <see cref="ProfilePipelineOptions.AutoLambda"/>
    /// or before a run).</summary>
    public AutoLambdaResult? AutoLambdaResult { get; private set; }

    /// <summary>Chooses λ for a run over <paramref name="source"/> (<see cref="Profiles.AutoLambda"/>): one pass that
    /// keeps a hash sample of whole users (<see cref="AutoLambdaSample"/>), with the run's action filter and now
    /// (<see cref="ProfileOptions.Now"/>, else the latest timestamp of the source; events logged in the store are not
    /// read). A source that can be read only once is not read: the result is the fallback with no pairs.</summary>
    public static AutoLambdaResult ResolveLambda(IActionSource source, ItemEmbeddings items, ProfileOptions options,
                                                 CancellationToken cancellationToken = default) =>
        ResolveLambda(source, items, options, cancellationToken, out _);

    /// <summary>As the public form; <paramref name="latestTimestamp"/> is the latest timestamp of every action read
    /// (0 when none, or when the source could not be read), the batch job's default now without logged events.</summary>
    private static AutoLambdaResult ResolveLambda(IActionSource source, ItemEmbeddings items, ProfileOptions options,
                                                  CancellationToken cancellationToken, out long latestTimestamp)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        latestTimestamp = 0;
        if (!source.CanRescan)
            return new AutoLambdaResult(options.DecayLambda, 0, 0, Profiles.AutoLambda.Grid, [.. Profiles.AutoLambda.Grid.Select(_ => double.NaN)], Chosen: false);
        var sample = new AutoLambdaSample();
        long latest = long.MinValue;
        foreach (UserAction a in source.ReadAllAsync(cancellationToken).ToBlockingEnumerable(cancellationToken))
        {
            latest = Math.Max(latest, a.Timestamp); // the batch job's default now: the latest timestamp read
            if (options.IncludeActions is not null && !options.IncludeActions.Contains(a.Action)) continue;
            if (!items.TryGetRow(a.ItemId, out int row)) continue;
            sample.Add(ProfileBatchJob.Hash(a.UserId), row, a.Timestamp);
        }
        latestTimestamp = Math.Max(0, latest);
        // The batch job's now includes the latest action (t ≤ now); AutoLambda reads t < now, so one second later.
        long now = options.Now ?? (latest == long.MinValue ? 0 : latest + 1);
        return sample.Resolve(row => items.Vector(row).ToArray(), items.Dimension, now, options.WindowDays, options.DecayLambda);
    }

    /// <summary>With automatic λ, resolves it on <paramref name="source"/> and rebuilds the job with it. A source that
    /// can be read only once (standard input) is first held in memory (about 100 bytes per action), so that the same
    /// actions give the same profiles whichever way they arrive; pass a fixed λ to stream it instead.</summary>
    /// <returns>The source the run reads.</returns>
    private IActionSource PrepareRun(IActionSource source, CancellationToken cancellationToken)
    {
        if (!_options.AutoLambda) return source;
        if (!source.CanRescan)
            source = ActionSource.FromEnumerable(
                [.. source.ReadAllAsync(cancellationToken).ToBlockingEnumerable(cancellationToken)], source.Name);
        // The given options, not the last run's: their λ is the fallback (α plays no part in the choice).
        AutoLambdaResult = ResolveLambda(source, _items, _options.Profile, cancellationToken, out long latest);
        _sourceLatest = latest;
        ProfileOptions = ProfileOptions with { DecayLambda = AutoLambdaResult.Lambda };
        BatchTelemetry.Resolved(_logger, "lambda", ProfileOptions.DecayLambda);
        _job = new ProfileBatchJob(_items, ProfileOptions, _options.Batch, _logger);
        return source;
    }

    /// <summary>Replaces every profile in <paramref name="store"/> by a run over <paramref name="source"/> plus the
    /// store's logged events (see <see cref="ProfileBatchJob.RunIntoStore(IActionSource, IProfileStore, Func{BatchSummary, ProfileRunMetadata}, IReadOnlyList{IProfileSink}?, IProgress{BatchProgress}?, CancellationToken, Action{BatchSummary}?)"/>),
    /// in one transaction. With <paramref name="export"/> (JSON lines, Parquet…), the same profiles go to that file, which is
    /// written and synced before the store commits and renamed into place right after, so a failure anywhere leaves
    /// both as they were.</summary>
    /// <exception cref="ShrinkRefusedException">See <see cref="BatchOptions.AllowShrink"/>.</exception>
    /// <exception cref="DataFormatException">A bad record, or an unknown item with <see cref="BatchOptions.Strict"/>.</exception>
    public BatchSummary RunIntoStore(IActionSource source, IProfileStore store, IProfileExport? export = null,
                                     IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(store);
        source = PrepareRun(source, cancellationToken);
        BatchSummary summary = _job.RunIntoStore(source, store, Metadata(source.Name), export is null ? null : [export],
                                                 progress, cancellationToken, beforeCommit: _ => export?.Prepare());
        // The store has committed; the export is complete and synced on disk, so only its rename remains.
        export?.Commit();
        return summary;
    }

    /// <summary>Plans a distributed run over <paramref name="source"/> (<see cref="ProfileRunPlan"/>): resolves what
    /// <see cref="RunIntoStore"/> would — λ (auto: on the whole input, as the batch job does), α, now — and, with a
    /// <paramref name="store"/>, writes its logged events up to the log's last sequence to <paramref name="events"/>
    /// as headerless action lines (user, item, timestamp, action), only those the batch job would use (known item,
    /// action type included), so that the mappers read them with the rest of the actions.</summary>
    /// <exception cref="DataFormatException">A logged id holds a tab or a line break (it cannot travel as a TSV field).</exception>
    public ProfileRunPlan Plan(IActionSource source, IProfileStore? store, TextWriter? events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        _sourceLatest = null;
        source = PrepareRun(source, cancellationToken);
        long upTo = store?.LastEventSequence() ?? 0, exported = 0;
        // The batch job's default now: the latest timestamp of every line read (already known when auto λ read the
        // source) and of every usable logged event.
        long latest = _sourceLatest ?? LatestTimestamp(source, cancellationToken);
        if (store is not null && upTo > 0)
        {
            var table = new ActionTypeTable(ProfileOptions);
            foreach (LoggedEvent logged in store.ReadEvents(0, upTo))
            {
                ActionEvent e = logged.Event;
                if (table.Code(e.Action) < 0 || !_items.TryGetRow(e.ItemId, out _)) continue;
                foreach ((string field, string value) in new[] { ("user_id", e.UserId), ("item_id", e.ItemId), ("action", e.Action) })
                    if (value.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)
                        throw new DataFormatException("event log", logged.Sequence, field, $"'{value}' holds a tab or a line break");
                latest = Math.Max(latest, e.Timestamp);
                events?.Write(string.Create(CultureInfo.InvariantCulture, $"{e.UserId}\t{e.ItemId}\t{e.Timestamp}\t{e.Action}\n"));
                exported++;
            }
        }
        long now = ProfileOptions.Now ?? latest;
        return new ProfileRunPlan(now, ProfileOptions.Alpha, ProfileOptions.DecayLambda, upTo, exported,
                                  OptionsJson(ProfileOptions, now, _autoAlpha, _options.AutoLambda));
    }

    private static long LatestTimestamp(IActionSource source, CancellationToken cancellationToken)
    {
        long latest = 0;
        foreach (UserAction a in source.ReadAllAsync(cancellationToken).ToBlockingEnumerable(cancellationToken))
            latest = Math.Max(latest, a.Timestamp);
        return latest;
    }

    /// <summary>As <see cref="RunIntoStore"/>, on a worker thread (the run itself uses its own threads).</summary>
    public Task<BatchSummary> RunIntoStoreAsync(IActionSource source, IProfileStore store, IProfileExport? export = null,
                                                IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => RunIntoStore(source, store, export, progress, cancellationToken), cancellationToken);

    private Func<BatchSummary, ProfileRunMetadata> Metadata(string source) => s =>
        new ProfileRunMetadata(ProfileRunMetadata.SchemaVersionFilledByStore, s.Now, DateTimeOffset.UtcNow,
                               OptionsJson(ProfileOptions, s.Now, _autoAlpha, _options.AutoLambda), s.UsersWritten, source);

    /// <summary>The model options as the JSON object stored with a run (the one shape every caller records):
    /// alpha, alpha_auto, count_repeats, lambda, (lambda_auto when true,) window_days, max_actions, now, keep_singletons,
    /// normalize and, when set, action_weights and actions_include (both sorted by code point).</summary>
    public static string OptionsJson(ProfileOptions options, long now, bool autoAlpha, bool autoLambda = false)
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
            if (autoLambda) w.WriteBoolean("lambda_auto", true);
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
