namespace Parley.Storage.Sqlite;

internal sealed class SqliteNodeNoticeStore(SqliteStorage storage) : INodeNoticeStore
{
    internal const string InsertSql = "INSERT INTO node_notices (kind, subject, created_at) VALUES ($kind, $subject, $created) RETURNING id";
    internal const string SelectAfterSql = "SELECT id, kind, subject, created_at FROM node_notices WHERE id > $after ORDER BY id LIMIT $max";

    // The sequence, not MAX(id): it stays at the last id handed out when every notice has been deleted.
    internal const string LatestIdSql = "SELECT seq FROM sqlite_sequence WHERE name = 'node_notices'";
    internal const string DeleteOlderSql = "DELETE FROM node_notices WHERE created_at < $cutoff";

    public async Task<long> PublishAsync(string kind, string subject, CancellationToken cancellationToken = default)
    {
        NodeNoticeArguments.CheckNotice(kind, subject);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var insert = connection.CreateCommand();
        insert.CommandText = InsertSql;
        insert.Parameters.AddWithValue("$kind", kind);
        insert.Parameters.AddWithValue("$subject", subject);
        insert.Parameters.AddWithValue("$created", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<NodeNotice>> ReadAfterAsync(long afterId, int max, CancellationToken cancellationToken = default)
    {
        NodeNoticeArguments.CheckRead(afterId, max);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectAfterSql;
        select.Parameters.AddWithValue("$after", afterId);
        select.Parameters.AddWithValue("$max", max);
        var notices = new List<NodeNotice>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            notices.Add(new NodeNotice(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }

        return notices;
    }

    public async Task<long> LatestIdAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = LatestIdSql;
        return await select.ExecuteScalarAsync(cancellationToken) is long id ? id : 0;
    }

    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var delete = connection.CreateCommand();
        delete.CommandText = DeleteOlderSql;
        delete.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }
}
