using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

/// <summary>
/// The one writer of archive appends (<see cref="ArchiveAppendQueue"/>). While it keeps up, a batch goes straight into
/// archive_messages and the search index. Each row there costs a leaf of each per-archive index and of the search
/// index, written at every commit, so when appends queue up faster than that (a batch of <see cref="PendingFromRows"/>
/// or more, and every batch after it until the pending rows are moved) it commits them to archive_pending instead
/// (migration 14), a row at the end of one table each, and moves
/// pending rows into the archive later, many in one transaction, so that each archive's index leaf is written once for
/// many messages. It moves them when <see cref="MoveAtRows"/> have gathered, <see cref="MoveAfter"/> after the first
/// of them, when storage opens (rows a crash left), and whenever a read or a change of the archive finds any
/// (<see cref="MovePendingAsync"/>), so no reader misses a committed message. Appends wait while a move holds the
/// database's write lock: under such a load they waited for the writer anyway, longer. The writer keeps its connection
/// and statements between batches: its page cache stays warm and its statements are prepared once. The lock lets one
/// batch or move use the connection at a time, and the storage close it only between them.
/// </summary>
internal sealed class SqliteArchiveWriter
{
    /// <summary>A batch this large means appends come faster than the writer puts them into the indexes one by one.</summary>
    internal const int PendingFromRows = 256;

    /// <summary>
    /// Rows moved in one transaction. More rows share more index leaves: with 1,000 archives, moves of 2,000 rows cost
    /// as much per row as appending straight into the archive, moves of 20,000 a third (docs/benchmarks.md).
    /// </summary>
    internal const int MoveChunkRows = 20_000;

    /// <summary>Pending rows that start a move at once rather than <see cref="MoveAfter"/> after the first of them.</summary>
    internal const int MoveAtRows = 20_000;

    /// <summary>How long a few rows may stay pending; a reader moves them anyway before it reads.</summary>
    internal static readonly TimeSpan MoveAfter = TimeSpan.FromSeconds(1);

    internal const string InsertPendingSql = """
        INSERT INTO archive_pending (id, archive, with_bare, with_resource, stamp, xml, search_text)
        VALUES ($id, $archive, $with_bare, $with_resource, $stamp, $xml, $search_text)
        """;

    internal const string InsertArchivedSql = """
        INSERT INTO archive_messages (id, archive, with_bare, with_resource, stamp, xml)
        VALUES ($id, $archive, $with_bare, $with_resource, $stamp, $xml);
        INSERT INTO archive_search (rowid, body) SELECT $id, $search_text WHERE $search_text <> '';
        """;

    // Ids come from archive_messages' own sequence, read and advanced in the batch's write transaction: no other writer
    // (another process, a bulk insert straight into archive_messages) can be given an id of a pending row, and ids keep
    // the commit order that readers page by.
    internal const string LastIdSql = "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'archive_messages'), 0)";
    internal const string AdvanceIdsSql = """
        UPDATE sqlite_sequence SET seq = $last WHERE name = 'archive_messages';
        INSERT INTO sqlite_sequence (name, seq) SELECT 'archive_messages', $last
        WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'archive_messages');
        """;

    internal const string LastPendingSql = "SELECT MAX(id) FROM archive_pending";

    // The last id of the next chunk: the chunk's last row, or the last pending row when fewer are pending.
    internal const string ChunkEndSql = """
        SELECT COALESCE((SELECT id FROM archive_pending ORDER BY id LIMIT 1 OFFSET $offset), (SELECT MAX(id) FROM archive_pending))
        """;

    // In the chunk's write transaction, so no append can come between the copy and the delete. Answers whether rows are
    // still pending.
    internal const string MoveChunkSql = """
        INSERT INTO archive_messages (id, archive, with_bare, with_resource, stamp, xml)
            SELECT id, archive, with_bare, with_resource, stamp, xml FROM archive_pending WHERE id <= $through ORDER BY id;
        INSERT INTO archive_search (rowid, body)
            SELECT id, search_text FROM archive_pending WHERE id <= $through AND search_text <> '' ORDER BY id;
        DELETE FROM archive_pending WHERE id <= $through;
        SELECT EXISTS (SELECT 1 FROM archive_pending);
        """;

    private readonly SqliteStorage _storage;
    private readonly ArchiveAppendQueue _appends;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Statements? _statements;
    private bool _closed;

    // Under _lock: rows this writer committed and did not move yet, the last of them; whether a move is queued to run now,
    // and whether one is waiting for MoveAfter to pass.
    private int _pendingRows;
    private long _lastPendingId;
    private bool _moveQueued;
    private bool _moveTimed;

    public SqliteArchiveWriter(SqliteStorage storage, Func<string, string, string> searchTextOf)
    {
        _storage = storage;
        _appends = new ArchiveAppendQueue(InsertAsync, searchTextOf);
    }

    public Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, string xml, string body, CancellationToken cancellationToken)
        => _appends.AppendAsync(archive, with, stamp, xml, body, cancellationToken);

    /// <summary>
    /// Moves the rows pending in the database (this node's or another process's) before a read or a change of the archive,
    /// up to the last one committed when it was called, a chunk at a time so appends go on in between.
    /// </summary>
    public async Task MovePendingAsync(SqliteConnection reader, CancellationToken cancellationToken)
    {
        using var last = reader.CreateCommand();
        last.CommandText = LastPendingSql;
        if (await last.ExecuteScalarAsync(cancellationToken) is not long through)
        {
            return;
        }

        while (true)
        {
            await _lock.WaitAsync(cancellationToken);
            try
            {
                if (await MoveChunkLockedAsync() is not { } movedThrough || movedThrough >= through)
                {
                    return;
                }
            }
            finally
            {
                _lock.Release();
            }
        }
    }

    /// <summary>What storage runs once it has migrated: moves what a node that stopped or crashed left pending, at once.</summary>
    internal static async Task MovePendingOnOpenAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using var last = connection.CreateCommand();
        last.CommandText = LastPendingSql;
        if (await last.ExecuteScalarAsync(cancellationToken) is long through)
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            using var move = connection.CreateCommand();
            move.Transaction = transaction;
            move.CommandText = MoveChunkSql;
            move.Parameters.AddWithValue("$through", through);
            await move.ExecuteNonQueryAsync(cancellationToken);
            transaction.Commit();
        }
    }

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
            var pending = batch.Count >= PendingFromRows || _pendingRows > 0;
            var ids = await UseStatementsAsync(statements => statements.InsertAsync(batch, pending));
            if (!pending)
            {
                return ids;
            }

            _pendingRows += batch.Count;
            _lastPendingId = ids[^1];
            if (_pendingRows >= MoveAtRows && !_moveQueued)
            {
                // After this batch's appenders are answered, not before: they need not wait for the move.
                _moveQueued = true;
                _ = Task.Run(() => MoveUnwaitedAsync(() => _moveQueued = false));
            }
            else if (!_moveTimed)
            {
                _moveTimed = true;
                _ = MoveLaterAsync();
            }
            return ids;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task MoveLaterAsync()
    {
        await Task.Delay(MoveAfter).ConfigureAwait(false);
        await MoveUnwaitedAsync(() => _moveTimed = false);
    }

    /// <summary>
    /// A move nobody waits for, a chunk at a time while this writer's rows are pending; <paramref name="started"/> clears
    /// its flag under the lock. If a chunk fails the rows stay pending, committed: the next move or the next read takes
    /// them, and a read that cannot move them reports the error to its caller.
    /// </summary>
    private async Task MoveUnwaitedAsync(Action started)
    {
        // Up to the rows pending now: appends that come while it moves wait for the next move, or chunks would follow
        // each batch, each as costly as a large one.
        long? target = null;
        while (true)
        {
            await _lock.WaitAsync();
            try
            {
                if (target is null)
                {
                    started();
                    target = _lastPendingId;
                }
                if (_closed || _pendingRows == 0 || await MoveChunkLockedAsync() is not { } through || through >= target)
                {
                    return;
                }
            }
            catch (SqliteException)
            {
                return;
            }
            finally
            {
                _lock.Release();
            }
        }
    }

    /// <summary>Moves the next chunk; the last id moved, or null when nothing was pending.</summary>
    private async Task<long?> MoveChunkLockedAsync()
    {
        var (through, more) = await UseStatementsAsync(statements => statements.MoveChunkAsync());
        _pendingRows = more ? Math.Max(0, (int)(_lastPendingId - (through ?? 0))) : 0;
        return through;
    }

    private async Task<T> UseStatementsAsync<T>(Func<Statements, Task<T>> use)
    {
        ObjectDisposedException.ThrowIf(_closed, _storage);
        _statements ??= await Statements.OpenAsync(_storage);
        try
        {
            return await use(_statements);
        }
        catch
        {
            // Whatever state the connection was left in, the next batch starts on a new one.
            _statements.Dispose();
            _statements = null;
            throw;
        }
    }

    /// <summary>The writer's connection with its statements.</summary>
    private sealed class Statements : IDisposable
    {
        // Moving rows dirties leaves of two per-archive indexes and of the search index, all over the file; with
        // SQLite's default 2 MiB page cache most were read back from the file system for every batch (a pread each).
        // 64 MiB keeps them (docs/benchmarks.md, "The archive writer and the chat path's allocations"). It is this one
        // connection's, so the node pays it once.
        private const string CacheSql = "PRAGMA cache_size = -65536";

        private readonly SqliteConnection _connection;
        private readonly AppendCommand _insertPending, _insertArchived;
        private readonly SqliteCommand _lastId, _advanceIds;
        private readonly SqliteParameter _last;
        private readonly SqliteCommand _chunkEnd, _move;
        private readonly SqliteParameter _through;

        private Statements(SqliteConnection connection)
        {
            _connection = connection;
            _insertPending = new AppendCommand(connection, InsertPendingSql);
            _insertArchived = new AppendCommand(connection, InsertArchivedSql);
            _lastId = connection.CreateCommand();
            _lastId.CommandText = LastIdSql;
            _advanceIds = connection.CreateCommand();
            _advanceIds.CommandText = AdvanceIdsSql;
            _last = _advanceIds.Parameters.Add("$last", SqliteType.Integer);
            _chunkEnd = connection.CreateCommand();
            _chunkEnd.CommandText = ChunkEndSql;
            _chunkEnd.Parameters.AddWithValue("$offset", MoveChunkRows - 1);
            _move = connection.CreateCommand();
            _move.CommandText = MoveChunkSql;
            _through = _move.Parameters.Add("$through", SqliteType.Integer);
        }

        public static async Task<Statements> OpenAsync(SqliteStorage storage)
        {
            var connection = await storage.OpenConnectionAsync(CancellationToken.None);
            try
            {
                using var setup = connection.CreateCommand();
                setup.CommandText = CacheSql;
                await setup.ExecuteNonQueryAsync();
                return new Statements(connection);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        public async Task<long[]> InsertAsync(List<PendingAppend> batch, bool pending)
        {
            // Immediate: the sequence is read under the write lock that its advance needs.
            using var transaction = _connection.BeginTransaction(deferred: false);
            var insert = pending ? _insertPending : _insertArchived;
            _lastId.Transaction = transaction;
            _advanceIds.Transaction = transaction;
            var last = (long)(await _lastId.ExecuteScalarAsync())!;
            var ids = new long[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                ids[i] = ++last;
                await insert.ExecuteAsync(transaction, last, batch[i]);
            }
            _last.Value = last;
            await _advanceIds.ExecuteNonQueryAsync();
            transaction.Commit();
            return ids;
        }

        /// <summary>The last id of the chunk moved and whether rows are still pending; (null, false) when none were.</summary>
        public async Task<(long? Through, bool More)> MoveChunkAsync()
        {
            using var transaction = _connection.BeginTransaction(deferred: false);
            _chunkEnd.Transaction = transaction;
            _move.Transaction = transaction;
            if (await _chunkEnd.ExecuteScalarAsync() is not long through)
            {
                return (null, false);
            }

            _through.Value = through;
            var more = (long)(await _move.ExecuteScalarAsync())! != 0;
            transaction.Commit();
            return (through, more);
        }

        public void Dispose()
        {
            _insertPending.Dispose();
            _insertArchived.Dispose();
            _lastId.Dispose();
            _advanceIds.Dispose();
            _chunkEnd.Dispose();
            _move.Dispose();
            _connection.Dispose();
        }
    }

    /// <summary>An insert of one append under a given id, into archive_pending or straight into the archive.</summary>
    private sealed class AppendCommand : IDisposable
    {
        private readonly SqliteCommand _command;
        private readonly SqliteParameter _id, _archive, _withBare, _withResource, _stamp, _xml, _searchText;

        public AppendCommand(SqliteConnection connection, string sql)
        {
            _command = connection.CreateCommand();
            _command.CommandText = sql;
            _id = _command.Parameters.Add("$id", SqliteType.Integer);
            _archive = _command.Parameters.Add("$archive", SqliteType.Text);
            _withBare = _command.Parameters.Add("$with_bare", SqliteType.Text);
            _withResource = _command.Parameters.Add("$with_resource", SqliteType.Text);
            _stamp = _command.Parameters.Add("$stamp", SqliteType.Integer);
            _xml = _command.Parameters.Add("$xml", SqliteType.Text);
            _searchText = _command.Parameters.Add("$search_text", SqliteType.Text);
        }

        public Task<int> ExecuteAsync(SqliteTransaction transaction, long id, PendingAppend append)
        {
            _command.Transaction = transaction;
            _id.Value = id;
            _archive.Value = append.Archive;
            _withBare.Value = append.WithBare;
            _withResource.Value = append.WithResource;
            _stamp.Value = append.Stamp;
            _xml.Value = append.Xml;
            _searchText.Value = append.SearchText;
            return _command.ExecuteNonQueryAsync();
        }

        public void Dispose() => _command.Dispose();
    }
}
