using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;
using PinnerSage.IO;

namespace PinnerSage.Batch;

/// <summary>Actions from an Apache Parquet file: columns <c>user_id</c> (string), <c>item_id</c> (string),
/// <c>timestamp</c> (int64 or int32 Unix seconds) and optionally <c>action</c> (string), found by name; other columns
/// are ignored. One row group is decoded at a time, so memory is bounded by the largest row group. The batch pipeline
/// validates each record as it validates a line of actions.tsv (record numbers count rows from 1).</summary>
public sealed class ParquetActionSource : IActionSource
{
    private readonly string _path;

    private ParquetActionSource(string path) => _path = path;

    /// <summary>A source over the file at <paramref name="path"/> (opened when read; read as often as asked).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static ParquetActionSource Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such Parquet file.", path);
        return new ParquetActionSource(path);
    }

    /// <inheritdoc/>
    public string Name => _path;

    /// <inheritdoc/>
    public bool CanRescan => true;

    /// <inheritdoc/>
    /// <exception cref="DataFormatException">A required column is missing or has the wrong type, or a cell is null.</exception>
    public async IAsyncEnumerable<UserAction> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using FileStream stream = File.OpenRead(_path);
        await using ParquetReader reader = await ParquetReader.CreateAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        DataField[] fields = reader.Schema.GetDataFields();
        DataField user = Field(fields, "user_id", required: true)!, item = Field(fields, "item_id", required: true)!;
        DataField time = Field(fields, "timestamp", required: true)!;
        DataField? action = Field(fields, "action", required: false);
        long row = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using ParquetRowGroupReader group = reader.OpenRowGroupReader(g);
            int n = checked((int)group.RowCount);
            string[] users = new string[n], items = new string[n], actions = new string[n];
            await group.ReadAsync(user, users, null, cancellationToken).ConfigureAwait(false);
            await group.ReadAsync(item, items, null, cancellationToken).ConfigureAwait(false);
            if (action is not null) await group.ReadAsync(action, actions, null, cancellationToken).ConfigureAwait(false);
            long?[] times = await ReadTimes(group, time, n, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                row++;
                if (times[i] is not long t) throw new DataFormatException(_path, row, "timestamp", "null timestamp");
                yield return new UserAction(users[i] ?? "", items[i] ?? "", t, actions[i] ?? "");
            }
        }
    }

    /// <summary>The timestamp column as nullable int64 (stored as int64 or int32, nullable or not).</summary>
    private static async Task<long?[]> ReadTimes(ParquetRowGroupReader group, DataField field, int n, CancellationToken ct)
    {
        var result = new long?[n];
        if (field.ClrType == typeof(int))
        {
            var values = new int?[n];
            if (field.IsNullable) await group.ReadAsync<int>(field, values.AsMemory(), null, ct).ConfigureAwait(false);
            else
            {
                var plain = new int[n];
                await group.ReadAsync<int>(field, plain.AsMemory(), null, ct).ConfigureAwait(false);
                for (int i = 0; i < n; i++) values[i] = plain[i];
            }
            for (int i = 0; i < n; i++) result[i] = values[i];
            return result;
        }
        if (field.IsNullable) await group.ReadAsync<long>(field, result.AsMemory(), null, ct).ConfigureAwait(false);
        else
        {
            var plain = new long[n];
            await group.ReadAsync<long>(field, plain.AsMemory(), null, ct).ConfigureAwait(false);
            for (int i = 0; i < n; i++) result[i] = plain[i];
        }
        return result;
    }

    private DataField? Field(DataField[] fields, string name, bool required)
    {
        DataField? field = fields.FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (field is null)
        {
            if (!required) return null;
            throw new DataFormatException(_path, 0, name, $"the Parquet file has no '{name}' column (columns: {string.Join(", ", fields.Select(f => f.Name))})");
        }
        Type expected = name == "timestamp" ? typeof(long) : typeof(string);
        if (field.ClrType != expected && !(name == "timestamp" && field.ClrType == typeof(int))
            && !(expected == typeof(string) && field.ClrType == typeof(ReadOnlyMemory<char>)))
            throw new DataFormatException(_path, 0, name, $"column '{name}' is {field.ClrType.Name}, expected {expected.Name}");
        return field;
    }
}
