using System.Buffers.Binary;
using PinnerSage.IO;

namespace PinnerSage.Ann;

/// <summary>Writes an index file's header and sections and, last, their 64-bit <see cref="FileChecksum"/> (both HNSW
/// file formats; padding is outside it).</summary>
internal sealed class ChecksummedWriter
{
    private readonly Stream _stream;
    private readonly FileChecksum _checksum = FileChecksum.Current();

    public ChecksummedWriter(Stream stream, ReadOnlySpan<byte> header)
    {
        _stream = stream;
        _checksum.Append(header);
        stream.Write(header);
    }

    public void Section(ReadOnlySpan<byte> bytes)
    {
        _checksum.Append(bytes);
        _stream.Write(bytes);
    }

    /// <summary>Zero bytes outside the checksum (alignment).</summary>
    public void Padding(long bytes) => _stream.Write(new byte[bytes]);

    public void Finish()
    {
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(tail, _checksum.Value);
        _stream.Write(tail);
    }
}
