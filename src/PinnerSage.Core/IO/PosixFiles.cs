using System.Runtime.InteropServices;

namespace PinnerSage.IO;

/// <summary>The two POSIX calls .NET does not expose: fsync of a folder (File.OpenHandle refuses folders) and a
/// file's identity (device, inode), which tells hard links and symlinks to one file apart from different files.</summary>
internal static partial class PosixFiles
{
    private const int ReadOnly = 0;
    private const int DirectoryFlag = 0x10000; // O_DIRECTORY on Linux x64/arm64

    /// <summary>Fsyncs a folder so renames inside it survive a power loss; no-op off Linux and macOS.</summary>
    /// <exception cref="IOException">The folder cannot be opened or synced.</exception>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = Open(directory, OperatingSystem.IsLinux() ? ReadOnly | DirectoryFlag : ReadOnly);
        if (fd < 0) throw new IOException($"{directory}: cannot open the folder to sync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"{directory}: fsync failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>(device, inode) of an existing path, following symlinks; null when it does not exist or off Linux.</summary>
    public static (ulong Device, ulong Inode)? Identity(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        // struct stat on Linux x64 and arm64 (glibc ≥ 2.33 exports stat): st_dev then st_ino, 8 bytes each.
        Span<ulong> buffer = stackalloc ulong[32];
        if (Stat(path, ref MemoryMarshal.GetReference(buffer)) != 0) return null;
        return (buffer[0], buffer[1]);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, ref ulong buffer);
}
