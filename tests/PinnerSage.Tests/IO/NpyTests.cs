using System.Buffers.Binary;
using System.Text;
using PinnerSage.IO;
using Xunit.Abstractions;

namespace PinnerSage.Tests.IO;

public sealed class NpyTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static float[] RandomFloats(int n, int seed)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Float32RoundTripsForEveryHeaderVersion(int version)
    {
        float[] data = RandomFloats(7 * 5, version);
        string path = _dir.File("a.npy");
        Npy.Write(path, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()), data.Length, "<f4", 7, 5, version);
        NpyHeader h = Npy.ReadHeader(path);
        Assert.Equal(version, h.MajorVersion);
        Assert.Equal(0, h.DataOffset % 64);
        float[] back = Npy.ReadFloat32(path, out int rows, out int cols);
        Assert.Equal((7, 5), (rows, cols));
        Assert.Equal(data, back);
    }

    [Fact]
    public void Float64RoundTrips()
    {
        var data = new double[] { 0, 1, 2.5, 3, double.MaxValue, double.Epsilon, -0.0, 1e-300 };
        string path = _dir.File("z.npy");
        Npy.Write(path, data, 2, 4);
        double[] back = Npy.ReadFloat64(path, out int rows, out int cols);
        Assert.Equal((2, 4), (rows, cols));
        Assert.Equal(data.Select(BitConverter.DoubleToInt64Bits), back.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void EmptyArrayRoundTrips()
    {
        string path = _dir.File("e.npy");
        Npy.Write(path, ReadOnlySpan<float>.Empty, 0, 8);
        float[] back = Npy.ReadFloat32(path, out int rows, out int cols);
        Assert.Equal((0, 8), (rows, cols));
        Assert.Empty(back);
    }

    [Fact]
    public void WriteReplacesAtomicallyAndLeavesNoTempFile()
    {
        string path = _dir.File("a.npy");
        Npy.Write(path, new float[] { 1, 2 }, 1, 2);
        Npy.Write(path, new float[] { 3, 4, 5 }, 1, 3);
        Assert.Equal(new float[] { 3, 4, 5 }, Npy.ReadFloat32(path, out _, out _));
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void WriteRejectsWrongLength() =>
        Assert.Throws<ArgumentException>(() => Npy.Write(_dir.File("a.npy"), new float[5], 2, 3));

    [Fact]
    public void HeaderMatchesNumpyByteForByte()
    {
        // numpy 1.x writes exactly this header for np.save(f, np.zeros((3, 4), '<f4')).
        byte[] h = Npy.BuildHeader("<f4", 3, 4, 0);
        string text = Encoding.ASCII.GetString(h, 10, h.Length - 10);
        Assert.Equal(128, h.Length);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", text);
        Assert.EndsWith(" \n", text);
    }

    private string WriteRaw(string name, string dict, int major = 1, byte[]? data = null, bool badMagic = false)
    {
        string path = _dir.File(name);
        int prefix = major == 1 ? 10 : 12;
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        var bytes = new byte[total];
        Npy.MagicBytes.CopyTo(bytes);
        if (badMagic) bytes[1] = (byte)'X';
        bytes[6] = (byte)major;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)(total - prefix));
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)(total - prefix));
        Encoding.ASCII.GetBytes(dict).CopyTo(bytes, prefix);
        bytes.AsSpan(prefix + dict.Length, total - prefix - dict.Length - 1).Fill((byte)' ');
        bytes[^1] = (byte)'\n';
        File.WriteAllBytes(path, [.. bytes, .. data ?? []]);
        return path;
    }

    private static void AssertError(DataFormatException e, string path, string? field, string contains)
    {
        Assert.Equal(path, e.File);
        Assert.Equal(0, e.Line);
        Assert.Equal(field, e.Field);
        Assert.Contains(contains, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void BadMagicIsAnError()
    {
        string path = WriteRaw("m.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", data: new byte[4], badMagic: true);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, null, "magic");
        string tiny = _dir.File("tiny.npy");
        File.WriteAllBytes(tiny, [1, 2, 3]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(tiny, out _, out _)), tiny, null, "magic");
    }

    [Fact]
    public void UnsupportedVersionIsAnError()
    {
        string path = WriteRaw("v.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", major: 4, data: new byte[4]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, "version", "version 4");
    }

    [Fact]
    public void BigEndianIsAnError()
    {
        string path = WriteRaw("be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1), }", data: new byte[4]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, "descr", "big-endian");
    }

    [Fact]
    public void WrongDtypeIsAnError()
    {
        string path = WriteRaw("f8.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }", data: new byte[8]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, "descr", "'<f8', expected '<f4'");
        string ints = WriteRaw("i4.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }", data: new byte[4]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat64(ints, out _, out _)), ints, "descr", "expected '<f8'");
    }

    [Fact]
    public void FortranOrderIsAnError()
    {
        string path = WriteRaw("f.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data: new byte[16]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, "fortran_order", "Fortran");
    }

    [Theory]
    [InlineData("(4,)", "1-D")]
    [InlineData("(1, 2, 2)", "3-D")]
    [InlineData("()", "0-D")]
    public void WrongNdimIsAnError(string shape, string expected)
    {
        string path = WriteRaw("s.npy", $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}", data: new byte[16]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, "shape", expected);
    }

    [Fact]
    public void TruncatedDataIsAnError()
    {
        string path = WriteRaw("t.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data: new byte[20]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, "data", "truncated");
        string header = _dir.File("h.npy");
        File.WriteAllBytes(header, File.ReadAllBytes(path)[..40]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(header, out _, out _)), header, "header", "truncated");
    }

    [Fact]
    public void TrailingBytesAreAnError()
    {
        string path = WriteRaw("x.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", data: new byte[8]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, "data", "unexpected bytes");
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False}", "shape", "no 'shape'")]
    [InlineData("{'descr': '<f4', 'shape': (1, 1)}", "fortran_order", "no 'fortran_order'")]
    [InlineData("{'fortran_order': False, 'shape': (1, 1)}", "descr", "no 'descr'")]
    [InlineData("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1, 1)}", "fortran_order", "True or False")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1, x)}", "shape", "bad shape")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'extra': 1}", "header", "unexpected key")]
    [InlineData("['descr']", "header", "malformed")]
    public void MalformedHeaderIsAnError(string dict, string field, string contains)
    {
        string path = WriteRaw("bad.npy", dict, data: new byte[4]);
        AssertError(Assert.Throws<DataFormatException>(() => Npy.ReadFloat32(path, out _, out _)), path, field, contains);
    }

    [Fact]
    public void HeaderKeysInAnyOrderAndDoubleQuotesAreAccepted()
    {
        string path = WriteRaw("o.npy", "{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<f4\"}", major: 2,
                               data: [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)]);
        Assert.Equal(new[] { 1.5f, -2f }, Npy.ReadFloat32(path, out int r, out int c));
        Assert.Equal((1, 2), (r, c));
    }

    [Fact]
    public void ReadsFilesWrittenByNumpyAndNumpyReadsOurs()
    {
        if (!TestData.RequirePython(output, "numpy")) return;
        string f4 = _dir.File("np_f4.npy"), f8 = _dir.File("np_f8.npy"), f4v2 = _dir.File("np_v2.npy"), ours = _dir.File("ours.npy");
        // Values from a formula so both sides can compute them independently.
        const string script = """
            import sys, numpy as np
            a = (np.arange(6 * 5, dtype=np.float64).reshape(6, 5) * 0.37 - 3.1).astype('<f4')
            np.save(sys.argv[1], a)
            np.save(sys.argv[2], a.astype('<f8') / 7.0)
            np.lib.format.write_array(open(sys.argv[3], 'wb'), a, version=(2, 0))
            b = np.load(sys.argv[4])
            assert b.dtype == np.dtype('<f4') and b.shape == (3, 2), (b.dtype, b.shape)
            assert (b == np.array([[1, 2], [3, 4], [5, 6.5]], dtype='<f4')).all()
            """;
        Npy.Write(ours, new float[] { 1, 2, 3, 4, 5, 6.5f }, 3, 2);
        var (code, _, err) = TestData.RunPython(script, [f4, f8, f4v2, ours]);
        Assert.True(code == 0, err);
        float[] a = Npy.ReadFloat32(f4, out int rows, out int cols);
        Assert.Equal((6, 5), (rows, cols));
        for (int i = 0; i < a.Length; i++) Assert.Equal((float)(i * 0.37 - 3.1), a[i]);
        Assert.Equal(a, Npy.ReadFloat32(f4v2, out _, out _));
        Assert.Equal(2, Npy.ReadHeader(f4v2).MajorVersion);
        double[] b = Npy.ReadFloat64(f8, out _, out _);
        for (int i = 0; i < b.Length; i++) Assert.Equal((double)a[i] / 7.0, b[i]);
    }
}
