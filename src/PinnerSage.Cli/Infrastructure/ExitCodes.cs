namespace PinnerSage.Cli.Infrastructure;

/// <summary>Process exit codes shared by every command (documented in the README's CLI reference).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Bad data in an input file (<see cref="PinnerSage.IO.DataFormatException"/>).</summary>
    public const int BadData = 2;
    /// <summary>Bad command-line usage or option values.</summary>
    public const int BadUsage = 3;
    /// <summary>A file or store could not be read or written.</summary>
    public const int IoError = 4;
    /// <summary>The thing asked for (a user, an item) is not there.</summary>
    public const int NotFound = 1;
}
