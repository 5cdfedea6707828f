namespace PinnerSage.Batch;

/// <summary>An append-only column in 1 Mi-element chunks: growing never copies (a doubling array would briefly hold
/// twice its size, which matters when an unsorted input of tens of millions of actions is loaded).</summary>
internal sealed class ChunkedColumn<T> where T : unmanaged
{
    private const int Shift = 20;
    private const int Mask = (1 << Shift) - 1;
    private readonly List<T[]> _chunks = [];

    public long Count { get; private set; }

    public void Add(T value)
    {
        int offset = (int)(Count & Mask);
        if (offset == 0) _chunks.Add(new T[1 << Shift]);
        _chunks[^1][offset] = value;
        Count++;
    }

    public T this[long index] => _chunks[(int)(index >> Shift)][index & Mask];
}
