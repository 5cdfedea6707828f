using System.Globalization;

namespace PinnerSage.Batch;

/// <summary>A batch run was refused because it would shrink the store by surprise (our rule): it read no actions at
/// all, or it would replace the store's profiles by fewer than half as many. Usual causes: an empty or truncated
/// actions file, the wrong file, or a "now" far after the data (a millisecond or wall-clock now puts every action
/// outside the window). <see cref="BatchOptions.AllowShrink"/> commits such a run anyway.</summary>
public sealed class ShrinkRefusedException : Exception
{
    private ShrinkRefusedException(string message) : base(message)
    {
    }

    /// <summary>The refusal of a load of <paramref name="written"/> precomputed profiles (<see cref="ProfileLoad"/>).</summary>
    internal static ShrinkRefusedException ForLoad(long written, long previousUsers, int parts) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"refusing to replace the store's {previousUsers:N0} profiles with the {written:N0} of {parts} part(s) ") +
            (written == 0 ? "(none: empty parts?)" : "(fewer than half)") +
            ". Check that every part of the run is there; pass --allow-shrink to replace them anyway.");

    /// <summary>Throws when <paramref name="summary"/> would shrink a store that held <paramref name="previousUsers"/>.</summary>
    internal static void ThrowIfShrinks(BatchSummary summary, long previousUsers, string actionsPath)
    {
        string source = actionsPath == "-" ? "standard input" : actionsPath;
        if (summary.ActionsRead == 0 && summary.LoggedEventsRead == 0)
            throw new ShrinkRefusedException(string.Create(CultureInfo.InvariantCulture,
                $"{source}: no actions read (an empty or header-only file?); refusing to replace the store's {previousUsers:N0} profiles with none.") +
                " Pass --allow-shrink to do it anyway.");
        if (previousUsers == 0 || summary.UsersWritten * 2 >= previousUsers) return;
        long outside = summary.SkippedAfterNow + summary.SkippedBeforeWindow;
        DateTimeOffset now = DateTimeOffset.FromUnixTimeSeconds(summary.Now);
        string counts = string.Create(CultureInfo.InvariantCulture,
            $"of {summary.ActionsRead + summary.LoggedEventsRead:N0} actions, {outside:N0} are outside the window before now = {summary.Now} ({now:yyyy-MM-dd HH:mm} UTC) and {summary.SkippedUnknownItem:N0} name unknown items");
        throw new ShrinkRefusedException(string.Create(CultureInfo.InvariantCulture,
            $"{source}: refusing to replace the store's {previousUsers:N0} profiles with {summary.UsersWritten:N0} (fewer than half): {counts}. ") +
            "Check the actions file, --now and --embeddings; pass --allow-shrink to replace them anyway.");
    }
}
