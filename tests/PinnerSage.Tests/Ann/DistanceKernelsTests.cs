using System.Runtime.Intrinsics;
using PinnerSage.Ann;

namespace PinnerSage.Tests.Ann;

/// <summary>The HNSW distance kernels against scalar double references at every length 0…3×Vector256&lt;float&gt;.Count+1.</summary>
public sealed class DistanceKernelsTests
{
    private static readonly int MaxLength = 3 * Vector256<float>.Count + 1;

    [Fact]
    public void DotAndSquaredL2MatchScalarAtEveryLength()
    {
        var random = new Random(5);
        for (int len = 0; len <= Math.Max(MaxLength, 70); len++)
        {
            float[] x = Enumerable.Range(0, len).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            float[] y = Enumerable.Range(0, len).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            double dot = 0, l2 = 0;
            for (int i = 0; i < len; i++)
            {
                dot += (double)x[i] * y[i];
                l2 += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
            }
            ref float x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(x);
            ref float y0 = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(y);
            Assert.Equal(dot, DistanceKernels.Dot(ref x0, ref y0, len), 1e-4 * (1 + len));
            Assert.Equal(l2, DistanceKernels.SquaredL2(ref x0, ref y0, len), 1e-4 * (1 + len));
            Assert.Equal(1 - dot, InnerProductDistance.Compute(ref x0, ref y0, len), 1e-4 * (1 + len));
            Assert.Equal(l2, SquaredL2Distance.Compute(ref x0, ref y0, len), 1e-4 * (1 + len));
        }
    }

    [Fact]
    public void DotManyMatchesScalarForEveryLengthAndAnchorCount()
    {
        var random = new Random(7);
        for (int len = 0; len <= Math.Max(MaxLength, 70); len++)
        {
            for (int count = 0; count <= 9; count++)
            {
                float[] x = Enumerable.Range(0, len).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
                // One spare float so the reference of an empty table still exists.
                float[] anchors = Enumerable.Range(0, count * len + 1).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
                var dots = new float[count];
                ref float x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(x.Length > 0 ? x : [0f]);
                DistanceKernels.DotMany(ref x0, ref anchors[0], len, dots);
                for (int j = 0; j < count; j++)
                {
                    double expected = 0;
                    for (int i = 0; i < len; i++) expected += (double)x[i] * anchors[j * len + i];
                    Assert.Equal(expected, dots[j], 1e-4 * (1 + len));
                }
            }
        }
    }
}
