using Npgsql;

namespace Parley.Storage.Postgres;

internal sealed class PostgresAdminStore(PostgresStorage storage) : IAdminStore
{
    private const string InsertSql = "INSERT INTO admins (jid, granted_at) VALUES (@jid, @now) ON CONFLICT (jid) DO NOTHING";
    private const string DeleteSql = "DELETE FROM admins WHERE jid = @jid";
    private const string ExistsSql = "SELECT 1 FROM admins WHERE jid = @jid";
    private const string ListSql = "SELECT jid FROM admins ORDER BY jid";

    public async Task<bool> GrantAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(bareJid, nameof(bareJid));
        return await PostgresCommands.ExecuteAsync(storage, InsertSql, cancellationToken, ("jid", bareJid), ("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())) == 1;
    }

    public async Task<bool> RevokeAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(bareJid, nameof(bareJid));
        return await PostgresCommands.ExecuteAsync(storage, DeleteSql, cancellationToken, ("jid", bareJid)) == 1;
    }

    public async Task<bool> IsAdminAsync(string bareJid, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(bareJid, nameof(bareJid));
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(ExistsSql, connection);
        select.Parameters.AddWithValue("jid", bareJid);
        return await select.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(ListSql, connection);
        var admins = new List<string>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            admins.Add(reader.GetString(0));
        }

        return admins;
    }
}

internal sealed class PostgresAuditStore(PostgresStorage storage) : IAuditStore
{
    private const string InsertSql = """
        INSERT INTO audit_log (at, actor, origin, action, subject, details)
        VALUES (@at, @actor, @origin, @action, @subject, @details) RETURNING id
        """;

    // NULL parameters switch a filter off, so one statement serves every combination.
    private const string SelectSql = """
        SELECT id, at, actor, origin, action, subject, details FROM audit_log
        WHERE (@since::bigint IS NULL OR at >= @since) AND (@actor::text IS NULL OR actor = @actor)
        ORDER BY id LIMIT @max
        """;

    // strpos, not LIKE: the action searched for is plain text, its % and _ included.
    private const string SelectNewestSql = """
        SELECT id, at, actor, origin, action, subject, details FROM audit_log
        WHERE (@since::bigint IS NULL OR at >= @since) AND (@actor::text IS NULL OR actor = @actor)
          AND (@action::text IS NULL OR strpos(lower(action), lower(@action)) > 0) AND (@before::bigint IS NULL OR id < @before)
        ORDER BY id DESC LIMIT @max
        """;

    private const string DeleteOlderSql = "DELETE FROM audit_log WHERE at < @cutoff";

    public async Task<long> AppendAsync(string actor, string origin, string action, string subject, string details, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(actor, nameof(actor));
        AdministrationArguments.CheckNotEmpty(origin, nameof(origin));
        AdministrationArguments.CheckNotEmpty(action, nameof(action));
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(details);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var insert = new NpgsqlCommand(InsertSql, connection);
        insert.Parameters.AddWithValue("at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("actor", actor);
        insert.Parameters.AddWithValue("origin", origin);
        insert.Parameters.AddWithValue("action", action);
        insert.Parameters.AddWithValue("subject", subject);
        insert.Parameters.AddWithValue("details", details);
        return (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(DateTimeOffset? since, string? actor, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(SelectSql, connection);
        select.Parameters.Add(new NpgsqlParameter<long?>("since", since?.ToUnixTimeMilliseconds()));
        select.Parameters.Add(new NpgsqlParameter("actor", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)actor ?? DBNull.Value });
        select.Parameters.AddWithValue("max", (long)max);
        return await ReadAsync(select, cancellationToken);
    }

    public async Task<IReadOnlyList<AuditRecord>> ListNewestFirstAsync(AuditSearch search, long? before, int max, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(SelectNewestSql, connection);
        select.Parameters.Add(new NpgsqlParameter<long?>("since", search.Since?.ToUnixTimeMilliseconds()));
        select.Parameters.Add(new NpgsqlParameter("actor", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)search.Actor ?? DBNull.Value });
        select.Parameters.Add(new NpgsqlParameter("action", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)search.Action ?? DBNull.Value });
        select.Parameters.Add(new NpgsqlParameter<long?>("before", before));
        select.Parameters.AddWithValue("max", (long)max);
        return await ReadAsync(select, cancellationToken);
    }

    private static async Task<IReadOnlyList<AuditRecord>> ReadAsync(NpgsqlCommand select, CancellationToken cancellationToken)
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
        await PostgresCommands.ExecuteAsync(storage, DeleteOlderSql, cancellationToken, ("cutoff", cutoff.ToUnixTimeMilliseconds()));
}

internal sealed class PostgresServerSettingStore(PostgresStorage storage) : IServerSettingStore
{
    private const string SelectSql = "SELECT value FROM server_settings WHERE name = @name";
    private const string UpsertSql = """
        INSERT INTO server_settings (name, value, updated_at) VALUES (@name, @value, @now)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """;
    private const string DeleteSql = "DELETE FROM server_settings WHERE name = @name";

    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(name, nameof(name));
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(SelectSql, connection);
        select.Parameters.AddWithValue("name", name);
        return await select.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task SetAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(name, nameof(name));
        ArgumentNullException.ThrowIfNull(value);
        await PostgresCommands.ExecuteAsync(storage, UpsertSql, cancellationToken, ("name", name), ("value", value), ("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        AdministrationArguments.CheckNotEmpty(name, nameof(name));
        return await PostgresCommands.ExecuteAsync(storage, DeleteSql, cancellationToken, ("name", name)) == 1;
    }
}

/// <summary>One statement on a borrowed connection, for the stores whose writes are a single row.</summary>
internal static class PostgresCommands
{
    public static async Task<int> ExecuteAsync(PostgresStorage storage, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
