using System.IO.Hashing;
using PinnerSage.Numerics;

namespace PinnerSage.IO;

/// <summary>The running 64-bit checksum of a binary file's header and sections (both HNSW index formats and the
/// ItemSage tower), by format generation: XXH3-64 (System.IO.Hashing) over the bytes in file order since the versions
/// that introduced it, the hand-written <see cref="Checksum64"/> folded per section before them (kept to read older
/// files). It detects truncation and bit rot, not tampering.</summary>
internal sealed class FileChecksum
{
    private readonly XxHash3? _xxh3;
    private ulong _legacy;
    private bool _any;

    private FileChecksum(bool legacy) => _xxh3 = legacy ? null : new XxHash3();

    /// <summary>XXH3-64 over every appended byte, as current files are written.</summary>
    public static FileChecksum Current() => new(legacy: false);

    /// <summary>The first section's <see cref="Checksum64"/>, each later one folded in with <see cref="Checksum64.Combine"/>.</summary>
    public static FileChecksum Legacy() => new(legacy: true);

    /// <summary>A reader's checksum for a file of format <paramref name="fileVersion"/>: legacy below
    /// <paramref name="firstXxh3Version"/>.</summary>
    public static FileChecksum ForVersion(int fileVersion, int firstXxh3Version) => new(legacy: fileVersion < firstXxh3Version);

    public void Append(ReadOnlySpan<byte> section)
    {
        if (_xxh3 is not null)
        {
            _xxh3.Append(section);
            return;
        }
        ulong hash = Checksum64.Hash(section);
        _legacy = _any ? Checksum64.Combine(_legacy, hash) : hash;
        _any = true;
    }

    public ulong Value => _xxh3?.GetCurrentHashAsUInt64() ?? _legacy;
}
