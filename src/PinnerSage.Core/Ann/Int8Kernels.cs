using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PinnerSage.Ann;

/// <summary>Σ c_i·q_i of unsigned 8-bit codes c and signed 8-bit query codes q, exactly in 32-bit integers: the inner
/// loop of the quantized HNSW index (<see cref="QuantizedHnswIndex"/>).</summary>
/// <remarks>Paths, the best supported one chosen when the JIT compiles <see cref="Dot"/> (the <c>IsSupported</c> checks
/// are JIT-time constants, so the choice is made once and costs nothing per call):
/// (1) AVX-VNNI <c>vpdpbusd</c> on 256 bits: 32 u8×s8 products summed by fours into 8 int32 lanes in one instruction;
/// (2) AVX-512BW: zero-/sign-extend 32 bytes to 16 bits and <c>vpmaddwd</c> on 512 bits;
/// (3) AVX2: the same on 256 bits (16 bytes a step); (4) scalar. .NET 10 exposes 512-bit <c>vpdpbusd</c> only through
/// AVX10.1, which the machines we measure on lack, so (1) is 256 bits wide. <c>vpmaddubsw</c> is not used: it saturates
/// at 2·255·127 &gt; 32767. Every path is exact (no saturation: |Σ| ≤ 255·128·length &lt; 2³¹ for length &lt; 65,793),
/// so all four return the same integer; the tests compare each with <see cref="DotScalar"/> at every length
/// 0…3×width+1. Two accumulators hide <c>vpdpbusd</c>'s 5-cycle latency at d = 256 (8 steps).</remarks>
internal static class Int8Kernels
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(ref byte codes, ref sbyte query, int length)
    {
        if (AvxVnni.IsSupported) return DotAvxVnni(ref codes, ref query, length);
        if (Avx512BW.IsSupported) return DotAvx512BW(ref codes, ref query, length);
        if (Avx2.IsSupported) return DotAvx2(ref codes, ref query, length);
        return DotScalar(ref codes, ref query, length);
    }

    /// <summary>The kernel <see cref="Dot"/> uses on this machine.</summary>
    public static string Path =>
        AvxVnni.IsSupported ? "AVX-VNNI (256-bit vpdpbusd)" : Avx512BW.IsSupported ? "AVX-512BW (vpmaddwd)" : Avx2.IsSupported ? "AVX2 (vpmaddwd)" : "scalar";

    public static int DotAvxVnni(ref byte codes, ref sbyte query, int length)
    {
        int i = 0;
        int sum = 0;
        if (AvxVnni.IsSupported && length >= Vector256<byte>.Count)
        {
            Vector256<int> a0 = Vector256<int>.Zero, a1 = a0;
            for (; i <= length - 2 * Vector256<byte>.Count; i += 2 * Vector256<byte>.Count)
            {
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.LoadUnsafe(ref codes, (nuint)i), Vector256.LoadUnsafe(ref query, (nuint)i));
                a1 = AvxVnni.MultiplyWideningAndAdd(a1, Vector256.LoadUnsafe(ref codes, (nuint)(i + 32)), Vector256.LoadUnsafe(ref query, (nuint)(i + 32)));
            }
            for (; i <= length - Vector256<byte>.Count; i += Vector256<byte>.Count)
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.LoadUnsafe(ref codes, (nuint)i), Vector256.LoadUnsafe(ref query, (nuint)i));
            sum = Vector256.Sum(a0 + a1);
        }
        return sum + DotScalar(ref Unsafe.Add(ref codes, i), ref Unsafe.Add(ref query, i), length - i);
    }

    public static int DotAvx512BW(ref byte codes, ref sbyte query, int length)
    {
        int i = 0;
        int sum = 0;
        if (Avx512BW.IsSupported && length >= Vector256<byte>.Count)
        {
            Vector512<int> a0 = Vector512<int>.Zero;
            for (; i <= length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                Vector512<short> c = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref codes, (nuint)i));
                Vector512<short> q = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref query, (nuint)i));
                a0 += Avx512BW.MultiplyAddAdjacent(c, q);
            }
            sum = Vector512.Sum(a0);
        }
        return sum + DotScalar(ref Unsafe.Add(ref codes, i), ref Unsafe.Add(ref query, i), length - i);
    }

    public static int DotAvx2(ref byte codes, ref sbyte query, int length)
    {
        int i = 0;
        int sum = 0;
        if (Avx2.IsSupported && length >= Vector128<byte>.Count)
        {
            Vector256<int> a0 = Vector256<int>.Zero;
            for (; i <= length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                Vector256<short> c = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref codes, (nuint)i));
                Vector256<short> q = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref query, (nuint)i));
                a0 += Avx2.MultiplyAddAdjacent(c, q);
            }
            sum = Vector256.Sum(a0);
        }
        return sum + DotScalar(ref Unsafe.Add(ref codes, i), ref Unsafe.Add(ref query, i), length - i);
    }

    /// <summary>The reference, and every vector path's tail.</summary>
    public static int DotScalar(ref byte codes, ref sbyte query, int length)
    {
        int sum = 0;
        for (int i = 0; i < length; i++) sum += Unsafe.Add(ref codes, i) * Unsafe.Add(ref query, i);
        return sum;
    }
}
