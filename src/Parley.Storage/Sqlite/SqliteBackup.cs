using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

/// <summary>What a backup wrote: the copy and the schema version of the data in it.</summary>
public sealed record SqliteBackupResult(string BackupPath, int SchemaVersion, long Bytes);

/// <summary>What a restore did: the schema version it put back, and where the database it replaced is kept (null: there was none).</summary>
public sealed record SqliteRestoreResult(string DatabasePath, int SchemaVersion, string? ReplacedKeptAs);

/// <summary>
/// Copies of a node's SQLite database with SQLite's online backup API: one read transaction copies every page, so the
/// copy is the database as of one moment, while a node goes on reading and writing it (WAL: readers do not block writers).
/// </summary>
public static class SqliteBackup
{
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;

    /// <summary>
    /// Writes a consistent copy of the database at <paramref name="databasePath"/> to <paramref name="backupPath"/>, a new
    /// file; the database is read, never changed (an old schema stays as it is). The copy is one self-contained file
    /// (rollback journal mode), written under a temporary name and renamed when complete.
    /// </summary>
    /// <exception cref="StorageNotFoundException">There is no database at <paramref name="databasePath"/>.</exception>
    /// <exception cref="InvalidOperationException">The backup file exists or its folder does not, or the database is not a Parley database.</exception>
    public static async Task<SqliteBackupResult> BackupAsync(string databasePath, string backupPath, CancellationToken cancellationToken = default)
    {
        var source = Path.GetFullPath(databasePath);
        var target = Path.GetFullPath(backupPath);
        if (!File.Exists(source))
        {
            throw new StorageNotFoundException(source);
        }
        if (File.Exists(target) || Directory.Exists(target))
        {
            throw new InvalidOperationException($"{target} exists; give the backup a new file name.");
        }
        if (!Directory.Exists(Path.GetDirectoryName(target)))
        {
            throw new InvalidOperationException($"the folder {Path.GetDirectoryName(target)} does not exist; create it or give another path for the backup.");
        }

        // Shared, as a node holds it: a restore must not swap the file in the middle of the copy.
        using var databaseLock = SqliteDatabaseLock.TryShared(source)
            ?? throw new InvalidOperationException($"{source} is being restored from a backup; back it up when the restore has finished.");
        var partial = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.partial");
        try
        {
            int schemaVersion;
            using (var from = Open(source, SqliteOpenMode.ReadOnly))
            {
                schemaVersion = await ReadSchemaVersionAsync(from, source, cancellationToken);
                using var to = Open(partial, SqliteOpenMode.ReadWriteCreate);
                from.BackupDatabase(to);
                Execute(to, "PRAGMA journal_mode = DELETE");
            }

            File.Move(partial, target, overwrite: false);
            return new SqliteBackupResult(target, schemaVersion, new FileInfo(target).Length);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>
    /// Puts the backup at <paramref name="backupPath"/> in place of the database at <paramref name="databasePath"/>, which
    /// nobody may be using (no node, no command). The backup is checked first: a SQLite database, undamaged, Parley's,
    /// and of a schema this build knows (an older one is migrated when a node opens it). A database it replaces is kept
    /// beside it as parley.db.bak (or parley.db.TIMESTAMP.bak when that exists), with its write-ahead log.
    /// </summary>
    /// <exception cref="StorageNotFoundException">There is no file at <paramref name="backupPath"/>.</exception>
    /// <exception cref="InvalidOperationException">The backup is refused, or the database is in use; nothing was changed.</exception>
    public static async Task<SqliteRestoreResult> RestoreAsync(string backupPath, string databasePath, CancellationToken cancellationToken = default)
    {
        var backup = Path.GetFullPath(backupPath);
        var target = Path.GetFullPath(databasePath);
        if (!File.Exists(backup))
        {
            throw new StorageNotFoundException(backup);
        }
        if (string.Equals(backup, target, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{backup} is the database itself; give the path of a backup.");
        }

        int schemaVersion;
        using (var check = Open(backup, SqliteOpenMode.ReadOnly))
        {
            schemaVersion = await CheckBackupAsync(check, backup, cancellationToken);
        }

        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        using var databaseLock = SqliteDatabaseLock.TryExclusive(target)
            ?? throw new InvalidOperationException(
                $"{target} is in use: a node (or another parley command) has it open. Stop the node, then restore; nothing was changed.");

        var restoring = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.restoring");
        try
        {
            using (var from = Open(backup, SqliteOpenMode.ReadOnly))
            using (var to = Open(restoring, SqliteOpenMode.ReadWriteCreate))
            {
                from.BackupDatabase(to);
            }

            var keptAs = File.Exists(target) ? KeepReplaced(target) : null;
            File.Move(restoring, target, overwrite: false);
            return new SqliteRestoreResult(target, schemaVersion, keptAs);
        }
        finally
        {
            File.Delete(restoring);
        }
    }

    /// <summary>Moves the database with its write-ahead log (what a node that stopped abruptly had not yet written into it) aside.</summary>
    private static string KeepReplaced(string target)
    {
        var keptAs = target + ".bak";
        if (File.Exists(keptAs))
        {
            keptAs = $"{target}.{DateTime.UtcNow:yyyyMMddHHmmss}.bak";
        }

        File.Move(target, keptAs, overwrite: false);
        if (File.Exists(target + "-wal"))
        {
            File.Move(target + "-wal", keptAs + "-wal", overwrite: false);
        }

        // Only an index of the log just moved; SQLite rebuilds it.
        File.Delete(target + "-shm");
        return keptAs;
    }

    private static async Task<int> CheckBackupAsync(SqliteConnection connection, string path, CancellationToken cancellationToken)
    {
        string check;
        try
        {
            check = (string)(await ScalarAsync(connection, "PRAGMA quick_check", cancellationToken))!;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteNotADatabase)
        {
            throw new InvalidOperationException($"{path} is not a SQLite database; nothing was changed.", e);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteCorrupt)
        {
            throw new InvalidOperationException($"{path} is damaged (SQLite says: {e.Message}); nothing was changed.", e);
        }

        if (check != "ok")
        {
            throw new InvalidOperationException($"{path} is damaged (SQLite's check says: {check}); nothing was changed.");
        }

        var version = await ReadSchemaVersionAsync(connection, path, cancellationToken);
        if (version > SqliteMigrations.LatestVersion)
        {
            throw new InvalidOperationException(
                $"{path} has schema version {version}, but this build of Parley knows schema versions up to {SqliteMigrations.LatestVersion}: " +
                "it was made by a newer Parley; restore it with that version. Nothing was changed.");
        }

        return version;
    }

    private static async Task<int> ReadSchemaVersionAsync(SqliteConnection connection, string path, CancellationToken cancellationToken)
    {
        try
        {
            var hasVersions = (long)(await ScalarAsync(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", cancellationToken))!;
            if (hasVersions == 0)
            {
                throw new InvalidOperationException($"{path} is not a Parley database (it has no schema_migrations table); nothing was changed.");
            }

            return checked((int)(long)(await ScalarAsync(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken))!);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteNotADatabase)
        {
            throw new InvalidOperationException($"{path} is not a SQLite database; nothing was changed.", e);
        }
    }

    /// <summary>An unpooled connection, so that the file is closed when it is disposed and can be moved.</summary>
    private static SqliteConnection Open(string path, SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
