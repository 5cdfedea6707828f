using Npgsql;
using PinnerSage.Storage;
using Xunit.Abstractions;

namespace PinnerSage.Tests.Storage;

/// <summary>The PostgreSQL server named by env PINNERSAGE_TEST_POSTGRES (an Npgsql connection string; `.ci/run` starts
/// Debian's PostgreSQL and sets it). Each test instance works in its own schema, dropped afterwards.</summary>
public sealed class TestPostgres : IDisposable
{
    /// <summary>The environment variable holding the connection string.</summary>
    public const string Variable = "PINNERSAGE_TEST_POSTGRES";

    private readonly List<string> _schemas = [];

    /// <summary>The server's connection string, or null when none is configured.</summary>
    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } s ? s : null;

    /// <summary>True when a server is configured; otherwise passes with a message (a failure under CI=true).</summary>
    public static bool Require(ITestOutputHelper? output) =>
        TestData.RequireOrSkip(ConnectionString is not null,
                               $"a PostgreSQL server (env {Variable}, an Npgsql connection string; .ci/run sets it)", output);

    /// <summary>A store location ("postgres:…") in a fresh schema of the test server.</summary>
    public string NewLocation()
    {
        string schema = "pinnersage_test_" + Guid.NewGuid().ToString("N")[..16];
        _schemas.Add(schema);
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema };
        return ProfileStores.PostgresPrefix + builder.ConnectionString;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_schemas.Count == 0 || ConnectionString is null) return;
        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        foreach (string schema in _schemas)
        {
            using var cmd = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
            cmd.ExecuteNonQuery();
        }
    }
}

/// <summary>The store contract against <see cref="PostgresProfileStore"/>, plus the connection-string forms.</summary>
public sealed class PostgresProfileStoreTests(ITestOutputHelper output) : ProfileStoreContractTests(output)
{
    private readonly TestPostgres _postgres = new();

    protected override string NewLocation() => _postgres.NewLocation();

    protected override int SchemaVersion => PostgresProfileStore.SchemaVersion;

    protected override bool Available() => TestPostgres.Require(Output);

    public override void Dispose()
    {
        _postgres.Dispose();
        base.Dispose();
    }

    [Fact]
    public void LocationsChooseTheStoreByPrefix()
    {
        string uri = ProfileStores.ConnectionStringFromUri("postgresql://ann:p%40ss@db.example:6543/shop?sslmode=disable&search_path=s1");
        var b = new NpgsqlConnectionStringBuilder(uri);
        Assert.Equal(("db.example", 6543, "ann", "p@ss", "shop", "s1", SslMode.Disable),
                     (b.Host, b.Port, b.Username, b.Password, b.Database, b.SearchPath, b.SslMode));
        Assert.True(ProfileStores.IsPostgres("postgres:Host=x"));
        Assert.True(ProfileStores.IsPostgres("postgresql://x/db"));
        Assert.False(ProfileStores.IsPostgres("profiles.db"));
        Assert.Throws<ArgumentException>(() => ProfileStores.ConnectionStringFromUri("postgresql:///nohost"));
        using var dir = new TempDir();
        using (IProfileStore s = ProfileStores.Open(dir.File("p.db"))) Assert.IsType<SqliteProfileStore>(s);
    }

    [Fact]
    public void AnUnreachableServerIsAnIOException()
    {
        Assert.Throws<IOException>(() => ProfileStores.Open("postgres:Host=127.0.0.1;Port=1;Username=x;Password=y;Timeout=2"));
    }

    [Fact]
    public void UpperBoundsOfPrefixesAreExactInCodePointOrder()
    {
        Assert.Null(UserIdRange.PrefixUpperBound(""));
        Assert.Equal("ac", UserIdRange.PrefixUpperBound("ab"));
        Assert.Equal("a\uE000", UserIdRange.PrefixUpperBound("a\uD7FF"));
        Assert.Equal("b", UserIdRange.PrefixUpperBound("a\U0010FFFF"));
        Assert.Equal("u\U0001F601", UserIdRange.PrefixUpperBound("u😀"));
    }
}
