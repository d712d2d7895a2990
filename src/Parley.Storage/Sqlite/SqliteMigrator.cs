using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

/// <summary>
/// Applies forward-only migrations, each in its own transaction together with its row in schema_migrations.
/// </summary>
internal static class SqliteMigrator
{
    private const string CreateVersionTableSql =
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)";

    private const string VersionTableExistsSql =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";

    // One statement, so one snapshot: another process may commit the first migration at any moment.
    private const string ForeignTablesExistSql =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' " +
        "AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')";

    private const string CurrentVersionSql = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

    private const string RecordVersionSql = "INSERT INTO schema_migrations (version, applied_at) VALUES ($version, $applied_at)";

    /// <summary>Brings the database up to the last of <paramref name="migrations"/> and returns its schema version.</summary>
    public static async Task<int> MigrateAsync(SqliteConnection connection, IReadOnlyList<SqliteMigration> migrations, CancellationToken cancellationToken)
    {
        CheckOrdered(migrations);
        var latestKnown = migrations[^1].Version;

        // Look before writing anything: a database from a newer build, or some other application's, stays untouched.
        if (await ScalarAsync(connection, null, ForeignTablesExistSql, cancellationToken) > 0)
        {
            throw new InvalidOperationException(
                $"The database {connection.DataSource} has tables but no schema_migrations table: it is not a Parley database. Refusing to change it.");
        }
        var current = await ReadVersionAsync(connection, transaction: null, cancellationToken);
        ThrowIfNewer(connection, current, latestKnown);

        foreach (var migration in migrations)
        {
            if (migration.Version > current)
            {
                current = await ApplyAsync(connection, migration, latestKnown, cancellationToken);
            }
        }

        return current;
    }

    private static async Task<int> ApplyAsync(SqliteConnection connection, SqliteMigration migration, int latestKnown, CancellationToken cancellationToken)
    {
        // BEGIN IMMEDIATE takes the write lock before the version is read, so when a node and the CLI open a new
        // file at the same moment, one migrates and the other waits, then finds the migration already applied.
        using var transaction = connection.BeginTransaction(deferred: false);
        await ExecuteAsync(connection, transaction, CreateVersionTableSql, cancellationToken);
        var current = await ReadVersionAsync(connection, transaction, cancellationToken);
        ThrowIfNewer(connection, current, latestKnown);
        if (current >= migration.Version)
        {
            return current;
        }

        try
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
        }
        catch (SqliteException e)
        {
            throw new InvalidOperationException(
                $"Schema migration {migration.Version} ({migration.Name}) failed on {connection.DataSource}: {e.Message} The database stays at schema version {current}.",
                e);
        }

        using (var record = connection.CreateCommand())
        {
            record.Transaction = transaction;
            record.CommandText = RecordVersionSql;
            record.Parameters.AddWithValue("$version", migration.Version);
            record.Parameters.AddWithValue("$applied_at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        transaction.Commit();
        return migration.Version;
    }

    private static async Task<int> ReadVersionAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        if (await ScalarAsync(connection, transaction, VersionTableExistsSql, cancellationToken) == 0)
        {
            return 0;
        }

        return checked((int)await ScalarAsync(connection, transaction, CurrentVersionSql, cancellationToken));
    }

    private static void ThrowIfNewer(SqliteConnection connection, int current, int latestKnown)
    {
        if (current > latestKnown)
        {
            throw new InvalidOperationException(
                $"The database {connection.DataSource} has schema version {current}, but this build of Parley knows schema versions up to {latestKnown}. " +
                "A newer Parley has upgraded it; run that version (or restore a backup). The database was left unchanged.");
        }
    }

    private static void CheckOrdered(IReadOnlyList<SqliteMigration> migrations)
    {
        if (migrations.Count == 0)
        {
            throw new InvalidOperationException("There are no migrations to apply.");
        }

        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException($"Migration '{migrations[i].Name}' has version {migrations[i].Version}; versions must be 1, 2, 3, ... in order.");
            }
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<long> ScalarAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
