using System.Buffers.Binary;
using System.IO.Hashing;
using PinnerSage.Ann;
using PinnerSage.IO;
using PinnerSage.ItemSage.Model;
using PinnerSage.Numerics;
using PinnerSage.Tests.Ann;
using PinnerSage.Tests.ItemSage.Model;

namespace PinnerSage.Tests.IO;

/// <summary>The checksummed binary formats (float and int8 HNSW index, ItemSage tower): current files end with the
/// XXH3-64 of their bytes as System.IO.Hashing computes it, and files of the previous version — rebuilt here byte for
/// byte as the old writer made them: its version number and its hand-written checksum folded per section — still load,
/// with the same contents; each version's checksum is accepted only under its own version number.</summary>
public sealed class FileChecksumTests
{
    private const int D = 24;

    /// <summary>The old writers' checksum of <paramref name="file"/> as version <paramref name="version"/> (the header,
    /// version included, is checksummed): <see cref="Checksum64"/> of the first section, each later one folded in.</summary>
    private static ulong LegacyFold(byte[] file, int version, IEnumerable<(long Offset, long Length)> sections)
    {
        file = WithVersionAndTrailer(file, 8, version, 0);
        ulong? sum = null;
        foreach ((long offset, long length) in sections)
        {
            ulong h = Checksum64.Hash(file.AsSpan((int)offset, (int)length));
            sum = sum is ulong s ? Checksum64.Combine(s, h) : h;
        }
        return sum!.Value;
    }

    /// <summary>Consecutive sections of the given lengths from <paramref name="start"/>.</summary>
    private static IEnumerable<(long, long)> Consecutive(long start, params long[] lengths)
    {
        foreach (long length in lengths)
        {
            yield return (start, length);
            start += length;
        }
    }

    private static byte[] WithVersionAndTrailer(byte[] file, int versionOffset, int version, ulong trailer)
    {
        byte[] copy = (byte[])file.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(versionOffset), version);
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(copy.Length - 8), trailer);
        return copy;
    }

    private static ulong Trailer(byte[] file) => BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(file.Length - 8));

    private static int Int(byte[] file, int at) => BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));

    private static long Long(byte[] file, int at) => BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(at));

    [Fact]
    public void FloatIndexVersion2IsXxh3AndVersion1StillLoads()
    {
        using var dir = new TempDir();
        HnswIndex index = AnnTestData.BuildHnsw(VectorMetric.Cosine, 400, D, out float[] data);
        index.SetItemIds([.. Enumerable.Range(0, 400).Select(i => $"item{i}")]);
        Assert.True(index.Delete(7));
        string path = dir.File("x.hnsw");
        index.Save(path);
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(2, Int(file, 8));
        Assert.Equal(XxHash3.HashToUInt64(file.AsSpan(0, file.Length - 8)), Trailer(file));

        // Version 1: header, layer 0, labels, levels, upper lists, duplicate pairs, ids (layout in the header).
        int n = Int(file, 40);
        ulong legacy = LegacyFold(file, 1, Consecutive(0, 128, (long)n * Int(file, 60), 4L * n, 4L * n, 4 * Long(file, 64), 8L * Int(file, 72), Long(file, 80)));
        File.WriteAllBytes(dir.File("v1.hnsw"), WithVersionAndTrailer(file, 8, 1, legacy));
        HnswIndex old = HnswIndex.Load(dir.File("v1.hnsw"));
        Assert.Equal(index.Count, old.Count);
        Assert.Equal("item42", old.ItemIds![42]);
        AssertSameNeighbours(index, old, data);
        // Saving it again writes the current version, byte-identical to the original save.
        old.Save(dir.File("again.hnsw"));
        Assert.Equal(file, File.ReadAllBytes(dir.File("again.hnsw")));

        AssertEachChecksumOnlyUnderItsVersion(dir, file, 8, legacy, p => HnswIndex.Load(p));
    }

    [Fact]
    public void QuantizedIndexVersion2IsXxh3WithoutPaddingAndVersion1StillLoads()
    {
        using var dir = new TempDir();
        using QuantizedHnswIndex index = AnnTestData.BuildHnsw(VectorMetric.Cosine, 300, D, out float[] data).Quantize();
        string path = dir.File("x.hnswq");
        index.Save(path);
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(2, Int(file, 8));
        int n = Int(file, 40), d = Int(file, 12);
        long floatsOffset = Long(file, 88);
        long[] lengths = [128, (long)n * Int(file, 64), 4L * n, 4L * n, 4 * Long(file, 68), 4L * d, 4L * d, Long(file, 80)];
        long beforeFloats = lengths.Sum();
        Assert.True(floatsOffset > beforeFloats - 64 && floatsOffset % 64 == 0);
        var hash = new XxHash3();
        hash.Append(file.AsSpan(0, (int)beforeFloats));
        hash.Append(file.AsSpan((int)floatsOffset, file.Length - 8 - (int)floatsOffset)); // the padding is outside
        Assert.Equal(hash.GetCurrentHashAsUInt64(), Trailer(file));

        ulong legacy = LegacyFold(file, 1, Consecutive(0, lengths).Append((floatsOffset, 4L * n * d)));
        string v1 = dir.File("v1.hnswq");
        File.WriteAllBytes(v1, WithVersionAndTrailer(file, 8, 1, legacy));
        using (QuantizedHnswIndex old = QuantizedHnswIndex.Load(v1)) AssertSameNeighbours(index, old, data);
        AssertEachChecksumOnlyUnderItsVersion(dir, file, 8, legacy, p => QuantizedHnswIndex.Load(p).Dispose());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TowerVersion3IsXxh3AndVersion2StillLoads(bool transformer)
    {
        using var dir = new TempDir();
        ItemSageModelOptions options = ItemSageTowerTests.Small;
        IItemTower tower = ItemSageTower.Create(transformer ? ItemSageTowerKind.Transformer : ItemSageTowerKind.MlpConcat, options);
        string path = dir.File("model.bin");
        tower.Save(path);
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(3, Int(file, 8));
        Assert.Equal(XxHash3.HashToUInt64(file.AsSpan(0, file.Length - 8)), Trailer(file));

        const int header = 8 + 4 + 4 + 13 * 4 + 4 + 8 + 8;
        ulong legacy = LegacyFold(file, 2, Consecutive(0, header, file.Length - 8 - header));
        File.WriteAllBytes(dir.File("v2.bin"), WithVersionAndTrailer(file, 8, 2, legacy));
        IItemTower old = ItemSageTower.Load(dir.File("v2.bin"));
        Assert.Equal(tower.GetType(), old.GetType());
        Assert.Equal(tower.Options, old.Options);
        Assert.Equal(tower.Parameters, old.Parameters);
        // Version 1 (FNV-1a) stays unsupported.
        File.WriteAllBytes(dir.File("v1.bin"), WithVersionAndTrailer(file, 8, 1, legacy));
        Assert.Equal("version", Assert.Throws<DataFormatException>(() => ItemSageTower.Load(dir.File("v1.bin"))).Field);
        AssertEachChecksumOnlyUnderItsVersion(dir, file, 8, legacy, p => ItemSageTower.Load(p));
    }

    /// <summary>The 10 nearest of the first 20 rows as queries are the same in both indexes.</summary>
    private static void AssertSameNeighbours(IVectorIndex expected, IVectorIndex actual, float[] data)
    {
        var a = new Neighbor[10];
        var b = new Neighbor[10];
        for (int q = 0; q < 20; q++)
        {
            int ga = expected.Search(data.AsSpan(q * D, D), 10, a);
            Assert.Equal(a.AsSpan(0, ga).ToArray(), b.AsSpan(0, actual.Search(data.AsSpan(q * D, D), 10, b)).ToArray());
        }
    }

    /// <summary>The legacy checksum under the current version, the current one under the old version, and a legacy
    /// file with a flipped bit are all rejected as corrupted.</summary>
    private static void AssertEachChecksumOnlyUnderItsVersion(TempDir dir, byte[] current, int versionOffset, ulong legacy, Action<string> load)
    {
        int version = Int(current, versionOffset);
        string bad = dir.File("bad.bin");
        foreach (byte[] variant in new[]
                 {
                     WithVersionAndTrailer(current, versionOffset, version, legacy),
                     WithVersionAndTrailer(current, versionOffset, version - 1, Trailer(current)),
                 })
        {
            File.WriteAllBytes(bad, variant);
            Assert.Contains("checksum", Assert.Throws<DataFormatException>(() => load(bad)).Message, StringComparison.OrdinalIgnoreCase);
        }
        byte[] flipped = WithVersionAndTrailer(current, versionOffset, version - 1, legacy);
        flipped[flipped.Length / 2] ^= 4;
        File.WriteAllBytes(bad, flipped);
        Assert.Throws<DataFormatException>(() => load(bad));
    }
}
