using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

public sealed class SqliteArchiveSearchTests : ArchiveSearchContract, IDisposable
{
    private readonly TempDatabase _database = new();

    protected override async Task<IParleyStorage> OpenStorageAsync() => await SqliteStorage.OpenAsync(_database.Path);

    // xunit runs this after IAsyncLifetime.DisposeAsync has closed the storage.
    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task The_index_holds_a_row_for_each_message_with_a_body_and_loses_it_with_the_message()
    {
        var t0 = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        await Storage.Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", t0.AddDays(-9), "<message><body>old</body></message>");
        await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", t0, "<message><body>new</body></message>");
        await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", t0, "<message><active xmlns='http://jabber.org/protocol/chatstates'/></message>");
        await Storage.Archive.AppendAsync("room@conference.example.org", "room@conference.example.org/bob", t0, "<message><body>room</body></message>");
        await Storage.Archive.AppendAsync("carol@example.org", "bob@example.org", t0, "<message><body>carol</body></message>");
        // Appends wait in archive_pending until the writer moves them into the archive and its index; a read moves them.
        await Storage.Archive.QueryAsync(new ArchiveQuery("carol@example.org"));
        Assert.Equal(4, IndexRows());

        await Storage.Archive.DeleteOlderThanAsync(t0.AddDays(-1));
        Assert.Equal(3, IndexRows());
        await Storage.Accounts.DeleteAsync("alice@example.org", AccountReferences.None);
        Assert.Equal(2, IndexRows());
        await Storage.Archive.DeleteArchiveAsync("room@conference.example.org");
        Assert.Equal(1, IndexRows());
    }

    [Theory]
    [InlineData("Cafe\u0301 au lait", "café")]
    [InlineData("café au lait", "Cafe\u0301")]
    [InlineData("Ｆｕｌｌｗｉｄｔｈ text", "ｆｕｌｌｗｉｄｔｈ")]
    [InlineData("naïve 𝒳-ray", "NAIVE 𝒳")]
    public async Task Words_are_split_and_folded_as_sqlite_does_whether_stored_or_searched(string body, string search)
    {
        var t0 = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var id = await Storage.Archive.AppendAsync("alice@example.org", "bob@example.org", t0, $"<message><body>{body}</body></message>");

        var page = await Storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org", FullText: search));

        Assert.Equal(id, Assert.Single(page.Messages).Id);
    }

    private long IndexRows()
    {
        using var connection = _database.OpenRawConnection();
        return (long)connection.Scalar("SELECT COUNT(*) FROM archive_search")!;
    }
}
