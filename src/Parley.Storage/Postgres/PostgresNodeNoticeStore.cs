using Npgsql;

namespace Parley.Storage.Postgres;

/// <summary>
/// Notices in a table whose insert trigger also NOTIFYs; the first <see cref="WaitForNoticeAsync"/> starts a connection
/// that LISTENs (only a node waits; the CLI only publishes), and reconnects with a growing delay when it breaks.
/// </summary>
internal sealed class PostgresNodeNoticeStore(PostgresStorage storage) : INodeNoticeStore, INodeNoticeAnnouncer, IAsyncDisposable
{
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _announced = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _listening;

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

    public Task<bool> WaitForNoticeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _listening) is null && Interlocked.CompareExchange(ref _listening, Task.CompletedTask, null) is null)
        {
            _listening = Task.Run(ListenAsync);
        }

        return _announced.WaitAsync(timeout, cancellationToken);
    }

    private async Task ListenAsync()
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await storage.OpenConnectionAsync(_stopping.Token);
                connection.Notification += (_, _) => Announce();
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresMigrations.NoticeChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(_stopping.Token);
                }

                // Whatever was published while nobody listened is read now.
                Announce();
                delay = TimeSpan.FromMilliseconds(100);
                while (true)
                {
                    await connection.WaitAsync(_stopping.Token);
                }
            }
            catch (Exception) when (!_stopping.IsCancellationRequested)
            {
                // PostgreSQL restarted or unreachable: the node's poll goes on meanwhile; listen again when it is back.
                // The pool's idle connections broke with this one: dropped now, each would otherwise fail one operation.
                storage.ForgetIdleConnections();
                try
                {
                    await Task.Delay(delay, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
            }
            catch (Exception)
            {
                return;
            }
        }
    }

    private void Announce()
    {
        try
        {
            _announced.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already announced and not yet heard: one wake-up reads every new notice.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_listening is { } listening)
        {
            await listening;
        }

        _stopping.Dispose();
    }

    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var delete = new NpgsqlCommand(DeleteOlderSql, connection);
        delete.Parameters.AddWithValue("cutoff", cutoff.ToUnixTimeMilliseconds());
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }
}
