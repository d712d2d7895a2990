using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Parley.Storage.Sqlite;

namespace Parley.Storage.Postgres;

/// <summary>
/// How far a copy is: rows of <paramref name="Table"/> read from SQLite so far of its <paramref name="Total"/>, and newly
/// written to PostgreSQL.
/// </summary>
public sealed record CopyProgress(string Table, long Read, long Total, long Written, bool TableDone);

/// <summary>What one table holds after a copy, on each side.</summary>
public sealed record CopiedTable(string Table, long SourceRows, long TargetRows);

/// <summary>The source database is in use by a running node (or command); nothing was copied.</summary>
public sealed class SourceInUseException(string message) : Exception(message);

/// <summary>The target database already holds Parley data; nothing was copied.</summary>
public sealed class TargetNotEmptyException(string message) : Exception(message);

/// <summary>
/// Copies everything a node keeps in its SQLite database into a PostgreSQL database (<c>parley storage migrate</c>):
/// every row with its ids (archive ids are the stanza-ids clients hold), credentials as they are, in batches of binary
/// COPY into a staging table, then inserted where not already there. So a copy that was interrupted is finished by
/// running it again, without duplicating a row. Derived data (archive counts) is rebuilt by the target's triggers;
/// node notices are news for nodes that ran before and are not copied.
/// </summary>
public static class SqliteToPostgresCopy
{
    private const int BatchSize = 10_000;

    /// <summary>The name progress reports give the indexing of copied messages for full-text search.</summary>
    public const string SearchIndexProgress = "archive search index";

    private static readonly Func<object, object> Boolean = value => (long)value != 0;
    private static readonly Func<object, object> JsonArray = value => JsonSerializer.Deserialize<string[]>((string)value)!;

    private sealed record Column(string Source, string Target, NpgsqlDbType Type, Func<object, object>? Convert = null);

    private sealed record Table(string Name, string Order, Column[] Columns, string? Sequence = null);

    private static Column Text(string name) => new(name, name, NpgsqlDbType.Text);

    private static Column Bigint(string name) => new(name, name, NpgsqlDbType.Bigint);

    private static Column Bytes(string name) => new(name, name, NpgsqlDbType.Bytea);

    private static Column Integer(string name) => new(name, name, NpgsqlDbType.Integer, value => checked((int)(long)value));

    private static readonly Table[] s_tables =
    [
        new("accounts", "jid",
        [
            Text("jid"), Text("domain"), Bigint("created_at"),
            Bytes("sha1_salt"), Integer("sha1_iterations"), Bytes("sha1_stored_key"), Bytes("sha1_server_key"),
            Bytes("sha256_salt"), Integer("sha256_iterations"), Bytes("sha256_stored_key"), Bytes("sha256_server_key"),
            new("disabled", "disabled", NpgsqlDbType.Boolean, Boolean),
            Text("display_name"), Text("display_name_folded"),
        ]),
        new("roster_items", "user_jid, contact",
        [
            Text("user_jid"), Text("contact"), Text("name"), Text("subscription"),
            new("ask_subscribe", "ask_subscribe", NpgsqlDbType.Boolean, Boolean), new("pre_approved", "pre_approved", NpgsqlDbType.Boolean, Boolean),
            new("groups_json", "groups", NpgsqlDbType.Array | NpgsqlDbType.Text, JsonArray),
        ]),
        new("roster_versions", "user_jid", [Text("user_jid"), Text("domain"), Bigint("version")]),
        new("roster_pending", "user_jid, contact", [Text("user_jid"), Text("contact"), Text("stanza_xml")]),
        new("offline_messages", "id", [Bigint("id"), Text("user_jid"), Bigint("stamp"), Text("xml")], "id"),
        new("blocklist", "user_jid, blocked_jid", [Text("user_jid"), Text("blocked_jid")]),
        new("user_documents", "user_jid, kind, key", [Text("user_jid"), Text("kind"), Text("key"), Text("xml"), Bigint("updated_at")]),
        new("archive_messages", "id", [Bigint("id"), Text("archive"), Text("with_bare"), Text("with_resource"), Bigint("stamp"), Text("xml")], "id"),
        new("archive_preferences", "archive",
        [
            Text("archive"), Text("default_mode"),
            new("always_json", "always_jids", NpgsqlDbType.Array | NpgsqlDbType.Text, JsonArray),
            new("never_json", "never_jids", NpgsqlDbType.Array | NpgsqlDbType.Text, JsonArray),
        ]),
        new("rooms", "jid", [Text("jid"), Text("service"), Text("config_xml"), Text("subject"), Text("subject_nick"), Bigint("created_at")]),
        new("room_affiliations", "room_jid, jid", [Text("room_jid"), Text("jid"), Text("affiliation"), Text("nick"), Text("reason")]),
        new("pep_nodes", "user_jid, node", [Text("user_jid"), Text("node"), Text("config_xml")]),
        new("pep_items", "seq", [Bigint("seq"), Text("user_jid"), Text("node"), Text("item_id"), Bigint("published_at"), Text("xml")], "seq"),
        new("admins", "jid", [Text("jid"), Bigint("granted_at")]),
        new("audit_log", "id", [Bigint("id"), Bigint("at"), Text("actor"), Text("origin"), Text("action"), Text("subject"), Text("details")], "id"),
        new("server_settings", "name", [Text("name"), Text("value"), Bigint("updated_at")]),
        new("directory_users", "jid", [Text("jid"), Text("dn"), Text("fingerprint"), Bigint("missing_since")]),
        new("api_tokens", "name",
        [
            Text("name"), Text("token_id"), Text("token_hash"),
            new("read_only", "read_only", NpgsqlDbType.Boolean, Boolean), Bigint("created_at"),
        ]),
    ];

    /// <summary>Copies the node's SQLite database at <paramref name="sqlitePath"/> into the PostgreSQL database.</summary>
    /// <param name="intoNonEmpty">Copy also when the target holds data (to finish an interrupted copy, or merge).</param>
    /// <exception cref="SourceInUseException">A node (or command) has the SQLite database open.</exception>
    /// <exception cref="TargetNotEmptyException">The target holds data and <paramref name="intoNonEmpty"/> is false.</exception>
    /// <returns>Every table's rows on both sides after the copy.</returns>
    public static async Task<IReadOnlyList<CopiedTable>> CopyAsync(
        string sqlitePath, string postgresConnectionString, bool intoNonEmpty, IProgress<CopyProgress>? progress, CancellationToken cancellationToken)
    {
        // A running node writes while it runs: what it wrote after the snapshot would be lost. It holds the database's
        // lock shared for its whole run, so the lock cannot be had alone while it runs.
        using (var alone = SqliteDatabaseLock.TryExclusive(sqlitePath))
        {
            if (alone is null)
            {
                throw new SourceInUseException(
                    $"The SQLite database {sqlitePath} is in use: its node is still running (or a parley command uses it). " +
                    "Stop the node, then run the migration again. Nothing was copied.");
            }
        }

        // Opening both brings each schema up to this build's, so the columns below are there on both sides.
        await using (await SqliteStorage.OpenAsync(sqlitePath, StorageOpenMode.ExistingOnly, cancellationToken))
        {
        }

        await using var target = await PostgresStorage.OpenAsync(postgresConnectionString, StorageOpenMode.CreateIfMissing, cancellationToken);
        await using var source = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sqlitePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await source.OpenAsync(cancellationToken);

        if (!intoNonEmpty && await FirstNonEmptyTableAsync(target, cancellationToken) is { } table)
        {
            throw new TargetNotEmptyException(
                $"PostgreSQL {target.Location} already holds data (table {table} has rows). Nothing was copied. " +
                "Give --into-non-empty to copy into it anyway, e.g. to finish a copy that was interrupted.");
        }

        // One read transaction: every table comes from the same moment of the source.
        await using var snapshot = (SqliteTransaction)await source.BeginTransactionAsync(cancellationToken);
        var copied = new List<CopiedTable>();
        foreach (var spec in s_tables)
        {
            await CopyTableAsync(source, snapshot, target, spec, progress, cancellationToken);
            copied.Add(new CopiedTable(spec.Name,
                await CountAsync(source, snapshot, spec.Name, cancellationToken),
                await CountAsync(target, spec.Name, cancellationToken)));
        }

        // Copied messages are indexed for full-text search here, not by the first node that opens the database.
        await using (var connection = await target.OpenConnectionAsync(cancellationToken))
        {
            var unsearched = await CountUnsearchedAsync(connection, cancellationToken);
            await PostgresArchiveStore.IndexUnsearchedAsync(
                connection, indexed => progress?.Report(new CopyProgress(SearchIndexProgress, indexed, unsearched, indexed, TableDone: indexed >= unsearched)), cancellationToken);
        }

        return copied;
    }

    private static async Task CopyTableAsync(
        SqliteConnection source, SqliteTransaction snapshot, PostgresStorage target, Table spec, IProgress<CopyProgress>? progress, CancellationToken cancellationToken)
    {
        var sourceColumns = string.Join(", ", spec.Columns.Select(column => column.Source));
        var targetColumns = string.Join(", ", spec.Columns.Select(column => column.Target));
        using var select = source.CreateCommand();
        select.Transaction = snapshot;
        select.CommandText = $"SELECT {sourceColumns} FROM {spec.Name} ORDER BY {spec.Order}";
        var total = await CountAsync(source, snapshot, spec.Name, cancellationToken);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);

        await using var connection = await target.OpenConnectionAsync(cancellationToken);
        // A copy that failed half-way in this process left its staging table on the pooled connection.
        await ExecuteAsync(connection, "DROP TABLE IF EXISTS pg_temp.staging", cancellationToken);
        await ExecuteAsync(connection, $"CREATE TEMPORARY TABLE staging AS SELECT {targetColumns} FROM {spec.Name} WITH NO DATA", cancellationToken);
        long read = 0;
        long written = 0;
        var more = true;
        while (more)
        {
            var rows = 0;
            await using (var copy = await connection.BeginBinaryImportAsync($"COPY staging ({targetColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                while (rows < BatchSize && (more = await reader.ReadAsync(cancellationToken)))
                {
                    await copy.StartRowAsync(cancellationToken);
                    for (var i = 0; i < spec.Columns.Length; i++)
                    {
                        var column = spec.Columns[i];
                        if (reader.IsDBNull(i))
                        {
                            await copy.WriteNullAsync(cancellationToken);
                            continue;
                        }

                        var value = reader.GetValue(i);
                        await copy.WriteAsync(column.Convert is null ? value : column.Convert(value), column.Type, cancellationToken);
                    }

                    rows++;
                }

                await copy.CompleteAsync(cancellationToken);
            }

            // A row already there (an earlier, interrupted run) is left as it is: running again never duplicates.
            written += await ExecuteAsync(connection,
                $"INSERT INTO {spec.Name} ({targetColumns}) {(spec.Sequence is null ? "" : "OVERRIDING SYSTEM VALUE ")}SELECT {targetColumns} FROM staging ON CONFLICT DO NOTHING; ",
                cancellationToken);
            await ExecuteAsync(connection, "TRUNCATE staging", cancellationToken);
            read += rows;
            progress?.Report(new CopyProgress(spec.Name, read, Math.Max(total, read), written, TableDone: !more));
        }

        await ExecuteAsync(connection, "DROP TABLE staging", cancellationToken);
        if (spec.Sequence is { } sequence)
        {
            // New rows continue after the copied ids, so an id a client holds never comes to mean another message.
            await ExecuteAsync(connection,
                $"SELECT setval(pg_get_serial_sequence('{spec.Name}', '{sequence}'), GREATEST((SELECT MAX({sequence}) FROM {spec.Name}), 1), (SELECT MAX({sequence}) FROM {spec.Name}) IS NOT NULL)",
                cancellationToken);
        }
    }

    private static async Task<string?> FirstNonEmptyTableAsync(PostgresStorage target, CancellationToken cancellationToken)
    {
        foreach (var spec in s_tables)
        {
            await using var connection = await target.OpenConnectionAsync(cancellationToken);
            await using var any = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {spec.Name})", connection);
            if ((bool)(await any.ExecuteScalarAsync(cancellationToken))!)
            {
                return spec.Name;
            }
        }

        return null;
    }

    private static async Task<long> CountAsync(SqliteConnection source, SqliteTransaction snapshot, string table, CancellationToken cancellationToken)
    {
        using var count = source.CreateCommand();
        count.Transaction = snapshot;
        count.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<long> CountAsync(PostgresStorage target, string table, CancellationToken cancellationToken)
    {
        await using var connection = await target.OpenConnectionAsync(cancellationToken);
        await using var count = new NpgsqlCommand($"SELECT COUNT(*) FROM {table}", connection);
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<long> CountUnsearchedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM archive_messages WHERE search IS NULL", connection);
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
