using PinnerSage.ItemSage.Model;
using static PinnerSage.Tests.ItemSage.Model.GradientCheck;

namespace PinnerSage.Tests.ItemSage.Model;

/// <summary>Every layer's Backward against central finite differences of its Forward (parameters and inputs).</summary>
public sealed class LayerGradientTests
{
    private static ParameterStore RandomStore(Action<ParameterStore> build, int seed)
    {
        var store = new ParameterStore(1);
        build(store);
        store.Allocate();
        var random = new Random(seed);
        for (int i = 0; i < store.Size; i++) store.Parameters[i] = (float)(random.NextDouble() - 0.5);
        return store;
    }

    [Theory]
    [InlineData(64, 64)]
    [InlineData(256, 64)]
    [InlineData(64, 300)]
    [InlineData(1, 5)]
    public void Orthogonal_initialisation_gives_orthonormal_columns_or_rows(int rows, int cols)
    {
        var w = new float[rows * cols];
        PinnerSage.ItemSage.Model.Linear.FillOrthogonal(w, rows, cols, new PinnerSage.Numerics.SplitRandom(5, 1, 2));
        // WᵀW = I (rows ≥ cols) or WWᵀ = I, computed in double.
        int k = Math.Min(rows, cols), m = Math.Max(rows, cols);
        double At(int vector, int i) => rows >= cols ? w[i * cols + vector] : w[vector * cols + i];
        double worst = 0;
        for (int p = 0; p < k; p++)
            for (int q = p; q < k; q++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++) dot += At(p, i) * At(q, i);
                worst = Math.Max(worst, Math.Abs(dot - (p == q ? 1 : 0)));
            }
        Assert.True(worst < 1e-5, $"{rows}×{cols}: largest deviation from the identity {worst:E2}");
        var again = new float[rows * cols];
        PinnerSage.ItemSage.Model.Linear.FillOrthogonal(again, rows, cols, new PinnerSage.Numerics.SplitRandom(5, 1, 2));
        Assert.Equal(w, again);
    }

    [Fact]
    public void Initialisation_follows_the_store()
    {
        // Orthogonal by default: a square weight preserves every vector's norm; Glorot-uniform stays inside its bound.
        foreach (LinearInitialization init in Enum.GetValues<LinearInitialization>())
        {
            var store = new ParameterStore(3, init);
            var layer = new PinnerSage.ItemSage.Model.Linear(store, 32, 32);
            store.Allocate();
            layer.Initialize(store.NextRandom());
            float[] x = RandomVector(new Random(1), 32), y = new float[32];
            layer.Forward(x, 1, y);
            double ratio = Math.Sqrt(Dot(y, y) / Dot(x, x));
            float limit = MathF.Sqrt(6f / 64);
            if (init == LinearInitialization.Orthogonal)
            {
                Assert.Equal(1.0, ratio, 4);
                // Its entries are ≈ N(0, 1/32): some lie outside the Glorot bound (≈ 1.7 sd).
                Assert.Contains(layer.Weights.ToArray(), v => Math.Abs(v) > limit);
            }
            else
            {
                Assert.All(layer.Weights.ToArray(), v => Assert.InRange(v, -limit, limit));
            }
        }
        Assert.Equal(LinearInitialization.Orthogonal, new ItemSageModelOptions().Initialization);
    }

    [Fact]
    public void Linear()
    {
        Linear layer = null!;
        var store = RandomStore(s => layer = new Linear(s, 5, 7), 1);
        var random = new Random(2);
        int rows = 4;
        float[] x = RandomVector(random, rows * 5), r = RandomVector(random, rows * 7), y = new float[rows * 7];
        double Loss()
        {
            layer.Forward(x, rows, y);
            return Dot(r, y);
        }
        Loss();
        var dx = new float[rows * 5];
        layer.Backward(x, r, rows, dx);
        Check("Linear.params", store.Parameters, 0, store.Gradients, Loss);
        Check("Linear.x", x, 0, dx, Loss);
        // accumulate: dx += dy·Wᵀ
        var dx2 = (float[])dx.Clone();
        layer.Backward(x, r, rows, dx2, accumulate: true);
        for (int i = 0; i < dx.Length; i++) Assert.Equal(2 * dx[i], dx2[i], 5);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(150)] // three row chunks: the chunked dg, dβ partials
    public void LayerNormalization(int rows)
    {
        LayerNorm layer = null!;
        var store = RandomStore(s => layer = new LayerNorm(s, 9), 3);
        var random = new Random(4);
        float[] x = RandomVector(random, rows * 9, 2), r = RandomVector(random, rows * 9), y = new float[rows * 9];
        float[] mean = new float[rows], rstd = new float[rows];
        double Loss()
        {
            layer.Forward(x, rows, y, mean, rstd);
            return Dot(r, y);
        }
        Loss();
        var dx = new float[rows * 9];
        layer.Backward(x, mean, rstd, r, rows, dx, accumulate: false);
        Check("LayerNorm.params", store.Parameters, 0, store.Gradients, Loss);
        Check("LayerNorm.x", x, 0, dx, Loss);
    }

    [Fact]
    public void GeluTanh()
    {
        var random = new Random(5);
        float[] x = RandomVector(random, 37, 3), r = RandomVector(random, 37), y = new float[37], t = new float[37];
        double Loss()
        {
            Gelu.Forward(x, t, y);
            return Dot(r, y);
        }
        Loss();
        // Reference values of the tanh form.
        for (int i = 0; i < x.Length; i++)
        {
            double xi = x[i];
            double expected = 0.5 * xi * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (xi + 0.044715 * xi * xi * xi)));
            Assert.Equal(expected, y[i], 5);
        }
        var dx = new float[37];
        Gelu.Backward(x, t, r, dx);
        Check("Gelu.x", x, 0, dx, Loss);
    }

    [Fact]
    public void L2Normalization()
    {
        var random = new Random(6);
        int rows = 3, dim = 6;
        float[] x = RandomVector(random, rows * dim), r = RandomVector(random, rows * dim), y = new float[rows * dim];
        float[] norms = new float[rows];
        double Loss()
        {
            L2Normalize.Forward(x, rows, dim, norms, y);
            return Dot(r, y);
        }
        Loss();
        for (int i = 0; i < rows; i++)
            Assert.Equal(1.0, Math.Sqrt(Dot(y.AsSpan(i * dim, dim), y.AsSpan(i * dim, dim))), 5);
        var dx = new float[rows * dim];
        L2Normalize.Backward(y, norms, r, rows, dim, dx);
        Check("L2.x", x, 0, dx, Loss);
    }

    [Fact]
    public void DropoutIsDeterministicInvertedAndLinear()
    {
        var x = new float[10_000];
        Array.Fill(x, 1f);
        var a = (float[])x.Clone();
        var b = (float[])x.Clone();
        Dropout.Apply(a, 0.25f, 42, 3);
        Dropout.Apply(b, 0.25f, 42, 3);
        Assert.Equal(a, b);
        int kept = a.Count(v => v != 0);
        Assert.InRange(kept, 7_200, 7_800);
        Assert.All(a, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.75f) < 1e-6));
        var c = (float[])x.Clone();
        Dropout.Apply(c, 0.25f, 43, 3);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void AttentionWithPaddingMask()
    {
        var random = new Random(7);
        int batch = 3, s = 5, d = 8, heads = 2;
        foreach (int sq in new[] { s, 1 })
        {
            float[] q = RandomVector(random, batch * sq * d), kv = RandomVector(random, batch * s * 2 * d);
            float[] r = RandomVector(random, batch * sq * d), o = new float[batch * sq * d], p = new float[batch * heads * sq * s];
            byte[] mask = [1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1];
            double Loss()
            {
                MultiHeadAttention.Forward(q, kv, mask, batch, sq, s, d, heads, p, o, new ParallelOptions { MaxDegreeOfParallelism = 1 });
                return Dot(r, o);
            }
            Loss();
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < s; j++)
                    if (mask[b * s + j] == 0)
                        for (int h = 0; h < heads; h++) Assert.Equal(0f, p[((b * heads + h) * sq) * s + j]);
            var dq = new float[q.Length];
            var dkv = new float[kv.Length];
            MultiHeadAttention.Backward(q, kv, p, r, batch, sq, s, d, heads, dq, dkv, new ParallelOptions { MaxDegreeOfParallelism = 1 });
            Check($"MHA.q(sq={sq})", q, 0, dq, Loss);
            Check($"MHA.kv(sq={sq})", kv, 0, dkv, Loss);
            // Masked keys and values have exactly zero gradient.
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < s; j++)
                    if (mask[b * s + j] == 0)
                        Assert.All(dkv.AsSpan((b * s + j) * 2 * d, 2 * d).ToArray(), g => Assert.Equal(0f, g));
        }
    }

    [Theory]
    [InlineData(5, false)]
    [InlineData(1, false)]
    [InlineData(5, true)]
    [InlineData(1, true)]
    [InlineData(1, false, 16, 2)] // head width 8: the fused narrow-head [CLS] kernels
    [InlineData(1, true, 16, 2)]
    public void EncoderLayerPreNorm(int sq, bool training, int d = 8, int heads = 2)
    {
        int batch = 3, s = 5, ffn = 12;
        EncoderLayer layer = null!;
        var store = RandomStore(st => layer = new EncoderLayer(st, 0, d, heads, ffn, s, sq, 0.2f), 8);
        var random = new Random(9);
        float[] x = RandomVector(random, batch * s * d), r = RandomVector(random, batch * sq * d), y = new float[batch * sq * d];
        byte[] mask = [1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        double Loss()
        {
            layer.Forward(x, mask, batch, y, training, 77);
            return Dot(r, y);
        }
        Loss();
        var dx = new float[x.Length];
        layer.Backward(x, r, dx);
        Check("Encoder.params", store.Parameters, 0, store.Gradients, Loss);
        Check("Encoder.x", x, 0, dx, Loss);
    }

    [Theory]
    [InlineData(16, 4)]
    [InlineData(16, 2)] // head width 8: the fused narrow-head kernels against the full (GEMM-free) attention
    [InlineData(64, 8)]
    public void AbsorbedClsAttentionEqualsFullAttentionAtCls(int d, int heads)
    {
        int batch = 20, s = 6, ffn = 8;
        EncoderLayer full = null!, cls = null!;
        RandomStore(st => full = new EncoderLayer(st, 0, d, heads, ffn, s, s, 0f), 14);
        RandomStore(st => cls = new EncoderLayer(st, 0, d, heads, ffn, s, 1, 0f), 14); // same layout, same values
        var random = new Random(15);
        float[] x = RandomVector(random, batch * s * d);
        byte[] mask = new byte[batch * s];
        for (int i = 0; i < mask.Length; i++) mask[i] = (byte)(i % s == 0 || random.Next(3) > 0 ? 1 : 0);
        float[] yFull = new float[batch * s * d], yCls = new float[batch * d];
        full.Forward(x, mask, batch, yFull, false, 0);
        cls.Forward(x, mask, batch, yCls, false, 0);
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < d; j++) Assert.True(Math.Abs(yFull[b * s * d + j] - yCls[b * d + j]) < 1e-4);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(16)] // a multiple of 8: the fused Vector256 gather/scatter
    public void HashEmbeddingSparseGradients(int dim)
    {
        HashEmbedding layer = null!;
        var store = RandomStore(s => layer = new HashEmbedding(s, 20, 11, dim), 10);
        int[] tokens = [3, 7, 3, 19, 0, 5, 5, 12];
        int[] offsets = [0, 3, 3, 5, 8];        // field 1 is empty
        int[] fields = [0, 2, 3];
        var random = new Random(11);
        float[] r = RandomVector(random, fields.Length * dim), y = new float[fields.Length * dim];
        double Loss()
        {
            layer.Forward(tokens, offsets, fields, y);
            return Dot(r, y);
        }
        Loss();
        // Token vector = W[t,0]·E[h1(t)] + W[t,1]·E[h2(t)], field = sum.
        float[] p = store.Parameters;
        for (int f = 0; f < fields.Length; f++)
            for (int j = 0; j < dim; j++)
            {
                double expected = 0;
                for (int k = offsets[fields[f]]; k < offsets[fields[f] + 1]; k++)
                {
                    int t = tokens[k];
                    expected += p[11 * dim + 2 * t] * p[HashEmbedding.Hash1(t, 11) * dim + j] + p[11 * dim + 2 * t + 1] * p[HashEmbedding.Hash2(t, 11) * dim + j];
                }
                Assert.True(Math.Abs(expected - y[f * dim + j]) < 1e-5, $"field {f} j {j}: {expected} vs {y[f * dim + j]}");
            }
        layer.Backward(tokens, offsets, fields, r);
        Check("Hash.E+W", store.Parameters, 0, store.Gradients, Loss);
        var touchedE = new HashSet<int>(layer.TableE.TouchedRows.ToArray());
        var touchedW = new HashSet<int>(layer.TableW.TouchedRows.ToArray());
        Assert.Equal(new HashSet<int>([3, 7, 19, 0, 5, 12]), touchedW);
        for (int row = 0; row < 11; row++)
            if (!touchedE.Contains(row))
                Assert.All(store.Gradients.AsSpan(row * dim, dim).ToArray(), g => Assert.Equal(0f, g));
        Assert.NotEqual(HashEmbedding.Hash1(3, 100_000), HashEmbedding.Hash2(3, 100_000));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ProjectionHeadWithL2(bool layerNorm)
    {
        ProjectionHead head = null!;
        var store = RandomStore(s => head = new ProjectionHead(s, 6, 9, 4, layerNorm), 12);
        var random = new Random(13);
        int batch = 3;
        float[] x = RandomVector(random, batch * 6), r = RandomVector(random, batch * 4), y = new float[batch * 4];
        double Loss()
        {
            head.Forward(x, batch, y);
            return Dot(r, y);
        }
        Loss();
        var dx = new float[x.Length];
        head.Backward(x, r, dx);
        Check("Head.params", store.Parameters, 0, store.Gradients, Loss);
        Check("Head.x", x, 0, dx, Loss);
    }
}
