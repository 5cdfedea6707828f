using PinnerSage.IO;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>Runs a command body and maps every failure to one clear line on standard error and a documented exit code:
/// bad data 2, bad options 3, I/O 4, and anything unexpected (a bug, or input no reader anticipated) also 4, with the
/// stack trace only under <c>--verbose</c>.</summary>
internal static class CommandRunner
{
    /// <summary>Set from the command line: print stack traces of unexpected errors.</summary>
    public static bool Verbose { get; set; }

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>Writes the error line and returns its exit code.</summary>
    public static int Report(Exception e)
    {
        switch (e)
        {
            case DataFormatException or InvalidDataException or Batch.ShrinkRefusedException:
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.BadData;
            case ArgumentOutOfRangeException { ActualValue: { } actual }:
                Console.Error.WriteLine($"error: {FirstLine(e.Message)} (got {actual})");
                return ExitCodes.BadUsage;
            case ArgumentException:
                Console.Error.WriteLine($"error: {FirstLine(e.Message)}");
                return ExitCodes.BadUsage;
            case IOException or UnauthorizedAccessException or OutOfMemoryException:
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.IoError;
            default:
                // The last resort: one line, never a bare stack trace or exit 1 (which means "not found").
                Console.Error.WriteLine($"error: unexpected {e.GetType().Name}: {FirstLine(e.Message)}" +
                                        (Verbose ? "" : " (run with --verbose for details)"));
                if (Verbose) Console.Error.WriteLine(e);
                return ExitCodes.IoError;
        }
    }

    private static string FirstLine(string message)
    {
        int end = message.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? message : message[..end];
    }
}
