using System.Threading.Channels;
using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>Group commit of online events: concurrent POSTs queue their events; one writer drains everything queued
/// and appends it with ONE <see cref="IProfileStore.AppendEvents"/> call (one transaction, one fsync), then completes
/// each request with its own slice of the sequences. A request is acknowledged only after the transaction holding its
/// events committed durably; if that transaction fails, every request in it fails (all or none, as the store
/// promises). Under load this turns N fsyncs into one; alone, a request waits for exactly one commit.</summary>
internal sealed class EventAppender : IAsyncDisposable
{
    private const int MaxEventsPerCommit = 8192;

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IProfileStore _store;
    private readonly ServingMetrics _metrics;
    private readonly Task _writer;

    public EventAppender(IProfileStore store, ServingMetrics metrics)
    {
        _store = store;
        _metrics = metrics;
        _writer = Task.Factory.StartNew(WriteLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Appends <paramref name="events"/> durably; the sequences in input order.</summary>
    public Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<ActionEvent> events)
    {
        var pending = new Pending(events);
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(EventAppender));
        return pending.Completion.Task;
    }

    private async Task WriteLoop()
    {
        var group = new List<Pending>();
        var events = new List<ActionEvent>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            events.Clear();
            while (events.Count < MaxEventsPerCommit && _queue.Reader.TryRead(out Pending? p))
            {
                group.Add(p);
                events.AddRange(p.Events);
            }
            if (group.Count == 0) continue;
            try
            {
                IReadOnlyList<long> sequences = _store.AppendEvents(events);
                _metrics.Appended(events.Count);
                int offset = 0;
                foreach (Pending p in group)
                {
                    var mine = new long[p.Events.Count];
                    for (int i = 0; i < mine.Length; i++) mine[i] = sequences[offset + i];
                    offset += mine.Length;
                    p.Completion.TrySetResult(mine);
                }
            }
            catch (Exception e)
            {
                foreach (Pending p in group) p.Completion.TrySetException(e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _store.Dispose();
    }

    private sealed class Pending(IReadOnlyList<ActionEvent> events)
    {
        public IReadOnlyList<ActionEvent> Events { get; } = events;

        public TaskCompletionSource<IReadOnlyList<long>> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
