using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

internal sealed class SqliteAdminStore(SqliteStorage storage) : IAdminStore
{
    internal const string InsertSql = "INSERT INTO admins (jid, granted_at) VALUES ($jid, $now) ON CONFLICT (jid) DO NOTHING";
    internal const string DeleteSql = "DELETE FROM admins WHERE jid = $jid";
    internal const string ExistsSql = "SELECT 1 FROM admins WHERE jid = $jid";
    internal const string ListSql = "SELECT jid FROM admins ORDER BY jid";

    public async Task<bool> GrantAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(bareJid, nameof(bareJid));
        return await SqliteCommands.ExecuteAsync(storage, InsertSql, cancellationToken, ("$jid", bareJid), ("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())) == 1;
    }

    public async Task<bool> RevokeAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(bareJid, nameof(bareJid));
        return await SqliteCommands.ExecuteAsync(storage, DeleteSql, cancellationToken, ("$jid", bareJid)) == 1;
    }

    public async Task<bool> IsAdminAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(bareJid, nameof(bareJid));
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = ExistsSql;
        select.Parameters.AddWithValue("$jid", bareJid);
        return await select.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = ListSql;
        var admins = new List<string>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            admins.Add(reader.GetString(0));
        }

        return admins;
    }
}

internal sealed class SqliteAuditStore(SqliteStorage storage) : IAuditStore
{
    internal const string InsertSql = """
        INSERT INTO audit_log (at, actor, origin, action, subject, details)
        VALUES ($at, $actor, $origin, $action, $subject, $details) RETURNING id
        """;

    // NULL parameters switch a filter off, so one statement (and one plan) serves every combination.
    internal const string SelectSql = """
        SELECT id, at, actor, origin, action, subject, details FROM audit_log
        WHERE ($since IS NULL OR at >= $since) AND ($actor IS NULL OR actor = $actor)
        ORDER BY id LIMIT $max
        """;

    // instr, not LIKE: the action searched for is plain text, its % and _ included.
    internal const string SelectNewestSql = """
        SELECT id, at, actor, origin, action, subject, details FROM audit_log
        WHERE ($since IS NULL OR at >= $since) AND ($actor IS NULL OR actor = $actor)
          AND ($action IS NULL OR instr(lower(action), lower($action)) > 0) AND ($before IS NULL OR id < $before)
        ORDER BY id DESC LIMIT $max
        """;

    internal const string DeleteOlderSql = "DELETE FROM audit_log WHERE at < $cutoff";

    public async Task<long> AppendAsync(string actor, string origin, string action, string subject, string details, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(actor, nameof(actor));
        AdministrationArguments.CheckNotEmpty(origin, nameof(origin));
        AdministrationArguments.CheckNotEmpty(action, nameof(action));
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(details);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var insert = connection.CreateCommand();
        insert.CommandText = InsertSql;
        insert.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$actor", actor);
        insert.Parameters.AddWithValue("$origin", origin);
        insert.Parameters.AddWithValue("$action", action);
        insert.Parameters.AddWithValue("$subject", subject);
        insert.Parameters.AddWithValue("$details", details);
        return (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(DateTimeOffset? since, string? actor, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectSql;
        select.Parameters.AddWithValue("$since", since is { } from ? from.ToUnixTimeMilliseconds() : DBNull.Value);
        select.Parameters.AddWithValue("$actor", (object?)actor ?? DBNull.Value);
        select.Parameters.AddWithValue("$max", max);
        return await ReadAsync(select, cancellationToken);
    }

    public async Task<IReadOnlyList<AuditRecord>> ListNewestFirstAsync(AuditSearch search, long? before, int max, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectNewestSql;
        select.Parameters.AddWithValue("$since", search.Since is { } from ? from.ToUnixTimeMilliseconds() : DBNull.Value);
        select.Parameters.AddWithValue("$actor", (object?)search.Actor ?? DBNull.Value);
        select.Parameters.AddWithValue("$action", (object?)search.Action ?? DBNull.Value);
        select.Parameters.AddWithValue("$before", (object?)before ?? DBNull.Value);
        select.Parameters.AddWithValue("$max", max);
        return await ReadAsync(select, cancellationToken);
    }

    private static async Task<IReadOnlyList<AuditRecord>> ReadAsync(SqliteCommand select, CancellationToken cancellationToken)
    {
        var records = new List<AuditRecord>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new AuditRecord(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2),
                reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6)));
        }

        return records;
    }

    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default) =>
        await SqliteCommands.ExecuteAsync(storage, DeleteOlderSql, cancellationToken, ("$cutoff", cutoff.ToUnixTimeMilliseconds()));
}

internal sealed class SqliteServerSettingStore(SqliteStorage storage) : IServerSettingStore
{
    internal const string SelectSql = "SELECT value FROM server_settings WHERE name = $name";
    internal const string UpsertSql = """
        INSERT INTO server_settings (name, value, updated_at) VALUES ($name, $value, $now)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """;
    internal const string DeleteSql = "DELETE FROM server_settings WHERE name = $name";

    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(name, nameof(name));
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectSql;
        select.Parameters.AddWithValue("$name", name);
        return await select.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task SetAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(name, nameof(name));
        ArgumentNullException.ThrowIfNull(value);
        await SqliteCommands.ExecuteAsync(storage, UpsertSql, cancellationToken, ("$name", name), ("$value", value), ("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(name, nameof(name));
        return await SqliteCommands.ExecuteAsync(storage, DeleteSql, cancellationToken, ("$name", name)) == 1;
    }
}

/// <summary>One statement on a borrowed connection, for the stores whose writes are a single row.</summary>
internal static class SqliteCommands
{
    public static async Task<int> ExecuteAsync(SqliteStorage storage, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
