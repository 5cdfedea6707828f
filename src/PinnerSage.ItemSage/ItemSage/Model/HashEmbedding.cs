using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using PinnerSage.Numerics;

namespace PinnerSage.ItemSage.Model;

/// <summary>Hash embeddings (Svenstrup, Hansen &amp; Winther, NeurIPS 2017; ItemSage §3.2): a shared table
/// E [HashRows, HashDim] and per-token importance weights W [Vocabulary, 2]; token t's vector is
/// W[t,0]·E[h₁(t)] + W[t,1]·E[h₂(t)], and a text field's vector is the SUM of its token vectors.</summary>
/// <remarks>
/// h₁, h₂ are multiply-shift hashes of the token id with fixed odd 64-bit constants (our choice), reduced to
/// [0, HashRows) by Lemire's multiply-high, so a model file is portable. Backward is a scatter: dE[h_k(t)] +=
/// W[t,k]·dField and dW[t,k] += E[h_k(t)]·dField, touching only those rows (recorded for the sparse optimizer).
/// Initialisation (our choice): E ~ N(0, 1/HashDim), W = 1 (every token starts as the plain sum of its two rows).
/// Cost Θ(tokens·HashDim) both ways. With HashDim a multiple of 8 (<see cref="FusedKernels"/>) the per-token gather and
/// scatter run as inline Vector256 loops instead of four TensorPrimitives calls per token (same order of tokens).
/// </remarks>
internal sealed class HashEmbedding
{
    private const ulong H1 = 0x9E3779B97F4A7C15UL;
    private const ulong H2 = 0xC2B2AE3D27D4EB4FUL;
    private readonly ParameterStore _s;
    private readonly int _e, _w;

    public HashEmbedding(ParameterStore store, int vocabulary, int hashRows, int hashDim)
    {
        _s = store;
        Vocabulary = vocabulary;
        HashRows = hashRows;
        HashDim = hashDim;
        _e = store.Reserve(hashRows * hashDim, sparse: true);
        _w = store.Reserve(vocabulary * 2, sparse: true);
        TableE = new SparseTable("E", _e, hashRows, hashDim);
        TableW = new SparseTable("W", _w, vocabulary, 2);
    }

    public int Vocabulary { get; }

    public int HashRows { get; }

    public int HashDim { get; }

    public SparseTable TableE { get; }

    public SparseTable TableW { get; }

    public static int Hash(int token, ulong multiplier, int rows)
    {
        ulong x = ((ulong)(uint)token + 1) * multiplier;
        x ^= x >> 29; // fold the high bits down so consecutive ids do not map to arithmetic progressions
        x *= multiplier;
        return (int)Math.BigMul(x, (ulong)rows, out _);
    }

    public static int Hash1(int token, int rows) => Hash(token, H1, rows);

    public static int Hash2(int token, int rows) => Hash(token, H2, rows);

    public void Initialize(SplitRandom random)
    {
        Span<float> e = _s.P(_e, HashRows * HashDim);
        float sd = 1f / MathF.Sqrt(HashDim);
        for (int i = 0; i < e.Length; i++) e[i] = (float)random.NextGaussian() * sd;
        _s.P(_w, Vocabulary * 2).Fill(1f);
    }

    /// <summary>Writes the sum of token vectors of each listed field: fields[i] indexes the (item, field) runs of
    /// <paramref name="offsets"/>; output [fields.Length, HashDim]. Fields are independent, so chunks of them run in
    /// parallel (each output row is written by one thread, in token order).</summary>
    public unsafe void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> offsets, ReadOnlySpan<int> fields, Span<float> output)
    {
        const int chunk = 64;
        int chunks = (fields.Length + chunk - 1) / chunk;
        fixed (int* pt = tokens, po = offsets, pf = fields)
        fixed (float* pout = output)
        {
            int* t = pt, o = po, f = pf;
            float* outp = pout;
            int count = fields.Length;
            void Run(int c)
            {
                int end = Math.Min(count, (c + 1) * chunk);
                for (int i = c * chunk; i < end; i++)
                    FieldSum(new ReadOnlySpan<int>(t + o[f[i]], o[f[i] + 1] - o[f[i]]), new Span<float>(outp + (long)i * HashDim, HashDim));
            }
            if (chunks > 1 && _s.Threads > 1)
                Parallel.For(0, chunks, _s.ParallelOptions, Run);
            else
                for (int c = 0; c < chunks; c++) Run(c);
        }
    }

    private bool Fused => FusedKernels.Enabled && HashDim % Vector256<float>.Count == 0 && Vector256.IsHardwareAccelerated;

    /// <summary>o = Σ over <paramref name="tokens"/> of W[t,0]·E[h₁(t)] + W[t,1]·E[h₂(t)].</summary>
    private void FieldSum(ReadOnlySpan<int> tokens, Span<float> o)
    {
        ReadOnlySpan<float> e = _s.P(_e, HashRows * HashDim), w = _s.P(_w, Vocabulary * 2);
        int dim = HashDim;
        if (Fused)
        {
            FusedFieldSum(tokens, e, w, o);
            return;
        }
        o.Clear();
        foreach (int t in tokens)
        {
            TensorPrimitives.FusedMultiplyAdd(e.Slice(Hash1(t, HashRows) * dim, dim), w[2 * t], o, o);
            TensorPrimitives.FusedMultiplyAdd(e.Slice(Hash2(t, HashRows) * dim, dim), w[2 * t + 1], o, o);
        }
    }

    private unsafe void FusedFieldSum(ReadOnlySpan<int> tokens, ReadOnlySpan<float> e, ReadOnlySpan<float> w, Span<float> o)
    {
        int dim = HashDim;
        fixed (float* pe = e, pw = w, po = o)
        {
            o.Clear();
            foreach (int t in tokens)
            {
                float* e1 = pe + (long)Hash1(t, HashRows) * dim, e2 = pe + (long)Hash2(t, HashRows) * dim;
                Vector256<float> w1 = Vector256.Create(pw[2 * t]), w2 = Vector256.Create(pw[2 * t + 1]);
                for (int v = 0; v < dim; v += 8)
                    FusedKernels.Fmadd(Vector256.Load(e2 + v), w2, FusedKernels.Fmadd(Vector256.Load(e1 + v), w1, Vector256.Load(po + v))).Store(po + v);
            }
        }
    }

    /// <summary>Accumulates dE and dW from dOutput [fields.Length, HashDim] and records the touched rows.</summary>
    public void Backward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> offsets, ReadOnlySpan<int> fields, ReadOnlySpan<float> dOutput)
    {
        ReadOnlySpan<float> e = _s.P(_e, HashRows * HashDim), w = _s.P(_w, Vocabulary * 2);
        Span<float> de = _s.G(_e, HashRows * HashDim), dw = _s.G(_w, Vocabulary * 2);
        int dim = HashDim;
        if (Fused)
        {
            FusedBackward(tokens, offsets, fields, dOutput, e, w, de, dw);
            return;
        }
        for (int i = 0; i < fields.Length; i++)
        {
            ReadOnlySpan<float> g = dOutput.Slice(i * dim, dim);
            int f = fields[i];
            for (int k = offsets[f]; k < offsets[f + 1]; k++)
            {
                int t = tokens[k];
                int r1 = Hash1(t, HashRows), r2 = Hash2(t, HashRows);
                Span<float> de1 = de.Slice(r1 * dim, dim), de2 = de.Slice(r2 * dim, dim);
                TensorPrimitives.FusedMultiplyAdd(g, w[2 * t], de1, de1);
                TensorPrimitives.FusedMultiplyAdd(g, w[2 * t + 1], de2, de2);
                dw[2 * t] += TensorPrimitives.Dot(e.Slice(r1 * dim, dim), g);
                dw[2 * t + 1] += TensorPrimitives.Dot(e.Slice(r2 * dim, dim), g);
                TableE.Touch(r1);
                TableE.Touch(r2);
                TableW.Touch(t);
            }
        }
    }

    private unsafe void FusedBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> offsets, ReadOnlySpan<int> fields, ReadOnlySpan<float> dOutput,
                                      ReadOnlySpan<float> e, ReadOnlySpan<float> w, Span<float> de, Span<float> dw)
    {
        int dim = HashDim;
        fixed (float* pe = e, pw = w, pde = de, pdw = dw, pg = dOutput)
        {
            for (int i = 0; i < fields.Length; i++)
            {
                float* g = pg + (long)i * dim;
                int f = fields[i];
                for (int k = offsets[f]; k < offsets[f + 1]; k++)
                {
                    int t = tokens[k];
                    int r1 = Hash1(t, HashRows), r2 = Hash2(t, HashRows);
                    float* e1 = pe + (long)r1 * dim, e2 = pe + (long)r2 * dim, de1 = pde + (long)r1 * dim, de2 = pde + (long)r2 * dim;
                    Vector256<float> w1 = Vector256.Create(pw[2 * t]), w2 = Vector256.Create(pw[2 * t + 1]);
                    Vector256<float> dot1 = Vector256<float>.Zero, dot2 = Vector256<float>.Zero;
                    for (int v = 0; v < dim; v += 8)
                    {
                        Vector256<float> gv = Vector256.Load(g + v);
                        // r1 == r2 is possible: read e before writing de (different arrays), update de1 then de2.
                        dot1 = FusedKernels.Fmadd(Vector256.Load(e1 + v), gv, dot1);
                        dot2 = FusedKernels.Fmadd(Vector256.Load(e2 + v), gv, dot2);
                        FusedKernels.Fmadd(gv, w1, Vector256.Load(de1 + v)).Store(de1 + v);
                        FusedKernels.Fmadd(gv, w2, Vector256.Load(de2 + v)).Store(de2 + v);
                    }
                    pdw[2 * t] += Vector256.Sum(dot1);
                    pdw[2 * t + 1] += Vector256.Sum(dot2);
                    TableE.Touch(r1);
                    TableE.Touch(r2);
                    TableW.Touch(t);
                }
            }
        }
    }
}
