using Npgsql;

namespace Parley.Storage.Postgres;

internal sealed class PostgresNodeNoticeStore(PostgresStorage storage) : INodeNoticeStore
{
    // The insert trigger also announces the id on the notice channel (see PostgresMigrations).
    private const string InsertSql = "INSERT INTO node_notices (kind, subject, created_at) VALUES (@kind, @subject, @created) RETURNING id";
    private const string SelectAfterSql = "SELECT id, kind, subject, created_at FROM node_notices WHERE id > @after ORDER BY id LIMIT @max";

    // The sequence, not MAX(id): it stays at the last id handed out when every notice has been deleted.
    private const string LatestIdSql = """
        SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM node_notices_id_seq
        """;
    private const string DeleteOlderSql = "DELETE FROM node_notices WHERE created_at < @cutoff";

    public async Task<long> PublishAsync(string kind, string subject, CancellationToken cancellationToken = default)
    {
        NodeNoticeArguments.CheckNotice(kind, subject);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var insert = new NpgsqlCommand(InsertSql, connection);
        insert.Parameters.AddWithValue("kind", kind);
        insert.Parameters.AddWithValue("subject", subject);
        insert.Parameters.AddWithValue("created", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<NodeNotice>> ReadAfterAsync(long afterId, int max, CancellationToken cancellationToken = default)
    {
        NodeNoticeArguments.CheckRead(afterId, max);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(SelectAfterSql, connection);
        select.Parameters.AddWithValue("after", afterId);
        select.Parameters.AddWithValue("max", (long)max);
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
        await using var select = new NpgsqlCommand(LatestIdSql, connection);
        return (long)(await select.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var delete = new NpgsqlCommand(DeleteOlderSql, connection);
        delete.Parameters.AddWithValue("cutoff", cutoff.ToUnixTimeMilliseconds());
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }
}
