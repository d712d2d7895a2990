using Npgsql;

namespace Parley.Storage.Postgres;

/// <summary>
/// Applies forward-only migrations under a session advisory lock, each in its own transaction together with its row
/// in schema_migrations. Nodes that start at the same moment on an empty database queue on the lock: the first
/// migrates, the others then find the schema current. A migration is applied when its version is not recorded, also
/// below the database's latest: branches reserve numbers, so one may land after a higher one was released.
/// </summary>
internal static class PostgresMigrator
{
    // "Parley" in ASCII: the advisory lock key of schema migrations, the same in every Parley build.
    private const long MigrationLockKey = 0x5061726C6579;

    private const string CreateVersionTableSql =
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer NOT NULL PRIMARY KEY, applied_at bigint NOT NULL)";

    private const string VersionTableExistsSql = "SELECT to_regclass('schema_migrations') IS NOT NULL";

    private const string ForeignTablesExistSql = """
        SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema())
           AND to_regclass('schema_migrations') IS NULL
        """;

    private const string CurrentVersionSql = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
    private const string RecordVersionSql = "INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @applied_at)";
    private const string AppliedVersionsSql = "SELECT COALESCE(array_agg(version), '{}') FROM schema_migrations";
    private const string IsAppliedSql = "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = @version)";

    /// <summary>The schema version of the database, 0 when it has no Parley schema; never changes anything.</summary>
    public static async Task<int> ReadVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (!await ScalarAsync<bool>(connection, VersionTableExistsSql, cancellationToken))
        {
            return 0;
        }

        return await ScalarAsync<int>(connection, CurrentVersionSql, cancellationToken);
    }

    /// <summary>Brings the database up to the last of <paramref name="migrations"/> and returns its schema version.</summary>
    /// <param name="where">The database, as messages name it.</param>
    public static async Task<int> MigrateAsync(
        NpgsqlConnection connection, IReadOnlyList<PostgresMigration> migrations, string where, CancellationToken cancellationToken)
    {
        var latestKnown = migrations[^1].Version;

        // Look before taking the lock: a database from a newer build, or some other application's, stays untouched.
        if (await ScalarAsync<bool>(connection, ForeignTablesExistSql, cancellationToken))
        {
            throw new InvalidOperationException(
                $"The {where} has tables but no schema_migrations table: it is not a Parley database. Refusing to change it.");
        }

        var current = await ReadVersionAsync(connection, cancellationToken);
        ThrowIfNewer(where, current, latestKnown);
        if (current == latestKnown)
        {
            var applied = await ScalarAsync<int[]>(connection, AppliedVersionsSql, cancellationToken);
            if (migrations.All(migration => applied.Contains(migration.Version)))
            {
                return current;
            }
        }

        await ExecuteAsync(connection, null, $"SELECT pg_advisory_lock({MigrationLockKey})", cancellationToken);
        try
        {
            await ExecuteAsync(connection, null, CreateVersionTableSql, cancellationToken);
            foreach (var migration in migrations)
            {
                current = await ApplyAsync(connection, migration, latestKnown, where, cancellationToken);
            }

            return current;
        }
        finally
        {
            // The pooled connection outlives this call, and a session lock would go with it.
            await ExecuteAsync(connection, null, $"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None);
        }
    }

    private static async Task<int> ApplyAsync(NpgsqlConnection connection, PostgresMigration migration, int latestKnown, string where, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var current = await ScalarAsync<int>(connection, CurrentVersionSql, cancellationToken);
        ThrowIfNewer(where, current, latestKnown);
        await using (var applied = new NpgsqlCommand(IsAppliedSql, connection, transaction))
        {
            applied.Parameters.AddWithValue("version", migration.Version);
            if ((bool)(await applied.ExecuteScalarAsync(cancellationToken))!)
            {
                return current;
            }
        }

        try
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
        }
        catch (PostgresException e)
        {
            throw new InvalidOperationException(
                $"Schema migration {migration.Version} ({migration.Name}) failed on the {where}: {e.MessageText} The database stays at schema version {current}.",
                e);
        }

        await using (var record = new NpgsqlCommand(RecordVersionSql, connection, transaction))
        {
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("applied_at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return Math.Max(current, migration.Version);
    }

    private static void ThrowIfNewer(string where, int current, int latestKnown)
    {
        if (current > latestKnown)
        {
            throw new InvalidOperationException(
                $"The {where} has schema version {current}, but this build of Parley knows schema versions up to {latestKnown}. " +
                "A newer Parley has upgraded it; run that version (or restore a backup). The database was left unchanged.");
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
