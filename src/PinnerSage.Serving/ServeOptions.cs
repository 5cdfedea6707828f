namespace PinnerSage.Serving;

/// <summary>Options of <see cref="ServingApp"/> (<c>pinnersage serve</c>).</summary>
public sealed record ServeOptions
{
    /// <summary>The workspace folder (see <see cref="Workspace"/>).</summary>
    public required string Workspace { get; init; }

    /// <summary>Listen URLs, ';'-separated (e.g. http://127.0.0.1:5000). Null: ASP.NET Core's default/ASPNETCORE_URLS.</summary>
    public string? Urls { get; init; }

    /// <summary>Neighbour lists cached by medoid item (the paper's medoid cache). Default 100,000.</summary>
    public int NeighborCacheCapacity { get; init; } = 100_000;

    /// <summary>Decoded batch profiles cached per batch run (0: none; the cache is dropped when a new run commits and
    /// cleared when full). Default 1,000,000.</summary>
    public int ProfileCacheCapacity { get; init; } = 1_000_000;

    /// <summary>How often the batch run's identity is re-read from the store (a new run drops the profile cache).
    /// Zero: on every request, with strict run consistency between batch profile and pending events (see
    /// ServingState.Serve). Default 1 s: a new batch run is noticed within a second.</summary>
    public TimeSpan RunCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Online actions per user that enter the served profile (the paper's 20).</summary>
    public int MaxPendingEvents { get; init; } = Profiles.OnlineProfile.DefaultMaxPending;

    /// <summary>Most events in one POST body. Default 1,000.</summary>
    public int MaxBatchEvents { get; init; } = 1000;

    /// <summary>Largest accepted request body in bytes (Kestrel rejects larger ones with 413). Default 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1 << 20;

    /// <summary>How far in the future a posted timestamp may be (clock skew), seconds. Default 300.</summary>
    public long MaxFutureSeconds { get; init; } = 300;

    /// <summary>Log each request (ASP.NET Core's informational logs). Default off: warnings and errors only.</summary>
    public bool Verbose { get; init; }

    /// <summary>The retrieval settings served when a request names no policy (<c>serve --settings</c>); null: the
    /// workspace's (<see cref="Workspace.Retrieval"/>).</summary>
    public Retrieval.RetrievalSettings? Retrieval { get; init; }

    /// <summary>The key every write (POST) must carry, as <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>;
    /// null: writes are open. Reads never need it. At least <see cref="MinApiKeyLength"/> characters.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Lets the service listen beyond loopback without an <see cref="ApiKey"/> (anyone who reaches the port
    /// can then write). Default off: such a configuration is refused.</summary>
    public bool AllowAnonymous { get; init; }

    /// <summary>Write requests accepted per client address and second (a token bucket of as many tokens, refilled
    /// every second; more get 429). 0: no limit. Default 1,000.</summary>
    public int WritesPerSecond { get; init; } = 1000;

    /// <summary>Shortest accepted API key: 16 characters (e.g. <c>openssl rand -hex 16</c> gives 32).</summary>
    public const int MinApiKeyLength = 16;

    /// <summary>The clock (tests inject a fixed one).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Workspace, nameof(Workspace));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(NeighborCacheCapacity, nameof(NeighborCacheCapacity));
        if (RunCheckInterval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RunCheckInterval), RunCheckInterval, "must be ≥ 0");
        ArgumentOutOfRangeException.ThrowIfNegative(ProfileCacheCapacity, nameof(ProfileCacheCapacity));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxPendingEvents, nameof(MaxPendingEvents));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxBatchEvents, nameof(MaxBatchEvents));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestBodyBytes, 1024, nameof(MaxRequestBodyBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxFutureSeconds, nameof(MaxFutureSeconds));
        ArgumentOutOfRangeException.ThrowIfNegative(WritesPerSecond, nameof(WritesPerSecond));
        if (ApiKey is not null && (ApiKey.Length < MinApiKeyLength || ApiKey.AsSpan().ContainsAnyInRange('\0', ' ')))
            throw new ArgumentException($"the API key must be at least {MinApiKeyLength} characters without spaces or control characters.", nameof(ApiKey));
        if (ApiKey is null && !AllowAnonymous && ListenAddresses.FirstNonLoopback(Urls) is string exposed)
            throw new ArgumentException($"{exposed} listens beyond this machine, and without an API key anyone who reaches it " +
                                        "could write events. Set a key (--api-key-file, PINNERSAGE_API_KEY or --api-key) or pass --allow-anonymous.");
    }
}
