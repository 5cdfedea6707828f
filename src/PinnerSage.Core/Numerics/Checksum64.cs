using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace PinnerSage.Numerics;

/// <summary>The hand-written 64-bit checksum of the first file formats (HNSW and quantized index version 1, ItemSage
/// tower version 2), in the style of XXH64 (four multiply–rotate lanes over 32-byte stripes, then an avalanche), from
/// when System.IO.Hashing was not available here. Kept only to read those files (<see cref="IO.FileChecksum.Legacy"/>);
/// newer versions use XXH3. Not bit-compatible with XXH64.</summary>
internal static class Checksum64
{
    private const ulong P1 = 11400714785092387143UL;
    private const ulong P2 = 14029467366897019727UL;
    private const ulong P3 = 1609587929392839161UL;
    private const ulong P4 = 9650029242287828579UL;
    private const ulong P5 = 2870177450012600261UL;

    public static ulong Hash(ReadOnlySpan<byte> data, ulong seed = 0)
    {
        ulong v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        int i = 0;
        for (; i + 4 <= words.Length; i += 4)
        {
            v1 = Round(v1, words[i]);
            v2 = Round(v2, words[i + 1]);
            v3 = Round(v3, words[i + 2]);
            v4 = Round(v4, words[i + 3]);
        }
        ulong h = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7) +
                  BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
        h += (ulong)data.Length * P5;
        for (; i < words.Length; i++) h = BitOperations.RotateLeft(h ^ Round(0, words[i]), 27) * P1 + P4;
        foreach (byte b in data[(words.Length * 8)..]) h = BitOperations.RotateLeft(h ^ (b * P5), 11) * P1;
        h ^= h >> 33;
        h *= P2;
        h ^= h >> 29;
        h *= P3;
        return h ^ (h >> 32);
    }

    /// <summary>Folds a section's checksum into a running file checksum.</summary>
    public static ulong Combine(ulong running, ulong section)
    {
        Span<byte> pair = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(pair, running);
        BinaryPrimitives.WriteUInt64LittleEndian(pair[8..], section);
        return Hash(pair, SplitMix64.Gamma);
    }

    private static ulong Round(ulong acc, ulong lane) => BitOperations.RotateLeft(acc + lane * P2, 31) * P1;
}
