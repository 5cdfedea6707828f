using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using PinnerSage.Batch;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests.Profiles;

namespace PinnerSage.Tests.Batch;

/// <summary>The batch job's metrics and log against its own summary: the counters add up to what the run reports,
/// and an optional logger receives the run's start, progress, end and commit (none needed: the default logs nowhere).</summary>
public sealed class BatchTelemetryTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Collects log records.</summary>
    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, EventId Id, string Message)> Records { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Records) Records.Add((logLevel, eventId, formatter(state, exception)));
        }
    }

    [Fact]
    public void CountersMatchTheSummaryAndTheLoggerHearsTheRun()
    {
        TestWorld world = TestWorld.Create(users: 90, seed: 21);
        string actions = _dir.File("actions.tsv");
        File.WriteAllText(actions, TestWorld.Tsv(world.Actions));

        // The meter is process-wide and other tests run batches at the same time: the counters are recorded on the
        // run's calling thread (the writer), so measurements from this thread are this run's.
        int thread = Environment.CurrentManagedThreadId;
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == BatchTelemetry.MeterName) l.EnableMeasurementEvents(instrument);
            },
        };
        void Add(Instrument instrument, double value)
        {
            if (Environment.CurrentManagedThreadId != thread) return;
            lock (totals) totals[instrument.Name] = totals.GetValueOrDefault(instrument.Name) + value;
        }
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => Add(i, v));
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => Add(i, v));
        listener.Start();

        var logger = new ListLogger();
        var job = new ProfileBatchJob(world.Items, new ProfileOptions(), new BatchOptions { Threads = 2, UsersPerBatch = 8 }, logger);
        using SqliteProfileStore store = SqliteProfileStore.Open(_dir.File("p.db"));
        BatchSummary summary = job.RunIntoStore(actions, store, s => new ProfileRunMetadata(0, s.Now, DateTimeOffset.UnixEpoch, "{}", s.UsersWritten, "t"));

        Assert.Equal(summary.UsersRead, totals["pinnersage.batch.users"]);
        Assert.Equal(summary.UsersWritten, totals["pinnersage.batch.profiles"]);
        Assert.Equal(summary.ActionsRead, totals["pinnersage.batch.actions"]);
        Assert.Equal(summary.Elapsed.TotalSeconds, totals["pinnersage.batch.duration"], 9);

        string[] messages = [.. logger.Records.Select(r => r.Message)];
        Assert.Contains(messages, m => m.StartsWith($"Batch run over {actions} started: 2 threads", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Batch run: build phase", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith($"Batch run over {actions} finished: {summary.UsersWritten} profiles from {summary.UsersRead} users", StringComparison.Ordinal));
        Assert.Contains($"Batch run committed to the store: {summary.UsersWritten} profiles, events up to sequence 0 consumed", messages);
        Assert.All(logger.Records, r => Assert.Equal(LogLevel.Information, r.Level));

        // Without a logger the same run works and logs nowhere.
        new ProfileBatchJob(world.Items, new ProfileOptions(), new BatchOptions { Threads = 2 }).RunIntoStore(
            actions, store, s => new ProfileRunMetadata(0, s.Now, DateTimeOffset.UnixEpoch, "{}", s.UsersWritten, "t"));
    }
}
