using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PinnerSage.ItemSage.Model;

/// <summary>The switch and helpers of the small model's fused Vector256 kernels (narrow-head [CLS] attention, hash
/// embedding gather/scatter).</summary>
/// <remarks>The kernels replace calls that hand 8- to 64-float spans to GEMM or TensorPrimitives, whose per-call cost
/// (packing, dispatch, remainder handling) exceeds the arithmetic at these widths. Each keeps a fixed summation order,
/// so results are bitwise identical for any thread count; they differ from the generic path in the last bits (other
/// association), which is why the switch exists: benchmarks measure before/after in one run and tests compare both paths.</remarks>
internal static class FusedKernels
{
    /// <summary>Use the fused kernels where the shape allows (default); false = the generic GEMM/TensorPrimitives path.</summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>a·b + c, fused where the CPU has FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fmadd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;
}
