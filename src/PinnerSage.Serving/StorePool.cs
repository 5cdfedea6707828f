using System.Collections.Concurrent;
using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>Store connections for request threads. A store instance is one connection and not thread-safe, so each
/// request rents one and returns it; the pool grows to the peak concurrency and keeps at most
/// <see cref="MaxIdle"/> idle instances.</summary>
internal sealed class StorePool(Func<IProfileStore> open, int maxIdle = 64) : IDisposable
{
    private readonly ConcurrentBag<IProfileStore> _idle = [];
    private int _idleCount;
    private bool _disposed;

    public int MaxIdle { get; } = maxIdle;

    public Lease Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out IProfileStore? store))
        {
            Interlocked.Decrement(ref _idleCount);
            return new Lease(this, store);
        }
        return new Lease(this, open());
    }

    private void Return(IProfileStore store)
    {
        if (!_disposed && Interlocked.Increment(ref _idleCount) <= MaxIdle)
        {
            _idle.Add(store);
            return;
        }
        Interlocked.Decrement(ref _idleCount);
        store.Dispose();
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out IProfileStore? store)) store.Dispose();
    }

    /// <summary>A rented store; dispose to give it back. A store that threw is disposed, not returned (its connection
    /// may be broken).</summary>
    internal struct Lease(StorePool pool, IProfileStore store) : IDisposable
    {
        private IProfileStore? _store = store;

        public readonly IProfileStore Store => _store ?? throw new ObjectDisposedException(nameof(Lease));

        public void Discard()
        {
            _store?.Dispose();
            _store = null;
        }

        public void Dispose()
        {
            if (_store is null) return;
            pool.Return(_store);
            _store = null;
        }
    }
}
