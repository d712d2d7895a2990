using Microsoft.Data.Sqlite;
using Npgsql;
using Parley.Storage;
using Parley.Storage.Postgres;
using Parley.Tests.Shared;

namespace Parley.Cli.Tests;

/// <summary><c>parley storage migrate</c>: a node's SQLite data, every kind of it, copied into PostgreSQL with its ids.</summary>
public sealed class StorageMigrateTests : IDisposable
{
    private const string Alice = "alice@example.com";
    private const string Bob = "bob@example.com";
    private const string Room = "team@conference.example.com";

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Everything_a_node_keeps_arrives_in_postgres_with_its_ids_and_credentials()
    {
        var archiveIds = await FillAsync();
        var database = await NewDatabaseAsync();

        var migrate = await MigrateAsync(database);

        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        Assert.Contains(migrate.OutputLines, line => Copied(line, "archive_messages", 3, 3));
        Assert.Contains(migrate.OutputLines, line => line.StartsWith("done: ", StringComparison.Ordinal) && line.Contains("verified in PostgreSQL"));
        await using var sqlite = await _node.OpenStorageAsync();
        await using var postgres = await PostgresStorage.OpenAsync(database, StorageOpenMode.ExistingOnly);

        var before = await sqlite.Accounts.GetCredentialsAsync(Alice);
        var after = await postgres.Accounts.GetCredentialsAsync(Alice);
        Assert.Equal(before!.Sha256.StoredKey, after!.Sha256.StoredKey);
        Assert.Equal(before.Sha256.Salt, after.Sha256.Salt);
        Assert.Equal(before.Sha1.ServerKey, after.Sha1.ServerKey);
        Assert.Equal(await sqlite.Accounts.ListAsync(null, 0, 10), await postgres.Accounts.ListAsync(null, 0, 10));
        Assert.Equal([Alice], (await postgres.Accounts.SearchAsync("ärger", 0, 10)).Select(a => a.Jid));

        var roster = await postgres.Rosters.GetAsync(Alice);
        Assert.Equal((await sqlite.Rosters.GetAsync(Alice)).Version, roster.Version);
        var item = Assert.Single(roster.Items);
        Assert.Equal((Bob, "Bob", Subscription.Both, "Friends,Work"), (item.Contact, item.Name, item.Subscription, string.Join(",", item.Groups)));
        Assert.Equal("<presence type='subscribe'/>", Assert.Single(await postgres.Rosters.GetPendingAsync(Bob)).StanzaXml);
        Assert.Equal(["<message>while you were out</message>"], (await postgres.Offline.GetAsync(Bob)).Select(message => message.Xml));
        Assert.Equal(["mallory@example.net"], await postgres.Blocklists.GetAsync(Alice));
        Assert.Equal("<vCard/>", (await postgres.Documents.GetAsync(Alice, "vcard", ""))?.Xml);

        var page = await postgres.Archive.QueryAsync(new ArchiveQuery(Alice));
        Assert.Equal(archiveIds, page.Messages.Select(message => message.Id));
        Assert.Equal(3, page.Count);
        Assert.Equal("never", (await postgres.Archive.GetPreferencesAsync(Alice))?.Default);

        Assert.Equal("<x/>", (await postgres.Rooms.GetAsync(Room))?.ConfigXml);
        Assert.Equal([new RoomAffiliation(Alice, "owner", "al")], await postgres.Rooms.GetAffiliationsAsync(Room));
        Assert.Equal(["<item id='1'/>"], (await postgres.Pep.GetItemsAsync(Alice, "urn:xmpp:avatar:data", 10)).Select(i => i.Xml));

        Assert.Equal((new ApiToken("monitoring", "0123456789abcdef", true, DateTimeOffset.UnixEpoch), "ab12"), await postgres.ApiTokens.FindAsync("0123456789abcdef"));

        // New messages continue after the copied ids: an id a client holds never comes to mean another message.
        var next = await postgres.Archive.AppendAsync(Alice, Bob, DateTimeOffset.UtcNow, "<message>new</message>");
        Assert.True(string.CompareOrdinal(next, archiveIds[^1]) > 0, $"{next} after {archiveIds[^1]}");
    }

    [Fact]
    public async Task A_target_with_data_is_refused_unless_told_and_running_again_duplicates_nothing()
    {
        await FillAsync();
        var database = await NewDatabaseAsync();
        Assert.Equal(0, (await MigrateAsync(database)).ExitCode);

        var refused = await MigrateAsync(database);
        // As an interrupted copy leaves it: some rows there, others not yet.
        await ExecuteAsync(database, "DELETE FROM archive_messages WHERE id = (SELECT MAX(id) FROM archive_messages); DELETE FROM rooms");
        var again = await MigrateAsync(database, "--into-non-empty");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("already holds data (table accounts has rows). Nothing was copied. Give --into-non-empty", refused.Error);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains(again.OutputLines, line => Copied(line, "archive_messages", 3, 1));
        Assert.Contains(again.OutputLines, line => Copied(line, "accounts", 2, 0));
        await using var postgres = await PostgresStorage.OpenAsync(database, StorageOpenMode.ExistingOnly);
        Assert.Equal(3, (await postgres.Archive.QueryAsync(new ArchiveQuery(Alice))).Count);
        Assert.NotNull(await postgres.Rooms.GetAsync(Room));
        Assert.Equal(2, await postgres.Accounts.CountAsync(null));
    }

    [Fact]
    public async Task A_table_whose_rows_do_not_all_arrive_fails_the_verification_naming_it_and_the_source_is_left_as_it_was()
    {
        await FillAsync();
        var database = await NewDatabaseAsync();
        await (await PostgresStorage.OpenAsync(database)).DisposeAsync();
        // A target that silently drops rows, as a misconfigured rule or trigger of its administrator's could.
        await ExecuteAsync(database, """
            CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
            CREATE TRIGGER drop_blocked BEFORE INSERT ON blocklist FOR EACH ROW EXECUTE FUNCTION drop_row();
            """);

        var migrate = await MigrateAsync(database);

        Assert.Equal(1, migrate.ExitCode);
        Assert.Contains("verification failed: blocklist has 0 rows in PostgreSQL but 1 in SQLite", migrate.Error);
        Assert.DoesNotContain(migrate.OutputLines, line => line.StartsWith("done: ", StringComparison.Ordinal));
        await using var sqlite = await _node.OpenStorageAsync();
        Assert.Equal(["mallory@example.net"], await sqlite.Blocklists.GetAsync(Alice));
    }

    [Fact]
    public async Task Redirected_output_shows_progress_as_plain_lines_and_the_copied_archive_is_searchable()
    {
        await FillAsync();
        AddBobsArchive(24997);
        var database = await NewDatabaseAsync();

        var migrate = await MigrateAsync(database);

        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        var progress = migrate.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["archive_messages: 10000 of 25000 rows...", "archive_messages: 20000 of 25000 rows..."],
            progress.Where(line => line.StartsWith("archive_messages:", StringComparison.Ordinal)));
        Assert.Contains("archive search index: 1000 of 25000 rows...", progress);
        Assert.Contains(migrate.OutputLines, line => Copied(line, "archive_messages", 25000, 25000));
        Assert.Contains(migrate.OutputLines, line => Copied(line, "archive search index", 25000, 25000));
        Assert.DoesNotContain(migrate.Output, "\u001b");
        await using var postgres = await PostgresStorage.OpenAsync(database, StorageOpenMode.ExistingOnly);
        var found = await postgres.Archive.QueryAsync(new ArchiveQuery(Bob, Max: 10, FullText: "bulk 12345"));
        Assert.Equal("<message><body>bulk message 12345</body></message>", Assert.Single(found.Messages).Xml);
    }

    [Fact]
    public async Task A_terminal_shows_a_progress_bar_per_table_then_each_tables_summary()
    {
        await FillAsync();
        var database = await NewDatabaseAsync();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await Cli.RunAsync(
            ["storage", "migrate", "--from-data-dir", _node.DataDir, "--to-postgres", database],
            new CliConsole(new StringReader(""), output, error, outputIsTerminal: true));

        var migrate = new CliResult(exitCode, output.ToString(), error.ToString());
        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        var summaryAt = migrate.Output.IndexOf("  accounts:", StringComparison.Ordinal);
        Assert.True(summaryAt > 0, migrate.ToString());
        var bars = migrate.Output[..summaryAt];
        Assert.Contains("\u001b[", bars);
        Assert.Contains("archive_messages", bars);
        Assert.Contains("100%", bars);
        Assert.Contains(migrate.OutputLines, line => Copied(line, "archive_messages", 3, 3));
        Assert.Contains(migrate.OutputLines, line => line.StartsWith("done: ", StringComparison.Ordinal) && line.Contains("verified in PostgreSQL"));
        Assert.Empty(migrate.Error);
    }

    [Fact]
    public async Task A_copy_interrupted_half_way_is_finished_by_running_again_with_every_message_once()
    {
        await FillAsync();
        AddBobsArchive(24997);
        var database = await NewDatabaseAsync();
        using var interrupt = new CancellationTokenSource();
        // Interrupted as an operator's Ctrl-C would, once the first batch of messages is in.
        var cancelAfterFirstBatch = new SynchronousProgress(report =>
        {
            if (report.Table == "archive_messages")
            {
                interrupt.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            SqliteToPostgresCopy.CopyAsync(_node.DatabasePath, database, intoNonEmpty: false, cancelAfterFirstBatch, interrupt.Token));
        var afterInterruption = await ScalarAsync(database, "SELECT COUNT(*) FROM archive_messages");
        var again = await MigrateAsync(database, "--into-non-empty");

        Assert.Equal(10000L, afterInterruption);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains(again.OutputLines, line => Copied(line, "archive_messages", 25000, 15000));
        Assert.Contains(again.OutputLines, line => Copied(line, "accounts", 2, 0));
        Assert.Equal(25000L, await ScalarAsync(database, "SELECT COUNT(DISTINCT id) FROM archive_messages"));
        Assert.Equal(25000L, await ScalarAsync(database, "SELECT COUNT(*) FROM archive_messages"));
        await using var postgres = await PostgresStorage.OpenAsync(database, StorageOpenMode.ExistingOnly);
        // A message of the interrupted run is indexed for search by the run that finished the job.
        var found = await postgres.Archive.QueryAsync(new ArchiveQuery(Bob, Max: 10, FullText: "bulk 4321"));
        Assert.Equal("<message><body>bulk message 4321</body></message>", Assert.Single(found.Messages).Xml);
    }

    [Fact]
    public async Task A_source_node_that_still_runs_is_refused_and_nothing_is_copied()
    {
        await FillAsync();
        var database = await NewDatabaseAsync();

        CliResult migrate;
        // What a running node holds for its whole run: the database opened (and its lock taken shared).
        await using (await _node.OpenStorageAsync())
        {
            migrate = await MigrateAsync(database);
        }

        Assert.Equal(1, migrate.ExitCode);
        Assert.Contains($"The SQLite database {_node.DatabasePath} is in use: its node is still running", migrate.Error);
        Assert.Contains("Stop the node, then run the migration again. Nothing was copied.", migrate.Error);
        Assert.Equal(0L, await ScalarAsync(database, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"));

        var after = await MigrateAsync(database);
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    [Fact]
    public async Task A_data_dir_without_a_database_is_refused_naming_it()
    {
        var migrate = await CliResult.RunAsync("storage", "migrate", "--from-data-dir", Path.Combine(_node.Folder, "dta"), "--to-postgres", "Host=127.0.0.1");

        Assert.Equal(1, migrate.ExitCode);
        Assert.Contains($"no Parley database at {Path.Combine(_node.Folder, "dta", "parley.db")} (check --from-data-dir)", migrate.Error);
    }

    /// <summary>Fills the node's SQLite database with one of everything; returns Alice's archive ids, oldest first.</summary>
    private async Task<string[]> FillAsync()
    {
        Assert.Equal(0, (await _node.RunAsync("user", "add", Alice, "--password", "correct horse")).ExitCode);
        Assert.Equal(0, (await _node.RunAsync("user", "add", Bob, "--password", "battery staple")).ExitCode);
        await using var storage = await _node.OpenStorageAsync();
        await storage.Rosters.SetItemAsync(Alice, new RosterItem(Bob, "Bob", Subscription.Both, false, false, ["Friends", "Work"]));
        await storage.Accounts.SetDisplayNameAsync(Alice, "Alice Ärger");
        await storage.Rosters.SetPendingAsync(Bob, "carol@example.net", "<presence type='subscribe'/>");
        await storage.Offline.StoreAsync(Bob, "<message>while you were out</message>", DateTimeOffset.UtcNow, 100);
        await storage.Blocklists.AddAsync(Alice, ["mallory@example.net"]);
        await storage.Documents.SetAsync(Alice, "vcard", "", "<vCard/>");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await storage.Archive.AppendAsync(Alice, Bob + "/phone", DateTimeOffset.UnixEpoch.AddMinutes(i), $"<message>{i}</message>"));
        }

        await storage.Archive.SetPreferencesAsync(Alice, new ArchivePreferences("never", [], [Bob]));
        await storage.Rooms.SaveAsync(new StoredRoom(Room, "<x/>", "Plans", "al", DateTimeOffset.UnixEpoch));
        await storage.Rooms.SetAffiliationAsync(Room, new RoomAffiliation(Alice, "owner", "al"));
        await storage.Pep.CreateNodeAsync(Alice, "urn:xmpp:avatar:data", "<config/>");
        await storage.Pep.PublishAsync(Alice, "urn:xmpp:avatar:data", new PepItem("1", DateTimeOffset.UnixEpoch, "<item id='1'/>"), 10);
        await storage.ApiTokens.CreateAsync(new ApiToken("monitoring", "0123456789abcdef", ReadOnly: true, DateTimeOffset.UnixEpoch), "ab12");
        return [.. ids];
    }

    /// <summary>Adds messages to Bob's archive in bulk, straight into the node's SQLite database.</summary>
    private void AddBobsArchive(int messages)
    {
        using var connection = new SqliteConnection($"Data Source={_node.DatabasePath};Pooling=False");
        connection.Open();
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $messages)
            INSERT INTO archive_messages (archive, with_bare, with_resource, stamp, xml)
            SELECT 'bob@example.com', 'alice@example.com', '', i, '<message><body>bulk message ' || i || '</body></message>' FROM n
            """;
        insert.Parameters.AddWithValue("$messages", messages);
        insert.ExecuteNonQuery();
    }

    private static bool Copied(string line, string table, int read, int written) =>
        System.Text.RegularExpressions.Regex.IsMatch(line, $@"^{table}:\s+{read} rows read,\s+{written} written$");

    private Task<CliResult> MigrateAsync(string database, params string[] more) =>
        CliResult.RunAsync(["storage", "migrate", "--from-data-dir", _node.DataDir, "--to-postgres", database, .. more]);

    private static async Task<string> NewDatabaseAsync() => await (await PostgresCluster.Shared).CreateDatabaseAsync("migrate");

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Reports on the copying thread, so the test acts at the moment of the report (Progress&lt;T&gt; would post it elsewhere).</summary>
    private sealed class SynchronousProgress(Action<CopyProgress> report) : IProgress<CopyProgress>
    {
        public void Report(CopyProgress value) => report(value);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
