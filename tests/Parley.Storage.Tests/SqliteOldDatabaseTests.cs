using Parley.Protocol.Sasl;
using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

/// <summary>
/// A database written by the Parley that ran on SQLite 3.35 (Microsoft.Data.Sqlite 6.0.7) opens with this build,
/// migrates forward and keeps every row (see Fixtures/README.md).
/// </summary>
public sealed class SqliteOldDatabaseTests : IDisposable
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_000);

    private readonly TempDatabase _database = new();

    public SqliteOldDatabaseTests() =>
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "parley-schema7-sqlite-3.35.db"), _database.Path);

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task A_database_made_by_sqlite_3_35_opens_migrates_and_keeps_its_data()
    {
        await using var storage = await SqliteStorage.OpenAsync(_database.Path, StorageOpenMode.ExistingOnly);

        Assert.False(storage.Created);
        Assert.EndsWith($"(schema version {SqliteMigrations.LatestVersion})", storage.Description);
        TestCredentials.AssertSame(FixtureCredentials(), await storage.Accounts.GetCredentialsAsync("alice@example.org"));
        Assert.Equal(2, await storage.Accounts.CountAsync(null));

        var roster = await storage.Rosters.GetAsync("alice@example.org");
        var bob = Assert.Single(roster.Items);
        Assert.Equal(("bob@example.org", "Bob", Subscription.Both), (bob.Contact, bob.Name, bob.Subscription));
        Assert.Equal(["Friends", "Ünïcode"], bob.Groups);
        Assert.Equal("carol@example.org", Assert.Single(await storage.Rosters.GetPendingAsync("bob@example.org")).Contact);
        Assert.Contains("while you were away", Assert.Single(await storage.Offline.GetAsync("bob@example.org")).Xml);
        Assert.Equal(["spam@example.net"], await storage.Blocklists.GetAsync("alice@example.org"));
        Assert.Contains("<FN>Alice</FN>", (await storage.Documents.GetAsync("alice@example.org", "vcard", ""))!.Xml);

        var archive = await storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org"));
        Assert.Equal(4, archive.Count);
        Assert.Equal(["0000000000000001", "0000000000000002", "0000000000000003", "0000000000000004"], archive.Messages.Select(m => m.Id));
        Assert.Equal(T0.AddMinutes(1), archive.Messages[1].Stamp);
        Assert.Equal("bob@example.org/laptop", archive.Messages[1].With);
        Assert.Contains("Die Grüße aus München", archive.Messages[1].Xml);
        Assert.Contains("🍜", archive.Messages[0].Xml);
        Assert.Equal("roster", (await storage.Archive.GetPreferencesAsync("alice@example.org"))!.Default);
        Assert.Single((await storage.Archive.QueryAsync(new ArchiveQuery("team@conference.example.org"))).Messages);

        Assert.Equal("Kickoff", (await storage.Rooms.GetAsync("team@conference.example.org"))!.Subject);
        Assert.Equal("owner", Assert.Single(await storage.Rooms.GetAffiliationsAsync("team@conference.example.org")).Affiliation);
        Assert.Equal("avatar1", Assert.Single(await storage.Pep.GetItemsAsync("alice@example.org", "urn:xmpp:avatar:metadata", 10)).Id);
        Assert.Equal("dave@example.org", Assert.Single(await storage.Notices.ReadAfterAsync(0, 10)).Subject);
    }

    [Fact]
    public async Task Messages_archived_before_the_upgrade_are_found_by_full_text_search()
    {
        await using var storage = await SqliteStorage.OpenAsync(_database.Path, StorageOpenMode.ExistingOnly);

        var found = await storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org", FullText: "munchen"));
        Assert.Equal("0000000000000002", Assert.Single(found.Messages).Id);
        Assert.Equal("0000000000000004", Assert.Single((await storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org", FullText: "\"quoted\""))).Messages).Id);
        Assert.Single((await storage.Archive.QueryAsync(new ArchiveQuery("team@conference.example.org", FullText: "kickoff"))).Messages);
        Assert.Empty((await storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org", FullText: "kickoff"))).Messages);
    }

    [Fact]
    public async Task New_rows_continue_the_old_ids()
    {
        await using var storage = await SqliteStorage.OpenAsync(_database.Path, StorageOpenMode.ExistingOnly);

        var id = await storage.Archive.AppendAsync("alice@example.org", "bob@example.org", T0.AddHours(1), "<message xmlns='jabber:client'><body>new</body></message>");

        Assert.Equal("0000000000000006", id);
        Assert.Equal(5, (await storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org"))).Count);
    }

    /// <summary>The fixed bytes the fixture's accounts were created with.</summary>
    private static AccountCredentials FixtureCredentials()
    {
        static byte[] Bytes(int seed, int length) => Enumerable.Range(seed, length).Select(i => (byte)i).ToArray();
        return new AccountCredentials(
            new ScramCredentials(ScramHash.Sha1, Bytes(1, 16), 4096, Bytes(20, 20), Bytes(40, 20)),
            new ScramCredentials(ScramHash.Sha256, Bytes(60, 16), 4096, Bytes(80, 32), Bytes(120, 32)));
    }
}
