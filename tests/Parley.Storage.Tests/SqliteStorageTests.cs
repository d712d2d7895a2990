using Parley.Storage.Sqlite;

namespace Parley.Storage.Tests;

public sealed class SqliteStorageTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Opening_creates_the_file_and_its_folders_and_describes_itself()
    {
        var path = Path.Combine(_database.Folder, "data", "nested", "parley.db");

        await using var storage = await SqliteStorage.OpenAsync(path);

        Assert.True(File.Exists(path));
        Assert.Equal($"SQLite {path} (schema version {SqliteMigrations.LatestVersion})", storage.Description);
    }

    [Fact]
    public async Task A_relative_path_is_described_as_the_full_path()
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, _database.Path);

        await using var storage = await SqliteStorage.OpenAsync(relative);

        Assert.StartsWith($"SQLite {_database.Path} ", storage.Description);
    }

    [Fact]
    public async Task The_database_file_is_in_wal_mode()
    {
        await (await SqliteStorage.OpenAsync(_database.Path)).DisposeAsync();

        // Bytes 18 and 19 of the header are the file format versions; 2 means WAL (sqlite.org/fileformat.html).
        var header = new byte[20];
        await using (var file = File.OpenRead(_database.Path))
        {
            await file.ReadExactlyAsync(header);
        }

        Assert.Equal(2, header[18]);
        Assert.Equal(2, header[19]);
        using var connection = _database.OpenRawConnection();
        Assert.Equal("wal", connection.Scalar("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task The_cli_can_write_while_the_node_holds_the_database_open()
    {
        await using var node = await SqliteStorage.OpenAsync(_database.Path);
        await node.Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        using var nodeReader = _database.OpenRawConnection();
        nodeReader.Execute("BEGIN; SELECT COUNT(*) FROM accounts;");

        await using (var cli = await SqliteStorage.OpenAsync(_database.Path))
        {
            Assert.Equal(CreateAccountResult.Created, await cli.Accounts.CreateAsync("bob@example.org", TestCredentials.Random()));
            Assert.True(await cli.Accounts.DeleteAsync("alice@example.org", AccountReferences.None));
        }

        nodeReader.Execute("COMMIT");
        Assert.Equal(["bob@example.org"], (await node.Accounts.ListAsync(null, 0, 10)).Select(a => a.Jid));
    }

    [Fact]
    public async Task A_cli_write_waits_for_the_nodes_write_lock_instead_of_failing()
    {
        await using var node = await SqliteStorage.OpenAsync(_database.Path);
        await using var cli = await SqliteStorage.OpenAsync(_database.Path);

        await CreateWhileAnotherConnectionWritesAsync(cli, "bob@example.org");

        Assert.True(await node.Accounts.ExistsAsync("bob@example.org"));
    }

    /// <summary>Creates an account while a raw connection holds the write lock for 300 ms: the create waits, then succeeds.</summary>
    private async Task CreateWhileAnotherConnectionWritesAsync(SqliteStorage storage, string jid)
    {
        using var otherWriter = _database.OpenRawConnection();
        otherWriter.Execute("BEGIN IMMEDIATE");

        var create = Task.Run(() => storage.Accounts.CreateAsync(jid, TestCredentials.Random()));
        var finishedFirst = await Task.WhenAny(create, Task.Delay(TimeSpan.FromMilliseconds(300)));
        otherWriter.Execute("COMMIT");

        Assert.NotSame(create, finishedFirst);
        Assert.Equal(CreateAccountResult.Created, await create.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_connection_back_from_the_pool_keeps_its_settings_and_a_write_on_it_still_waits_for_the_lock()
    {
        await using var node = await SqliteStorage.OpenAsync(_database.Path);
        await using var cli = await SqliteStorage.OpenAsync(_database.Path);
        // Each call borrows the pool's one idle connection again: the pragmas ran on it once, on its first borrow.
        for (var i = 0; i < 3; i++)
        {
            await cli.Accounts.CreateAsync($"user{i}@example.org", TestCredentials.Random());
            await using var borrowed = await cli.OpenConnectionAsync(CancellationToken.None);
            Assert.Equal(5000L, borrowed.Scalar("PRAGMA busy_timeout"));
            Assert.Equal(1L, borrowed.Scalar("PRAGMA synchronous")); // NORMAL
        }

        await CreateWhileAnotherConnectionWritesAsync(cli, "bob@example.org");

        Assert.Equal(4, await node.Accounts.CountAsync(null));
    }

    [Fact]
    public async Task No_column_could_hold_a_password()
    {
        await (await SqliteStorage.OpenAsync(_database.Path)).DisposeAsync();
        using var connection = _database.OpenRawConnection();

        var accountColumns = connection.Rows("SELECT name || ' ' || type FROM pragma_table_info('accounts') ORDER BY cid");
        var allColumns = connection.Rows("SELECT c.name FROM sqlite_master t, pragma_table_info(t.name) c WHERE t.type = 'table'");

        Assert.Equal(
            [
                "jid TEXT", "domain TEXT", "created_at INTEGER",
                "sha1_salt BLOB", "sha1_iterations INTEGER", "sha1_stored_key BLOB", "sha1_server_key BLOB",
                "sha256_salt BLOB", "sha256_iterations INTEGER", "sha256_stored_key BLOB", "sha256_server_key BLOB", "disabled INTEGER",
                "display_name TEXT", "display_name_folded TEXT",
            ],
            accountColumns);
        Assert.DoesNotContain(allColumns, name => name.Contains("pass", StringComparison.OrdinalIgnoreCase) || name.Contains("secret", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Listing_by_domain_uses_the_domain_index()
    {
        await (await SqliteStorage.OpenAsync(_database.Path)).DisposeAsync();
        using var connection = _database.OpenRawConnection();

        var plan = string.Join("\n", connection.Rows(
            "EXPLAIN QUERY PLAN SELECT jid, created_at FROM accounts WHERE domain = 'example.org' ORDER BY jid LIMIT 10 OFFSET 0"));

        Assert.Contains("accounts_by_domain", plan);
        Assert.DoesNotContain("TEMP B-TREE", plan);
    }

    [Fact]
    public async Task Deleting_an_account_leaves_no_row_of_its_user_in_any_table()
    {
        const string alice = "alice@example.org";
        await using (var storage = await SqliteStorage.OpenAsync(_database.Path))
        {
            await storage.Accounts.CreateAsync(alice, TestCredentials.Random());
            await storage.Rosters.SetItemAsync(alice, new RosterItem("carol@example.org", null, Subscription.None, false, false, []));
            await storage.Rosters.SetPendingAsync(alice, "dave@example.org", "<presence type='subscribe'/>");
            await storage.Offline.StoreAsync(alice, "<message/>", DateTimeOffset.UtcNow, 10);
            await storage.Blocklists.AddAsync(alice, ["eve@evil.example"]);
            await storage.Documents.SetAsync(alice, "vcard", "", "<vCard xmlns='vcard-temp'/>");
            await storage.Archive.AppendAsync(alice, "bob@example.org/phone", DateTimeOffset.UtcNow, "<message><body>hi</body></message>");
            // A read moves the message from archive_pending into the archive, where it is counted.
            await storage.Archive.QueryAsync(new ArchiveQuery(alice));
            await storage.Archive.SetPreferencesAsync(alice, new ArchivePreferences("roster", [], []));
            await storage.Pep.CreateNodeAsync(alice, "urn:xmpp:avatar:metadata", "<x xmlns='jabber:x:data' type='submit'/>");
            await storage.Pep.PublishAsync(alice, "urn:xmpp:avatar:metadata", new PepItem("abc", DateTimeOffset.UtcNow, "<metadata xmlns='urn:xmpp:avatar:metadata'/>"), 1);
        }

        using var connection = _database.OpenRawConnection();
        // A user's archive is keyed by the column 'archive' (rooms have archives too), every other table by 'user_jid'.
        var userTables = connection.Rows(
            "SELECT t.name || '|' || c.name FROM sqlite_master t, pragma_table_info(t.name) c WHERE t.type = 'table' AND c.name IN ('user_jid', 'archive') ORDER BY t.name")
            .Select(row => row.Split('|')).Select(row => (Table: row[0], Key: row[1])).ToList();
        // Every per-user table got a row above; a new table must get one here too, or this test cannot see it emptied.
        // archive_pending is the exception: its rows are moved to archive_messages by the read above.
        long RowsOf(string table, string key) => (long)connection.Scalar($"SELECT COUNT(*) FROM {table} WHERE {key} = '{alice}'")!;
        Assert.All(userTables.Where(table => table.Table != "archive_pending"), table => Assert.Equal(1L, RowsOf(table.Table, table.Key)));
        Assert.Equal(0L, RowsOf("archive_pending", "archive"));
        Assert.Equal(1L, RowsOf("archive_messages", "archive"));

        await using (var storage = await SqliteStorage.OpenAsync(_database.Path))
        {
            Assert.True(await storage.Accounts.DeleteAsync(alice, AccountReferences.Subscriptions | AccountReferences.RoomAffiliations));
        }

        Assert.Equal(
            ["archive_counts", "archive_messages", "archive_pending", "archive_preferences", "blocklist", "offline_messages", "pep_items", "pep_nodes", "roster_items", "roster_pending", "roster_versions", "user_documents"],
            userTables.Select(table => table.Table));
        Assert.All(userTables, table => Assert.Equal(0L, RowsOf(table.Table, table.Key)));
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_refused_and_left_unchanged()
    {
        var contents = "this is a configuration file, not a database\n"u8.ToArray().Concat(new byte[4096]).ToArray();
        await File.WriteAllBytesAsync(_database.Path, contents);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SqliteStorage.OpenAsync(_database.Path));

        Assert.Equal($"{_database.Path} is not a SQLite database. Refusing to change it.", error.Message);
        Assert.Equal(contents, await File.ReadAllBytesAsync(_database.Path));
    }

    [Fact]
    public async Task Another_applications_database_is_refused_and_left_unchanged()
    {
        using (var other = _database.OpenRawConnection())
        {
            other.Execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
        }

        var before = await File.ReadAllBytesAsync(_database.Path);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SqliteStorage.OpenAsync(_database.Path));

        Assert.Contains("is not a Parley database", error.Message);
        Assert.Equal(before, await File.ReadAllBytesAsync(_database.Path));
    }

    [Fact]
    public async Task A_folder_instead_of_a_file_is_refused_with_a_clear_error()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => SqliteStorage.OpenAsync(_database.Folder));

        Assert.StartsWith($"{_database.Folder} is a folder; give the path of the database file", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task An_empty_path_is_refused(string path)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => SqliteStorage.OpenAsync(path));

        Assert.Equal("databasePath", error.ParamName);
    }
}
