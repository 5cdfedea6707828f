using PinnerSage.Numerics;

namespace PinnerSage.ItemSage.Model;

/// <summary>Lays out every parameter of a tower in one flat float[] (and its gradient in another of the same
/// layout), so the optimizer is one pass over contiguous memory. Layers reserve slices while the tower is built;
/// <see cref="Allocate"/> then creates both arrays.</summary>
internal sealed class ParameterStore
{
    private readonly List<(int Offset, int Length)> _noDecay = [];
    private readonly List<(int Offset, int Length)> _sparse = [];
    private int _size;
    private int _nextStream;
    private int _threads = Environment.ProcessorCount;

    public ParameterStore(ulong seed, LinearInitialization initialization = LinearInitialization.Orthogonal)
    {
        Seed = seed;
        Initialization = initialization;
    }

    public ulong Seed { get; }

    /// <summary>Threads of every layer of the tower (GEMM and the row-parallel kernels); the tower's own setting, so
    /// two towers in one process never share it. Results do not depend on it (fixed reduction orders).</summary>
    public int Threads
    {
        get => _threads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _threads = value;
            ParallelOptions = new ParallelOptions { MaxDegreeOfParallelism = value };
        }
    }

    /// <summary>Parallel options capped at <see cref="Threads"/>, for the layers' row-parallel loops.</summary>
    public ParallelOptions ParallelOptions { get; private set; } = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    /// <summary>How every <see cref="Linear"/> of the tower draws its initial weights.</summary>
    public LinearInitialization Initialization { get; }

    public float[] Parameters { get; private set; } = [];

    public float[] Gradients { get; private set; } = [];

    public int Size => _size;

    /// <summary>Ranges excluded from weight decay (LayerNorm gains/biases, all biases, [CLS], position
    /// embeddings) — the usual AdamW practice (Loshchilov &amp; Hutter 2019 decay only the weight matrices).</summary>
    public IReadOnlyList<(int Offset, int Length)> NoDecay => _noDecay;

    /// <summary>Row-sparse tables (E, W): updated lazily, never decayed.</summary>
    public IReadOnlyList<(int Offset, int Length)> Sparse => _sparse;

    public int Reserve(int length, bool decay = true, bool sparse = false)
    {
        if (Parameters.Length != 0) throw new InvalidOperationException("parameters are already allocated");
        int offset = _size;
        checked { _size += length; }
        if (sparse) _sparse.Add((offset, length));
        else if (!decay) _noDecay.Add((offset, length));
        return offset;
    }

    public void Allocate()
    {
        Parameters = new float[_size];
        Gradients = new float[_size];
    }

    /// <summary>A fresh, reproducible random stream for the next layer's initialisation.</summary>
    public SplitRandom NextRandom() => new(Seed, 0x17E45A6EUL, (ulong)_nextStream++);

    public Span<float> P(int offset, int length) => Parameters.AsSpan(offset, length);

    public Span<float> G(int offset, int length) => Gradients.AsSpan(offset, length);
}
