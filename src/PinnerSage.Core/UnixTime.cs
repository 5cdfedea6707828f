namespace PinnerSage;

/// <summary>Time in PinnerSage is Unix seconds (UTC); a day is the unit of the decay λ and of every window.</summary>
public static class UnixTime
{
    /// <summary>Seconds in a day: the one constant every decay, window and day boundary uses.</summary>
    public const long SecondsPerDay = 86_400;

    /// <summary>The UTC midnight at or before <paramref name="t"/> (also for negative times).</summary>
    public static long FloorToDay(long t) => t - ((t % SecondsPerDay) + SecondsPerDay) % SecondsPerDay;
}
