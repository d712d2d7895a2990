using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

internal sealed class SqliteDirectoryUserStore(SqliteStorage storage) : IDirectoryUserStore
{
    internal const string SelectSql = "SELECT jid, dn, fingerprint, missing_since FROM directory_users WHERE jid = $jid";
    internal const string SelectAllSql = "SELECT jid, dn, fingerprint, missing_since FROM directory_users ORDER BY jid";
    internal const string UpsertSql = """
        INSERT INTO directory_users (jid, dn, fingerprint, missing_since) VALUES ($jid, $dn, $fingerprint, $missing)
        ON CONFLICT (jid) DO UPDATE SET dn = excluded.dn, fingerprint = excluded.fingerprint, missing_since = excluded.missing_since
        """;
    internal const string DeleteSql = "DELETE FROM directory_users WHERE jid = $jid";

    public async Task<DirectoryUserRecord?> GetAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(bareJid);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectSql;
        select.Parameters.AddWithValue("$jid", bareJid);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<DirectoryUserRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectAllSql;
        var records = new List<DirectoryUserRecord>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(Read(reader));
        }
        return records;
    }

    public async Task SetAsync(DirectoryUserRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(record.BareJid);
        ArgumentException.ThrowIfNullOrEmpty(record.Dn);
        ArgumentNullException.ThrowIfNull(record.Fingerprint);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var upsert = connection.CreateCommand();
        upsert.CommandText = UpsertSql;
        upsert.Parameters.AddWithValue("$jid", record.BareJid);
        upsert.Parameters.AddWithValue("$dn", record.Dn);
        upsert.Parameters.AddWithValue("$fingerprint", record.Fingerprint);
        upsert.Parameters.AddWithValue("$missing", record.MissingSince is { } missing ? missing.ToUnixTimeMilliseconds() : DBNull.Value);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> DeleteAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(bareJid);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var delete = connection.CreateCommand();
        delete.CommandText = DeleteSql;
        delete.Parameters.AddWithValue("$jid", bareJid);
        return await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    private static DirectoryUserRecord Read(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
}
