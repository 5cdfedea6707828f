using FsCheck;
using FsCheck.Fluent;
using PinnerSage.IO;

namespace PinnerSage.Tests.IO;

/// <summary>Property: any table written and read back is bit-identical (all float bit patterns for the raw .npy path,
/// including NaN payloads and −0; valid finite non-zero rows with random ids for .npy + .ids and text).</summary>
public sealed class RoundTripPropertyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public sealed record Table(int Rows, int Cols, int[] Bits);

    private static readonly Gen<Table> Tables =
        from rows in Gen.Choose(0, 40)
        from cols in Gen.Choose(1, 19)
        from bits in Gen.ArrayOf(Gen.Choose(int.MinValue, int.MaxValue), rows * cols)
        select new Table(rows, cols, bits);

    [Fact]
    public void Float32NpyRoundTripsEveryBitPattern()
    {
        int n = 0;
        Prop.ForAll(Tables.ToArbitrary(), t =>
        {
            float[] data = t.Bits.Select(BitConverter.Int32BitsToSingle).ToArray();
            string path = _dir.File($"f{n++}.npy");
            Npy.Write(path, data, t.Rows, t.Cols);
            float[] back = Npy.ReadFloat32(path, out int r, out int c);
            File.Delete(path);
            return r == t.Rows && c == t.Cols && back.Select(BitConverter.SingleToInt32Bits).SequenceEqual(t.Bits);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Float64NpyRoundTrips()
    {
        int n = 0;
        Prop.ForAll(Tables.ToArbitrary(), t =>
        {
            double[] data = t.Bits.Select((b, i) => BitConverter.Int64BitsToDouble(((long)b << 32) ^ (uint)(i * 2654435761u))).ToArray();
            string path = _dir.File($"d{n++}.npy");
            Npy.Write(path, data, t.Rows, t.Cols);
            double[] back = Npy.ReadFloat64(path, out int r, out int c);
            File.Delete(path);
            return r == t.Rows && c == t.Cols
                && back.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(data.Select(BitConverter.DoubleToInt64Bits));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void EmbeddingsAndTextRoundTrip()
    {
        int n = 0;
        Prop.ForAll(Tables.ToArbitrary(), t =>
        {
            // Finite, non-zero rows: keep exponent bits away from 0xFF (non-finite) and force one non-zero per row.
            float[] data = t.Bits.Select(b => BitConverter.Int32BitsToSingle(b & unchecked((int)0xBFFFFFFF))).ToArray();
            for (int i = 0; i < t.Rows; i++) data[i * t.Cols] = data[i * t.Cols] == 0 ? 1 : data[i * t.Cols];
            string[] ids = Enumerable.Range(0, t.Rows).Select(i => $"id-{i}-é{t.Bits.Length}").ToArray();
            string npy = _dir.File($"e{n++}.npy");
            using var e = ItemEmbeddings.FromArray(ids, (float[])data.Clone(), t.Cols);
            e.Save(npy);
            using var back = ItemEmbeddings.Load(npy, null, new EmbeddingsLoadOptions { MemoryMap = n % 2 == 0 ? MemoryMapMode.Always : MemoryMapMode.Never });
            bool ok = back.Ids.SequenceEqual(ids) && back.Matrix.SequenceEqual(data) && back.Dimension == t.Cols;
            if (t.Rows > 0)
            {
                string tsv = _dir.File($"t{n}.tsv");
                TextVectors.Write(tsv, e);
                using var text = TextVectors.Read(tsv);
                ok &= text.Ids.SequenceEqual(ids) && text.Matrix.SequenceEqual(data);
            }
            return ok;
        }).QuickCheckThrowOnFailure();
    }
}
