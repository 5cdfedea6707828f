using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PinnerSage.Ann;

/// <summary>A distance as a static struct operator, so the HNSW loops are specialised per metric by the JIT:
/// no delegate or virtual call per distance (STYLE: generic struct dispatch).</summary>
internal interface IDistance
{
    static abstract float Compute(ref float x, ref float y, int length);
}

/// <summary>1 − x·y (inner product; cosine after normalisation), as hnswlib's "ip" space.</summary>
internal readonly struct InnerProductDistance : IDistance
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Compute(ref float x, ref float y, int length) => 1f - DistanceKernels.Dot(ref x, ref y, length);
}

/// <summary>‖x − y‖², as hnswlib's "l2" space.</summary>
internal readonly struct SquaredL2Distance : IDistance
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Compute(ref float x, ref float y, int length) => DistanceKernels.SquaredL2(ref x, ref y, length);
}

/// <summary>Fused dot and squared-L2 kernels over refs (no bounds checks in the HNSW hot loop).</summary>
/// <remarks>Four Vector256 accumulators hide the FMA latency (4 cycles, 2 ports), so d = 256 is 8 iterations of 4
/// independent FMAs; a lone-vector loop and a scalar tail cover every other length. Measured against
/// <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> in the hnsw benchmark (<c>--kernels</c>):
/// the span API's length checks and dispatch cost more than the arithmetic at d = 256 (our choice to hand-write).
/// No Vector512 path: the machines we measure on have none, and an untested path is worse than none.</remarks>
internal static class DistanceKernels
{
    public static float Dot(ref float x, ref float y, int length)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && length >= Vector256<float>.Count)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (; i <= length - 4 * Vector256<float>.Count; i += 4 * Vector256<float>.Count)
            {
                a0 = Fma256(Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref y, (nuint)i), a0);
                a1 = Fma256(Vector256.LoadUnsafe(ref x, (nuint)(i + 8)), Vector256.LoadUnsafe(ref y, (nuint)(i + 8)), a1);
                a2 = Fma256(Vector256.LoadUnsafe(ref x, (nuint)(i + 16)), Vector256.LoadUnsafe(ref y, (nuint)(i + 16)), a2);
                a3 = Fma256(Vector256.LoadUnsafe(ref x, (nuint)(i + 24)), Vector256.LoadUnsafe(ref y, (nuint)(i + 24)), a3);
            }
            for (; i <= length - Vector256<float>.Count; i += Vector256<float>.Count)
                a0 = Fma256(Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref y, (nuint)i), a0);
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < length; i++) sum += Unsafe.Add(ref x, i) * Unsafe.Add(ref y, i);
        return sum;
    }

    public static float SquaredL2(ref float x, ref float y, int length)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && length >= Vector256<float>.Count)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (; i <= length - 4 * Vector256<float>.Count; i += 4 * Vector256<float>.Count)
            {
                Vector256<float> d0 = Vector256.LoadUnsafe(ref x, (nuint)i) - Vector256.LoadUnsafe(ref y, (nuint)i);
                Vector256<float> d1 = Vector256.LoadUnsafe(ref x, (nuint)(i + 8)) - Vector256.LoadUnsafe(ref y, (nuint)(i + 8));
                Vector256<float> d2 = Vector256.LoadUnsafe(ref x, (nuint)(i + 16)) - Vector256.LoadUnsafe(ref y, (nuint)(i + 16));
                Vector256<float> d3 = Vector256.LoadUnsafe(ref x, (nuint)(i + 24)) - Vector256.LoadUnsafe(ref y, (nuint)(i + 24));
                a0 = Fma256(d0, d0, a0);
                a1 = Fma256(d1, d1, a1);
                a2 = Fma256(d2, d2, a2);
                a3 = Fma256(d3, d3, a3);
            }
            for (; i <= length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> d = Vector256.LoadUnsafe(ref x, (nuint)i) - Vector256.LoadUnsafe(ref y, (nuint)i);
                a0 = Fma256(d, d, a0);
            }
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < length; i++)
        {
            float d = Unsafe.Add(ref x, i) - Unsafe.Add(ref y, i);
            sum += d * d;
        }
        return sum;
    }

    /// <summary><paramref name="dots"/>[j] = x · anchor j for the <paramref name="dots"/>.Length anchors stored row by
    /// row (each <paramref name="length"/> long) from <paramref name="anchors"/>: four anchors per pass over x, so x
    /// is loaded once per four dot products (the mixture ranker's candidate × component scores; a GEMM would first
    /// copy and pack the scattered candidate rows, which cost more than the arithmetic at these sizes).</summary>
    public static void DotMany(ref float x, ref float anchors, int length, Span<float> dots)
    {
        int count = dots.Length, j = 0;
        if (Vector256.IsHardwareAccelerated && length >= Vector256<float>.Count)
        {
            for (; j <= count - 4; j += 4)
            {
                ref float y0 = ref Unsafe.Add(ref anchors, (nint)j * length);
                ref float y1 = ref Unsafe.Add(ref y0, length);
                ref float y2 = ref Unsafe.Add(ref y1, length);
                ref float y3 = ref Unsafe.Add(ref y2, length);
                Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                int i = 0;
                for (; i <= length - Vector256<float>.Count; i += Vector256<float>.Count)
                {
                    Vector256<float> v = Vector256.LoadUnsafe(ref x, (nuint)i);
                    a0 = Fma256(v, Vector256.LoadUnsafe(ref y0, (nuint)i), a0);
                    a1 = Fma256(v, Vector256.LoadUnsafe(ref y1, (nuint)i), a1);
                    a2 = Fma256(v, Vector256.LoadUnsafe(ref y2, (nuint)i), a2);
                    a3 = Fma256(v, Vector256.LoadUnsafe(ref y3, (nuint)i), a3);
                }
                float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
                for (; i < length; i++)
                {
                    float v = Unsafe.Add(ref x, i);
                    s0 += v * Unsafe.Add(ref y0, i);
                    s1 += v * Unsafe.Add(ref y1, i);
                    s2 += v * Unsafe.Add(ref y2, i);
                    s3 += v * Unsafe.Add(ref y3, i);
                }
                dots[j] = s0;
                dots[j + 1] = s1;
                dots[j + 2] = s2;
                dots[j + 3] = s3;
            }
        }
        for (; j < count; j++) dots[j] = Dot(ref x, ref Unsafe.Add(ref anchors, (nint)j * length), length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma256(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;
}
