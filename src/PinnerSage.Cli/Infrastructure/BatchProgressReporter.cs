using System.Globalization;
using PinnerSage.Batch;
using Spectre.Console;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>Shows <see cref="BatchProgress"/>: a Spectre.Console progress bar (users/s, ETA) on a terminal, plain
/// log lines every few seconds when the output is redirected (CI logs, nohup, a pipe).</summary>
internal static class BatchProgressReporter
{
    /// <summary>Runs <paramref name="run"/> with a progress sink suited to <paramref name="console"/>.</summary>
    public static T Run<T>(IAnsiConsole console, bool interactive, Func<IProgress<BatchProgress>, T> run)
    {
        if (!interactive) return run(new PlainLines(console));
        T result = default!;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                     new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("reading", maxValue: 1);
                task.IsIndeterminate = true;
                result = run(new Bar(task));
                task.StopTask();
            });
        return result;
    }

    private static string Describe(BatchProgress p)
    {
        double seconds = Math.Max(p.Elapsed.TotalSeconds, 1e-3);
        return p.Phase switch
        {
            "build" => string.Create(CultureInfo.InvariantCulture,
                $"build {p.Users:N0}{(p.TotalUsers is long t ? $"/{t:N0}" : "")} users, {p.Users / seconds:N0} users/s"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{p.Phase} {p.Lines:N0} lines"),
        };
    }

    private sealed class Bar(ProgressTask task) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value)
        {
            task.Description = Markup.Escape(Describe(value));
            if (value.Phase != "build" || value.TotalUsers is not long total || total == 0) return;
            if (task.IsIndeterminate)
            {
                // Start the task's clock now so the ETA reflects the build rate, not the scan.
                task.IsIndeterminate = false;
                task.MaxValue = total;
                task.StartTask();
            }
            task.Value = value.Users;
        }
    }

    private sealed class PlainLines(IAnsiConsole console) : IProgress<BatchProgress>
    {
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
        private TimeSpan? _last;

        public void Report(BatchProgress value)
        {
            bool final = value.Phase == "build" && value.TotalUsers is long t && value.Users == t;
            if (_last is TimeSpan last && value.Elapsed - last < Interval && !final) return;
            _last = value.Elapsed;
            string eta = "";
            if (value.Phase == "build" && value.TotalUsers is long total && value.Users > 0 && value.Users < total)
            {
                double rate = value.Users / Math.Max(value.Elapsed.TotalSeconds, 1e-3);
                eta = string.Create(CultureInfo.InvariantCulture, $", ETA {(total - value.Users) / rate:F0}s");
            }
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{value.Elapsed.TotalSeconds,7:F1}s] {Describe(value)}{eta}"));
        }
    }
}
