using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

/// <summary>
/// The one writer of archive appends (<see cref="ArchiveAppendQueue"/>). It keeps its connection and statements
/// between batches instead of borrowing a pooled connection per batch: its page cache stays warm (no other connection
/// of the node writes the archive's pages) and its two statements are prepared once. The lock lets the storage close
/// it only between batches.
/// </summary>
internal sealed class SqliteArchiveWriter
{
    private readonly SqliteStorage _storage;
    private readonly ArchiveAppendQueue _appends;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Statements? _statements;
    private bool _closed;

    public SqliteArchiveWriter(SqliteStorage storage, Func<string, string, string> searchTextOf)
    {
        _storage = storage;
        _appends = new ArchiveAppendQueue(InsertAsync, searchTextOf);
    }

    public Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, string xml, string body, CancellationToken cancellationToken)
        => _appends.AppendAsync(archive, with, stamp, xml, body, cancellationToken);

    public async Task CloseAsync()
    {
        await _lock.WaitAsync();
        try
        {
            _closed = true;
            _statements?.Dispose();
            _statements = null;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<long[]> InsertAsync(List<PendingAppend> batch)
    {
        await _lock.WaitAsync();
        try
        {
            ObjectDisposedException.ThrowIf(_closed, _storage);
            _statements ??= new Statements(await _storage.OpenConnectionAsync(CancellationToken.None));
            try
            {
                return await _statements.InsertAsync(batch);
            }
            catch
            {
                // Whatever state the connection was left in, the next batch starts on a new one.
                _statements.Dispose();
                _statements = null;
                throw;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The writer's connection with its insert statements.</summary>
    private sealed class Statements : IDisposable
    {
        // Each append dirties a leaf of two per-archive indexes and of the search index, all over the file; with
        // SQLite's default 2 MiB page cache most were read back from the file system for every batch (a pread each).
        // 64 MiB keeps them: at 5,000 messages a second the writer spent 134 µs per row instead of 165 (docs/benchmarks.md,
        // "The archive writer and the chat path's allocations"). It is this one connection's, so the node pays it once.
        private const string CacheSql = "PRAGMA cache_size = -65536";

        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _insert;
        private readonly SqliteParameter _archive, _withBare, _withResource, _stamp, _xml;
        private readonly SqliteCommand _index;
        private readonly SqliteParameter _indexId, _indexBody;

        public Statements(SqliteConnection connection)
        {
            _connection = connection;
            using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = CacheSql;
                pragma.ExecuteNonQuery();
            }
            _insert = connection.CreateCommand();
            _insert.CommandText = SqliteArchiveStore.InsertSql;
            _archive = _insert.Parameters.Add("$archive", SqliteType.Text);
            _withBare = _insert.Parameters.Add("$with_bare", SqliteType.Text);
            _withResource = _insert.Parameters.Add("$with_resource", SqliteType.Text);
            _stamp = _insert.Parameters.Add("$stamp", SqliteType.Integer);
            _xml = _insert.Parameters.Add("$xml", SqliteType.Text);
            _index = connection.CreateCommand();
            _index.CommandText = SqliteArchiveStore.InsertSearchSql;
            _indexId = _index.Parameters.Add("$id", SqliteType.Integer);
            _indexBody = _index.Parameters.Add("$body", SqliteType.Text);
        }

        public async Task<long[]> InsertAsync(List<PendingAppend> batch)
        {
            using var transaction = _connection.BeginTransaction();
            _insert.Transaction = transaction;
            _index.Transaction = transaction;
            var ids = new long[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var append = batch[i];
                _archive.Value = append.Archive;
                _withBare.Value = append.WithBare;
                _withResource.Value = append.WithResource;
                _stamp.Value = append.Stamp;
                _xml.Value = append.Xml;
                ids[i] = (long)(await _insert.ExecuteScalarAsync())!;
                if (append.SearchText.Length > 0)
                {
                    _indexId.Value = ids[i];
                    _indexBody.Value = append.SearchText;
                    await _index.ExecuteNonQueryAsync();
                }
            }
            transaction.Commit();
            return ids;
        }

        public void Dispose()
        {
            _insert.Dispose();
            _index.Dispose();
            _connection.Dispose();
        }
    }
}
