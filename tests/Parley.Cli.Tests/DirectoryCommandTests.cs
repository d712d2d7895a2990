using Parley.Ldap.Tests.Support;

namespace Parley.Cli.Tests;

public sealed class DirectoryCommandTests : IAsyncLifetime
{
    private readonly CliTestNode _node = new();
    private TestDirectory _directory = null!;

    public async Task InitializeAsync() => _directory = await TestDirectory.StartAsync();

    public async Task DisposeAsync()
    {
        await _directory.DisposeAsync();
        _node.Dispose();
    }

    [Fact]
    public async Task Test_says_which_server_answered_how_many_people_and_groups_it_found_and_who_has_no_valid_jid()
    {
        var test = await RunAsync("directory", "test");

        Assert.True(test.ExitCode == 0, test.ToString());
        Assert.Contains($"connected to {_directory.Url} as {TestDirectory.ServiceDn}", test.Output);
        Assert.Contains("6 people match (objectClass=inetOrgPerson)", test.Output);
        Assert.Contains("1 disabled, 1 without a valid JID", test.Output);
        Assert.Contains("'not a localpart@' is not a valid JID localpart", test.Output);
        Assert.Contains("group 'Engineering Team': 3 members", test.Output);
    }

    [Fact]
    public async Task Sync_shows_progress_and_a_summary_and_a_second_sync_changes_nothing()
    {
        await _node.CreateDatabaseAsync();

        var first = await RunAsync("directory", "sync");
        var second = await RunAsync("directory", "sync");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("Directory sync: 5 added, 0 updated, 1 disabled, 0 removed, 0 unchanged, 1 skipped", first.Output);
        Assert.Contains("skipped uid=badname,ou=People,dc=example,dc=test: 'not a localpart@' is not a valid JID localpart", first.Output);
        Assert.Contains("[##########] 5/5", first.Error);
        Assert.Contains("0 added, 0 updated, 0 disabled, 0 removed, 5 unchanged", second.Output);
        Assert.NotNull(await _node.CredentialsAsync("alice@example.com"));
    }

    [Fact]
    public async Task A_wrong_service_account_password_fails_with_a_clear_message_and_exit_code_1()
    {
        await _node.CreateDatabaseAsync();

        var sync = await RunAsync("directory", "sync", password: "wrong");
        var test = await RunAsync("directory", "test", password: "wrong");

        Assert.Equal(1, sync.ExitCode);
        Assert.Contains("refused the service account", sync.Error);
        Assert.Contains("Nothing was changed", sync.Error);
        Assert.Equal(1, test.ExitCode);
        Assert.Contains("refused the service account", test.Error);
    }

    [Fact]
    public async Task Without_a_configured_directory_the_commands_say_so()
    {
        var test = await _node.RunAsync("directory", "test");

        Assert.Equal(2, test.ExitCode);
        Assert.Contains("no directory is configured", test.Error);
    }

    private Task<CliResult> RunAsync(string command, string subcommand, string password = TestDirectory.ServicePassword)
    {
        var config = _node.WriteFile("directory.json", $$"""
            { "Parley": {
                "Domains": ["example.com"], "DataDir": "{{_node.DataDir}}",
                "Directory": {
                  "Servers": ["{{_directory.Url}}"], "Tls": "none",
                  "BindDn": "{{TestDirectory.ServiceDn}}", "BindPassword": "{{password}}",
                  "UserBase": "{{TestDirectory.PeopleBase}}", "GroupBase": "{{TestDirectory.GroupBase}}",
                  "GroupFilter": "(cn=Engineering Team)", "DisabledFilter": "(employeeType=disabled)"
                } } }
            """);
        return CliResult.RunWithInputAsync("", [command, subcommand, "--config", config]);
    }
}
