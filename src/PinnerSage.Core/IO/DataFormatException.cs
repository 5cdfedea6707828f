namespace PinnerSage.IO;

/// <summary>A data file is malformed. Carries the file, the 1-based line (or row, for binary files) and the
/// field so a user can find and fix the offending value; every reader throws this type for bad data, and the CLI
/// turns it into a one-line error and a non-zero exit code.</summary>
public sealed class DataFormatException : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="file">Path of the file as the user named it.</param>
    /// <param name="line">1-based line number for text files, 1-based row for binary tables; 0 when the whole file is at fault.</param>
    /// <param name="field">Column or field name, or null when the whole line or file is at fault.</param>
    /// <param name="problem">What is wrong, in words a user understands ("expected an integer, got 'abc'").</param>
    public DataFormatException(string file, long line, string? field, string problem)
        : base(Format(file, line, field, problem))
    {
        File = file;
        Line = line;
        Field = field;
        Problem = problem;
    }

    /// <summary>Path of the offending file.</summary>
    public string File { get; }

    /// <summary>1-based line (or row); 0 when not tied to a line.</summary>
    public long Line { get; }

    /// <summary>Offending field, or null.</summary>
    public string? Field { get; }

    /// <summary>The problem without the location prefix.</summary>
    public string Problem { get; }

    private static string Format(string file, long line, string? field, string problem)
    {
        string where = line > 0 ? $"{file}:{line}" : file;
        return field is null ? $"{where}: {problem}" : $"{where}: field '{field}': {problem}";
    }
}
