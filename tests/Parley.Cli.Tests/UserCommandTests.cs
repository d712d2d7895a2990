namespace Parley.Cli.Tests;

public sealed class UserCommandTests : IDisposable
{
    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Add_stores_credentials_that_verify_the_password_and_list_shows_the_account()
    {
        var add = await _node.RunAsync("user", "add", "alice@example.com", "--password", "correct horse");

        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.Equal(["added alice@example.com"], add.OutputLines);
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "correct horse"));
        Assert.False(await _node.PasswordVerifiesAsync("alice@example.com", "wrong horse"));
        var list = await _node.RunAsync("user", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Equal("alice@example.com" + Environment.NewLine, list.Output);
    }

    [Fact]
    public async Task Add_stores_the_jid_in_canonical_form()
    {
        var add = await _node.RunAsync("user", "add", "Alice@EXAMPLE.com", "--password", "a secret");

        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "a secret"));
    }

    [Fact]
    public async Task Add_reads_the_password_from_standard_input()
    {
        var add = await _node.RunWithInputAsync("piped secret\n", "user", "add", "bob@example.net");

        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.True(await _node.PasswordVerifiesAsync("bob@example.net", "piped secret"));
    }

    [Fact]
    public async Task Adding_an_existing_account_fails_and_leaves_its_password()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "first secret");

        var again = await _node.RunAsync("user", "add", "alice@example.com", "--password", "second-secret");

        Assert.Equal(1, again.ExitCode);
        Assert.StartsWith("parley: ", again.Error);
        Assert.Contains("already exists", again.Error);
        Assert.DoesNotContain("second-secret", again.Error + again.Output);
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "first secret"));
    }

    [Theory]
    [InlineData("alice", "not an account JID")]
    [InlineData("alice@example.com/phone", "not an account JID")]
    [InlineData("al ice@example.com", "not a valid JID")]
    [InlineData("@example.com", "not a valid JID")]
    public async Task Add_rejects_an_invalid_account_jid(string jid, string expected)
    {
        var add = await _node.RunAsync("user", "add", jid, "--password", "a secret");

        Assert.Equal(2, add.ExitCode);
        Assert.Contains($"parley: '{jid}' is {expected}", add.Error);
        Assert.Equal("", add.Output);
    }

    [Fact]
    public async Task Add_rejects_a_domain_the_node_does_not_serve_and_names_the_served_ones()
    {
        var add = await _node.RunAsync("user", "add", "carol@elsewhere.org", "--password", "a secret");

        Assert.Equal(2, add.ExitCode);
        Assert.Contains("'carol@elsewhere.org' is not in a domain this node serves (example.com, example.net)", add.Error);
    }

    [Fact]
    public async Task The_domain_flag_replaces_the_served_domains()
    {
        var add = await _node.RunAsync("user", "add", "carol@elsewhere.org", "--password", "a secret", "--domain", "elsewhere.org");

        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.True(await _node.PasswordVerifiesAsync("carol@elsewhere.org", "a secret"));
    }

    [Fact]
    public async Task Add_rejects_an_empty_password_from_the_flag_or_standard_input()
    {
        var fromFlag = await _node.RunAsync("user", "add", "alice@example.com", "--password", "");
        var fromStdin = await _node.RunWithInputAsync("\n", "user", "add", "alice@example.com");

        Assert.Equal(2, fromFlag.ExitCode);
        Assert.Contains("parley: the password is empty.", fromFlag.Error);
        Assert.Equal(2, fromStdin.ExitCode);
        Assert.Contains("parley: the password is empty.", fromStdin.Error);
        Assert.Equal("", (await _node.RunAsync("user", "list")).Output);
    }

    [Fact]
    public async Task Add_without_any_password_says_how_to_give_one()
    {
        var add = await _node.RunWithInputAsync("", "user", "add", "alice@example.com");

        Assert.Equal(2, add.ExitCode);
        Assert.Contains("parley: no password: give --password or write it on standard input.", add.Error);
    }

    [Fact]
    public async Task Add_rejects_a_password_with_a_control_character_without_showing_it()
    {
        var add = await _node.RunAsync("user", "add", "alice@example.com", "--password", "bell\u0007secret");

        Assert.Equal(2, add.ExitCode);
        Assert.Contains("parley: the password contains", add.Error);
        Assert.DoesNotContain("secret", add.Error);
    }

    [Fact]
    public async Task Add_and_passwd_refuse_a_password_shorter_than_the_minimum_and_store_nothing()
    {
        var add = await _node.RunAsync("user", "add", "alice@example.com", "--password", "1234567");
        Assert.Equal(2, add.ExitCode);
        Assert.Equal("parley: the password is too short: it must have at least 8 characters.", add.Error.Trim());
        Assert.False(File.Exists(_node.DatabasePath));

        Assert.Equal(0, (await _node.RunAsync("user", "add", "alice@example.com", "--password", "12345678")).ExitCode);
        var passwd = await _node.RunWithInputAsync("short\n", "user", "passwd", "alice@example.com");
        Assert.Equal(2, passwd.ExitCode);
        Assert.Contains("at least 8 characters", passwd.Error);
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "12345678"));
    }

    [Fact]
    public async Task The_minimum_password_length_is_configurable()
    {
        var config = _node.WriteFile("strict.json", $$"""
            { "Parley": { "Domains": ["example.com"], "DataDir": "{{_node.DataDir.Replace("\\", "\\\\")}}", "Auth": { "MinPasswordLength": 12 } } }
            """);

        var add = await CliResult.RunAsync("user", "add", "alice@example.com", "--password", "eleven char", "--config", config);

        Assert.Equal(2, add.ExitCode);
        Assert.Contains("at least 12 characters", add.Error);
    }

    [Fact]
    public async Task Remove_deletes_the_account()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "a secret");
        await _node.RunAsync("user", "add", "bob@example.com", "--password", "a secret");

        var remove = await _node.RunAsync("user", "remove", "alice@example.com");

        Assert.True(remove.ExitCode == 0, remove.ToString());
        Assert.Equal(["bob@example.com"], (await _node.RunAsync("user", "list")).OutputLines);
    }

    [Fact]
    public async Task Removing_a_missing_account_fails()
    {
        await _node.CreateDatabaseAsync();

        var remove = await _node.RunAsync("user", "remove", "nobody@example.com");

        Assert.Equal(1, remove.ExitCode);
        Assert.Contains("parley: there is no account nobody@example.com.", remove.Error);
    }

    [Fact]
    public async Task Passwd_replaces_the_password()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "old secret");

        var passwd = await _node.RunAsync("user", "passwd", "alice@example.com", "--password", "new secret");

        Assert.True(passwd.ExitCode == 0, passwd.ToString());
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "new secret"));
        Assert.False(await _node.PasswordVerifiesAsync("alice@example.com", "old secret"));
    }

    [Fact]
    public async Task Passwd_reads_the_password_from_standard_input()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "old secret");

        var passwd = await _node.RunWithInputAsync("piped secret\r\n", "user", "passwd", "alice@example.com");

        Assert.True(passwd.ExitCode == 0, passwd.ToString());
        Assert.True(await _node.PasswordVerifiesAsync("alice@example.com", "piped secret"));
    }

    [Fact]
    public async Task Passwd_of_a_missing_account_fails()
    {
        await _node.CreateDatabaseAsync();

        var passwd = await _node.RunAsync("user", "passwd", "nobody@example.com", "--password", "a secret");

        Assert.Equal(1, passwd.ExitCode);
        Assert.Contains("parley: there is no account nobody@example.com.", passwd.Error);
    }

    [Fact]
    public async Task List_filters_by_domain_and_pages()
    {
        foreach (var jid in new[] { "dave@example.com", "anna@example.net", "carl@example.com", "bert@example.com" })
        {
            Assert.Equal(0, (await _node.RunAsync("user", "add", jid, "--password", "a secret")).ExitCode);
        }

        Assert.Equal(["anna@example.net", "bert@example.com", "carl@example.com", "dave@example.com"], (await _node.RunAsync("user", "list")).OutputLines);
        Assert.Equal(["bert@example.com", "carl@example.com", "dave@example.com"], (await _node.RunAsync("user", "list", "--domain", "Example.COM")).OutputLines);
        Assert.Equal(["carl@example.com"], (await _node.RunAsync("user", "list", "--domain", "example.com", "--offset", "1", "--limit", "1")).OutputLines);
        Assert.Empty((await _node.RunAsync("user", "list", "--domain", "example.org")).OutputLines);
    }

    [Fact]
    public async Task Disable_marks_the_account_in_the_list_and_enable_clears_it()
    {
        Assert.Equal(0, (await _node.RunAsync("user", "add", "alice@example.com", "--password", "a secret")).ExitCode);

        var disable = await _node.RunAsync("user", "disable", "Alice@Example.com");

        Assert.Equal((0, "disabled alice@example.com"), (disable.ExitCode, disable.OutputLines.Single()));
        Assert.Equal(["alice@example.com\t\tdisabled"], (await _node.RunAsync("user", "list")).OutputLines);
        Assert.Equal(0, (await _node.RunAsync("user", "enable", "alice@example.com")).ExitCode);
        Assert.Equal(["alice@example.com"], (await _node.RunAsync("user", "list")).OutputLines);
    }

    [Fact]
    public async Task Set_name_gives_the_account_a_display_name_listed_audited_and_an_empty_one_clears_it()
    {
        Assert.Equal(0, (await _node.RunAsync("user", "add", "alice@example.com", "--password", "a secret")).ExitCode);

        var named = await _node.RunAsync("user", "set-name", "Alice@Example.com", "Alice Liddell");
        var bad = await _node.RunAsync("user", "set-name", "alice@example.com", "two\nlines");
        var missing = await _node.RunAsync("user", "set-name", "nobody@example.com", "Nobody");

        Assert.Equal((0, "named alice@example.com"), (named.ExitCode, named.OutputLines.Single()));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("parley: A display name cannot hold control characters", bad.Error);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("parley: there is no account nobody@example.com.", missing.Error);
        await using (var storage = await _node.OpenStorageAsync())
        {
            Assert.Equal("Alice Liddell", (await storage.Accounts.GetAsync("alice@example.com"))!.DisplayName);
            var audit = await storage.Audit.ListAsync(null, null, 10);
            Assert.Contains(audit, r => r.Action == "account.display-name" && r.Subject == "alice@example.com" && r.Details == "Alice Liddell");
        }
        Assert.Equal(["alice@example.com\tAlice Liddell"], (await _node.RunAsync("user", "list")).OutputLines);
        Assert.Equal(0, (await _node.RunAsync("user", "disable", "alice@example.com")).ExitCode);
        Assert.Equal(["alice@example.com\tAlice Liddell\tdisabled"], (await _node.RunAsync("user", "list")).OutputLines);

        Assert.Equal(0, (await _node.RunAsync("user", "set-name", "alice@example.com", "")).ExitCode);
        await using var after = await _node.OpenStorageAsync();
        Assert.Null((await after.Accounts.GetAsync("alice@example.com"))!.DisplayName);
        Assert.Equal(["alice@example.com\t\tdisabled"], (await _node.RunAsync("user", "list")).OutputLines);
    }

    [Fact]
    public async Task Disable_of_a_missing_account_fails_and_names_it()
    {
        Assert.Equal(0, (await _node.RunAsync("user", "add", "alice@example.com", "--password", "a secret")).ExitCode);

        var disable = await _node.RunAsync("user", "disable", "nobody@example.com");

        Assert.Equal(1, disable.ExitCode);
        Assert.Contains("parley: there is no account nobody@example.com.", disable.Error);
    }

    [Fact]
    public async Task List_rejects_a_negative_limit()
    {
        var list = await _node.RunAsync("user", "list", "--limit", "-1");

        Assert.Equal(2, list.ExitCode);
        Assert.Contains("parley: --limit must not be negative.", list.Error);
    }

    [Fact]
    public async Task Add_works_while_another_handle_holds_the_database_open_as_a_running_node_does()
    {
        await using var nodeStorage = await _node.OpenStorageAsync();
        Assert.Equal(0, await nodeStorage.Accounts.CountAsync(null));

        var add = await _node.RunAsync("user", "add", "alice@example.com", "--password", "a secret");

        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.True(await nodeStorage.Accounts.ExistsAsync("alice@example.com"));
    }

    [Fact]
    public async Task A_storage_that_cannot_be_opened_is_reported()
    {
        Directory.CreateDirectory(_node.DatabasePath);

        var add = await _node.RunAsync("user", "add", "alice@example.com", "--password", "a secret");

        Assert.Equal(1, add.ExitCode);
        Assert.Contains($"parley: cannot open storage sqlite {_node.DatabasePath}:", add.Error);
    }

    [Fact]
    public async Task The_data_dir_flag_chooses_the_storage()
    {
        var otherDataDir = Path.Combine(_node.Folder, "other");

        var add = await _node.RunAsync("user", "add", "alice@example.com", "--password", "a secret", "--data-dir", otherDataDir);

        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.Equal(["alice@example.com"], (await _node.RunAsync("user", "list", "--data-dir", otherDataDir)).OutputLines);
        Assert.False(File.Exists(_node.DatabasePath));
    }
}
