using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PinnerSage.Numerics;

/// <summary>Single-precision general matrix multiply C = α·op(A)·op(B) + β·C over row-major spans.</summary>
/// <remarks>
/// The Goto–van de Geijn layering (Goto &amp; van de Geijn, "Anatomy of High-Performance Matrix Multiplication",
/// ACM TOMS 34(3), 2008, §4–§6): a K-block of B (<see cref="KC"/> × <see cref="NC"/>) is packed into
/// <see cref="NR"/>-wide column panels that stay in L3/L2, an M-block of A (<see cref="MC"/> × KC) is packed into
/// <see cref="MR"/>-tall row panels that stay in L2, and an MR × NR = 6 × 16 register tile (12 Vector256
/// accumulators, two B loads and one A broadcast per step) runs FMAs out of L1.
/// Threads own disjoint blocks of C, split along N or M (see <see cref="RunPartitioned"/>; our choice), each a
/// serial multiply with its own packing. Each element of C is owned by exactly one thread and is summed in the
/// same order (K-blocks in order, p within a block in order) whatever the thread count, so results are bitwise
/// deterministic. Partial tiles are computed into a scratch tile and copied. Cost Θ(m·n·k) flops; packing is
/// Θ(m·k·⌈n/NC⌉ + k·n).
/// </remarks>
internal static unsafe class Gemm
{
    public const int MR = 6;
    public const int NR = 16;
    public const int KC = 256;
    public const int MC = 16 * MR;
    public const int NC = 4096;

    /// <summary>Below this many multiply-adds (~20 µs of work) a call stays on the calling thread: handing work to the
    /// pool costs several µs.</summary>
    private const long ParallelThreshold = 1L << 20;

    /// <summary>When set, <see cref="ProfiledTicks"/> accumulates the Stopwatch ticks spent in multiplies (benchmarks
    /// use it to show how much of a model pass is GEMM).</summary>
    public static bool Profile { get; set; }

    /// <summary>Stopwatch ticks spent in <see cref="Multiply"/> while <see cref="Profile"/> was set.</summary>
    public static long ProfiledTicks;

    /// <summary>C[m×n] = α·op(A)·op(B) + β·C, where op(A) is m×k (A stored k×m when <paramref name="transA"/>) and
    /// op(B) is k×n (B stored n×k when <paramref name="transB"/>); leading dimensions are row strides. β = 0 means C
    /// is not read (it may hold NaN). <paramref name="threads"/> caps the parallelism (the caller's setting, e.g. a
    /// tower's; results do not depend on it).</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
                                ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
                                float beta, Span<float> c, int ldc, int threads)
    {
        Debug.Assert(m >= 0 && n >= 0 && k >= 0);
        if (m == 0 || n == 0) return;
        Debug.Assert(c.Length >= (long)(m - 1) * ldc + n && ldc >= n);
        if (k == 0 || alpha == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        Debug.Assert(transA ? a.Length >= (long)(k - 1) * lda + m : a.Length >= (long)(m - 1) * lda + k);
        Debug.Assert(transB ? b.Length >= (long)(n - 1) * ldb + k : b.Length >= (long)(k - 1) * ldb + n);
        Debug.Assert(threads >= 1);
        if ((long)m * n * k < ParallelThreshold) threads = 1;

        long start = Profile ? Stopwatch.GetTimestamp() : 0;
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            RunPartitioned(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, threads);
        }
        if (Profile) Interlocked.Add(ref ProfiledTicks, Stopwatch.GetTimestamp() - start);
    }

    /// <summary>Splits C into independent blocks, one serial multiply each (no barrier, no shared packed panel).
    /// The split runs along the dimension whose duplicated packing is cheaper: N blocks (whole M per block) re-pack
    /// all of op(A), costing m·k per block, M blocks re-pack all of op(B), costing k·n, so N is split when m ≤ n.
    /// That also keeps large-K shapes (weight gradients: m, n ≈ 512–1024, k ≈ 8,000) from paying a barrier and a
    /// single-threaded B pack per K-block, which held them below half the peak on 2 threads. Block edges are
    /// multiples of the register tile, and each element's sum (K-blocks in order, p in order within a block) never
    /// depends on its block, so results are bitwise identical for any thread count.</summary>
    private static void RunPartitioned(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
                                       float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        bool splitN = m <= n;
        int extent = splitN ? n : m, unit = splitN ? NR : MR;
        int units = (extent + unit - 1) / unit;
        // Two blocks per thread when each stays at least 8 tiles wide: a delayed thread (shared machine) then leaves
        // half as much work for the others to wait on.
        int blocks = Math.Min(units, units >= 16 * threads ? 2 * threads : threads);
        if (threads <= 1 || blocks <= 1)
        {
            new Job(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc).Run();
            return;
        }
        void Block(int i)
        {
            int first = (int)((long)units * i / blocks) * unit, last = Math.Min(extent, (int)((long)units * (i + 1) / blocks) * unit);
            if (last <= first) return;
            if (splitN)
            {
                float* bj = transB ? b + (long)first * ldb : b + first;
                new Job(transA, transB, m, last - first, k, alpha, a, lda, bj, ldb, beta, c + first, ldc).Run();
            }
            else
            {
                float* ai = transA ? a + first : a + (long)first * lda;
                new Job(transA, transB, last - first, n, k, alpha, ai, lda, b, ldb, beta, c + (long)first * ldc, ldc).Run();
            }
        }
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, Block);
    }

    private static void ScaleC(int m, int n, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.Slice(i * ldc, n);
            if (beta == 0) row.Clear();
            else if (beta != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>One multiply's state, shared read-only by the worker threads (pointers are pinned by the caller for
    /// the whole call).</summary>
    private sealed class Job
    {
        private readonly bool _transA, _transB;
        private readonly int _m, _n, _k, _lda, _ldb, _ldc;
        private readonly float _alpha, _beta;
        private readonly float* _a, _b, _c;
        private float* _packedB;
        private int _jc, _nc, _pc, _kc;

        public Job(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
                   float beta, float* c, int ldc)
        {
            (_transA, _transB, _m, _n, _k, _alpha, _lda, _ldb, _beta, _ldc) = (transA, transB, m, n, k, alpha, lda, ldb, beta, ldc);
            _a = a;
            _b = b;
            _c = c;
        }

        public void Run()
        {
            int maxNc = Math.Min(NC, RoundUp(_n, NR));
            float[] packedB = ArrayPool<float>.Shared.Rent(KC * maxNc + 16);
            try
            {
                fixed (float* pbBase = packedB)
                {
                    _packedB = AlignUp(pbBase);
                    int mBlocks = (_m + MC - 1) / MC;
                    for (_jc = 0; _jc < _n; _jc += NC)
                    {
                        _nc = Math.Min(NC, _n - _jc);
                        for (_pc = 0; _pc < _k; _pc += KC)
                        {
                            _kc = Math.Min(KC, _k - _pc);
                            PackB();
                            for (int blk = 0; blk < mBlocks; blk++) RunMBlock(blk);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(packedB);
            }
        }

        private void RunMBlock(int blk)
        {
            int ic = blk * MC;
            int mc = Math.Min(MC, _m - ic);
            float[] packedA = ArrayPool<float>.Shared.Rent(MC * KC + 16);
            try
            {
                fixed (float* paBase = packedA)
                {
                    float* pa = AlignUp(paBase);
                    PackA(ic, mc, pa);
                    bool first = _pc == 0;
                    float* tile = stackalloc float[MR * NR];
                    for (int jr = 0; jr < _nc; jr += NR)
                    {
                        int nr = Math.Min(NR, _nc - jr);
                        float* bp = _packedB + (long)jr * _kc;
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mr = Math.Min(MR, mc - ir);
                            float* ap = pa + (long)ir * _kc;
                            float* cp = _c + (long)(ic + ir) * _ldc + _jc + jr;
                            if (mr == MR && nr == NR)
                            {
                                Kernel(_kc, ap, bp, cp, _ldc, _alpha, first ? _beta : 1f, first && _beta == 0);
                            }
                            else
                            {
                                for (int i = 0; i < mr; i++)
                                    for (int j = 0; j < nr; j++)
                                        tile[i * NR + j] = cp[(long)i * _ldc + j];
                                Kernel(_kc, ap, bp, tile, NR, _alpha, first ? _beta : 1f, first && _beta == 0);
                                for (int i = 0; i < mr; i++)
                                    for (int j = 0; j < nr; j++)
                                        cp[(long)i * _ldc + j] = tile[i * NR + j];
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(packedA);
            }
        }

        /// <summary>Packs op(A)[ic..ic+mc, pc..pc+kc] as MR-row panels, each stored p-major (MR values per p), zero
        /// padded below row m.</summary>
        private void PackA(int ic, int mc, float* dst)
        {
            for (int ir = 0; ir < mc; ir += MR)
            {
                // op(A)(i, p) = a[p·lda + i] when transposed (lanes contiguous), a[i·lda + p] otherwise.
                float* origin = _transA ? _a + (long)_pc * _lda + ic + ir : _a + (long)(ic + ir) * _lda + _pc;
                PackPanel(origin, _lda, lanesContiguous: _transA, _kc, Math.Min(MR, mc - ir), MR, dst + (long)ir * _kc);
            }
        }

        /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc] as NR-column panels, each stored p-major (NR values per p),
        /// zero padded right of column n.</summary>
        private void PackB()
        {
            for (int jr = 0; jr < _nc; jr += NR)
            {
                // op(B)(p, j) = b[p·ldb + j] when not transposed (lanes contiguous), b[j·ldb + p] otherwise.
                float* origin = _transB ? _b + (long)(_jc + jr) * _ldb + _pc : _b + (long)_pc * _ldb + _jc + jr;
                PackPanel(origin, _ldb, lanesContiguous: !_transB, _kc, Math.Min(NR, _nc - jr), NR,
                          _packedB + (long)jr * _kc);
            }
        }

        /// <summary>One panel of <paramref name="width"/> lanes, p-major: panel[p·width + l] = element (p, l) for
        /// l &lt; <paramref name="lanes"/>, zero for the padding lanes. Element (p, l) is origin[p·ld + l] when
        /// <paramref name="lanesContiguous"/>, else origin[l·ld + p] (the same routine packs A and B, either
        /// transposition).</summary>
        private static void PackPanel(float* origin, long ld, bool lanesContiguous, int kc, int lanes, int width,
                                      float* panel)
        {
            if (lanesContiguous)
            {
                // Whole-vector copies for the full part (all of it for every B panel but the last), then the tail and
                // the zero padding: no memmove call per row.
                int full = lanes & ~(Vector256<float>.Count - 1);
                for (int p = 0; p < kc; p++)
                {
                    float* src = origin + p * ld, dst = panel + (long)p * width;
                    int v = 0;
                    for (; v < full; v += Vector256<float>.Count) Vector256.Store(Vector256.Load(src + v), dst + v);
                    for (; v < lanes; v++) dst[v] = src[v];
                    for (; v < width; v++) dst[v] = 0;
                }
                return;
            }
            int l = 0;
            for (; l < lanes; l++)
            {
                float* src = origin + l * ld;
                for (int p = 0; p < kc; p++) panel[(long)p * width + l] = src[p];
            }
            for (; l < width; l++)
                for (int p = 0; p < kc; p++) panel[(long)p * width + l] = 0;
        }
    }

    /// <summary>The 6 × 16 register tile: C = α·(Ã·B̃) + β·C over one packed K-block (β·C skipped when
    /// <paramref name="overwrite"/>, so a β = 0 output may hold NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta, bool overwrite)
    {
        if (!Fma.IsSupported || !Avx.IsSupported)
        {
            KernelScalar(kc, a, b, c, ldc, alpha, beta, overwrite);
            return;
        }
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Avx.LoadAlignedVector256(b);
            Vector256<float> b1 = Avx.LoadAlignedVector256(b + 8);
            Vector256<float> ai = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(ai, b0, c00);
            c01 = Fma.MultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(ai, b0, c10);
            c11 = Fma.MultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(ai, b0, c20);
            c21 = Fma.MultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(ai, b0, c30);
            c31 = Fma.MultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(ai, b0, c40);
            c41 = Fma.MultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(ai, b0, c50);
            c51 = Fma.MultiplyAdd(ai, b1, c51);
            a += MR;
            b += NR;
        }
        Vector256<float> va = Vector256.Create(alpha);
        Vector256<float> vb = Vector256.Create(beta);
        StoreRow(c, c00, c01, va, vb, overwrite);
        StoreRow(c + ldc, c10, c11, va, vb, overwrite);
        StoreRow(c + 2L * ldc, c20, c21, va, vb, overwrite);
        StoreRow(c + 3L * ldc, c30, c31, va, vb, overwrite);
        StoreRow(c + 4L * ldc, c40, c41, va, vb, overwrite);
        StoreRow(c + 5L * ldc, c50, c51, va, vb, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> alpha,
                                 Vector256<float> beta, bool overwrite)
    {
        if (overwrite)
        {
            Vector256.Store(x0 * alpha, c);
            Vector256.Store(x1 * alpha, c + 8);
        }
        else
        {
            Vector256.Store(Fma.MultiplyAdd(x0, alpha, Vector256.Load(c) * beta), c);
            Vector256.Store(Fma.MultiplyAdd(x1, alpha, Vector256.Load(c + 8) * beta), c + 8);
        }
    }

    /// <summary>The same tile in scalar code (machines without AVX2/FMA); same summation order per element.</summary>
    private static void KernelScalar(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta, bool overwrite)
    {
        float* acc = stackalloc float[MR * NR];
        for (int t = 0; t < MR * NR; t++) acc[t] = 0;
        for (int p = 0; p < kc; p++)
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++)
                    acc[i * NR + j] = MathF.FusedMultiplyAdd(a[p * MR + i], b[p * NR + j], acc[i * NR + j]);
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++)
            {
                float* cij = c + (long)i * ldc + j;
                *cij = overwrite ? acc[i * NR + j] * alpha : MathF.FusedMultiplyAdd(acc[i * NR + j], alpha, *cij * beta);
            }
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    private static float* AlignUp(float* p) => (float*)(((nint)p + 63) & ~(nint)63);
}
