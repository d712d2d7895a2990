using Microsoft.Data.Sqlite;
using Parley.Storage;
using Parley.Tests.Shared;

namespace Parley.Cli.Tests;

/// <summary><c>parley storage backup</c> while a node works, and <c>parley storage restore</c> into a stopped node's data directory.</summary>
public sealed class StorageBackupCommandTests : IDisposable
{
    private static readonly DateTimeOffset Stamp = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    private string BackupPath => Path.Combine(_node.Folder, "backups", "parley-backup.db");

    [Fact]
    public async Task A_backup_taken_while_the_node_writes_is_one_consistent_moment_and_the_writes_go_on()
    {
        await using var running = await _node.OpenStorageAsync();
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            // Batches of appends at once, as a busy node's sessions make them (group commit), until the test stops it.
            for (var batch = 0; !stop.IsCancellationRequested; batch++)
            {
                await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
                    running.Archive.AppendAsync("alice@example.com", "bob@example.com", Stamp, $"<message><body>batch {batch} message {i}</body></message>")));
                Interlocked.Add(ref written, 50);
            }
        });
        await WaitUntilAsync(() => Volatile.Read(ref written) >= 3000, writer);
        Directory.CreateDirectory(Path.GetDirectoryName(BackupPath)!);

        var backup = await _node.RunAsync("storage", "backup", BackupPath);
        var writtenAfterBackup = Volatile.Read(ref written);
        await WaitUntilAsync(() => Volatile.Read(ref written) >= writtenAfterBackup + 500, writer);
        await stop.CancelAsync();
        await writer;

        Assert.True(backup.ExitCode == 0, backup.ToString());
        Assert.Matches(@"^backed up .*parley\.db \(schema version \d+\) to .*parley-backup\.db \(\d+ bytes\)$", Assert.Single(backup.OutputLines));
        using var copy = new SqliteConnection($"Data Source={BackupPath};Mode=ReadOnly;Pooling=False");
        copy.Open();
        Assert.Equal("ok", Scalar(copy, "PRAGMA integrity_check"));
        Assert.Equal("delete", Scalar(copy, "PRAGMA journal_mode"));
        // An archived message is in archive_messages, or still in archive_pending (storage moves it when it opens the copy).
        var messages = (long)Scalar(copy, "SELECT (SELECT COUNT(*) FROM archive_messages) + (SELECT COUNT(*) FROM archive_pending)")!;
        Assert.InRange(messages, 3000, writtenAfterBackup);
        // One moment: ids are handed out in commit order, so the copy holds the first N without a gap, and what triggers and
        // the search index keep in the same transactions agrees with it.
        Assert.Equal(messages, (long)Scalar(copy, "SELECT MAX(id) FROM (SELECT id FROM archive_messages UNION ALL SELECT id FROM archive_pending)")!);
        Assert.Equal(messages, (long)Scalar(copy, """
            SELECT COALESCE((SELECT messages FROM archive_counts WHERE archive = 'alice@example.com'), 0)
                + (SELECT COUNT(*) FROM archive_pending WHERE archive = 'alice@example.com')
            """)!);
        Assert.Equal(messages, (long)Scalar(copy, "SELECT (SELECT COUNT(*) FROM archive_search) + (SELECT COUNT(*) FROM archive_pending WHERE search_text <> '')")!);
        Assert.Equal(Volatile.Read(ref written), (await running.Archive.QueryAsync(new ArchiveQuery("alice@example.com", Max: 0))).Count);
    }

    [Fact]
    public async Task A_restore_puts_the_backup_back_and_keeps_the_database_it_replaced()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "alice-password-1");
        Directory.CreateDirectory(Path.GetDirectoryName(BackupPath)!);
        Assert.Equal(0, (await _node.RunAsync("storage", "backup", BackupPath)).ExitCode);
        await _node.RunAsync("user", "add", "bob@example.com", "--password", "bob-password-1");

        var restore = await _node.RunAsync("storage", "restore", BackupPath);
        var again = await _node.RunAsync("storage", "restore", BackupPath);

        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(
            [$"restored {BackupPath} (schema version {SchemaVersion()}) to {_node.DatabasePath}", $"the database it replaced is kept as {_node.DatabasePath}.bak"],
            restore.OutputLines);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Matches($@"^the database it replaced is kept as {System.Text.RegularExpressions.Regex.Escape(_node.DatabasePath)}\.\d{{14}}\.bak$", again.OutputLines[1]);
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "alice-password-1"));
        Assert.Null(await _node.CredentialsAsync("bob@example.com"));
        await using var replaced = await StorageFactory.OpenAsync("sqlite", _node.DatabasePath + ".bak", StorageOpenMode.ExistingOnly);
        Assert.True(await replaced.Accounts.ExistsAsync("bob@example.com"));
    }

    [Fact]
    public async Task A_restore_into_a_new_data_directory_needs_no_database_there()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "alice-password-1");
        Directory.CreateDirectory(Path.GetDirectoryName(BackupPath)!);
        await _node.RunAsync("storage", "backup", BackupPath);
        using var newHome = new CliTestNode();

        var restore = await newHome.RunAsync("storage", "restore", BackupPath);

        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal("there was no database to replace", restore.OutputLines[1]);
        Assert.True(await newHome.PasswordVerifiesAsync("alice@example.com", "alice-password-1"));
    }

    [Fact]
    public async Task A_restore_is_refused_while_the_node_runs_and_changes_nothing()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "alice-password-1");
        Directory.CreateDirectory(Path.GetDirectoryName(BackupPath)!);
        await _node.RunAsync("storage", "backup", BackupPath);
        await _node.RunAsync("user", "add", "bob@example.com", "--password", "bob-password-1");
        var httpPort = LoopbackPort.Free();
        using var stopNode = new CancellationTokenSource();
        var serve = CliResult.RunWithInputAsync(
            "", ["serve", "--config", _node.ConfigFile, "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", httpPort.ToString()], stopNode.Token);
        await ServeCommandTests.WaitForHealthAsync(httpPort, serve);

        var whileRunning = await _node.RunAsync("storage", "restore", BackupPath);
        await stopNode.CancelAsync();
        Assert.Equal(0, (await serve.WaitAsync(s_deadline)).ExitCode);
        var onceStopped = await _node.RunAsync("storage", "restore", BackupPath);

        Assert.Equal(1, whileRunning.ExitCode);
        Assert.Equal(
            $"parley: {_node.DatabasePath} is in use: a node (or another parley command) has it open. Stop the node, then restore; nothing was changed.",
            whileRunning.Error.Trim());
        Assert.Empty(whileRunning.Output);
        Assert.True(onceStopped.ExitCode == 0, onceStopped.ToString());
        Assert.Null(await _node.CredentialsAsync("bob@example.com"));
    }

    [Fact]
    public async Task While_a_restore_holds_the_database_a_node_does_not_open_it()
    {
        await _node.CreateDatabaseAsync();
        Directory.CreateDirectory(Path.GetDirectoryName(BackupPath)!);
        await _node.RunAsync("storage", "backup", BackupPath);

        // What a restore holds while it swaps the file (the OS lock beside the database).
        using (new FileStream(_node.DatabasePath + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var serve = await _node.RunAsync("serve", "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", "0");

            Assert.Equal(1, serve.ExitCode);
            Assert.Contains($"{_node.DatabasePath} is being restored from a backup (parley storage restore); open it when the restore has finished.", serve.Error);
        }
    }

    [Theory]
    [InlineData("text")]
    [InlineData("other-application")]
    [InlineData("newer-schema")]
    [InlineData("damaged")]
    public async Task A_restore_refuses_a_file_that_is_not_a_backup_it_can_use_and_changes_nothing(string kind)
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "alice-password-1");
        var file = Path.Combine(_node.Folder, kind + ".db");
        string expected;
        switch (kind)
        {
            case "text":
                await File.WriteAllTextAsync(file, "alice@example.com,secret\n".PadRight(4096, '#'));
                expected = $"{file} is not a SQLite database; nothing was changed.";
                break;
            case "other-application":
                Execute(file, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
                expected = $"{file} is not a Parley database (it has no schema_migrations table); nothing was changed.";
                break;
            case "newer-schema":
                await _node.RunAsync("storage", "backup", file);
                Execute(file, "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");
                expected = $"{file} has schema version 99, but this build of Parley knows schema versions up to {SchemaVersion()}: " +
                    "it was made by a newer Parley; restore it with that version. Nothing was changed.";
                break;
            default:
                await _node.RunAsync("storage", "backup", file);
                Damage(file);
                expected = $"{file} is damaged";
                break;
        }
        var before = await File.ReadAllBytesAsync(_node.DatabasePath);

        var restore = await _node.RunAsync("storage", "restore", file);

        Assert.Equal(1, restore.ExitCode);
        Assert.StartsWith($"parley: {expected}", restore.Error);
        Assert.Equal(before, await File.ReadAllBytesAsync(_node.DatabasePath));
        Assert.False(File.Exists(_node.DatabasePath + ".bak"));
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "alice-password-1"));
    }

    [Fact]
    public async Task Backup_and_restore_say_what_is_missing_and_create_nothing()
    {
        var backup = await _node.RunAsync("storage", "backup", BackupPath);
        var restore = await _node.RunAsync("storage", "restore", Path.Combine(_node.Folder, "no-such-backup.db"));

        Assert.Equal(1, backup.ExitCode);
        Assert.Equal($"parley: no Parley database at {_node.DatabasePath} (check --data-dir)", backup.Error.Trim());
        Assert.Equal(1, restore.ExitCode);
        Assert.Equal($"parley: no backup file at {Path.Combine(_node.Folder, "no-such-backup.db")}", restore.Error.Trim());
        Assert.False(Directory.Exists(_node.DataDir));
        Assert.False(File.Exists(BackupPath));
    }

    [Fact]
    public async Task A_backup_never_overwrites_a_file()
    {
        await _node.CreateDatabaseAsync();
        var existing = _node.WriteFile("important.db", "keep me");

        var backup = await _node.RunAsync("storage", "backup", existing);

        Assert.Equal(1, backup.ExitCode);
        Assert.Equal($"parley: {existing} exists; give the backup a new file name.", backup.Error.Trim());
        Assert.Equal("keep me", await File.ReadAllTextAsync(existing));
    }

    [Fact]
    public async Task A_backup_into_a_folder_that_does_not_exist_says_so()
    {
        await _node.CreateDatabaseAsync();

        var backup = await _node.RunAsync("storage", "backup", BackupPath);

        Assert.Equal(1, backup.ExitCode);
        Assert.Equal($"parley: the folder {Path.GetDirectoryName(BackupPath)} does not exist; create it or give another path for the backup.", backup.Error.Trim());
    }

    [Fact]
    public async Task Without_a_file_each_command_is_a_usage_error()
    {
        Assert.Equal(2, (await _node.RunAsync("storage", "backup")).ExitCode);
        Assert.Equal(2, (await _node.RunAsync("storage", "restore")).ExitCode);
    }

    /// <summary>The schema version this build migrates a database to, as the node's database has it.</summary>
    private int SchemaVersion()
    {
        using var connection = new SqliteConnection($"Data Source={_node.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return Convert.ToInt32(Scalar(connection, "SELECT MAX(version) FROM schema_migrations"));
    }

    /// <summary>Overwrites the start of the file's second page (a table's b-tree page) with garbage.</summary>
    private static void Damage(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Write);
        stream.Position = 4096;
        stream.Write(Enumerable.Repeat((byte)0xFF, 2000).ToArray());
    }

    private static void Execute(string file, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>Waits for the writer to reach a point, failing at once if it failed.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, Task writer)
    {
        var deadline = DateTime.UtcNow + s_deadline;
        while (!condition())
        {
            if (writer.IsFaulted)
            {
                await writer;
            }
            Assert.True(DateTime.UtcNow < deadline, "The writer did not get there in time.");
            await Task.Delay(10);
        }
    }
}
