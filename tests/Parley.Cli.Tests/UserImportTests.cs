namespace Parley.Cli.Tests;

public sealed class UserImportTests : IDisposable
{
    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Import_creates_every_account_of_a_file_with_a_bom_a_header_and_blank_lines()
    {
        var file = _node.WriteFile("users.csv", "\uFEFFjid,password\r\nalice@example.com,alice secret\r\n\r\nBob@Example.NET,pass,with,commas\r\n");

        var import = await _node.RunAsync("user", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith("imported 2, skipped 0 existing (", import.Output);
        Assert.Matches(@"\(\d+\.\d s, \d+ accounts/s\)", import.Output);
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "alice secret"));
        Assert.True(await _node.PasswordVerifiesAsync("bob@example.net", "pass,with,commas"));
        Assert.Equal(["alice@example.com", "bob@example.net"], (await _node.RunAsync("user", "list")).OutputLines);
    }

    [Fact]
    public async Task Import_without_a_header_imports_the_first_line()
    {
        var file = _node.WriteFile("users.csv", "alice@example.com,a secret\n");

        var import = await _node.RunAsync("user", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "a secret"));
    }

    [Fact]
    public async Task Import_reports_every_bad_line_with_its_number_and_imports_nothing()
    {
        var file = _node.WriteFile("users.csv", string.Join('\n',
            "jid,password",
            "alice@example.com,fine secret",
            "not a jid,secret-one",
            "bob@elsewhere.org,secret-two",
            "carol@example.com,",
            "dave@example.com,fine secret"));

        var import = await _node.RunAsync("user", "import", file);

        Assert.Equal(1, import.ExitCode);
        Assert.Contains($"parley: {file}:3: 'not a jid' is not a valid JID", import.Error);
        Assert.Contains($"parley: {file}:4: 'bob@elsewhere.org' is not in a domain this node serves (example.com, example.net).", import.Error);
        Assert.Contains($"parley: {file}:5: the password is empty.", import.Error);
        Assert.Contains($"parley: {file}: 3 bad lines; nothing imported.", import.Error);
        Assert.DoesNotContain("secret-", import.Error);
        Assert.Equal("", import.Output);
        Assert.False(File.Exists(_node.DatabasePath));
    }

    [Fact]
    public async Task Import_reports_a_password_shorter_than_the_minimum_with_its_line_number_and_imports_nothing()
    {
        var file = _node.WriteFile("users.csv", "jid,password\nalice@example.com,long enough\nbob@example.com,short\n");

        var import = await _node.RunAsync("user", "import", file);

        Assert.Equal(1, import.ExitCode);
        Assert.Contains($"parley: {file}:3: the password is too short: it must have at least 8 characters.", import.Error);
        Assert.Contains($"parley: {file}: 1 bad line; nothing imported.", import.Error);
        Assert.False(File.Exists(_node.DatabasePath));
    }

    [Fact]
    public async Task Import_reports_a_jid_that_appears_twice_and_a_line_without_a_comma()
    {
        var file = _node.WriteFile("users.csv", "alice@example.com,secret one\nbob@example.com,secret two\nALICE@example.com,secret three\njust-a-password\n");

        var import = await _node.RunAsync("user", "import", file);

        Assert.Equal(1, import.ExitCode);
        Assert.Contains($"parley: {file}:3: alice@example.com is on line 1 already.", import.Error);
        Assert.Contains($"parley: {file}:4: expected jid,password (no comma).", import.Error);
        Assert.DoesNotContain("just-a-password", import.Error);
        Assert.False(File.Exists(_node.DatabasePath));
    }

    [Fact]
    public async Task Import_skips_and_counts_existing_accounts_and_keeps_their_passwords()
    {
        Assert.Equal(0, (await _node.RunAsync("user", "add", "alice@example.com", "--password", "original")).ExitCode);
        var file = _node.WriteFile("users.csv", "alice@example.com,replaced\nbob@example.com,bob secret\n");

        var import = await _node.RunAsync("user", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith("imported 1, skipped 1 existing (", import.Output);
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "original"));
        Assert.True(await _node.PasswordVerifiesAsync("bob@example.com", "bob secret"));
    }

    [Fact]
    public async Task Import_of_many_accounts_creates_them_all()
    {
        var lines = Enumerable.Range(0, 300).Select(index => $"user{index:D3}@example.com,password {index}");
        var file = _node.WriteFile("users.csv", string.Join('\n', lines));

        var import = await _node.RunAsync("user", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith("imported 300, skipped 0 existing (", import.Output);
        await using var storage = await _node.OpenStorageAsync();
        Assert.Equal(300, await storage.Accounts.CountAsync("example.com"));
        Assert.True(await _node.PasswordVerifiesAsync("user299@example.com", "password 299"));
    }

    [Fact]
    public async Task Import_of_a_missing_file_is_a_usage_error()
    {
        var missing = Path.Combine(_node.Folder, "missing.csv");

        var import = await _node.RunAsync("user", "import", missing);

        Assert.Equal(2, import.ExitCode);
        Assert.Contains($"parley: {missing} does not exist.", import.Error);
    }
}
