using Npgsql;
using Parley.Storage.Postgres;
using Parley.Tests.Shared;

namespace Parley.Cli.Tests;

/// <summary>Commands on a PostgreSQL database chosen with --storage and --postgres, and the ways a connection string can be wrong.</summary>
public sealed class PostgresCommandTests : IDisposable
{
    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Config_check_connects_and_says_whether_the_database_has_a_schema_yet()
    {
        var database = await NewDatabaseAsync();

        var before = await _node.RunAsync("config", "check", "--storage", "postgres", "--postgres", database);
        await (await PostgresStorage.OpenAsync(database)).DisposeAsync();
        var after = await _node.RunAsync("config", "check", "--postgres", database);

        Assert.True(before.ExitCode == 0, before.ToString());
        Assert.Contains(before.OutputLines, line => line.StartsWith("storage:        postgres ", StringComparison.Ordinal) && line.Contains("password=***", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(PostgresCluster.Password, before.Output);
        Assert.Contains(before.OutputLines, line => line.StartsWith("database:       reachable (PostgreSQL ", StringComparison.Ordinal) && line.EndsWith("no Parley schema yet ('parley serve' creates it)", StringComparison.Ordinal));
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Contains(after.OutputLines, line => line.StartsWith("database:       reachable", StringComparison.Ordinal) && System.Text.RegularExpressions.Regex.IsMatch(line, @"schema version [1-9][0-9]*$"));
    }

    [Fact]
    public async Task User_commands_write_and_read_accounts_in_postgres_and_nothing_in_the_data_dir()
    {
        var database = await NewDatabaseAsync();

        var add = await _node.RunAsync("user", "add", "alice@example.com", "--password", "correct horse", "--postgres", database);
        var list = await _node.RunAsync("user", "list", "--storage", "postgres", "--postgres", database);

        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("alice@example.com", list.OutputLines);
        await using var storage = await PostgresStorage.OpenAsync(database);
        Assert.True(await storage.Accounts.ExistsAsync("alice@example.com"));
        Assert.False(File.Exists(_node.DatabasePath));
    }

    [Fact]
    public async Task Room_and_archive_commands_act_on_postgres_and_nothing_in_the_data_dir()
    {
        var database = await NewDatabaseAsync();
        await using (var storage = await PostgresStorage.OpenAsync(database))
        {
            await storage.Archive.AppendAsync("alice@example.com", "bob@example.com/phone", DateTimeOffset.UnixEpoch, "<message><body>hi</body></message>");
        }

        var create = await _node.RunAsync("room", "create", "team@conference.example.com", "--owner", "alice@example.com", "--postgres", database);
        var list = await _node.RunAsync("room", "list", "--postgres", database);
        var delete = await _node.RunAsync("archive", "delete", "alice@example.com", "--postgres", database);

        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(list.OutputLines, line => line.Contains("team@conference.example.com", StringComparison.Ordinal));
        Assert.Equal(["deleted 1 message from the archive of alice@example.com"], delete.OutputLines);
        Assert.False(File.Exists(_node.DatabasePath));
    }

    [Fact]
    public async Task Roster_commands_act_on_postgres_and_nothing_in_the_data_dir()
    {
        var database = await NewDatabaseAsync();
        foreach (var user in new[] { "alice@example.com", "bob@example.com" })
        {
            var add = await _node.RunAsync("user", "add", user, "--password", "correct horse", "--postgres", database);
            Assert.True(add.ExitCode == 0, add.ToString());
        }

        var import = await _node.RunAsync("roster", "import", _node.WriteFile("rosters.csv", "alice@example.com,bob@example.com,Bob,Friends\n"), "--postgres", database);
        var export = await _node.RunAsync("roster", "export", "--storage", "postgres", "--postgres", database);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Equal(
            ["jid,contact_jid,name,group,subscription", "alice@example.com,bob@example.com,Bob,Friends,both", "bob@example.com,alice@example.com,,,both"],
            export.OutputLines);
        await using var storage = await PostgresStorage.OpenAsync(database);
        Assert.Equal(["bob@example.com"], (await storage.Rosters.GetAsync("alice@example.com")).Items.Select(item => item.Contact));
        Assert.False(File.Exists(_node.DatabasePath));
    }

    [Theory]
    [InlineData("config", "check")]
    [InlineData("user", "list")]
    [InlineData("user", "add", "alice@example.com", "--password", "correct horse")]
    [InlineData("serve", "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", "0")]
    public async Task A_wrong_password_fails_naming_the_user(params string[] args)
    {
        var cluster = await PostgresCluster.Shared;
        var wrong = cluster.ConnectionString("postgres", password: "not the password");

        var result = await _node.RunAsync([.. args, "--postgres", wrong]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"refused user 'postgres': password authentication failed", result.Error);
        Assert.DoesNotContain("not the password", result.Error);
    }

    [Theory]
    [InlineData("config", "check")]
    [InlineData("user", "list")]
    [InlineData("serve", "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", "0")]
    public async Task An_unknown_database_fails_naming_it(params string[] args)
    {
        var cluster = await PostgresCluster.Shared;

        var result = await _node.RunAsync([.. args, "--postgres", cluster.ConnectionString("parley_typo")]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"PostgreSQL on 127.0.0.1:{cluster.Port} has no database 'parley_typo'", result.Error);
    }

    [Fact]
    public async Task A_command_on_existing_data_says_when_the_database_has_no_schema_yet()
    {
        var database = await NewDatabaseAsync();

        var list = await _node.RunAsync("user", "list", "--postgres", database);

        Assert.Equal(1, list.ExitCode);
        Assert.Contains($"no Parley database at database '{new NpgsqlConnectionStringBuilder(database).Database}'", list.Error);
        Assert.Contains("(no Parley schema yet; 'parley serve' creates it)", list.Error);
    }

    [Fact]
    public async Task Serve_refuses_a_database_migrated_by_a_newer_parley_and_leaves_it_unchanged()
    {
        var database = await NewDatabaseAsync();
        await (await PostgresStorage.OpenAsync(database)).DisposeAsync();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var newer = new NpgsqlCommand("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)", connection);
            await newer.ExecuteNonQueryAsync();
        }

        var serve = await _node.RunAsync("serve", "--postgres", database, "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", "0");

        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("has schema version 999, but this build of Parley knows schema versions up to", serve.Error);
        Assert.Contains("The database was left unchanged.", serve.Error);
    }

    [Fact]
    public async Task Postgres_without_a_connection_string_is_a_configuration_error()
    {
        var check = await _node.RunAsync("config", "check", "--storage", "postgres");

        Assert.Equal(2, check.ExitCode);
        Assert.Contains("Parley:Storage:ConnectionString: 'postgres' needs a connection string", check.Error);
    }

    private static async Task<string> NewDatabaseAsync() => await (await PostgresCluster.Shared).CreateDatabaseAsync("cli");
}
