using System.Globalization;

namespace Parley.Cli.Tests;

/// <summary><c>parley admin</c>, <c>parley audit</c> and <c>parley banner</c>, and the audit record each CLI change leaves.</summary>
public sealed class AdministrationCommandTests : IDisposable
{
    private const string Password = "correct horse battery";

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Grant_revoke_and_list_the_admin_role()
    {
        var grant = await _node.RunAsync("admin", "grant", "Alice@Example.com");
        var again = await _node.RunAsync("admin", "grant", "alice@example.com");
        await _node.RunAsync("admin", "grant", "bob@example.net");

        Assert.True(grant.ExitCode == 0, grant.ToString());
        Assert.Equal(["granted the admin role to alice@example.com"], grant.OutputLines);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("alice@example.com is an admin already", again.Error);
        Assert.Equal(["alice@example.com", "bob@example.net"], (await _node.RunAsync("admin", "list")).OutputLines);

        var revoke = await _node.RunAsync("admin", "revoke", "alice@example.com");
        var revokeAgain = await _node.RunAsync("admin", "revoke", "alice@example.com");

        Assert.Equal(["revoked the admin role of alice@example.com"], revoke.OutputLines);
        Assert.Equal(1, revokeAgain.ExitCode);
        Assert.Contains("alice@example.com was not granted the admin role", revokeAgain.Error);
        Assert.Equal(["bob@example.net"], (await _node.RunAsync("admin", "list")).OutputLines);
    }

    [Theory]
    [InlineData("alice", "not an account JID")]
    [InlineData("alice@example.com/phone", "not an account JID")]
    [InlineData("carol@elsewhere.org", "not in a domain this node serves")]
    public async Task Grant_refuses_what_is_not_an_account_of_a_served_domain(string jid, string expected)
    {
        var grant = await _node.RunAsync("admin", "grant", jid);

        Assert.Equal(2, grant.ExitCode);
        Assert.Contains(expected, grant.Error);
    }

    [Fact]
    public async Task An_admin_listed_in_the_configuration_is_listed_as_configured_and_cannot_be_revoked_with_the_cli()
    {
        File.WriteAllText(_node.ConfigFile, $$"""
            { "Parley": { "Domains": ["example.com"], "DataDir": "{{_node.DataDir.Replace("\\", "\\\\")}}", "Admins": ["root@example.com"] } }
            """);
        await _node.CreateDatabaseAsync();

        Assert.Equal(["root@example.com\tconfigured"], (await _node.RunAsync("admin", "list")).OutputLines);
        var revoke = await _node.RunAsync("admin", "revoke", "root@example.com");

        Assert.Equal(1, revoke.ExitCode);
        Assert.Contains("Parley:Admins lists it; remove it there", revoke.Error);
    }

    [Fact]
    public async Task Removing_an_account_takes_its_admin_role_so_a_new_account_of_that_name_has_none()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", Password);
        await _node.RunAsync("admin", "grant", "alice@example.com");

        await _node.RunAsync("user", "remove", "alice@example.com");

        Assert.Empty((await _node.RunAsync("admin", "list")).OutputLines);
    }

    [Fact]
    public async Task Each_change_leaves_one_audit_record_by_the_cli_user_and_never_the_password()
    {
        await _node.RunAsync("user", "add", "alice@example.com", "--password", Password);
        await _node.RunAsync("user", "passwd", "alice@example.com", "--password", "another " + Password);
        await _node.RunAsync("user", "disable", "alice@example.com");
        await _node.RunAsync("user", "enable", "alice@example.com");
        await _node.RunAsync("admin", "grant", "alice@example.com");
        await _node.RunAsync("admin", "revoke", "alice@example.com");
        await _node.RunAsync("banner", "set", _node.WriteFile("banner.txt", "Authorized use only."));
        await _node.RunAsync("banner", "clear");
        await _node.RunAsync("room", "create", "team@conference.example.com", "--owner", "alice@example.com");
        await _node.RunAsync("room", "configure", "team@conference.example.com", "--password", "room secret", "--owner", "bob@example.com");
        await _node.RunAsync("room", "destroy", "team@conference.example.com");
        await _node.RunAsync("user", "import", _node.WriteFile("users.csv", "jid,password\ncarol@example.com,carol " + Password + "\n"));
        var rosters = await _node.RunAsync("roster", "import", _node.WriteFile("rosters.csv", "alice@example.com,carol@example.com\n"));
        Assert.True(rosters.ExitCode == 0, rosters.ToString());
        await _node.RunAsync("archive", "delete", "alice@example.com");
        await _node.RunAsync("user", "remove", "alice@example.com");
        // Refused and failed commands change nothing and leave no record.
        await _node.RunAsync("user", "add", "alice@example.com", "--password", "short");
        await _node.RunAsync("admin", "revoke", "nobody@example.com");

        var list = await _node.RunAsync("audit", "list");

        Assert.True(list.ExitCode == 0, list.ToString());
        var records = list.OutputLines.Select(line => line.Split('\t')).ToList();
        Assert.Equal(
            [
                ("account.create", "alice@example.com"), ("account.password", "alice@example.com"), ("account.disable", "alice@example.com"),
                ("account.enable", "alice@example.com"), ("admin.grant", "alice@example.com"), ("admin.revoke", "alice@example.com"),
                ("banner.set", "banner"), ("banner.clear", "banner"), ("room.create", "team@conference.example.com"),
                ("room.configure", "team@conference.example.com"), ("room.destroy", "team@conference.example.com"),
                ("account.import", "users.csv"), ("roster.import", "alice@example.com"), ("roster.import", "carol@example.com"),
                ("archive.delete", "alice@example.com"), ("account.remove", "alice@example.com"),
            ],
            records.Select(fields => (fields[3], fields[4])));
        Assert.All(records, fields => Assert.Equal((Environment.UserName, "cli"), (fields[1], fields[2])));
        Assert.All(records, fields => Assert.InRange(DateTimeOffset.Parse(fields[0], CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow));
        Assert.Equal("password changed", records[1][5]);
        Assert.Equal("owners added: bob@example.com", records[9][5]);
        Assert.Equal("1 created, 0 existing skipped", records[11][5]);
        Assert.DoesNotContain("horse", list.Output);
        Assert.DoesNotContain("room secret", list.Output);
        Assert.DoesNotContain("short", list.Output);
    }

    [Fact]
    public async Task Audit_list_filters_by_actor_and_time_and_writes_csv_with_quoted_fields()
    {
        await _node.RunAsync("banner", "set", _node.WriteFile("banner.txt", "Line one, \"quoted\"\nline two"));

        var csv = await _node.RunAsync("audit", "list", "--csv", "--since", "1h", "--actor", Environment.UserName);
        var none = await _node.RunAsync("audit", "list", "--actor", "someone-else");
        var future = await _node.RunAsync("audit", "list", "--since", DateTimeOffset.UtcNow.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        var plain = await _node.RunAsync("audit", "list");

        Assert.True(csv.ExitCode == 0, csv.ToString());
        Assert.Equal("at,actor,origin,action,subject,details", csv.OutputLines[0]);
        Assert.EndsWith($",{Environment.UserName},cli,banner.set,banner,\"Line one, \"\"quoted\"\"\nline two\"", csv.Output.TrimEnd());
        Assert.Empty(none.OutputLines);
        Assert.Empty(future.OutputLines);
        Assert.EndsWith("\tbanner.set\tbanner\tLine one, \"quoted\"\\nline two", Assert.Single(plain.OutputLines));
    }

    [Fact]
    public async Task Audit_list_csv_defuses_a_field_a_spreadsheet_would_run_as_a_formula()
    {
        await _node.RunAsync("banner", "set", _node.WriteFile("banner.txt", "=HYPERLINK(\"http://evil.example\")"));

        var csv = await _node.RunAsync("audit", "list", "--csv");

        Assert.EndsWith(",banner.set,banner,\"'=HYPERLINK(\"\"http://evil.example\"\")\"", csv.Output.TrimEnd());
    }

    [Fact]
    public async Task Audit_list_refuses_a_time_it_cannot_read()
    {
        await _node.CreateDatabaseAsync();

        var list = await _node.RunAsync("audit", "list", "--since", "yesterday");

        Assert.Equal(2, list.ExitCode);
        Assert.Contains("--since 'yesterday' is neither a date and time", list.Error);
    }

    [Fact]
    public async Task Banner_set_show_and_clear_keep_the_text_as_written()
    {
        const string banner = "Authorized use only.\n<script>alert('x')</script> & \"quotes\"";
        await _node.CreateDatabaseAsync();

        Assert.Equal("", (await _node.RunAsync("banner", "show")).Output);
        var set = await _node.RunAsync("banner", "set", _node.WriteFile("banner.txt", banner + "\r\n\r\n"));

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal(banner + Environment.NewLine, (await _node.RunAsync("banner", "show")).Output);
        Assert.Equal(["cleared the login banner"], (await _node.RunAsync("banner", "clear")).OutputLines);
        Assert.Equal(["there was no login banner"], (await _node.RunAsync("banner", "clear")).OutputLines);
        Assert.Equal("", (await _node.RunAsync("banner", "show")).Output);
    }

    [Fact]
    public async Task Settings_set_list_and_reset_say_where_each_value_comes_from_and_are_audited()
    {
        await _node.CreateDatabaseAsync();

        Assert.Contains("max-contacts = 0 (configured): ", (await _node.RunAsync("settings", "list")).Output);
        Assert.Equal(["set max-contacts = 200"], (await _node.RunAsync("settings", "set", "max-contacts", "200")).OutputLines);
        Assert.Equal(["set registration = on"], (await _node.RunAsync("settings", "set", "registration", "on")).OutputLines);
        var list = (await _node.RunAsync("settings", "list")).OutputLines;
        Assert.Contains(list, line => line.StartsWith("max-contacts = 200 (set): ", StringComparison.Ordinal));
        Assert.Contains(list, line => line.StartsWith("registration = on (set): ", StringComparison.Ordinal));
        Assert.Contains(list, line => line.StartsWith("archive-retention-days = 0 (configured): ", StringComparison.Ordinal));

        Assert.Equal(["max-contacts is as configured again"], (await _node.RunAsync("settings", "reset", "max-contacts")).OutputLines);
        Assert.Equal(["max-contacts was not set; it is as configured"], (await _node.RunAsync("settings", "reset", "max-contacts")).OutputLines);
        Assert.Contains("max-contacts = 0 (configured): ", (await _node.RunAsync("settings", "list")).Output);
        var audit = (await _node.RunAsync("audit", "list")).Output;
        Assert.Contains("setting.set", audit);
        Assert.Contains("setting.reset", audit);
    }

    [Theory]
    [InlineData("max-contacts", "-5", "max-contacts takes a whole number")]
    [InlineData("registration", "maybe", "registration is on or off")]
    [InlineData("max-kittens", "3", "there is no setting 'max-kittens'; the settings are max-contacts")]
    public async Task Settings_set_refuses_an_unknown_setting_or_a_value_it_cannot_take_and_changes_nothing(string name, string value, string expected)
    {
        await _node.CreateDatabaseAsync();

        var set = await _node.RunAsync("settings", "set", name, value);

        Assert.Equal(2, set.ExitCode);
        Assert.Contains(expected, set.Error);
        Assert.DoesNotContain("(set)", (await _node.RunAsync("settings", "list")).Output);
    }

    [Theory]
    [InlineData("   \n", "The banner is empty")]
    [InlineData("bell\u0007", "control character U+0007")]
    public async Task Banner_set_refuses_an_empty_banner_or_control_characters_and_keeps_the_old_one(string text, string expected)
    {
        await _node.RunAsync("banner", "set", _node.WriteFile("old.txt", "old banner"));

        var set = await _node.RunAsync("banner", "set", _node.WriteFile("new.txt", text));

        Assert.Equal(2, set.ExitCode);
        Assert.Contains(expected, set.Error);
        Assert.Equal(["old banner"], (await _node.RunAsync("banner", "show")).OutputLines);
    }

    [Fact]
    public async Task Banner_set_reads_standard_input_for_a_dash()
    {
        var set = await _node.RunWithInputAsync("from a pipe\n", "banner", "set", "-");

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal(["from a pipe"], (await _node.RunAsync("banner", "show")).OutputLines);
    }
}
