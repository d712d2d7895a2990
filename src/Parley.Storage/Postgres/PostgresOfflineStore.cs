using Npgsql;

namespace Parley.Storage.Postgres;

internal sealed class PostgresOfflineStore(PostgresStorage storage) : IOfflineStore
{
    // A transaction lock per user (two-key form: its own key space) serializes the count and the insert, so two
    // stores at limit - 1 run one after the other and the second sees the first's message.
    private const string LockUserSql = "SELECT pg_advisory_xact_lock(1, hashtext(@user))";

    private const string InsertBelowLimitSql = """
        INSERT INTO offline_messages (user_jid, stamp, xml)
        SELECT @user, @stamp, @xml
        WHERE (SELECT COUNT(*) FROM offline_messages WHERE user_jid = @user) < @limit
        """;

    // Oldest first means in arrival order; ids only grow.
    private const string SelectSql = "SELECT id, stamp, xml FROM offline_messages WHERE user_jid = @user ORDER BY id";
    private const string DeleteSql = "DELETE FROM offline_messages WHERE user_jid = @user AND id = ANY(@ids)";
    private const string CountSql = "SELECT COUNT(*) FROM offline_messages WHERE user_jid = @user";

    public async Task<bool> StoreAsync(string user, string xml, DateTimeOffset stamp, int limit, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckXml(xml);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockUser = new NpgsqlCommand(LockUserSql, connection))
        {
            lockUser.Parameters.AddWithValue("user", user);
            await lockUser.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insert = new NpgsqlCommand(InsertBelowLimitSql, connection);
        insert.Parameters.AddWithValue("user", user);
        insert.Parameters.AddWithValue("stamp", stamp.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("xml", xml);
        insert.Parameters.AddWithValue("limit", (long)limit);
        var stored = await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    public async Task<IReadOnlyList<OfflineMessage>> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(SelectSql, connection);
        select.Parameters.AddWithValue("user", user);
        var messages = new List<OfflineMessage>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(new OfflineMessage(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2)));
        }

        return messages;
    }

    public async Task RemoveAsync(string user, IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        ArgumentNullException.ThrowIfNull(ids);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var delete = new NpgsqlCommand(DeleteSql, connection);
        delete.Parameters.AddWithValue("user", user);
        delete.Parameters.AddWithValue("ids", ids.ToArray());
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> CountAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var count = new NpgsqlCommand(CountSql, connection);
        count.Parameters.AddWithValue("user", user);
        return checked((int)(long)(await count.ExecuteScalarAsync(cancellationToken))!);
    }
}
