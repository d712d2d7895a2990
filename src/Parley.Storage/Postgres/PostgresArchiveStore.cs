using System.Data;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Parley.Xml;

namespace Parley.Storage.Postgres;

/// <summary>
/// Archives in one table, read in (stamp, id) order off the index that matches the query's filters (see migration 2).
/// <see cref="ArchivePage.Count"/> counts every message that matches the filters, wherever the page is.
/// </summary>
internal sealed class PostgresArchiveStore(PostgresStorage storage) : IArchiveStore
{
    // Small enough that each batch locks few rows, so the node keeps archiving during retention.
    private const int RetentionBatchSize = 5000;

    // A batch is one statement over arrays: PostgreSQL plans and runs one INSERT for the whole batch instead of one per
    // message. Its ids are taken from the identity's sequence first and given to the rows in order, so each append gets
    // its own row's id without relying on the order RETURNING would hand them back in.
    private const string NextIdsSql = "SELECT nextval(pg_get_serial_sequence('archive_messages', 'id')) FROM generate_series(1, @count)";
    private const string InsertBatchSql = """
        INSERT INTO archive_messages (id, archive, with_bare, with_resource, stamp, xml, search)
        OVERRIDING SYSTEM VALUE
        SELECT id, archive, with_bare, with_resource, stamp, xml, search::tsvector
        FROM unnest(@ids, @archives, @with_bares, @with_resources, @stamps, @xmls, @searches)
            AS batch (id, archive, with_bare, with_resource, stamp, xml, search)
        """;

    /// <summary>The schema version (migration 10) from which messages have a search column.</summary>
    internal const int SearchVersion = 10;

    private const string SelectCountSql = "SELECT messages FROM archive_counts WHERE archive = @archive";
    private const string SelectPositionSql = "SELECT stamp FROM archive_messages WHERE id = @id AND archive = @archive";
    private const string SelectMissingIdSql = """
        SELECT requested FROM unnest(@ids) AS requested
        WHERE NOT EXISTS (SELECT 1 FROM archive_messages WHERE id = requested AND archive = @archive)
        LIMIT 1
        """;

    private const string ReplaceXmlSql = "UPDATE archive_messages SET xml = @xml, search = @search::tsvector WHERE id = @id AND archive = @archive";

    // Small batches: a node that opens storage serves while the rest waits for the next one.
    private const int IndexBatchSize = 1000;
    private const string SelectUnsearchedSql = "SELECT id, archive, xml FROM archive_messages WHERE search IS NULL ORDER BY id LIMIT @limit";
    private const string UpdateSearchSql = """
        UPDATE archive_messages SET search = indexed.search::tsvector
        FROM unnest(@ids, @searches) AS indexed (id, search)
        WHERE archive_messages.id = indexed.id
        """;
    private const string DeleteArchiveSql = "DELETE FROM archive_messages WHERE archive = @archive";
    private const string DeleteOldBatchSql = """
        DELETE FROM archive_messages WHERE id IN (
            SELECT id FROM archive_messages WHERE stamp < @cutoff LIMIT @limit)
        """;

    private const string SelectPreferencesSql = "SELECT default_mode, always_jids, never_jids FROM archive_preferences WHERE archive = @archive";
    private const string UpsertPreferencesSql = """
        INSERT INTO archive_preferences (archive, default_mode, always_jids, never_jids)
        VALUES (@archive, @default_mode, @always, @never)
        ON CONFLICT (archive) DO UPDATE SET
            default_mode = excluded.default_mode, always_jids = excluded.always_jids, never_jids = excluded.never_jids
        """;

    /// <summary>Which parts a query has; each combination is one SQL text (and one prepared statement).</summary>
    [Flags]
    private enum Filters
    {
        None = 0,
        With = 1,
        WithResource = 2,
        Start = 4,
        End = 8,
        Ids = 16,
        After = 32,
        Before = 64,
        FullText = 128,
    }

    public bool SupportsFullTextSearch => true;

    private readonly ArchiveAppendQueue _appends = new(batch => InsertAsync(storage, batch), PostgresSearchText.VectorOf);

    /// <summary>Appends are committed in groups (<see cref="ArchiveAppendQueue"/>).</summary>
    public Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, string xml, CancellationToken cancellationToken = default)
        => _appends.AppendAsync(archive, with, stamp, xml, ArchiveText.BodyOf(xml), cancellationToken);

    public Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, Element message, CancellationToken cancellationToken = default)
        => _appends.AppendAsync(archive, with, stamp, message.ToXml(XmlNamespaces.Client), ArchiveText.BodyOf(message), cancellationToken);

    /// <summary>The batch in one transaction of two prepared statements: its ids, then its rows.</summary>
    private static async Task<long[]> InsertAsync(PostgresStorage storage, List<PendingAppend> batch)
    {
        await using var connection = await storage.OpenConnectionAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        var ids = new long[batch.Count];
        await using (var nextIds = new NpgsqlCommand(NextIdsSql, connection, transaction))
        {
            nextIds.Parameters.Add(new NpgsqlParameter<int>("count", NpgsqlDbType.Integer) { TypedValue = batch.Count });
            await nextIds.PrepareAsync();
            await using var reader = await nextIds.ExecuteReaderAsync();
            for (var i = 0; i < ids.Length && await reader.ReadAsync(); i++)
            {
                ids[i] = reader.GetInt64(0);
            }
        }

        await using var insert = new NpgsqlCommand(InsertBatchSql, connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = ids });
        insert.Parameters.Add(Column("archives", batch, append => append.Archive));
        insert.Parameters.Add(Column("with_bares", batch, append => append.WithBare));
        insert.Parameters.Add(Column("with_resources", batch, append => append.WithResource));
        insert.Parameters.Add(new NpgsqlParameter<long[]>("stamps", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. batch.Select(append => append.Stamp)] });
        insert.Parameters.Add(Column("xmls", batch, append => append.Xml));
        insert.Parameters.Add(Column("searches", batch, append => append.SearchText));
        await insert.PrepareAsync();
        await insert.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        return ids;
    }

    private static NpgsqlParameter<string[]> Column(string name, List<PendingAppend> batch, Func<PendingAppend, string> value) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. batch.Select(value)] };

    public async Task<ArchivePage> QueryAsync(ArchiveQuery query, CancellationToken cancellationToken = default)
    {
        ArchiveArguments.CheckQuery(query);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        // One snapshot: the count and the page agree.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var after = query.AfterId is null ? null : await PositionOfAsync(connection, query.Archive, query.AfterId, cancellationToken);
        var before = query.BeforeId is null ? null : await PositionOfAsync(connection, query.Archive, query.BeforeId, cancellationToken);
        if (query.Ids is { } ids)
        {
            await CheckIdsAsync(connection, query.Archive, ids, cancellationToken);
        }

        var filters = FiltersOf(query);
        string? search = null;
        if (filters.HasFlag(Filters.FullText))
        {
            search = PostgresSearchText.QueryOf(query.Archive, query.FullText!);
            if (search is null)
            {
                // Nothing to search for (only punctuation): no message has that text.
                return new ArchivePage([], Complete: true, Count: 0);
            }
        }

        var messages = new List<ArchivedMessage>(Math.Min(query.Max + 1, 256));
        await using (var select = new NpgsqlCommand(SelectPageSql(filters, query.FromEnd), connection))
        {
            BindFilters(select, query, search);
            if (after is { } afterPosition)
            {
                select.Parameters.AddWithValue("after_stamp", afterPosition.Stamp);
                select.Parameters.AddWithValue("after_id", afterPosition.Id);
            }

            if (before is { } beforePosition)
            {
                select.Parameters.AddWithValue("before_stamp", beforePosition.Stamp);
                select.Parameters.AddWithValue("before_id", beforePosition.Id);
            }

            // One more than asked for tells whether the page is the last one in its direction.
            select.Parameters.AddWithValue("limit", (long)query.Max + 1);
            await select.PrepareAsync(cancellationToken);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var resource = reader.GetString(2);
                messages.Add(new ArchivedMessage(
                    ArchiveArguments.FormatId(reader.GetInt64(0)),
                    query.Archive,
                    resource.Length == 0 ? reader.GetString(1) : reader.GetString(1) + "/" + resource,
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                    reader.GetString(4)));
            }
        }

        var complete = messages.Count <= query.Max;
        if (!complete)
        {
            messages.RemoveAt(messages.Count - 1);
        }

        if (query.FromEnd)
        {
            messages.Reverse();
        }

        var countFilters = filters & ~(Filters.After | Filters.Before);
        await using var count = new NpgsqlCommand(countFilters == Filters.None ? SelectCountSql : CountSql(countFilters), connection);
        BindFilters(count, query, search);
        await count.PrepareAsync(cancellationToken);
        var total = await count.ExecuteScalarAsync(cancellationToken) is long counted ? checked((int)counted) : 0;
        await transaction.CommitAsync(cancellationToken);
        return new ArchivePage(messages, complete, total);
    }

    public async Task<bool> ReplaceXmlAsync(string archive, string id, string xml, CancellationToken cancellationToken = default)
    {
        ArchiveArguments.CheckArchive(archive);
        ArgumentNullException.ThrowIfNull(id);
        UserDataArguments.CheckXml(xml);
        cancellationToken.ThrowIfCancellationRequested();
        if (!ArchiveArguments.TryParseId(id, out var rowId))
        {
            return false;
        }

        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var update = new NpgsqlCommand(ReplaceXmlSql, connection);
        update.Parameters.AddWithValue("xml", xml);
        update.Parameters.AddWithValue("search", SearchOf(archive, xml));
        update.Parameters.AddWithValue("id", rowId);
        update.Parameters.AddWithValue("archive", archive);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<int> DeleteArchiveAsync(string archive, CancellationToken cancellationToken = default)
    {
        ArchiveArguments.CheckArchive(archive);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var delete = new NpgsqlCommand(DeleteArchiveSql, connection);
        delete.Parameters.AddWithValue("archive", archive);
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var delete = new NpgsqlCommand(DeleteOldBatchSql, connection);
        delete.Parameters.AddWithValue("cutoff", cutoff.ToUnixTimeMilliseconds());
        delete.Parameters.AddWithValue("limit", (long)RetentionBatchSize);
        var deleted = 0;
        int batch;
        do
        {
            batch = await delete.ExecuteNonQueryAsync(cancellationToken);
            deleted += batch;
        }
        while (batch == RetentionBatchSize);
        return deleted;
    }

    public async Task<ArchivePreferences?> GetPreferencesAsync(string archive, CancellationToken cancellationToken = default)
    {
        ArchiveArguments.CheckArchive(archive);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(SelectPreferencesSql, connection);
        select.Parameters.AddWithValue("archive", archive);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new ArchivePreferences(reader.GetString(0), reader.GetFieldValue<string[]>(1), reader.GetFieldValue<string[]>(2));
    }

    public async Task SetPreferencesAsync(string archive, ArchivePreferences preferences, CancellationToken cancellationToken = default)
    {
        ArchiveArguments.CheckArchive(archive);
        ArchiveArguments.CheckPreferences(preferences);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var upsert = new NpgsqlCommand(UpsertPreferencesSql, connection);
        upsert.Parameters.AddWithValue("archive", archive);
        upsert.Parameters.AddWithValue("default_mode", preferences.Default);
        upsert.Parameters.AddWithValue("always", NpgsqlDbType.Array | NpgsqlDbType.Text, preferences.Always.ToArray());
        upsert.Parameters.AddWithValue("never", NpgsqlDbType.Array | NpgsqlDbType.Text, preferences.Never.ToArray());
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// A page in (stamp, id) order, forwards or (<paramref name="fromEnd"/>) backwards. After and before are positions
    /// in that order, compared as rows, which is one range of the index.
    /// </summary>
    private static string SelectPageSql(Filters filters, bool fromEnd)
    {
        var sql = new StringBuilder("SELECT id, with_bare, with_resource, stamp, xml FROM archive_messages");
        AppendWhere(sql, filters);
        if (filters.HasFlag(Filters.After))
        {
            sql.Append(" AND (stamp, id) > (@after_stamp, @after_id)");
        }

        if (filters.HasFlag(Filters.Before))
        {
            sql.Append(" AND (stamp, id) < (@before_stamp, @before_id)");
        }

        sql.Append(fromEnd ? " ORDER BY stamp DESC, id DESC" : " ORDER BY stamp, id");
        sql.Append(" LIMIT @limit");
        return sql.ToString();
    }

    private static string CountSql(Filters filters)
    {
        var sql = new StringBuilder("SELECT COUNT(*) FROM archive_messages");
        AppendWhere(sql, filters);
        return sql.ToString();
    }

    private static void AppendWhere(StringBuilder sql, Filters filters)
    {
        sql.Append(" WHERE archive = @archive");
        if (filters.HasFlag(Filters.With))
        {
            sql.Append(" AND with_bare = @with_bare");
        }

        if (filters.HasFlag(Filters.WithResource))
        {
            sql.Append(" AND with_resource = @with_resource");
        }

        if (filters.HasFlag(Filters.Start))
        {
            sql.Append(" AND stamp >= @start");
        }

        if (filters.HasFlag(Filters.End))
        {
            sql.Append(" AND stamp <= @end");
        }

        if (filters.HasFlag(Filters.Ids))
        {
            sql.Append(" AND id = ANY(@ids)");
        }

        if (filters.HasFlag(Filters.FullText))
        {
            sql.Append(" AND search @@ @search::tsquery");
        }
    }

    private static Filters FiltersOf(ArchiveQuery query)
    {
        var filters = Filters.None;
        if (query.With is not null)
        {
            filters |= query.With.Contains('/') ? Filters.With | Filters.WithResource : Filters.With;
        }

        filters |= query.Start is null ? Filters.None : Filters.Start;
        filters |= query.End is null ? Filters.None : Filters.End;
        filters |= query.Ids is null ? Filters.None : Filters.Ids;
        filters |= query.AfterId is null ? Filters.None : Filters.After;
        filters |= query.BeforeId is null ? Filters.None : Filters.Before;
        filters |= string.IsNullOrWhiteSpace(query.FullText) ? Filters.None : Filters.FullText;
        return filters;
    }

    /// <param name="search">The tsquery of the query's full text (<see cref="PostgresSearchText.QueryOf"/>), if it has one.</param>
    private static void BindFilters(NpgsqlCommand command, ArchiveQuery query, string? search)
    {
        command.Parameters.AddWithValue("archive", query.Archive);
        if (query.With is not null)
        {
            var (bare, resource) = ArchiveArguments.SplitJid(query.With);
            command.Parameters.AddWithValue("with_bare", bare);
            if (resource.Length > 0)
            {
                command.Parameters.AddWithValue("with_resource", resource);
            }
        }

        if (query.Start is { } start)
        {
            command.Parameters.AddWithValue("start", start.ToUnixTimeMilliseconds());
        }

        if (query.End is { } end)
        {
            command.Parameters.AddWithValue("end", end.ToUnixTimeMilliseconds());
        }

        if (query.Ids is { } ids)
        {
            command.Parameters.AddWithValue("ids", ParseIds(ids));
        }

        if (search is not null)
        {
            command.Parameters.AddWithValue("search", search);
        }
    }

    private static string SearchOf(string archive, string xml) => PostgresSearchText.VectorOf(archive, ArchiveText.BodyOf(xml));

    /// <summary>
    /// Indexes for search the messages that are not yet (archived before migration 10, or copied from SQLite), in
    /// batches of their own transactions, so an interruption loses nothing done. Nodes that open storage at once index
    /// the same rows to the same value.
    /// </summary>
    /// <param name="progress">Told the number of messages indexed so far after each batch.</param>
    /// <returns>How many messages were indexed.</returns>
    internal static async Task<long> IndexUnsearchedAsync(NpgsqlConnection connection, Action<long>? progress, CancellationToken cancellationToken)
    {
        long indexed = 0;
        var ids = new List<long>(IndexBatchSize);
        var searches = new List<string>(IndexBatchSize);
        while (true)
        {
            ids.Clear();
            searches.Clear();
            await using (var select = new NpgsqlCommand(SelectUnsearchedSql, connection))
            {
                select.Parameters.AddWithValue("limit", (long)IndexBatchSize);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    ids.Add(reader.GetInt64(0));
                    searches.Add(SearchOf(reader.GetString(1), reader.GetString(2)));
                }
            }

            if (ids.Count == 0)
            {
                return indexed;
            }

            await using (var update = new NpgsqlCommand(UpdateSearchSql, connection))
            {
                update.Parameters.AddWithValue("ids", ids.ToArray());
                update.Parameters.AddWithValue("searches", searches.ToArray());
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            indexed += ids.Count;
            progress?.Invoke(indexed);
        }
    }

    /// <summary>The ids as numbers; checked by <see cref="CheckIdsAsync"/> first, so every one parses.</summary>
    private static long[] ParseIds(IReadOnlyList<string> ids)
    {
        var values = new long[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            ArchiveArguments.TryParseId(ids[i], out values[i]);
        }

        return values;
    }

    /// <exception cref="ArchiveItemNotFoundException">One of the ids is not one of this archive's (XEP-0313 §4.1.3).</exception>
    private static async Task CheckIdsAsync(NpgsqlConnection connection, string archive, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        foreach (var id in ids)
        {
            if (!ArchiveArguments.TryParseId(id, out _))
            {
                throw new ArchiveItemNotFoundException(id);
            }
        }

        await using var select = new NpgsqlCommand(SelectMissingIdSql, connection);
        select.Parameters.AddWithValue("archive", archive);
        select.Parameters.AddWithValue("ids", ParseIds(ids));
        if (await select.ExecuteScalarAsync(cancellationToken) is long missing)
        {
            throw new ArchiveItemNotFoundException(ArchiveArguments.FormatId(missing));
        }
    }

    /// <exception cref="ArchiveItemNotFoundException">The id is not one of this archive's.</exception>
    private static async Task<(long Stamp, long Id)?> PositionOfAsync(NpgsqlConnection connection, string archive, string id, CancellationToken cancellationToken)
    {
        if (!ArchiveArguments.TryParseId(id, out var value))
        {
            throw new ArchiveItemNotFoundException(id);
        }

        await using var select = new NpgsqlCommand(SelectPositionSql, connection);
        select.Parameters.AddWithValue("id", value);
        select.Parameters.AddWithValue("archive", archive);
        var stamp = await select.ExecuteScalarAsync(cancellationToken);
        return stamp is long found ? (found, value) : throw new ArchiveItemNotFoundException(id);
    }
}
