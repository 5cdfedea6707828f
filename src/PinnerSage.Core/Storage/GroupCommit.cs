namespace PinnerSage.Storage;

/// <summary>Group commit for event appends (our choice; the classic database technique): concurrent
/// <see cref="IProfileStore.AppendEvents"/> calls on one store instance are written in ONE transaction by whichever
/// caller gets there first, so N waiting requests cost one durable commit (one fsync) instead of N. Each request is
/// still all-or-none and returns only after the commit that holds it; requests keep their arrival order, so their
/// sequences increase in the order they were queued.</summary>
internal sealed class GroupCommit(Func<IReadOnlyList<ActionEvent>, IReadOnlyList<long>> write)
{
    private readonly object _lock = new();
    private List<Request> _queue = [];
    private bool _writing;

    public IReadOnlyList<long> Append(IReadOnlyList<ActionEvent> events)
    {
        var request = new Request(events);
        List<Request> group;
        lock (_lock)
        {
            _queue.Add(request);
            while (_writing && !request.Done) Monitor.Wait(_lock);
            if (request.Done) return request.Result();
            _writing = true;
            group = _queue;
            _queue = [];
        }
        Exception? error = null;
        try
        {
            var all = new List<ActionEvent>();
            foreach (Request r in group) all.AddRange(r.Events);
            IReadOnlyList<long> sequences = write(all);
            int offset = 0;
            foreach (Request r in group)
            {
                var mine = new long[r.Events.Count];
                for (int i = 0; i < mine.Length; i++) mine[i] = sequences[offset + i];
                offset += mine.Length;
                r.Sequences = mine;
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        lock (_lock)
        {
            foreach (Request r in group)
            {
                r.Error = error;
                r.Done = true;
            }
            _writing = false;
            Monitor.PulseAll(_lock);
        }
        return request.Result();
    }

    private sealed class Request(IReadOnlyList<ActionEvent> events)
    {
        public IReadOnlyList<ActionEvent> Events { get; } = events;
        public long[]? Sequences;
        public Exception? Error;
        public bool Done;

        public IReadOnlyList<long> Result() =>
            Error is null ? Sequences! : throw new IOException($"cannot append events: {Error.Message}", Error);
    }
}
