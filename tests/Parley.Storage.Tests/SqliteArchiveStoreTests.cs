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
            connection.Execute("""
                CREATE TRIGGER refuse_poison BEFORE INSERT ON archive_messages WHEN NEW.xml LIKE '%poison%'
                BEGIN SELECT RAISE(ABORT, 'poison refused'); END
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
