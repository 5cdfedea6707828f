using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using PinnerSage.IO;
using PinnerSage.ItemSage.Model;

namespace PinnerSage.ItemSage.Training;

/// <summary>How the learning rate decays after warm-up.</summary>
public enum LearningRateDecay
{
    /// <summary>Constant after warm-up.</summary>
    Constant,

    /// <summary>Linear from the peak to <see cref="AdamWOptions.MinLearningRateRatio"/>·peak at TotalSteps.</summary>
    Linear,

    /// <summary>Half-cosine from the peak to the minimum at TotalSteps (Loshchilov &amp; Hutter, SGDR, 2017).</summary>
    Cosine,
}

/// <summary>Options of <see cref="AdamW"/>.</summary>
internal sealed record AdamWOptions
{
    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>First-moment decay β₁.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>Second-moment decay β₂.</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>ε added to √v̂.</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Decoupled weight decay λ (applied as p −= lr·λ·p to weight matrices only).</summary>
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Linear warm-up from 0 to the peak over this many steps.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Step at which the decay reaches its minimum (0 = no decay after warm-up).</summary>
    public long TotalSteps { get; init; }

    /// <summary>The decay shape.</summary>
    public LearningRateDecay Decay { get; init; } = LearningRateDecay.Cosine;

    /// <summary>Final learning rate as a fraction of the peak.</summary>
    public float MinLearningRateRatio { get; init; }

    /// <summary>Global-norm gradient clipping threshold (0 = off).</summary>
    public float ClipNorm { get; init; } = 1f;

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        if (!(LearningRate > 0) || !float.IsFinite(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be positive");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "must be in [0, 1)");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "must be in [0, 1)");
        if (!(Epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "must be positive");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "must be ≥ 0");
        ArgumentOutOfRangeException.ThrowIfNegative(WarmupSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(TotalSteps);
        if (!(MinLearningRateRatio >= 0 && MinLearningRateRatio <= 1)) throw new ArgumentOutOfRangeException(nameof(MinLearningRateRatio), MinLearningRateRatio, "must be in [0, 1]");
        if (!(ClipNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(ClipNorm), ClipNorm, "must be ≥ 0");
    }

    /// <summary>The learning rate of 1-based step <paramref name="step"/>: linear warm-up to the peak over
    /// <see cref="WarmupSteps"/>, then <see cref="Decay"/> to MinLearningRateRatio·peak at <see cref="TotalSteps"/>
    /// (held there afterwards).</summary>
    public float LearningRateAt(long step)
    {
        if (step <= 0) return 0;
        if (step <= WarmupSteps) return LearningRate * step / WarmupSteps;
        if (TotalSteps <= WarmupSteps || Decay == LearningRateDecay.Constant) return LearningRate;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps));
        double shape = Decay == LearningRateDecay.Linear ? 1 - progress : 0.5 * (1 + Math.Cos(Math.PI * progress));
        return (float)(LearningRate * (MinLearningRateRatio + (1 - MinLearningRateRatio) * shape));
    }
}

/// <summary>AdamW (Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, Alg. 2) over a tower's
/// flat parameter array, with lazy sparse updates of the embedding tables and global-norm clipping.</summary>
/// <remarks>
/// Step t: g ← c·g with c = min(1, ClipNorm/‖g‖) (‖g‖ over the dense gradients and the touched sparse rows;
/// Pascanu et al. 2013); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − η_t·(m̂/(√v̂ + ε) + λ·p) with
/// m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ). λ applies to weight matrices only: LayerNorm gains/biases, all biases, [CLS], slot
/// embeddings and the hash tables E and W are not decayed (the usual practice; decaying a gain pulls it to 0).
/// Lazy sparse semantics (as TensorFlow's LazyAdam): a row of E or W that the batch did not touch keeps its m, v and
/// value unchanged (no momentum drift, no decay); a touched row is updated with the global t's bias correction.
/// So the work per step is Θ(dense + touched rows), not Θ(100,000 × 256). The dense update is one fused Vector256
/// pass per contiguous range.
/// </remarks>
internal sealed class AdamW
{
    private readonly float[] _p, _g, _m, _v;
    private readonly (int Offset, int Length, bool Decay)[] _dense;
    private readonly SparseRowSet _sparse;
    private const int StateVersion = 1;

    /// <summary>An optimizer for <paramref name="tower"/>'s parameters.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public AdamW(IItemTower tower, AdamWOptions options)
        : this(tower.Parameters, tower.Gradients, tower.TouchedRows, DecayRanges(tower), options)
    {
    }

    internal AdamW(float[] parameters, float[] gradients, SparseRowSet sparse, (int Offset, int Length, bool Decay)[] dense,
                   AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (gradients.Length != parameters.Length) throw new ArgumentException("gradients and parameters differ in length");
        Options = options;
        _p = parameters;
        _g = gradients;
        _m = new float[parameters.Length];
        _v = new float[parameters.Length];
        _sparse = sparse;
        _dense = dense;
    }

    /// <summary>The options.</summary>
    public AdamWOptions Options { get; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>Learning rate of the last step.</summary>
    public float LearningRate { get; private set; }

    /// <summary>Factor on the scheduled learning rate (1 = the schedule as is); early stopping lowers it on a
    /// validation plateau (<see cref="Evaluation.StoppingOptions"/>).</summary>
    public float LearningRateScale
    {
        get;
        set => field = value > 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "must be positive");
    } = 1f;

    /// <summary>Applies one update from the current gradients (which it does not clear) and returns the global
    /// gradient norm before clipping.</summary>
    public float Step()
    {
        long t = ++StepCount;
        float lr = Options.LearningRateAt(t) * LearningRateScale;
        LearningRate = lr;
        double norm = Math.Sqrt(SquaredNorm());
        float clip = Options.ClipNorm > 0 && norm > Options.ClipNorm ? (float)(Options.ClipNorm / norm) : 1f;
        float b1 = Options.Beta1, b2 = Options.Beta2;
        // Bias corrections folded into the step size and ε: p −= lr·m/(1−β₁ᵗ) / (√(v/(1−β₂ᵗ)) + ε).
        float c1 = (float)(1 / (1 - Math.Pow(b1, t)));
        float c2 = (float)(1 / Math.Sqrt(1 - Math.Pow(b2, t)));
        var k = new Coefficients(clip, b1, b2, lr * c1, c2, Options.Epsilon, 0);
        foreach ((int offset, int length, bool decay) in _dense)
            Update(offset, length, decay ? k with { Decay = 1 - lr * Options.WeightDecay } : k with { Decay = 1 });
        var ks = k with { Decay = 1 };
        foreach (SparseTable table in _sparse.Tables)
            foreach (int row in table.TouchedRows) Update(table.Offset + row * table.RowLength, table.RowLength, ks);
        return (float)norm;
    }

    private double SquaredNorm()
    {
        double sum = 0;
        foreach ((int offset, int length, _) in _dense)
        {
            ReadOnlySpan<float> g = _g.AsSpan(offset, length);
            float n = System.Numerics.Tensors.TensorPrimitives.Norm(g);
            sum += (double)n * n;
        }
        foreach (SparseTable table in _sparse.Tables)
            foreach (int row in table.TouchedRows)
            {
                float n = System.Numerics.Tensors.TensorPrimitives.Norm(_g.AsSpan(table.Offset + row * table.RowLength, table.RowLength));
                sum += (double)n * n;
            }
        return sum;
    }

    private readonly record struct Coefficients(float Clip, float B1, float B2, float StepSize, float C2, float Eps, float Decay);

    /// <summary>One fused pass: g·clip → m, v → p (decay applied first as p·(1 − lr·λ), the decoupled form).</summary>
    private void Update(int offset, int length, Coefficients k)
    {
        Span<float> p = _p.AsSpan(offset, length), m = _m.AsSpan(offset, length), v = _v.AsSpan(offset, length);
        ReadOnlySpan<float> g = _g.AsSpan(offset, length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && length >= Vector256<float>.Count)
        {
            var clip = Vector256.Create(k.Clip);
            var b1 = Vector256.Create(k.B1);
            var nb1 = Vector256.Create(1 - k.B1);
            var b2 = Vector256.Create(k.B2);
            var nb2 = Vector256.Create(1 - k.B2);
            var step = Vector256.Create(k.StepSize);
            var c2 = Vector256.Create(k.C2);
            var eps = Vector256.Create(k.Eps);
            var decay = Vector256.Create(k.Decay);
            ref float rp = ref MemoryMarshal.GetReference(p), rm = ref MemoryMarshal.GetReference(m), rv = ref MemoryMarshal.GetReference(v);
            ref float rg = ref MemoryMarshal.GetReference(g);
            for (; i <= length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> gi = Vector256.LoadUnsafe(ref rg, (nuint)i) * clip;
                Vector256<float> mi = b1 * Vector256.LoadUnsafe(ref rm, (nuint)i) + nb1 * gi;
                Vector256<float> vi = b2 * Vector256.LoadUnsafe(ref rv, (nuint)i) + nb2 * gi * gi;
                Vector256<float> pi = Vector256.LoadUnsafe(ref rp, (nuint)i) * decay - step * mi / (Vector256.Sqrt(vi) * c2 + eps);
                mi.StoreUnsafe(ref rm, (nuint)i);
                vi.StoreUnsafe(ref rv, (nuint)i);
                pi.StoreUnsafe(ref rp, (nuint)i);
            }
        }
        for (; i < length; i++)
        {
            float gi = g[i] * k.Clip;
            float mi = k.B1 * m[i] + (1 - k.B1) * gi;
            float vi = k.B2 * v[i] + (1 - k.B2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * k.Decay - k.StepSize * mi / (MathF.Sqrt(vi) * k.C2 + k.Eps);
        }
    }

    /// <summary>Writes the optimizer state (step, m, v) for checkpoints.</summary>
    public void SaveState(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> head = stackalloc byte[24];
        "ADAMWST1"u8.CopyTo(head);
        BinaryPrimitives.WriteInt64LittleEndian(head[8..], StepCount);
        BinaryPrimitives.WriteInt64LittleEndian(head[16..], _m.Length);
        stream.Write(head);
        stream.Write(MemoryMarshal.AsBytes(_m.AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(_v.AsSpan()));
    }

    /// <summary>Reads a state written by <see cref="SaveState"/> for the same parameter layout.</summary>
    /// <exception cref="DataFormatException">The state is not an AdamW state or has another size.</exception>
    public void LoadState(Stream stream, string name = "optimizer state")
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> head = stackalloc byte[24];
        if (stream.ReadAtLeast(head, 24, throwOnEndOfStream: false) != 24 || !head[..8].SequenceEqual("ADAMWST1"u8))
            throw new DataFormatException(name, 0, null, "not an AdamW state");
        long step = BinaryPrimitives.ReadInt64LittleEndian(head[8..]);
        long n = BinaryPrimitives.ReadInt64LittleEndian(head[16..]);
        if (n != _m.Length || step < 0) throw new DataFormatException(name, 0, null, $"state for {n} parameters, the model has {_m.Length}");
        Span<byte> m = MemoryMarshal.AsBytes(_m.AsSpan()), v = MemoryMarshal.AsBytes(_v.AsSpan());
        if (stream.ReadAtLeast(m, m.Length, false) != m.Length || stream.ReadAtLeast(v, v.Length, false) != v.Length)
            throw new DataFormatException(name, 0, null, "truncated optimizer state");
        StepCount = step;
    }

    /// <summary>Dense ranges of a tower in layout order, each with its decay flag: everything except the sparse tables;
    /// decay off on the store's no-decay ranges. A foreign tower (not built by <see cref="ItemSageTower"/>) decays all
    /// its dense parameters.</summary>
    private static (int Offset, int Length, bool Decay)[] DecayRanges(IItemTower tower)
    {
        ArgumentNullException.ThrowIfNull(tower);
        ParameterStore? store = tower switch
        {
            ItemSageTransformer t => t.Store,
            MlpConcatTower m => m.Store,
            _ => null,
        };
        var marks = new List<(int Offset, int Length, int Kind)>(); // kind 0 = no decay, 1 = sparse
        if (store is not null)
        {
            foreach (var r in store.NoDecay) marks.Add((r.Offset, r.Length, 0));
            foreach (var r in store.Sparse) marks.Add((r.Offset, r.Length, 1));
        }
        else
        {
            foreach (SparseTable t in tower.TouchedRows.Tables) marks.Add((t.Offset, t.Rows * t.RowLength, 1));
        }
        marks.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var ranges = new List<(int, int, bool)>();
        int pos = 0;
        foreach ((int offset, int length, int kind) in marks)
        {
            if (offset > pos) ranges.Add((pos, offset - pos, true));
            if (kind == 0) ranges.Add((offset, length, false));
            pos = offset + length;
        }
        if (pos < tower.Parameters.Length) ranges.Add((pos, tower.Parameters.Length - pos, true));
        return [.. ranges];
    }
}
