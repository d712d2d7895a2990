using Npgsql;
using Parley.Storage.Postgres;
using Parley.Tests.Shared;

namespace Parley.Storage.Tests;

public sealed class PostgresArchiveSearchTests(PostgresDatabase database) : ArchiveSearchContract, IClassFixture<PostgresDatabase>
{
    protected override async Task<IParleyStorage> OpenStorageAsync()
    {
        await database.ResetAsync();
        return await PostgresStorage.OpenAsync(database.ConnectionString);
    }

    [Fact]
    public async Task Messages_archived_before_full_text_search_existed_are_found_after_the_upgrade()
    {
        var connectionString = await (await PostgresCluster.Shared).CreateDatabaseAsync("search_upgrade");
        var before = PostgresMigrations.All.Where(migration => migration.Version < 10).ToList();
        await (await PostgresStorage.OpenAsync(connectionString, before, StorageOpenMode.CreateIfMissing, CancellationToken.None)).DisposeAsync();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand("""
                INSERT INTO archive_messages (archive, with_bare, with_resource, stamp, xml)
                SELECT 'alice@example.org', 'bob@example.org', '', n, '<message xmlns="jabber:client"><body>old message ' || n || '</body></message>'
                FROM generate_series(1, 2500) AS n
                """, connection);
            await insert.ExecuteNonQueryAsync();
        }

        await using var upgraded = await PostgresStorage.OpenAsync(connectionString);

        var page = await upgraded.Archive.QueryAsync(new ArchiveQuery("alice@example.org", Max: 10, FullText: "OLD 1234"));
        Assert.Equal("<message xmlns=\"jabber:client\"><body>old message 1234</body></message>", Assert.Single(page.Messages).Xml);
        Assert.Equal(2500, (await upgraded.Archive.QueryAsync(new ArchiveQuery("alice@example.org", Max: 0, FullText: "message"))).Count);
    }
}
