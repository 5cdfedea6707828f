using System.CommandLine;
using System.Globalization;
using PinnerSage.Retrieval;

namespace PinnerSage.Cli.Infrastructure;

/// <summary>The options every command that recommends shares: <c>--settings</c> (a file from <c>pinnersage tune</c>),
/// and <c>--policy</c> / <c>--tau</c> overriding it.</summary>
internal sealed class RetrievalSettingsOptions
{
    public Option<string?> Settings { get; } = new("--settings")
    { Description = "Retrieval settings: a JSON file from `pinnersage tune`, or a preset: default (the shipped defaults) or paper." };

    public Option<string?> Policy { get; } = new("--policy")
    { Description = "Retrieval policy: mixture (default: every interest scored at once) or paper (3 sampled medoids)." };

    public Option<string?> Tau { get; } = new("--tau")
    { Description = "Mixture temperature τ > 0, or inf (ranks like the importance-weighted average)." };

    /// <summary>The settings without --settings (a workspace's own, or the shipped defaults).</summary>
    public RetrievalSettings Fallback { get; set; } = RetrievalSettings.Default;

    public void AddTo(Command command)
    {
        command.Options.Add(Settings);
        command.Options.Add(Policy);
        command.Options.Add(Tau);
    }

    /// <summary>The settings file (or the defaults) with the overrides applied.</summary>
    /// <exception cref="ArgumentException">A bad --policy or --tau (exit 3).</exception>
    /// <exception cref="IO.DataFormatException">A bad settings file (exit 2).</exception>
    public RetrievalSettings Resolve(ParseResult pr)
    {
        RetrievalSettings s = pr.GetValue(Settings) is string path ? RetrievalSettings.FromPresetOrFile(path) : Fallback;
        if (pr.GetValue(Policy) is string policy)
        {
            s = s with
            {
                Policy = policy switch
                {
                    "mixture" => RetrievalPolicy.Mixture,
                    "paper" => RetrievalPolicy.Paper,
                    _ => throw new ArgumentException($"--policy must be mixture or paper, not '{policy}'."),
                },
            };
        }
        if (pr.GetValue(Tau) is string tau)
        {
            double t = tau is "inf" or "∞" ? double.PositiveInfinity
                : double.TryParse(tau, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && double.IsFinite(v) ? v
                : throw new ArgumentException($"--tau must be a number > 0 or inf, not '{tau}'.");
            s = s with { Tau = t };
        }
        return s;
    }
}
