using PinnerSage.Storage;

namespace PinnerSage.Serving;

/// <summary>The service's "now" (our rule, so that the online clock and the data clock agree).</summary>
/// <remarks>
/// While the data is live (the batch run's now within one profile window of the wall clock) the service's now is the
/// wall clock. When the data is older than that (a historical dataset, or the quickstart's synthetic world, whose last
/// day is months behind the wall clock), it is the <b>data clock</b>: the batch run's now plus the wall time elapsed
/// since that run was built. A POSTed action without a timestamp is stamped with it, and served profiles are decayed
/// to it (or to the user's latest pending event, if later). The next batch run's now (the latest timestamp in
/// actions.tsv and the logged events) then moves by the minutes since the last run, not by months, so the demo's own
/// POSTs cannot push every batch action out of the window and wipe the store. Explicit timestamps are still accepted
/// up to the wall clock (plus <see cref="ServeOptions.MaxFutureSeconds"/>), so live events can start flowing into a
/// workspace built from old data; the batch run they move to the wall clock would drop most profiles, and its shrink
/// guard then refuses it until the operator confirms with <c>--allow-shrink</c>.
/// </remarks>
public static class ServiceClock
{
    /// <summary>The service's now in Unix seconds for wall time <paramref name="wall"/>, the current batch run
    /// <paramref name="run"/> (null: none yet) and the profiles' window of <paramref name="windowDays"/> days.</summary>
    public static long Now(DateTimeOffset wall, ProfileRunMetadata? run, double windowDays)
    {
        long wallSeconds = wall.ToUnixTimeSeconds();
        if (run is null || wallSeconds - run.Now <= windowDays * UnixTime.SecondsPerDay) return wallSeconds;
        long sinceBuilt = Math.Max(0, (long)(wall - run.BuiltAtUtc).TotalSeconds);
        return Math.Min(wallSeconds, run.Now + sinceBuilt);
    }
}
