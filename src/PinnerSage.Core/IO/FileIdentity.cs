namespace PinnerSage.IO;

/// <summary>Whether two paths name one file: by (device, inode) on Linux, so hard links, symlinks, "./x" and
/// "../d/x" are all caught; elsewhere by the full path with symlinks resolved.</summary>
public static class FileIdentity
{
    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> are the same existing file (or the same path).</summary>
    public static bool Same(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (PosixFiles.Identity(a) is { } ia && PosixFiles.Identity(b) is { } ib) return ia == ib;
        StringComparison comparison = OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        return string.Equals(Resolved(a), Resolved(b), comparison);
    }

    private static string Resolved(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            return File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }
}
