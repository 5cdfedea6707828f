using PinnerSage.IO;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>Runs a command body and maps the expected failures (bad data, bad options, I/O) to one clear line on
/// standard error and a non-zero exit code; anything else is a bug and keeps its stack trace.</summary>
internal static class CommandRunner
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (DataFormatException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadData;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadUsage;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.IoError;
        }
    }
}
