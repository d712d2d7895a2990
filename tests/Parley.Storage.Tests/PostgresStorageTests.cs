using Npgsql;
using Parley.Storage.Postgres;
using Parley.Tests.Shared;

namespace Parley.Storage.Tests;

/// <summary>Opening PostgreSQL storage: migrations under the advisory lock, and every way opening can fail, said plainly.</summary>
public sealed class PostgresStorageTests
{
    private static readonly PostgresMigration FirstTestMigration = new(1, "first", "CREATE TABLE first (id integer PRIMARY KEY)");
    private static readonly PostgresMigration SecondTestMigration = new(2, "second", "CREATE TABLE second (id integer PRIMARY KEY)");

    [Fact]
    public async Task A_new_database_gets_every_migration_once_and_reopening_keeps_its_data()
    {
        var connectionString = await NewDatabaseAsync();
        await using (var first = await PostgresStorage.OpenAsync(connectionString))
        {
            Assert.True(first.Created);
            Assert.EndsWith($"(schema version {PostgresMigrations.LatestVersion})", first.Description);
            await first.Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        }

        await using var second = await PostgresStorage.OpenAsync(connectionString, StorageOpenMode.ExistingOnly);

        Assert.False(second.Created);
        Assert.True(await second.Accounts.ExistsAsync("alice@example.org"));
        Assert.Equal(
            string.Join(",", PostgresMigrations.All.Select(migration => migration.Version)),
            await ScalarAsync(connectionString, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"));
    }

    [Fact]
    public async Task No_column_could_hold_a_password()
    {
        var connectionString = await NewDatabaseAsync();
        await (await PostgresStorage.OpenAsync(connectionString)).DisposeAsync();

        var accountColumns = await ScalarAsync(connectionString,
            "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'accounts'");
        var suspicious = await ScalarAsync(connectionString,
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND (column_name ILIKE '%pass%' OR column_name ILIKE '%secret%')");

        Assert.Equal(
            "jid text, domain text, created_at bigint, sha1_salt bytea, sha1_iterations integer, sha1_stored_key bytea, sha1_server_key bytea, " +
            "sha256_salt bytea, sha256_iterations integer, sha256_stored_key bytea, sha256_server_key bytea, disabled boolean, " +
            "display_name text, display_name_folded text",
            accountColumns);
        Assert.Equal(0L, suspicious);
    }

    [Fact]
    public async Task Nodes_starting_at_once_on_an_empty_database_migrate_it_once()
    {
        var connectionString = await NewDatabaseAsync();

        var opened = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => PostgresStorage.OpenAsync(connectionString))));

        try
        {
            Assert.All(opened, storage => Assert.EndsWith($"(schema version {PostgresMigrations.LatestVersion})", storage.Description));
            Assert.Equal((long)PostgresMigrations.All.Count, await ScalarAsync(connectionString, "SELECT COUNT(*) FROM schema_migrations"));
            await opened[0].Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
            Assert.True(await opened[3].Accounts.ExistsAsync("alice@example.org"));
        }
        finally
        {
            foreach (var storage in opened)
            {
                await storage.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_later_build_applies_only_its_new_migrations()
    {
        var connectionString = await NewDatabaseAsync();
        await (await PostgresStorage.OpenAsync(connectionString, [FirstTestMigration], StorageOpenMode.CreateIfMissing, CancellationToken.None)).DisposeAsync();

        await using var upgraded = await PostgresStorage.OpenAsync(connectionString, [FirstTestMigration, SecondTestMigration], StorageOpenMode.CreateIfMissing, CancellationToken.None);

        Assert.EndsWith("(schema version 2)", upgraded.Description);
        Assert.Equal("1,2", await ScalarAsync(connectionString, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"));
        Assert.Equal(true, await ScalarAsync(connectionString, "SELECT to_regclass('second') IS NOT NULL"));
    }

    [Fact]
    public async Task Archives_counted_before_counts_were_kept_per_statement_keep_their_counts_and_are_counted_on()
    {
        var connectionString = await NewDatabaseAsync();
        var stamp = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var beforeCountsPerStatement = PostgresMigrations.All.Where(migration => migration.Version < 13).ToArray();
        await using (var older = await PostgresStorage.OpenAsync(connectionString, beforeCountsPerStatement, StorageOpenMode.CreateIfMissing, CancellationToken.None))
        {
            await Task.WhenAll(Enumerable.Range(0, 30).Select(i => older.Archive.AppendAsync(i % 3 == 0 ? "alice@example.org" : "bob@example.org", "carol@example.org", stamp.AddSeconds(i), "<message/>")));
        }

        await using var upgraded = await PostgresStorage.OpenAsync(connectionString);
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => upgraded.Archive.AppendAsync("alice@example.org", "carol@example.org", stamp.AddMinutes(1).AddSeconds(i), "<message/>")));
        await upgraded.Archive.DeleteOlderThanAsync(stamp.AddSeconds(15));

        // Alice had 10 (stamps 0, 3, …, 27), gained 6 and lost the 5 before 15 s; Bob had 20 and lost the 10 before it.
        Assert.Equal(11, (await upgraded.Archive.QueryAsync(new ArchiveQuery("alice@example.org", Max: 1))).Count);
        Assert.Equal(10, (await upgraded.Archive.QueryAsync(new ArchiveQuery("bob@example.org", Max: 1))).Count);
        Assert.Equal(21L, await ScalarAsync(connectionString, "SELECT sum(messages)::bigint FROM archive_counts"));
    }

    [Fact]
    public async Task A_migration_numbered_below_the_latest_that_the_database_lacks_is_applied_once()
    {
        var third = new PostgresMigration(3, "third", "CREATE TABLE third (id integer PRIMARY KEY)");
        var connectionString = await NewDatabaseAsync();
        await (await PostgresStorage.OpenAsync(connectionString, [FirstTestMigration, third], StorageOpenMode.CreateIfMissing, CancellationToken.None)).DisposeAsync();

        await (await PostgresStorage.OpenAsync(connectionString, [FirstTestMigration, SecondTestMigration, third], StorageOpenMode.CreateIfMissing, CancellationToken.None)).DisposeAsync();
        await using var reopened = await PostgresStorage.OpenAsync(connectionString, [FirstTestMigration, SecondTestMigration, third], StorageOpenMode.CreateIfMissing, CancellationToken.None);

        Assert.EndsWith("(schema version 3)", reopened.Description);
        Assert.Equal("1,2,3", await ScalarAsync(connectionString, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"));
        Assert.Equal(true, await ScalarAsync(connectionString, "SELECT to_regclass('second') IS NOT NULL"));
    }

    [Fact]
    public async Task A_database_migrated_by_a_newer_Parley_is_refused_and_left_unchanged()
    {
        var connectionString = await NewDatabaseAsync();
        await (await PostgresStorage.OpenAsync(connectionString, [FirstTestMigration, SecondTestMigration], StorageOpenMode.CreateIfMissing, CancellationToken.None)).DisposeAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => PostgresStorage.OpenAsync(connectionString, [FirstTestMigration], StorageOpenMode.CreateIfMissing, CancellationToken.None));

        Assert.Contains("has schema version 2, but this build of Parley knows schema versions up to 1", error.Message);
        Assert.Contains("A newer Parley has upgraded it", error.Message);
        Assert.Equal(2L, await ScalarAsync(connectionString, "SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task Another_applications_database_is_refused_and_left_unchanged()
    {
        var connectionString = await NewDatabaseAsync();
        await ScalarAsync(connectionString, "CREATE TABLE invoices (id integer)");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresStorage.OpenAsync(connectionString));

        Assert.Contains("has tables but no schema_migrations table: it is not a Parley database", error.Message);
        Assert.Equal(false, await ScalarAsync(connectionString, "SELECT to_regclass('schema_migrations') IS NOT NULL"));
    }

    [Fact]
    public async Task Opening_existing_only_a_database_without_Parley_schema_is_not_found_and_creates_nothing()
    {
        var connectionString = await NewDatabaseAsync();

        var error = await Assert.ThrowsAsync<StorageNotFoundException>(() => PostgresStorage.OpenAsync(connectionString, StorageOpenMode.ExistingOnly));

        Assert.Contains("database 'storage_", error.Location);
        Assert.Equal(false, await ScalarAsync(connectionString, "SELECT to_regclass('schema_migrations') IS NOT NULL"));
    }

    [Fact]
    public async Task The_hot_queries_are_prepared_once_on_a_pooled_connection_and_reused()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(await NewDatabaseAsync()) { MaxPoolSize = 1 }.ConnectionString;
        await using var storage = await PostgresStorage.OpenAsync(connectionString);
        await storage.Accounts.CreateAsync("alice@example.org", TestCredentials.Random());

        // Twice: the second round runs on the statements the first prepared, rather than preparing them again.
        for (var round = 1; round <= 2; round++)
        {
            Assert.NotNull(await storage.Accounts.GetCredentialsAsync("alice@example.org"));
            Assert.Empty((await storage.Rosters.GetAsync("alice@example.org")).Items);
            await storage.Archive.AppendAsync("alice@example.org", "bob@example.org/phone", DateTimeOffset.UnixEpoch, "<message><body>hi</body></message>");
            Assert.Equal(round, (await storage.Archive.QueryAsync(new ArchiveQuery("alice@example.org"))).Count);
        }

        // The pool holds one connection, so every query above ran on this one: its session's prepared statements.
        var prepared = new List<string>();
        await using (var connection = await storage.OpenConnectionAsync(CancellationToken.None))
        await using (var select = new NpgsqlCommand("SELECT statement FROM pg_prepared_statements", connection))
        await using (var reader = await select.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                prepared.Add(reader.GetString(0));
            }
        }

        string[] hot =
        [
            "FROM accounts WHERE jid = $1",
            "SELECT version FROM roster_versions WHERE user_jid = $1",
            "FROM roster_items WHERE user_jid = $1 ORDER BY contact",
            "SELECT nextval(pg_get_serial_sequence('archive_messages', 'id'))",
            "INSERT INTO archive_messages",
            "SELECT id, with_bare, with_resource, stamp, xml FROM archive_messages",
            "SELECT messages FROM archive_counts WHERE archive = $1",
        ];
        foreach (var query in hot)
        {
            Assert.True(prepared.Count(statement => statement.Contains(query, StringComparison.Ordinal)) == 1,
                $"'{query}' prepared {prepared.Count(statement => statement.Contains(query, StringComparison.Ordinal))} times among:\n{string.Join("\n", prepared)}");
        }
    }

    [Fact]
    public async Task A_wrong_password_is_refused_naming_the_user()
    {
        var cluster = await PostgresCluster.Shared;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresStorage.OpenAsync(cluster.ConnectionString("postgres", password: "wrong")));

        Assert.Contains($"PostgreSQL on 127.0.0.1:{cluster.Port} refused user 'postgres'", error.Message);
        Assert.Contains("password authentication failed", error.Message);
    }

    [Fact]
    public async Task An_unknown_database_is_refused_naming_it()
    {
        var cluster = await PostgresCluster.Shared;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresStorage.OpenAsync(cluster.ConnectionString("no_such_db")));

        Assert.StartsWith($"PostgreSQL on 127.0.0.1:{cluster.Port} has no database 'no_such_db'.", error.Message);
    }

    [Fact]
    public async Task A_server_that_is_not_there_is_unavailable_rather_than_wrong()
    {
        var cluster = await PostgresCluster.Shared;
        var closedPort = new NpgsqlConnectionStringBuilder(cluster.ConnectionString("postgres")) { Port = ClosedPort() }.ConnectionString;

        var error = await Assert.ThrowsAsync<StorageUnavailableException>(() => PostgresStorage.OpenAsync(closedPort));

        Assert.StartsWith("cannot reach PostgreSQL database 'postgres' on 127.0.0.1:", error.Message);
    }

    [Fact]
    public async Task The_password_may_come_from_PGPASSWORD()
    {
        var connectionString = await NewDatabaseAsync();
        var withoutPassword = new NpgsqlConnectionStringBuilder(connectionString) { Password = null }.ConnectionString;
        Environment.SetEnvironmentVariable(PostgresStorage.PasswordVariable, PostgresCluster.Password);
        try
        {
            await using var storage = await PostgresStorage.OpenAsync(withoutPassword);
            Assert.DoesNotContain(PostgresCluster.Password, storage.Description);
        }
        finally
        {
            Environment.SetEnvironmentVariable(PostgresStorage.PasswordVariable, null);
        }
    }

    private static async Task<string> NewDatabaseAsync() => await (await PostgresCluster.Shared).CreateDatabaseAsync("storage");

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
