using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Numerics;

namespace PinnerSage.Batch;

/// <summary>The daily batch job (papers/PINNERSAGE.md, "Production serving"): every user's profile from an
/// actions.tsv stream, on all cores, into one or more sinks (a store session, a JSON-lines export).</summary>
/// <remarks>
/// Pipeline (our choice): one reader thread parses lines into <see cref="UserBatch"/>es of whole users (flat int/long
/// columns, item ids resolved to embedding rows, action labels to codes: nothing is allocated per action); a bounded
/// pool of batches feeds N workers, each with its own <see cref="UserProfileBuilder"/> (clusterer and scratch); the
/// calling thread writes finished batches strictly in sequence order. Every profile is a pure function of its user's
/// actions, so the output is byte-identical for any thread count.
/// Input order, <see cref="BatchInputMode.Auto"/>: a first pass over the file finds the latest timestamp (the
/// default now) and whether users are sorted (by code point, see <see cref="UserIdOrder"/>); sorted input is then
/// streamed, anything else (merely grouped, or interleaved) is loaded and counting-sorted by user in memory. Output
/// is in user-id order: code points = UTF-8 bytes, as `LC_ALL=C sort` and SQLite order them.
/// <see cref="BatchInputMode.Grouped"/> (the streaming mapper) is one pass, in input order, and needs an explicit now.
/// Memory: streamed input needs only the batch pool (2N + 2 batches) besides the embeddings, whatever its size;
/// unsorted input is held in memory at ≈ 24 bytes per action (28 with action weights or filters) during the run.
/// </remarks>
public sealed class ProfileBatchJob
{
    private const int ActionsPerBatch = 1 << 16;
    private const long ScanProgressLines = 1 << 20;

    private readonly ItemEmbeddings _items;
    private readonly ProfileOptions _profileOptions;
    private readonly BatchOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the job; validates both option records.</summary>
    /// <param name="items">The item embeddings the actions refer to.</param>
    /// <param name="profileOptions">The user model.</param>
    /// <param name="options">The run's options.</param>
    /// <param name="logger">Where runs log their start, progress (every 10 s and at each phase), end and a refusal;
    /// null: nowhere. Metrics go to <see cref="BatchTelemetry.MeterName"/> either way.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public ProfileBatchJob(ItemEmbeddings items, ProfileOptions profileOptions, BatchOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(profileOptions);
        ArgumentNullException.ThrowIfNull(options);
        profileOptions.Validate();
        options.Validate();
        _items = items;
        _profileOptions = profileOptions;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Runs over the actions file at <paramref name="actionsPath"/> ("-" = standard input, which is loaded
    /// in memory in <see cref="BatchInputMode.Auto"/>), writing every user with at least one action in the window to
    /// each sink, in order. Sinks are not committed here: the caller commits them when the run succeeds.</summary>
    /// <exception cref="DataFormatException">Bad input line (or an unknown item with <see cref="BatchOptions.Strict"/>).</exception>
    /// <exception cref="ArgumentException">Grouped mode without <see cref="ProfileOptions.Now"/>.</exception>
    public BatchSummary Run(string actionsPath, IReadOnlyList<IProfileSink> sinks,
                            IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(actionsPath);
        return Run(ActionSource.File(actionsPath, _options.HasHeader), sinks, progress, cancellationToken);
    }

    /// <summary>Runs over <paramref name="source"/> (a file, memory, any asynchronous stream: <see cref="ActionSource"/>),
    /// writing every user with at least one action in the window to each sink, in user-id order. Sinks are not
    /// committed here.</summary>
    /// <exception cref="DataFormatException">A bad record (or an unknown item with <see cref="BatchOptions.Strict"/>).</exception>
    public BatchSummary Run(IActionSource source, IReadOnlyList<IProfileSink> sinks,
                            IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return RunCore(() => ActionSource.OpenCursor(source, cancellationToken), source.Name, source.CanRescan, sinks,
                       progress, cancellationToken);
    }

    /// <summary>Runs over the actions file plus <paramref name="loggedEvents"/> (the serving event log: online actions
    /// that are not in the file), merged into each user's action stream (papers/PINNERSAGE.md, "Production serving":
    /// the batch job folds the day's online actions in). Events whose item is not in the embeddings are counted
    /// (<see cref="BatchSummary.LoggedEventsSkippedUnknownItem"/>) and skipped, also with
    /// <see cref="BatchOptions.Strict"/>. Sorted files are still streamed; the events are held in memory.</summary>
    /// <exception cref="ArgumentException"><see cref="BatchInputMode.Grouped"/>, which cannot merge.</exception>
    public BatchSummary Run(string actionsPath, IEnumerable<LoggedEvent> loggedEvents, IReadOnlyList<IProfileSink> sinks,
                            IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(actionsPath);
        return Run(ActionSource.File(actionsPath, _options.HasHeader), loggedEvents, sinks, progress, cancellationToken);
    }

    /// <summary>As <see cref="Run(string, IEnumerable{LoggedEvent}, IReadOnlyList{IProfileSink}, IProgress{BatchProgress}?, CancellationToken)"/>
    /// over any action source.</summary>
    public BatchSummary Run(IActionSource source, IEnumerable<LoggedEvent> loggedEvents, IReadOnlyList<IProfileSink> sinks,
                            IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(loggedEvents);
        if (_options.InputMode == BatchInputMode.Grouped)
            throw new ArgumentException("logged events cannot be merged into grouped (mapper) input.");
        var table = new ActionTypeTable(_profileOptions);
        LoggedActions logged = LoggedActions.Create(loggedEvents, _items, table);
        return RunCore(() => ActionSource.OpenCursor(source, cancellationToken), source.Name, source.CanRescan, sinks,
                       progress, cancellationToken, logged);
    }

    /// <summary>The batch run against a store (contract: the store's event log is consumed): takes
    /// upTo = <see cref="IProfileStore.LastEventSequence"/>, builds every profile from the actions file plus every
    /// logged event with sequence ≤ upTo, and commits them with <see cref="ProfileRunMetadata.ConsumedEventSequence"/>
    /// = upTo in the same transaction. Events appended meanwhile have larger sequences and stay pending (the users'
    /// online state). <paramref name="extraSinks"/> (e.g. a JSON-lines export) receive the same profiles; the caller
    /// commits them. A failure leaves the previous run in the store.</summary>
    /// <param name="actionsPath">actions.tsv, or "-" for standard input.</param>
    /// <param name="store">The store to replace.</param>
    /// <param name="metadata">The run's metadata from its summary (its ConsumedEventSequence is set here).</param>
    /// <param name="extraSinks">Further sinks, or null.</param>
    /// <param name="progress">Progress, or null.</param>
    /// <param name="cancellationToken">Cancels the run (nothing is committed).</param>
    /// <param name="beforeCommit">Runs once every profile is written, just before the store commits: finish the
    /// extra sinks' temporary files here (<see cref="JsonLinesProfileWriter.Prepare"/>), so that a failure in any
    /// output leaves the store untouched and only a rename remains after the commit.</param>
    /// <returns>The summary, with <see cref="BatchSummary.ConsumedEventSequence"/> = upTo.</returns>
    /// <exception cref="ShrinkRefusedException">The run read no actions, or would replace the store's profiles by
    /// fewer than half as many, without <see cref="BatchOptions.AllowShrink"/>.</exception>
    public BatchSummary RunIntoStore(string actionsPath, IProfileStore store, Func<BatchSummary, ProfileRunMetadata> metadata,
                                     IReadOnlyList<IProfileSink>? extraSinks = null, IProgress<BatchProgress>? progress = null,
                                     CancellationToken cancellationToken = default, Action<BatchSummary>? beforeCommit = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(actionsPath);
        return RunIntoStore(ActionSource.File(actionsPath, _options.HasHeader), store, metadata, extraSinks, progress,
                            cancellationToken, beforeCommit);
    }

    /// <summary>As <see cref="RunIntoStore(string, IProfileStore, Func{BatchSummary, ProfileRunMetadata}, IReadOnlyList{IProfileSink}?, IProgress{BatchProgress}?, CancellationToken, Action{BatchSummary}?)"/>
    /// over any action source.</summary>
    public BatchSummary RunIntoStore(IActionSource source, IProfileStore store, Func<BatchSummary, ProfileRunMetadata> metadata,
                                     IReadOnlyList<IProfileSink>? extraSinks = null, IProgress<BatchProgress>? progress = null,
                                     CancellationToken cancellationToken = default, Action<BatchSummary>? beforeCommit = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(metadata);
        long upTo = store.LastEventSequence();
        long previousUsers = store.CountUsers();
        using IProfileReplaceSession session = store.BeginReplaceAll();
        List<IProfileSink> sinks = [session, .. extraSinks ?? []];
        BatchSummary summary = Run(source, store.ReadEvents(0, upTo), sinks, progress, cancellationToken)
            with { ConsumedEventSequence = upTo };
        try
        {
            if (!_options.AllowShrink) ShrinkRefusedException.ThrowIfShrinks(summary, previousUsers, source.Name);
        }
        catch (ShrinkRefusedException e)
        {
            BatchTelemetry.ShrinkRefused(_logger, source.Name, e.Message);
            throw;
        }
        beforeCommit?.Invoke(summary);
        session.Commit(metadata(summary) with { ConsumedEventSequence = upTo });
        BatchTelemetry.Committed(_logger, summary.UsersWritten, upTo);
        // After the commit: consumed events before this run's window can join no later run (whose now is later).
        return summary with { EventsCompacted = store.CompactEvents(upTo, ProfileOptions.WindowStart(summary.Now, _profileOptions.WindowDays) + 1) };
    }

    /// <summary>Runs over an open text stream (read once: <see cref="BatchInputMode.Auto"/> loads it in memory).</summary>
    public BatchSummary Run(TextReader input, string displayName, IReadOnlyList<IProfileSink> sinks,
                            IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(displayName);
        bool opened = false;
        return RunCore(() =>
        {
            if (opened) throw new InvalidOperationException("a text stream can be read only once.");
            opened = true;
            return new ActionsTsvReader(input, displayName, _options.HasHeader);
        }, displayName, rescannable: false, sinks, progress, cancellationToken);
    }

    private BatchSummary RunCore(Func<IActionCursor> open, string name, bool rescannable,
                                 IReadOnlyList<IProfileSink> sinks, IProgress<BatchProgress>? progress,
                                 CancellationToken cancellationToken, LoggedActions? logged = null)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        BatchTelemetry.RunStarted(_logger, name, _options.EffectiveThreads, _options.InputMode);
        if (_logger.IsEnabled(LogLevel.Information)) progress = new LoggedProgress(progress, _logger);
        BatchSummary summary = RunPhases(open, name, rescannable, sinks, progress, cancellationToken, logged);
        BatchTelemetry.Actions.Add(summary.ActionsRead);
        BatchTelemetry.Duration.Record(summary.Elapsed.TotalSeconds);
        BatchTelemetry.RunFinished(_logger, name, summary.UsersWritten, summary.UsersRead, summary.ActionsUsed,
                                   summary.ActionsRead, summary.Clusters, summary.Elapsed.TotalSeconds);
        return summary;
    }

    /// <summary>Forwards progress and logs it at each phase change and at most every 10 s within one.</summary>
    private sealed class LoggedProgress(IProgress<BatchProgress>? inner, ILogger logger) : IProgress<BatchProgress>
    {
        private string? _phase;
        private TimeSpan _logged;

        public void Report(BatchProgress value)
        {
            inner?.Report(value);
            if (value.Phase == _phase && value.Elapsed - _logged < TimeSpan.FromSeconds(10)) return;
            _phase = value.Phase;
            _logged = value.Elapsed;
            BatchTelemetry.Progress(logger, value.Phase, value.Users, value.Lines, value.Elapsed.TotalSeconds);
        }
    }

    private BatchSummary RunPhases(Func<IActionCursor> open, string name, bool rescannable,
                                   IReadOnlyList<IProfileSink> sinks, IProgress<BatchProgress>? progress,
                                   CancellationToken cancellationToken, LoggedActions? logged)
    {
        var clock = Stopwatch.StartNew();
        var table = new ActionTypeTable(_profileOptions);
        var counters = new ReaderCounters();
        if (logged is not null)
        {
            counters.LoggedEventsRead = logged.Read;
            counters.LoggedEventsSkippedUnknownItem = logged.SkippedUnknownItem;
            counters.SkippedActionType += logged.SkippedActionType;
        }

        if (_options.InputMode == BatchInputMode.Grouped)
        {
            long now = _profileOptions.Now
                       ?? throw new ArgumentException("--now is required when the input is streamed grouped by user " +
                                                      "(a mapper cannot see the latest timestamp of all the data).");
            return RunPipeline(pipe =>
            {
                using IActionCursor reader = open();
                ProduceStreaming(reader, name, grouped: true, table, pipe, counters, logged: null);
            }, now, InputOrder.Unknown, sortedInMemory: false, totalUsers: null, table, counters, sinks, progress,
               clock, cancellationToken);
        }

        if (rescannable)
        {
            ScanResult scan;
            using (IActionCursor reader = open()) scan = Scan(reader, progress, clock, cancellationToken);
            long now = _profileOptions.Now ?? Math.Max(scan.MaxTime, logged?.MaxTime ?? 0);
            if (scan.Order == InputOrder.Sorted)
            {
                return RunPipeline(pipe =>
                {
                    using IActionCursor reader = open();
                    ProduceStreaming(reader, name, grouped: false, table, pipe, counters, logged);
                }, now, InputOrder.Sorted, sortedInMemory: false, logged is null ? scan.Users : null, table, counters,
                   sinks, progress, clock, cancellationToken);
            }
        }

        LoadedActions loaded;
        using (IActionCursor reader = open())
            loaded = Load(reader, name, table, counters, progress, clock, cancellationToken, logged);
        return RunPipeline(pipe => ProduceLoaded(loaded, pipe), _profileOptions.Now ?? loaded.MaxTime, loaded.Order,
                           sortedInMemory: true, loaded.UserIds.Count, table, counters, sinks, progress, clock,
                           cancellationToken);
    }

    private BatchSummary RunPipeline(Action<Pipeline> produce, long now, InputOrder order, bool sortedInMemory,
                                     long? totalUsers, ActionTypeTable table, ReaderCounters counters,
                                     IReadOnlyList<IProfileSink> sinks, IProgress<BatchProgress>? progress,
                                     Stopwatch clock, CancellationToken cancellationToken)
    {
        int threads = _options.EffectiveThreads;
        using var pipe = new Pipeline(2 * threads + 2, _options.UsersPerBatch, cancellationToken);
        var writer = new OrderedWriter(sinks, progress, totalUsers, counters, clock);

        var reader = new Thread(() =>
        {
            try { produce(pipe); }
            catch (Exception e) { pipe.Fail(e); }
            finally { pipe.Todo.CompleteAdding(); }
        }) { Name = "pinnersage-reader", IsBackground = true };

        int live = threads;
        var workers = new Thread[threads];
        for (int w = 0; w < threads; w++)
        {
            workers[w] = new Thread(() =>
            {
                try
                {
                    var builder = new UserProfileBuilder(_items, _profileOptions);
                    double[] weights = new double[256];
                    foreach (UserBatch batch in pipe.Todo.GetConsumingEnumerable(pipe.Token))
                    {
                        Process(batch, builder, table.Weights, ref weights, now);
                        pipe.Done.Add(batch, pipe.Token);
                    }
                }
                catch (OperationCanceledException) when (pipe.Token.IsCancellationRequested) { }
                catch (Exception e) { pipe.Fail(e); }
                finally
                {
                    if (Interlocked.Decrement(ref live) == 0) pipe.Done.CompleteAdding();
                }
            }) { Name = $"pinnersage-worker-{w}", IsBackground = true };
        }

        reader.Start();
        foreach (Thread t in workers) t.Start();
        try
        {
            foreach (UserBatch batch in pipe.Done.GetConsumingEnumerable(pipe.Token))
            {
                writer.Accept(batch, pipe);
            }
        }
        catch (OperationCanceledException) when (pipe.Token.IsCancellationRequested) { }
        catch (Exception e) { pipe.Fail(e); }
        reader.Join();
        foreach (Thread t in workers) t.Join();
        pipe.ThrowIfFailed();
        cancellationToken.ThrowIfCancellationRequested();

        return writer.Summary(order, sortedInMemory, now, threads, clock.Elapsed);
    }

    private static void Process(UserBatch batch, UserProfileBuilder builder, double[] weightOfCode,
                                ref double[] weights, long now)
    {
        for (int u = 0; u < batch.Users; u++)
        {
            int start = batch.Start[u], count = batch.Start[u + 1] - start;
            if (weights.Length < count) weights = new double[Math.Max(count, weights.Length * 2)];
            for (int i = 0; i < count; i++) weights[i] = weightOfCode[batch.Codes[start + i]];
            UserProfile profile = builder.BuildCore(batch.UserIds[u], batch.Rows.AsSpan(start, count),
                                                    batch.Times.AsSpan(start, count), weights.AsSpan(0, count), now,
                                                    out ProfileBuildStats stats);
            batch.Profiles[u] = stats.Clustered > 0 ? profile : null;
            batch.Stats[u] = stats;
        }
    }

    /// <summary>Streams sorted (or, for the mapper, grouped) input into batches of whole users; logged events (sorted
    /// input only) are merged in user order: a user's events join their lines, users with events only are inserted
    /// where they sort. Costs one comparison per user change, nothing per line.</summary>
    private void ProduceStreaming(IActionCursor reader, string name, bool grouped, ActionTypeTable table,
                                  Pipeline pipe, ReaderCounters counters, LoggedActions? logged)
    {
        UserBatch batch = pipe.Rent();
        string? current = null;
        HashSet<string>? seen = grouped ? new HashSet<string>(StringComparer.Ordinal) : null;
        int nextLogged = 0, loggedUsers = logged?.UserIds.Length ?? 0;

        // Static with ref: the per-line path keeps `batch` in a local, not in a closure object.
        static void Begin(ref UserBatch batch, Pipeline pipe, ReaderCounters counters, string id)
        {
            if (batch.Users == batch.Capacity || batch.Actions >= ActionsPerBatch)
            {
                pipe.Publish(batch);
                batch = pipe.Rent();
            }
            batch.BeginUser(id);
            counters.Users++;
        }

        static void AddLogged(UserBatch batch, LoggedActions logged, int u)
        {
            for (int j = logged.Start[u]; j < logged.Start[u + 1]; j++) batch.Add(logged.Rows[j], logged.Times[j], logged.Codes[j]);
        }

        while (reader.MoveNext())
        {
            counters.Lines++;
            ReadOnlySpan<char> user = reader.UserId;
            if (current is null || !user.SequenceEqual(current))
            {
                if (!grouped && current is not null && UserIdOrder.Compare(user, current) < 0)
                    throw new DataFormatException(name, reader.LineNumber, "user_id",
                        "users are no longer sorted: the file changed since the first pass");
                string id = user.ToString();
                if (seen is not null && !seen.Add(id))
                    throw new DataFormatException(name, reader.LineNumber, "user_id",
                        $"user '{id}' appears again after other users: the input must be grouped by user " +
                        "(e.g. LC_ALL=C sort -t$'\\t' -k1,1 -s)");
                while (nextLogged < loggedUsers && UserIdOrder.Compare(logged!.UserIds[nextLogged], id) < 0)
                {
                    Begin(ref batch, pipe, counters, logged.UserIds[nextLogged]);
                    AddLogged(batch, logged, nextLogged++);
                }
                Begin(ref batch, pipe, counters, id);
                if (nextLogged < loggedUsers && logged!.UserIds[nextLogged] == id) AddLogged(batch, logged, nextLogged++);
                current = id;
            }
            if (Accept(reader, name, table, counters, out int row, out int code))
                batch.Add(row, reader.Timestamp, code);
        }
        while (nextLogged < loggedUsers)
        {
            Begin(ref batch, pipe, counters, logged!.UserIds[nextLogged]);
            AddLogged(batch, logged, nextLogged++);
        }
        if (batch.Users > 0) pipe.Publish(batch);
        else pipe.Return(batch);
    }

    /// <summary>Resolves the current line's action type and item; counts (or, strict, rejects) what is skipped.</summary>
    private bool Accept(IActionCursor reader, string name, ActionTypeTable table, ReaderCounters counters,
                        out int row, out int code)
    {
        row = -1;
        code = table.Code(reader.Action);
        if (code < 0)
        {
            counters.SkippedActionType++;
            return false;
        }
        if (_items.TryGetRow(reader.ItemId, out row)) return true;
        if (_options.Strict)
            throw new DataFormatException(name, reader.LineNumber, "item_id",
                $"unknown item id '{reader.ItemId}': it is not in the embeddings' ids (drop --strict to skip such actions)");
        counters.SkippedUnknownItem++;
        return false;
    }

    /// <summary>First pass over a file: latest timestamp, user count and order (sorted ⊂ grouped ⊂ unordered).
    /// Grouping is checked with 64-bit hashes of user ids: a collision can only make grouped input look unordered,
    /// which costs an unneeded in-memory sort, never a wrong profile.</summary>
    private static ScanResult Scan(IActionCursor reader, IProgress<BatchProgress>? progress, Stopwatch clock,
                                   CancellationToken cancellationToken)
    {
        long lines = 0, users = 0, maxTime = 0;
        bool sorted = true, groupedSoFar = true;
        var seen = new HashSet<ulong>();
        char[] previous = new char[64];
        int previousLength = -1;
        while (reader.MoveNext())
        {
            lines++;
            long t = reader.Timestamp;
            if (t > maxTime) maxTime = t;
            ReadOnlySpan<char> user = reader.UserId;
            if (previousLength < 0 || !user.SequenceEqual(previous.AsSpan(0, previousLength)))
            {
                if (previousLength >= 0 && UserIdOrder.Compare(user, previous.AsSpan(0, previousLength)) < 0) sorted = false;
                if (!seen.Add(Hash(user))) groupedSoFar = false;
                if (previous.Length < user.Length) previous = new char[user.Length * 2];
                user.CopyTo(previous);
                previousLength = user.Length;
                users++;
            }
            if ((lines & (ScanProgressLines - 1)) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new BatchProgress("scan", 0, null, lines, clock.Elapsed));
            }
        }
        InputOrder order = sorted ? InputOrder.Sorted : groupedSoFar ? InputOrder.Grouped : InputOrder.Unordered;
        return new ScanResult(order, users, maxTime);
    }

    /// <summary>FNV-1a over the UTF-16 code units, then a 64-bit finaliser (SplitMix64) to spread the bits.</summary>
    internal static ulong Hash(ReadOnlySpan<char> s) => SplitMix64.Mix(SplitMix64.Fnv1a(s));

    /// <summary>Loads the whole input in columns, then counting-sorts the actions by the rank of their user.</summary>
    private LoadedActions Load(IActionCursor reader, string name, ActionTypeTable table, ReaderCounters counters,
                               IProgress<BatchProgress>? progress, Stopwatch clock, CancellationToken cancellationToken,
                               LoggedActions? logged)
    {
        var userOf = new ChunkedColumn<int>();
        var rows = new ChunkedColumn<int>();
        var codes = new ChunkedColumn<int>();
        var times = new ChunkedColumn<long>();
        var userIds = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
        long maxTime = 0;
        bool sorted = true, grouped = true;
        int current = -1;
        while (reader.MoveNext())
        {
            counters.Lines++;
            long t = reader.Timestamp;
            if (t > maxTime) maxTime = t;
            ReadOnlySpan<char> user = reader.UserId;
            if (current < 0 || !user.SequenceEqual(userIds[current]))
            {
                if (current >= 0 && UserIdOrder.Compare(user, userIds[current]) < 0) sorted = false;
                if (lookup.TryGetValue(user, out int u))
                {
                    grouped = false;
                }
                else
                {
                    u = userIds.Count;
                    string id = user.ToString();
                    userIds.Add(id);
                    index.Add(id, u);
                }
                current = u;
            }
            if (Accept(reader, name, table, counters, out int row, out int code))
            {
                userOf.Add(current);
                rows.Add(row);
                if (!table.IsTrivial) codes.Add(code);
                times.Add(t);
            }
            if ((counters.Lines & (ScanProgressLines - 1)) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new BatchProgress("load", 0, null, counters.Lines, clock.Elapsed));
            }
        }
        if (logged is not null)
        {
            // Logged events join the loaded columns as more actions of their users; the sort below groups them.
            maxTime = Math.Max(maxTime, logged.MaxTime);
            for (int l = 0; l < logged.UserIds.Length; l++)
            {
                string id = logged.UserIds[l];
                if (!index.TryGetValue(id, out int u))
                {
                    u = userIds.Count;
                    userIds.Add(id);
                    index.Add(id, u);
                }
                for (int j = logged.Start[l]; j < logged.Start[l + 1]; j++)
                {
                    userOf.Add(u);
                    rows.Add(logged.Rows[j]);
                    if (!table.IsTrivial) codes.Add(logged.Codes[j]);
                    times.Add(logged.Times[j]);
                }
            }
        }
        counters.Users = userIds.Count;

        // Counting sort by user rank: stable, O(actions + users log users), one int per action.
        int users = userIds.Count;
        int[] byRank = new int[users];
        for (int i = 0; i < users; i++) byRank[i] = i;
        Array.Sort(byRank, (a, b) => UserIdOrder.Compare(userIds[a], userIds[b]));
        int[] rankOf = new int[users];
        for (int r = 0; r < users; r++) rankOf[byRank[r]] = r;
        int[] offsets = new int[users + 1];
        long n = userOf.Count;
        for (long i = 0; i < n; i++) offsets[rankOf[userOf[i]] + 1]++;
        for (int r = 0; r < users; r++) offsets[r + 1] += offsets[r];
        int[] next = (int[])offsets.Clone();
        int[] permutation = new int[n];
        for (long i = 0; i < n; i++) permutation[next[rankOf[userOf[i]]]++] = (int)i;

        InputOrder order = sorted ? InputOrder.Sorted : grouped ? InputOrder.Grouped : InputOrder.Unordered;
        return new LoadedActions(order, maxTime, userIds, byRank, offsets, permutation, rows, codes, times);
    }

    private static void ProduceLoaded(LoadedActions loaded, Pipeline pipe)
    {
        UserBatch batch = pipe.Rent();
        for (int r = 0; r < loaded.ByRank.Length; r++)
        {
            if (batch.Users == batch.Capacity || batch.Actions >= ActionsPerBatch)
            {
                pipe.Publish(batch);
                batch = pipe.Rent();
            }
            batch.BeginUser(loaded.UserIds[loaded.ByRank[r]]);
            for (int j = loaded.Offsets[r]; j < loaded.Offsets[r + 1]; j++)
            {
                int i = loaded.Permutation[j];
                batch.Add(loaded.Rows[i], loaded.Times[i], loaded.Codes.Count == 0 ? 0 : loaded.Codes[i]);
            }
        }
        if (batch.Users > 0) pipe.Publish(batch);
        else pipe.Return(batch);
    }

    private readonly record struct ScanResult(InputOrder Order, long Users, long MaxTime);

    private sealed record LoadedActions(InputOrder Order, long MaxTime, List<string> UserIds, int[] ByRank,
                                        int[] Offsets, int[] Permutation, ChunkedColumn<int> Rows,
                                        ChunkedColumn<int> Codes, ChunkedColumn<long> Times);

    /// <summary>Written by the reader thread only; read by the writer after the reader has been joined, except
    /// <see cref="Lines"/>, read (racily, for progress only) while running.</summary>
    private sealed class ReaderCounters
    {
        public long Lines;
        public long Users;
        public long SkippedUnknownItem;
        public long SkippedActionType;
        public long LoggedEventsRead;
        public long LoggedEventsSkippedUnknownItem;
    }

    /// <summary>The bounded pool of batches and the two hand-off queues; the first failure cancels every thread.</summary>
    private sealed class Pipeline : IDisposable
    {
        private readonly BlockingCollection<UserBatch> _free = new();
        private readonly CancellationTokenSource _cts;
        private Exception? _error;
        private long _nextSequence;

        public Pipeline(int batches, int usersPerBatch, CancellationToken external)
        {
            _cts = CancellationTokenSource.CreateLinkedTokenSource(external);
            for (int i = 0; i < batches; i++) _free.Add(new UserBatch(usersPerBatch));
        }

        public BlockingCollection<UserBatch> Todo { get; } = new();

        public BlockingCollection<UserBatch> Done { get; } = new();

        public CancellationToken Token => _cts.Token;

        public UserBatch Rent() => _free.Take(_cts.Token);

        public void Publish(UserBatch batch)
        {
            batch.Sequence = _nextSequence++;
            Todo.Add(batch, _cts.Token);
        }

        public void Return(UserBatch batch)
        {
            batch.Reset();
            _free.Add(batch);
        }

        public void Fail(Exception e)
        {
            if (e is OperationCanceledException && _cts.IsCancellationRequested) return;
            Interlocked.CompareExchange(ref _error, e, null);
            _cts.Cancel();
        }

        public void ThrowIfFailed()
        {
            if (_error is not null) ExceptionDispatchInfo.Capture(_error).Throw();
        }

        public void Dispose()
        {
            _cts.Dispose();
            _free.Dispose();
            Todo.Dispose();
            Done.Dispose();
        }
    }

    /// <summary>Writes batches in sequence order to the sinks and accumulates the summary.</summary>
    private sealed class OrderedWriter(IReadOnlyList<IProfileSink> sinks, IProgress<BatchProgress>? progress,
                                       long? totalUsers, ReaderCounters counters, Stopwatch clock)
    {
        private readonly Dictionary<long, UserBatch> _pending = [];
        private readonly List<long> _clustersPerUser = [];
        private long _next;
        private long _users, _written, _withoutActions, _used, _afterNow, _beforeWindow, _overMax, _unclustered, _clusters;
        private TimeSpan _lastReport;

        public void Accept(UserBatch batch, Pipeline pipe)
        {
            _pending.Add(batch.Sequence, batch);
            while (_pending.Remove(_next, out UserBatch? ready))
            {
                Write(ready);
                _next++;
                pipe.Return(ready);
            }
            TimeSpan now = clock.Elapsed;
            if (progress is not null && now - _lastReport >= TimeSpan.FromMilliseconds(200))
            {
                _lastReport = now;
                progress.Report(new BatchProgress("build", _users, totalUsers, Volatile.Read(ref counters.Lines), now));
            }
        }

        private void Write(UserBatch batch)
        {
            long written = _written;
            for (int u = 0; u < batch.Users; u++)
            {
                ProfileBuildStats s = batch.Stats[u];
                _users++;
                _used += s.Clustered;
                _afterNow += s.AfterNow;
                _beforeWindow += s.BeforeWindow;
                _overMax += s.OverMaxActions;
                _unclustered += s.Unclustered;
                UserProfile? profile = batch.Profiles[u];
                if (profile is null)
                {
                    _withoutActions++;
                    continue;
                }
                _written++;
                int k = profile.Clusters.Count;
                _clusters += k;
                while (_clustersPerUser.Count <= k) _clustersPerUser.Add(0);
                _clustersPerUser[k]++;
                foreach (IProfileSink sink in sinks) sink.Write(profile);
            }
            BatchTelemetry.Users.Add(batch.Users);
            BatchTelemetry.Profiles.Add(_written - written);
        }

        public BatchSummary Summary(InputOrder order, bool sortedInMemory, long now, int threads, TimeSpan elapsed)
        {
            progress?.Report(new BatchProgress("build", _users, totalUsers, counters.Lines, elapsed));
            return new BatchSummary
            {
                InputOrder = order,
                SortedInMemory = sortedInMemory,
                Now = now,
                UsersRead = counters.Users,
                UsersWritten = _written,
                UsersWithoutActions = _withoutActions,
                ActionsRead = counters.Lines,
                ActionsUsed = _used,
                SkippedUnknownItem = counters.SkippedUnknownItem,
                SkippedActionType = counters.SkippedActionType,
                LoggedEventsRead = counters.LoggedEventsRead,
                LoggedEventsSkippedUnknownItem = counters.LoggedEventsSkippedUnknownItem,
                SkippedAfterNow = _afterNow,
                SkippedBeforeWindow = _beforeWindow,
                SkippedOverMaxActions = _overMax,
                ActionsUnclustered = _unclustered,
                Clusters = _clusters,
                ClustersPerUser = _clustersPerUser.ToArray(),
                Threads = threads,
                Elapsed = elapsed,
            };
        }
    }
}
