using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using Parquet;
using Parquet.Serialization;
using PinnerSage.IO;
using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>Writes profiles to an Apache Parquet file, one row per (user, cluster): <c>user_id</c>, <c>cluster</c>
/// (0-based, the profile's order), <c>medoid</c>, <c>importance</c>, <c>size</c> and <c>members</c> (a list of item
/// ids); a user without clusters (every action filtered out) is one row with cluster −1, so every profile the
/// batch writes comes back. Rows go out a row group at a time (<see cref="RowsPerGroup"/>), so memory stays bounded. As an export of the
/// batch pipeline it is written under a temporary name, synced by <see cref="Prepare"/> and renamed over the path by
/// <see cref="Commit"/> (as the JSON-lines export); disposing without committing deletes it. <see cref="ReadAllAsync"/> reads such a file back.</summary>
/// <remarks>Our choice: a flat row per cluster rather than one nested row per user, so that SQL engines (DuckDB, Spark)
/// query clusters directly; a user's rows are consecutive and in profile order, so the profile is rebuilt exactly.</remarks>
public sealed class ParquetProfileWriter : IProfileExport
{
    /// <summary>Cluster rows per row group.</summary>
    public const int RowsPerGroup = 65_536;

    private const int NoClusters = -1;
    private readonly PendingFile _file;
    private readonly List<ClusterRow> _rows = new(RowsPerGroup);
    private bool _started, _prepared, _done;

    /// <summary>Starts an export to <paramref name="path"/> (in place after <see cref="Commit"/>).</summary>
    public ParquetProfileWriter(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Readable: every row group after the first is appended, which reads the footer written so far.
        _file = new PendingFile(path, readable: true);
    }

    /// <summary>Profiles written so far.</summary>
    public long Count { get; private set; }

    /// <inheritdoc/>
    public void Write(UserProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ObjectDisposedException.ThrowIf(_prepared || _done, this);
        if (profile.Clusters.Count == 0) _rows.Add(new ClusterRow { UserId = profile.UserId, Cluster = NoClusters });
        for (int c = 0; c < profile.Clusters.Count; c++)
        {
            ProfileCluster cluster = profile.Clusters[c];
            _rows.Add(new ClusterRow
            {
                UserId = profile.UserId, Cluster = c, Medoid = cluster.Medoid, Importance = cluster.Importance,
                Size = cluster.Size, Members = [.. cluster.Members],
            });
        }
        Count++;
        if (_rows.Count >= RowsPerGroup) FlushRows();
    }

    /// <inheritdoc/>
    public void Prepare()
    {
        ObjectDisposedException.ThrowIf(_prepared || _done, this);
        try
        {
            // A file with no profile still gets its schema (one empty row group), so readers see the columns.
            if (_rows.Count > 0 || !_started) FlushRows();
        }
        catch
        {
            Dispose();
            throw;
        }
        _file.Prepare();
        _prepared = true;
    }

    /// <inheritdoc/>
    public void Commit()
    {
        if (_done) return;
        if (!_prepared) Prepare();
        _done = true;
        _file.Commit();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _file.Dispose();
    }

    /// <summary>Reads a file written by this writer back into profiles, in file order, a row group at a time.</summary>
    /// <exception cref="DataFormatException">A user's rows are not consecutive or their cluster numbers skip.</exception>
    public static async IAsyncEnumerable<UserProfile> ReadAllAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        await using FileStream stream = File.OpenRead(path);
        int groups;
        await using (ParquetReader reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: cancellationToken).ConfigureAwait(false))
            groups = reader.RowGroupCount;
        string? user = null;
        var clusters = new List<ProfileCluster>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long row = 0;
        for (int g = 0; g < groups; g++)
        {
            stream.Position = 0;
            IList<ClusterRow> rows = (await ParquetSerializer.DeserializeAsync<ClusterRow>(stream, null, g, cancellationToken).ConfigureAwait(false)).Data;
            foreach (ClusterRow r in rows)
            {
                row++;
                if (r.UserId != user)
                {
                    if (user is not null) yield return new UserProfile(user, [.. clusters]);
                    if (!seen.Add(r.UserId)) throw new DataFormatException(path, row, "user_id", $"the rows of user '{r.UserId}' are not consecutive");
                    (user, clusters) = (r.UserId, []);
                }
                if (r.Cluster == NoClusters && clusters.Count == 0) continue;
                if (r.Cluster != clusters.Count)
                    throw new DataFormatException(path, row, "cluster", $"cluster {r.Cluster} of user '{r.UserId}', expected {clusters.Count}");
                clusters.Add(new ProfileCluster(r.Medoid, r.Importance, r.Size, r.Members ?? []));
            }
        }
        if (user is not null) yield return new UserProfile(user, [.. clusters]);
    }

    private void FlushRows()
    {
        // IProfileSink is synchronous (the batch job's ordered writer thread calls it), and Parquet.Net is asynchronous.
        ParquetSerializer.SerializeAsync(_rows, _file.Stream, new ParquetOptions { Append = _started }).GetAwaiter().GetResult();
        _started = true;
        _rows.Clear();
    }

    /// <summary>One (user, cluster) row; the column names are the JSON-lines export's.</summary>
    private sealed class ClusterRow
    {
        [JsonPropertyName("user_id")] public string UserId { get; set; } = "";
        [JsonPropertyName("cluster")] public int Cluster { get; set; }
        [JsonPropertyName("medoid")] public string Medoid { get; set; } = "";
        [JsonPropertyName("importance")] public double Importance { get; set; }
        [JsonPropertyName("size")] public int Size { get; set; }
        [JsonPropertyName("members")] public List<string> Members { get; set; } = [];
    }
}
