using Microsoft.Data.Sqlite;
using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

public sealed class SqliteMigrationTests : IDisposable
{
    private static readonly SqliteMigration FirstTestMigration = new(1, "first", "CREATE TABLE first (id INTEGER PRIMARY KEY)");
    private static readonly SqliteMigration SecondTestMigration = new(2, "second", "CREATE TABLE second (id INTEGER PRIMARY KEY)");

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task A_new_database_gets_every_migration_once()
    {
        await (await SqliteStorage.OpenAsync(_database.Path)).DisposeAsync();

        using var connection = _database.OpenRawConnection();
        Assert.Equal(
            Enumerable.Range(1, SqliteMigrations.LatestVersion).Select(v => v.ToString()),
            connection.Rows("SELECT version FROM schema_migrations ORDER BY version"));
    }

    [Fact]
    public async Task Reopening_a_database_does_not_apply_migrations_again_and_keeps_its_data()
    {
        await using (var first = await SqliteStorage.OpenAsync(_database.Path))
        {
            await first.Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        }

        List<string> migrationsBefore;
        using (var connection = _database.OpenRawConnection())
        {
            migrationsBefore = connection.Rows("SELECT version, applied_at FROM schema_migrations ORDER BY version");
        }

        await using (var second = await SqliteStorage.OpenAsync(_database.Path))
        {
            Assert.True(await second.Accounts.ExistsAsync("alice@example.org"));
        }

        using (var connection = _database.OpenRawConnection())
        {
            Assert.Equal(migrationsBefore, connection.Rows("SELECT version, applied_at FROM schema_migrations ORDER BY version"));
        }
    }

    [Fact]
    public async Task A_schema_1_database_upgrades_to_the_latest_and_keeps_its_accounts()
    {
        var credentials = TestCredentials.Random();
        await using (var schema1 = await SqliteStorage.OpenAsync(_database.Path, SqliteMigrations.All.Take(1).ToArray(), StorageOpenMode.CreateIfMissing, CancellationToken.None))
        {
            await schema1.Accounts.CreateAsync("alice@example.org", credentials);
        }

        await using var upgraded = await SqliteStorage.OpenAsync(_database.Path);

        Assert.EndsWith($"(schema version {SqliteMigrations.LatestVersion})", upgraded.Description);
        TestCredentials.AssertSame(credentials, await upgraded.Accounts.GetCredentialsAsync("alice@example.org"));
        Assert.Equal(1, await upgraded.Rosters.SetItemAsync("alice@example.org", new RosterItem("bob@example.org", null, Subscription.None, false, false, [])));
    }

    [Fact]
    public async Task A_later_build_applies_only_its_new_migrations()
    {
        await (await SqliteStorage.OpenAsync(_database.Path, [FirstTestMigration], StorageOpenMode.CreateIfMissing, CancellationToken.None)).DisposeAsync();

        await using var upgraded = await SqliteStorage.OpenAsync(_database.Path, [FirstTestMigration, SecondTestMigration], StorageOpenMode.CreateIfMissing, CancellationToken.None);

        Assert.EndsWith("(schema version 2)", upgraded.Description);
        using var connection = _database.OpenRawConnection();
        Assert.Equal(["1", "2"], connection.Rows("SELECT version FROM schema_migrations ORDER BY version"));
        Assert.Equal(["first", "second"], connection.Rows("SELECT name FROM sqlite_master WHERE name IN ('first', 'second') ORDER BY name"));
    }

    [Fact]
    public async Task A_database_from_a_newer_build_is_refused_naming_both_versions_and_left_unchanged()
    {
        await (await SqliteStorage.OpenAsync(_database.Path)).DisposeAsync();
        using (var newerBuild = _database.OpenRawConnection())
        {
            newerBuild.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");
        }

        var before = await File.ReadAllBytesAsync(_database.Path);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SqliteStorage.OpenAsync(_database.Path));

        Assert.Equal(
            $"The database {_database.Path} has schema version 99, but this build of Parley knows schema versions up to {SqliteMigrations.LatestVersion}. " +
            "A newer Parley has upgraded it; run that version (or restore a backup). The database was left unchanged.",
            error.Message);
        Assert.Equal(before, await File.ReadAllBytesAsync(_database.Path));
    }

    [Fact]
    public async Task A_migration_that_fails_is_rolled_back_whole_and_named_in_the_error()
    {
        await (await SqliteStorage.OpenAsync(_database.Path, [FirstTestMigration], StorageOpenMode.CreateIfMissing, CancellationToken.None)).DisposeAsync();
        var broken = new SqliteMigration(2, "broken", "CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            SqliteStorage.OpenAsync(_database.Path, [FirstTestMigration, broken], StorageOpenMode.CreateIfMissing, CancellationToken.None));

        Assert.StartsWith($"Schema migration 2 (broken) failed on {_database.Path}: ", error.Message);
        Assert.Contains("no such table: no_such_table", error.Message);
        Assert.EndsWith("The database stays at schema version 1.", error.Message);
        using var connection = _database.OpenRawConnection();
        Assert.Equal(["1"], connection.Rows("SELECT version FROM schema_migrations"));
        Assert.Empty(connection.Rows("SELECT name FROM sqlite_master WHERE name = 'half_done'"));
    }

    [Fact]
    public async Task Migrations_out_of_order_are_refused()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            SqliteStorage.OpenAsync(_database.Path, [SecondTestMigration, FirstTestMigration], StorageOpenMode.CreateIfMissing, CancellationToken.None));

        Assert.Equal("Migration 'second' has version 2; versions must be 1, 2, 3, ... in order.", error.Message);
    }

    [Fact]
    public async Task Concurrent_opens_of_a_new_file_all_succeed_and_apply_the_schema_once()
    {
        // Several rounds, each on a new file, because a race shows up only in some interleavings.
        for (var round = 0; round < 10; round++)
        {
            var path = Path.Combine(_database.Folder, $"round{round}.db");
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var opens = Enumerable.Range(0, 4).Select(async _ =>
            {
                await go.Task;
                return await SqliteStorage.OpenAsync(path);
            }).ToArray();
            go.SetResult();

            var storages = await Task.WhenAll(opens);
            foreach (var storage in storages)
            {
                Assert.EndsWith($"(schema version {SqliteMigrations.LatestVersion})", storage.Description);
                await storage.DisposeAsync();
            }

            using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            connection.Open();
            Assert.Equal(SqliteMigrations.LatestVersion, Convert.ToInt32(connection.Scalar("SELECT COUNT(*) FROM schema_migrations")));
            Assert.Equal("wal", connection.Scalar("PRAGMA journal_mode"));
        }
    }
}
