using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Xml;

namespace Parley.Storage.Sqlite;

/// <summary>
/// Archives in one table, read in (stamp, id) order through the index that matches the query's filters
/// (see migration 3). <see cref="ArchivePage.Count"/> counts every message that matches the filters (with, start,
/// end, ids, full text), wherever the page is: RSM's size of the whole result set, which the after/before ids only page
/// through. Full-text search goes through the FTS5 table archive_search (migration 9). Appends reach these tables
/// through archive_pending (<see cref="SqliteArchiveWriter"/>): whatever reads or changes committed messages moves
/// the pending ones first.
/// </summary>
internal sealed class SqliteArchiveStore(SqliteStorage storage) : IArchiveStore
{
    // Small enough that each batch holds the write lock only briefly, so the node keeps archiving during retention.
    private const int RetentionBatchSize = 5000;

    internal const string InsertSearchSql = "INSERT INTO archive_search (rowid, body) VALUES ($id, $body)";
    internal const string DeleteSearchSql = "DELETE FROM archive_search WHERE rowid = $id";

    internal const string SelectCountSql = "SELECT messages FROM archive_counts WHERE archive = $archive";
    internal const string SelectPositionSql = "SELECT stamp FROM archive_messages WHERE id = $id AND archive = $archive";
    internal const string SelectMissingIdSql = """
        SELECT requested.value FROM json_each($ids) AS requested
        WHERE NOT EXISTS (SELECT 1 FROM archive_messages WHERE id = requested.value AND archive = $archive)
        LIMIT 1
        """;

    internal const string ReplaceXmlSql = "UPDATE archive_messages SET xml = $xml WHERE id = $id AND archive = $archive";

    internal const string DeleteArchiveSql = "DELETE FROM archive_messages WHERE archive = $archive";
    internal const string DeleteOldBatchSql = """
        DELETE FROM archive_messages WHERE id IN (
            SELECT id FROM archive_messages WHERE stamp < $cutoff LIMIT $limit)
        """;

    internal const string SelectPreferencesSql = "SELECT default_mode, always_json, never_json FROM archive_preferences WHERE archive = $archive";
    internal const string UpsertPreferencesSql = """
        INSERT INTO archive_preferences (archive, default_mode, always_json, never_json)
        VALUES ($archive, $default_mode, $always_json, $never_json)
        ON CONFLICT (archive) DO UPDATE SET
            default_mode = excluded.default_mode, always_json = excluded.always_json, never_json = excluded.never_json
        """;

    /// <summary>Which parts a query has; each combination is one SQL text (and one cached statement).</summary>
    [Flags]
    internal enum Filters
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

    /// <summary>What migration 9 calls to index the messages archived before it.</summary>
    internal static void AddMigrationFunctions(SqliteConnection connection) =>
        connection.CreateFunction<string, string, string>("parley_search_text", SearchTextOf, isDeterministic: true);

    private static string SearchTextOf(string archive, string xml) => SqliteSearchText.Of(archive, ArchiveText.BodyOf(xml));

    private readonly SqliteArchiveWriter _writer = new(storage, SqliteSearchText.Of);

    /// <summary>Appends are committed in groups (<see cref="ArchiveAppendQueue"/>), as a busy server needs.</summary>
    public Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, string xml, CancellationToken cancellationToken = default)
        => _writer.AppendAsync(archive, with, stamp, xml, ArchiveText.BodyOf(xml), cancellationToken);

    public Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, Element message, CancellationToken cancellationToken = default)
        => _writer.AppendAsync(archive, with, stamp, message.ToXml(XmlNamespaces.Client), ArchiveText.BodyOf(message), cancellationToken);

    /// <summary>Moves the appends committed to archive_pending into the archive, for a caller about to change it.</summary>
    internal Task MovePendingAsync(SqliteConnection connection, CancellationToken cancellationToken) => _writer.MovePendingAsync(connection, cancellationToken);

    /// <summary>Closes the writer's connection once the batch it may be writing is committed; later appends fail.</summary>
    internal Task CloseWriterAsync() => _writer.CloseAsync();

    public async Task<ArchivePage> QueryAsync(ArchiveQuery query, CancellationToken cancellationToken = default)
    {
        ArchiveArguments.CheckQuery(query);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await _writer.MovePendingAsync(connection, cancellationToken);
        // One read transaction: the count and the page see the same snapshot.
        using var transaction = connection.BeginTransaction(deferred: true);
        var after = query.AfterId is null ? null : await PositionOfAsync(connection, transaction, query.Archive, query.AfterId, cancellationToken);
        var before = query.BeforeId is null ? null : await PositionOfAsync(connection, transaction, query.Archive, query.BeforeId, cancellationToken);

        if (query.Ids is { } ids)
        {
            await CheckIdsAsync(connection, transaction, query.Archive, ids, cancellationToken);
        }

        var filters = FiltersOf(query);
        string? match = null;
        if (filters.HasFlag(Filters.FullText))
        {
            match = SqliteSearchText.MatchOf(query.Archive, query.FullText!);
            if (match is null)
            {
                // Nothing to search for (only punctuation): no message has that text.
                return new ArchivePage([], Complete: true, Count: 0);
            }
        }

        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = SelectPageSql(filters, query.FromEnd);
        BindFilters(select, query, match);
        if (after is { } afterPosition)
        {
            select.Parameters.AddWithValue("$after_stamp", afterPosition.Stamp);
            select.Parameters.AddWithValue("$after_id", afterPosition.Id);
        }

        if (before is { } beforePosition)
        {
            select.Parameters.AddWithValue("$before_stamp", beforePosition.Stamp);
            select.Parameters.AddWithValue("$before_id", beforePosition.Id);
        }

        // One more than asked for tells whether the page is the last one in its direction.
        select.Parameters.AddWithValue("$limit", (long)query.Max + 1);
        var messages = new List<ArchivedMessage>(Math.Min(query.Max + 1, 256));
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
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

        using var count = connection.CreateCommand();
        count.Transaction = transaction;
        var countFilters = filters & ~(Filters.After | Filters.Before);
        count.CommandText = countFilters == Filters.None ? SelectCountSql : CountSql(countFilters);
        BindFilters(count, query, match);
        var total = await count.ExecuteScalarAsync(cancellationToken) is long counted ? checked((int)counted) : 0;
        transaction.Commit();
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

        // A retracted or moderated message must no longer be found by the words it had.
        var searchText = SearchTextOf(archive, xml);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await _writer.MovePendingAsync(connection, cancellationToken);
        using var transaction = connection.BeginTransaction();
        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = ReplaceXmlSql;
        update.Parameters.AddWithValue("$xml", xml);
        update.Parameters.AddWithValue("$id", rowId);
        update.Parameters.AddWithValue("$archive", archive);
        if (await update.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            return false;
        }

        using var reindex = connection.CreateCommand();
        reindex.Transaction = transaction;
        reindex.CommandText = searchText.Length > 0 ? DeleteSearchSql + ";" + InsertSearchSql : DeleteSearchSql;
        reindex.Parameters.AddWithValue("$id", rowId);
        if (searchText.Length > 0)
        {
            reindex.Parameters.AddWithValue("$body", searchText);
        }

        await reindex.ExecuteNonQueryAsync(cancellationToken);
        transaction.Commit();
        return true;
    }

    public async Task<int> DeleteArchiveAsync(string archive, CancellationToken cancellationToken = default)
    {
        ArchiveArguments.CheckArchive(archive);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await _writer.MovePendingAsync(connection, cancellationToken);
        using var delete = connection.CreateCommand();
        delete.CommandText = DeleteArchiveSql;
        delete.Parameters.AddWithValue("$archive", archive);
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await _writer.MovePendingAsync(connection, cancellationToken);
        using var delete = connection.CreateCommand();
        delete.CommandText = DeleteOldBatchSql;
        delete.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
        delete.Parameters.AddWithValue("$limit", RetentionBatchSize);
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
        using var select = connection.CreateCommand();
        select.CommandText = SelectPreferencesSql;
        select.Parameters.AddWithValue("$archive", archive);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new ArchivePreferences(
            reader.GetString(0),
            JsonSerializer.Deserialize<string[]>(reader.GetString(1))!,
            JsonSerializer.Deserialize<string[]>(reader.GetString(2))!);
    }

    public async Task SetPreferencesAsync(string archive, ArchivePreferences preferences, CancellationToken cancellationToken = default)
    {
        ArchiveArguments.CheckArchive(archive);
        ArchiveArguments.CheckPreferences(preferences);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var upsert = connection.CreateCommand();
        upsert.CommandText = UpsertPreferencesSql;
        upsert.Parameters.AddWithValue("$archive", archive);
        upsert.Parameters.AddWithValue("$default_mode", preferences.Default);
        upsert.Parameters.AddWithValue("$always_json", JsonSerializer.Serialize(preferences.Always));
        upsert.Parameters.AddWithValue("$never_json", JsonSerializer.Serialize(preferences.Never));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// A page in (stamp, id) order, forwards or (<paramref name="fromEnd"/>) backwards. After and before are positions
    /// in that order: the "stamp &gt;=" half is the index range, the OR only sorts out messages of the same millisecond.
    /// </summary>
    internal static string SelectPageSql(Filters filters, bool fromEnd)
    {
        var sql = new StringBuilder("SELECT id, with_bare, with_resource, stamp, xml FROM ");
        AppendFromWhere(sql, filters);
        if (filters.HasFlag(Filters.After))
        {
            sql.Append(" AND stamp >= $after_stamp AND (stamp > $after_stamp OR id > $after_id)");
        }

        if (filters.HasFlag(Filters.Before))
        {
            sql.Append(" AND stamp <= $before_stamp AND (stamp < $before_stamp OR id < $before_id)");
        }

        sql.Append(fromEnd ? " ORDER BY stamp DESC, id DESC" : " ORDER BY stamp, id");
        sql.Append(" LIMIT $limit");
        return sql.ToString();
    }

    internal static string CountSql(Filters filters)
    {
        var sql = new StringBuilder("SELECT COUNT(*) FROM ");
        AppendFromWhere(sql, filters);
        return sql.ToString();
    }

    /// <summary>
    /// The index is named rather than left to the planner: without statistics SQLite would rather range over stamps
    /// than look up a peer, and would walk a whole archive in order instead of fetching a few ids (or the messages a
    /// search found) by key.
    /// </summary>
    private static void AppendFromWhere(StringBuilder sql, Filters filters)
    {
        sql.Append(
            (filters & (Filters.Ids | Filters.FullText)) != 0 ? "archive_messages NOT INDEXED"
            : filters.HasFlag(Filters.With) ? "archive_messages INDEXED BY archive_messages_by_with"
            : "archive_messages INDEXED BY archive_messages_by_stamp");
        sql.Append(" WHERE archive = $archive");
        if (filters.HasFlag(Filters.With))
        {
            sql.Append(" AND with_bare = $with_bare");
        }

        if (filters.HasFlag(Filters.WithResource))
        {
            sql.Append(" AND with_resource = $with_resource");
        }

        if (filters.HasFlag(Filters.Start))
        {
            sql.Append(" AND stamp >= $start");
        }

        if (filters.HasFlag(Filters.End))
        {
            sql.Append(" AND stamp <= $end");
        }

        if (filters.HasFlag(Filters.Ids))
        {
            // Ids are bound into a JSON array: one SQL text, whatever their number.
            sql.Append(" AND id IN (SELECT value FROM json_each($ids))");
        }

        if (filters.HasFlag(Filters.FullText))
        {
            sql.Append(" AND id IN (SELECT rowid FROM archive_search WHERE archive_search MATCH $match)");
        }
    }

    private static Filters FiltersOf(ArchiveQuery query)
    {
        var filters = Filters.None;
        if (query.With is not null)
        {
            filters |= query.With.Contains('/') ? Filters.With | Filters.WithResource : Filters.With;
        }

        if (query.Start is not null)
        {
            filters |= Filters.Start;
        }

        if (query.End is not null)
        {
            filters |= Filters.End;
        }

        if (query.Ids is not null)
        {
            filters |= Filters.Ids;
        }

        if (query.AfterId is not null)
        {
            filters |= Filters.After;
        }

        if (query.BeforeId is not null)
        {
            filters |= Filters.Before;
        }

        if (!string.IsNullOrWhiteSpace(query.FullText))
        {
            filters |= Filters.FullText;
        }

        return filters;
    }

    private static void BindFilters(SqliteCommand command, ArchiveQuery query, string? match)
    {
        command.Parameters.AddWithValue("$archive", query.Archive);
        if (query.With is not null)
        {
            var (bare, resource) = ArchiveArguments.SplitJid(query.With);
            command.Parameters.AddWithValue("$with_bare", bare);
            if (resource.Length > 0)
            {
                command.Parameters.AddWithValue("$with_resource", resource);
            }
        }

        if (query.Start is { } start)
        {
            command.Parameters.AddWithValue("$start", start.ToUnixTimeMilliseconds());
        }

        if (query.End is { } end)
        {
            command.Parameters.AddWithValue("$end", end.ToUnixTimeMilliseconds());
        }

        if (query.Ids is { } ids)
        {
            command.Parameters.AddWithValue("$ids", IdsJson(ids));
        }

        if (match is not null)
        {
            command.Parameters.AddWithValue("$match", match);
        }
    }

    /// <summary>The ids as a JSON array of numbers; checked by <see cref="CheckIdsAsync"/> first, so every one parses.</summary>
    private static string IdsJson(IReadOnlyList<string> ids)
    {
        var values = new long[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            ArchiveArguments.TryParseId(ids[i], out values[i]);
        }

        return JsonSerializer.Serialize(values);
    }

    /// <exception cref="ArchiveItemNotFoundException">One of the ids is not one of this archive's (XEP-0313 §4.1.3).</exception>
    private static async Task CheckIdsAsync(
        SqliteConnection connection, SqliteTransaction transaction, string archive, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        foreach (var id in ids)
        {
            if (!ArchiveArguments.TryParseId(id, out _))
            {
                throw new ArchiveItemNotFoundException(id);
            }
        }

        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = SelectMissingIdSql;
        select.Parameters.AddWithValue("$archive", archive);
        select.Parameters.AddWithValue("$ids", IdsJson(ids));
        if (await select.ExecuteScalarAsync(cancellationToken) is long missing)
        {
            throw new ArchiveItemNotFoundException(ArchiveArguments.FormatId(missing));
        }
    }

    /// <exception cref="ArchiveItemNotFoundException">The id is not one of this archive's.</exception>
    private static async Task<(long Stamp, long Id)?> PositionOfAsync(
        SqliteConnection connection, SqliteTransaction transaction, string archive, string id, CancellationToken cancellationToken)
    {
        if (!ArchiveArguments.TryParseId(id, out var value))
        {
            throw new ArchiveItemNotFoundException(id);
        }

        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = SelectPositionSql;
        select.Parameters.AddWithValue("$id", value);
        select.Parameters.AddWithValue("$archive", archive);
        var stamp = await select.ExecuteScalarAsync(cancellationToken);
        return stamp is long found ? (found, value) : throw new ArchiveItemNotFoundException(id);
    }
}
