using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

internal sealed class SqliteOfflineStore(SqliteStorage storage) : IOfflineStore
{
    // The count and the insert are one statement inside BEGIN IMMEDIATE: the write lock is taken before counting, so two
    // stores at limit - 1 run one after the other and the second sees the first's message.
    internal const string InsertBelowLimitSql = """
        INSERT INTO offline_messages (user_jid, stamp, xml)
        SELECT $user, $stamp, $xml
        WHERE (SELECT COUNT(*) FROM offline_messages WHERE user_jid = $user) < $limit
        """;

    // Oldest first means in arrival order; ids only grow (AUTOINCREMENT).
    internal const string SelectSql = "SELECT id, stamp, xml FROM offline_messages WHERE user_jid = $user ORDER BY id";
    internal const string DeleteSql = "DELETE FROM offline_messages WHERE user_jid = $user AND id = $id";
    internal const string CountSql = "SELECT COUNT(*) FROM offline_messages WHERE user_jid = $user";

    public async Task<bool> StoreAsync(string user, string xml, DateTimeOffset stamp, int limit, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        UserDataArguments.CheckXml(xml);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = InsertBelowLimitSql;
        insert.Parameters.AddWithValue("$user", user);
        insert.Parameters.AddWithValue("$stamp", stamp.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$xml", xml);
        insert.Parameters.AddWithValue("$limit", limit);
        var stored = await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        transaction.Commit();
        return stored;
    }

    public async Task<IReadOnlyList<OfflineMessage>> GetAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectSql;
        select.Parameters.AddWithValue("$user", user);
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
        using var transaction = connection.BeginTransaction(deferred: false);
        using var delete = connection.CreateCommand();
        delete.Transaction = transaction;
        delete.CommandText = DeleteSql;
        delete.Parameters.AddWithValue("$user", user);
        var id = delete.Parameters.Add("$id", SqliteType.Integer);
        foreach (var messageId in ids)
        {
            id.Value = messageId;
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        transaction.Commit();
    }

    public async Task<int> CountAsync(string user, CancellationToken cancellationToken = default)
    {
        UserDataArguments.CheckUser(user);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var count = connection.CreateCommand();
        count.CommandText = CountSql;
        count.Parameters.AddWithValue("$user", user);
        return checked((int)(long)(await count.ExecuteScalarAsync(cancellationToken))!);
    }
}
