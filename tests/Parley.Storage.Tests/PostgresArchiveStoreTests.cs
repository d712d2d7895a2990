using Parley.Storage.Postgres;

namespace Parley.Storage.Tests;

public sealed class PostgresArchiveStoreTests(PostgresDatabase database) : ArchiveStoreContract, IClassFixture<PostgresDatabase>
{
    private const int Rounds = 25;

    protected override async Task<IParleyStorage> OpenStorageAsync()
    {
        await database.ResetAsync();
        return await PostgresStorage.OpenAsync(database.ConnectionString);
    }

    [Fact]
    public async Task Two_nodes_archiving_into_the_same_archives_at_once_store_and_count_every_message()
    {
        // Each node's batches touch the same archives in opposite orders: counting them row by row would lock the
        // archives' counts in opposite orders too, and PostgreSQL would abort one of the two batches as a deadlock.
        var archives = Enumerable.Range(0, 40).Select(i => $"user{i:D2}@example.org").ToArray();
        await using var otherNode = await PostgresStorage.OpenAsync(database.ConnectionString);
        var stamp = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

        await Task.WhenAll(
            ArchiveRoundsAsync(Storage.Archive, archives, stamp),
            ArchiveRoundsAsync(otherNode.Archive, archives.Reverse().ToArray(), stamp));
        var deleted = await otherNode.Archive.DeleteArchiveAsync(archives[0]);

        Assert.Equal(2 * Rounds, deleted);
        foreach (var archive in archives[1..])
        {
            var page = await Storage.Archive.QueryAsync(new ArchiveQuery(archive, Max: 1, FromEnd: true));
            Assert.Equal(2 * Rounds, page.Count);
        }

        Assert.Equal(0, (await Storage.Archive.QueryAsync(new ArchiveQuery(archives[0]))).Count);
    }

    private static async Task ArchiveRoundsAsync(IArchiveStore archive, string[] archives, DateTimeOffset stamp)
    {
        for (var round = 0; round < Rounds; round++)
        {
            await Task.WhenAll(archives.Select(owner => archive.AppendAsync(owner, "peer@example.org", stamp.AddSeconds(round), "<message/>")));
        }
    }
}
