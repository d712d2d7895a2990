using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

public sealed class SqliteArchiveStoreTests : ArchiveStoreContract, IDisposable
{
    private const string Message = "<message xmlns='jabber:client' type='chat'><body>hello</body></message>";

    private readonly TempDatabase _database = new();

    protected override async Task<IParleyStorage> OpenStorageAsync() => await SqliteStorage.OpenAsync(_database.Path);

    // xunit runs this after IAsyncLifetime.DisposeAsync has closed the storage.
    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task A_batch_the_database_refuses_fails_its_appends_and_the_next_batch_is_stored()
    {
        await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", DateTimeOffset.UtcNow, Message);
        using (var connection = _database.OpenRawConnection())
        {
            // Whichever table the writer commits a batch to: archive_messages, or archive_pending when appends queue up.
            connection.Execute("""
                CREATE TRIGGER refuse_poison BEFORE INSERT ON archive_messages WHEN NEW.xml LIKE '%poison%'
                BEGIN SELECT RAISE(ABORT, 'poison refused'); END;
                CREATE TRIGGER refuse_pending_poison BEFORE INSERT ON archive_pending WHEN NEW.xml LIKE '%poison%'
                BEGIN SELECT RAISE(ABORT, 'poison refused'); END;
                """);
        }

        var refused = await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => Storage.Archive.AppendAsync(
            "alice@example.org", "bob@example.org", DateTimeOffset.UtcNow, "<message xmlns='jabber:client'><body>poison</body></message>"));
        Assert.Contains("poison refused", refused.Message, StringComparison.Ordinal);
        await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", DateTimeOffset.UtcNow, Message);

        var page = await Storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org"));
        Assert.Equal([Message, Message], page.Messages.Select(m => m.Xml));
    }

    [Fact]
    public async Task Appends_a_crash_left_waiting_for_the_archive_are_in_it_once_storage_opens_again()
    {
        using (var crashed = _database.OpenRawConnection())
        {
            // What the writer of a node that was killed had committed, and not moved into the archive yet.
            LeavePending(crashed, 41, "alice@example.org", "<message xmlns='jabber:client'><body>before the crash</body></message>", "before the crash");
            LeavePending(crashed, 42, "alice@example.org", "<message xmlns='jabber:client'><body>last words</body></message>", "last words");
        }

        await using var reopened = await SqliteStorage.OpenAsync(_database.Path);

        using (var connection = _database.OpenRawConnection())
        {
            Assert.Equal(0L, connection.Scalar("SELECT COUNT(*) FROM archive_pending"));
            Assert.Equal(2L, connection.Scalar("SELECT COUNT(*) FROM archive_messages"));
        }

        var page = await reopened.Archive.QueryAsync(new ArchiveQuery("alice@example.org"));
        Assert.Equal([ArchiveArguments.FormatId(41), ArchiveArguments.FormatId(42)], page.Messages.Select(m => m.Id));
        Assert.Equal(2, page.Count);
        var found = await reopened.Archive.QueryAsync(new ArchiveQuery("alice@example.org", FullText: "words"));
        Assert.Equal([ArchiveArguments.FormatId(42)], found.Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task A_read_takes_in_the_appends_another_process_left_waiting_so_no_committed_message_is_missed()
    {
        var first = await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", DateTimeOffset.UtcNow, Message);
        Assert.True(ArchiveArguments.TryParseId(first, out var firstId));
        using (var other = _database.OpenRawConnection())
        {
            LeavePending(other, firstId + 10, "alice@example.org", "<message xmlns='jabber:client'><body>from elsewhere</body></message>", "from elsewhere");
        }

        var page = await Storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org"));

        Assert.Equal([first, ArchiveArguments.FormatId(firstId + 10)], page.Messages.Select(m => m.Id));
        Assert.Equal(2, page.Count);
        Assert.Single((await Storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org", FullText: "elsewhere"))).Messages);
    }

    [Fact]
    public async Task Ids_go_on_after_messages_put_in_the_archive_without_the_writer()
    {
        // As a benchmark fills an archive in bulk: rows straight into archive_messages, the appends' sequence left behind.
        using (var bulk = _database.OpenRawConnection())
        {
            bulk.Execute("""
                INSERT INTO archive_messages (id, archive, with_bare, with_resource, stamp, xml)
                VALUES (1000, 'alice@example.org', 'bob@example.org', '', 1, '<message xmlns=''jabber:client''><body>bulk</body></message>')
                """);
        }

        var appended = await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", DateTimeOffset.UtcNow, Message);

        Assert.True(ArchiveArguments.TryParseId(appended, out var appendedId) && appendedId > 1000, appended);
        var page = await Storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org"));
        Assert.Equal([ArchiveArguments.FormatId(1000), appended], page.Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task A_burst_of_appends_that_queue_up_is_all_in_the_archive_in_order_counted_and_searchable()
    {
        // More than a batch of PendingFromRows at once: the writer commits them to archive_pending and moves them later.
        var stamp = DateTimeOffset.UtcNow;
        var ids = await Task.WhenAll(Enumerable.Range(0, 1200).Select(i => Storage.Archive.AppendAsync(
            $"user{i % 3}@example.org", "bob@example.org/phone", stamp, $"<message xmlns='jabber:client'><body>burst {i} marmalade</body></message>")));

        Assert.Equal(1200, ids.Distinct().Count());
        var page = await Storage.Archive.QueryAsync(new ArchiveQuery("user1@example.org", Max: 1000));
        Assert.Equal(400, page.Count);
        Assert.Equal(Enumerable.Range(0, 1200).Where(i => i % 3 == 1).Select(i => ids[i]), page.Messages.Select(m => m.Id));
        Assert.Equal(Enumerable.Range(0, 1200).Where(i => i % 3 == 1).Select(i => $"<message xmlns='jabber:client'><body>burst {i} marmalade</body></message>"),
            page.Messages.Select(m => m.Xml));
        var found = await Storage.Archive.QueryAsync(new ArchiveQuery("user2@example.org", FullText: "marmalade", Max: 1));
        Assert.Equal(400, found.Count);
    }

    [Fact]
    public async Task A_read_takes_in_every_pending_append_even_more_than_one_move_holds()
    {
        var pending = SqliteArchiveWriter.MoveChunkRows * 2 + 5;
        using (var other = _database.OpenRawConnection())
        {
            other.Execute($"""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {pending})
                INSERT INTO archive_pending (id, archive, with_bare, with_resource, stamp, xml, search_text)
                SELECT i, 'alice@example.org', 'bob@example.org', '', i, '<message xmlns=''jabber:client''><body>' || i || '</body></message>', ''
                FROM n
                """);
        }

        var page = await Storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org", Max: 1, FromEnd: true));

        Assert.Equal(pending, page.Count);
        Assert.Equal(ArchiveArguments.FormatId(pending), Assert.Single(page.Messages).Id);
        using var connection = _database.OpenRawConnection();
        Assert.Equal(0L, connection.Scalar("SELECT COUNT(*) FROM archive_pending"));
    }

    /// <summary>A row as the archive writer commits it, before it moves it into the archive.</summary>
    private static void LeavePending(Microsoft.Data.Sqlite.SqliteConnection connection, long id, string archive, string xml, string body)
    {
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO archive_pending (id, archive, with_bare, with_resource, stamp, xml, search_text)
            VALUES ($id, $archive, 'bob@example.org', 'phone', $stamp, $xml, $search_text)
            """;
        insert.Parameters.AddWithValue("$id", id);
        insert.Parameters.AddWithValue("$archive", archive);
        insert.Parameters.AddWithValue("$stamp", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$xml", xml);
        insert.Parameters.AddWithValue("$search_text", SqliteSearchText.Of(archive, body));
        insert.ExecuteNonQuery();
    }

    [Fact]
    public async Task Closing_the_storage_closes_the_archive_writer_so_the_log_is_checkpointed_and_later_appends_are_refused()
    {
        await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", DateTimeOffset.UtcNow, Message);
        Assert.True(File.Exists(_database.Path + "-wal"));

        await Storage.DisposeAsync();

        // The last connection to close checkpoints the WAL and removes it; a writer's connection left open would keep it.
        Assert.False(File.Exists(_database.Path + "-wal"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() =>
            Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", DateTimeOffset.UtcNow, Message));
    }
}
