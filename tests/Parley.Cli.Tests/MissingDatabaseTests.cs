namespace Parley.Cli.Tests;

/// <summary>A mistyped --data-dir: commands that read or change existing data say so; commands that add data say they created a database.</summary>
public sealed class MissingDatabaseTests : IDisposable
{
    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    private string Typo => Path.Combine(_node.Folder, "dta");

    [Theory]
    [InlineData("user", "list")]
    [InlineData("user", "remove", "alice@example.com")]
    [InlineData("user", "passwd", "alice@example.com", "--password", "a new secret")]
    [InlineData("roster", "export")]
    [InlineData("room", "list")]
    [InlineData("room", "configure", "team@conference.example.com", "--name", "Team")]
    [InlineData("room", "destroy", "team@conference.example.com")]
    [InlineData("archive", "delete", "alice@example.com")]
    public async Task A_command_on_existing_data_fails_on_a_directory_without_a_database_and_creates_nothing(params string[] args)
    {
        var result = await _node.RunAsync([.. args, "--data-dir", Typo]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"parley: no Parley database at {Path.Combine(Typo, "parley.db")} (check --data-dir)", result.Error);
        Assert.Equal("", result.Output);
        Assert.False(Directory.Exists(Typo));
    }

    [Fact]
    public async Task Adding_a_user_where_there_is_no_database_creates_one_and_says_so_once()
    {
        var first = await _node.RunAsync("user", "add", "alice@example.com", "--password", "alice secret", "--data-dir", Typo);
        var second = await _node.RunAsync("user", "add", "bob@example.com", "--password", "bob secret", "--data-dir", Typo);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal($"parley: created a new database at {Path.Combine(Typo, "parley.db")}", first.Error.Trim());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal("", second.Error);
    }

    [Fact]
    public async Task Creating_a_room_or_importing_users_where_there_is_no_database_says_it_created_one()
    {
        var create = await _node.RunAsync("room", "create", "team@conference.example.com", "--owner", "alice@example.com");
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Contains($"created a new database at {_node.DatabasePath}", create.Error);

        var import = await _node.RunAsync("user", "import", _node.WriteFile("users.csv", "bob@example.com,bob secret\n"), "--data-dir", Typo);
        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Contains($"created a new database at {Path.Combine(Typo, "parley.db")}", import.Error);
    }

    [Fact]
    public async Task Config_check_creates_no_database_and_says_there_is_none_yet()
    {
        var check = await _node.RunAsync("config", "check", "--data-dir", Typo);

        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("database:       none yet ('parley serve' creates it; check --data-dir if you expected one)", check.OutputLines);
        Assert.False(Directory.Exists(Typo));
    }
}
