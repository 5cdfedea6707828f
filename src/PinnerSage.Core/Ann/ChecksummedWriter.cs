using System.Buffers.Binary;
using PinnerSage.Numerics;

namespace PinnerSage.Ann;

/// <summary>Writes an index file's header and sections and, last, a 64-bit checksum folding the header's and each
/// section's <see cref="Checksum64"/> (both HNSW file formats).</summary>
internal sealed class ChecksummedWriter
{
    private readonly Stream _stream;
    private ulong _checksum;

    public ChecksummedWriter(Stream stream, ReadOnlySpan<byte> header)
    {
        _stream = stream;
        _checksum = Checksum64.Hash(header);
        stream.Write(header);
    }

    public void Section(ReadOnlySpan<byte> bytes)
    {
        _checksum = Checksum64.Combine(_checksum, Checksum64.Hash(bytes));
        _stream.Write(bytes);
    }

    /// <summary>Zero bytes outside the checksum (alignment).</summary>
    public void Padding(long bytes) => _stream.Write(new byte[bytes]);

    public void Finish()
    {
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(tail, _checksum);
        _stream.Write(tail);
    }
}
