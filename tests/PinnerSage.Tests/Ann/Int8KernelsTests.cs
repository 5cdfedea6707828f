using PinnerSage.Ann;

namespace PinnerSage.Tests.Ann;

/// <summary>Every int8 kernel path against the scalar reference at every length 0…3×width+1 (exact integers).</summary>
public sealed class Int8KernelsTests
{
    private delegate int Kernel(ref byte codes, ref sbyte query, int length);

    // The widest path steps 64 bytes (two 32-byte VNNI accumulators), so 0…3·64+1 runs every main loop, lone-vector
    // loop and tail of every path.
    private const int MaxLength = 3 * 64 + 1;

    public static TheoryData<string> Paths() => ["avxvnni", "avx512bw", "avx2", "dispatch"];

    // A path the machine lacks runs its scalar fallback (each path checks IsSupported itself), so the test still holds.
    private static Kernel For(string path) => path switch
    {
        "avxvnni" => Int8Kernels.DotAvxVnni,
        "avx512bw" => Int8Kernels.DotAvx512BW,
        "avx2" => Int8Kernels.DotAvx2,
        _ => Int8Kernels.Dot,
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void MatchesScalarAtEveryLength(string path)
    {
        Kernel kernel = For(path);
        var random = new Random(5);
        // One byte of slack past each end: a kernel that reads or sums past length would change the result.
        var codes = new byte[MaxLength + 1];
        var query = new sbyte[MaxLength + 1];
        for (int length = 0; length <= MaxLength; length++)
        {
            random.NextBytes(codes);
            for (int i = 0; i < query.Length; i++) query[i] = (sbyte)random.Next(-128, 128);
            int expected = Int8Kernels.DotScalar(ref codes[0], ref query[0], length);
            Assert.Equal(expected, kernel(ref codes[0], ref query[0], length));
        }
        // Extremes: 255 × −128 everywhere would saturate vpmaddubsw; every path must stay exact.
        Array.Fill(codes, (byte)255);
        Array.Fill(query, (sbyte)-128);
        for (int length = 0; length <= MaxLength; length++)
            Assert.Equal(-255 * 128 * length, kernel(ref codes[0], ref query[0], length));
        Array.Fill(query, (sbyte)127);
        Assert.Equal(255 * 127 * MaxLength, kernel(ref codes[0], ref query[0], MaxLength));
    }

    [Fact]
    public void ScalarReferenceIsTheNaiveSum()
    {
        byte[] codes = [1, 2, 255, 0, 7];
        sbyte[] query = [3, -4, -128, 127, 1];
        Assert.Equal(3 - 8 - 255 * 128 + 0 + 7, Int8Kernels.DotScalar(ref codes[0], ref query[0], 5));
    }
}
