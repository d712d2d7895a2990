using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>Service administration (XEP-0133) from a real Debian client: python3-slixmpp's ad-hoc command plugin (XEP-0050).</summary>
public sealed class ServiceAdministrationInteropTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        await _node.AddUsersAsync("boss", "alice");
        var grant = await _node.CliAsync(["admin", "grant", "boss@localhost"]);
        Assert.True(grant.ExitCode == 0, grant.Output);
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task An_admin_runs_the_xep_0133_commands_with_slixmpp_and_an_ordinary_user_cannot()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_adhoc.py");
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [path, "127.0.0.1", _node.C2sPort.ToString(), "localhost", "boss@localhost", "boss-secret", "alice@localhost", "alice-secret", "carol@localhost", "carol-secret-1"],
            TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"slixmpp_adhoc.py failed:\n{output}\nnode log:\n{_node.Output}");
        var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;

        Assert.Empty(result.GetProperty("user_commands").EnumerateArray());
        Assert.Equal("forbidden", result.GetProperty("user_add_user")[1].GetString());
        Assert.Contains("add-user", result.GetProperty("admin_commands").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["completed", "Added carol@localhost."], result.GetProperty("add_user").EnumerateArray().Take(2).Select(e => e.GetString()));
        Assert.Equal("2", result.GetProperty("online").GetString());
        Assert.Equal("localhost", result.GetProperty("motd")[0].GetString());
        Assert.Equal("Sent the announcement to 3 sessions.", result.GetProperty("announce")[1].GetString());
        Assert.Equal(["localhost", "Maintenance", "Back at 22:00."], result.GetProperty("announcement").EnumerateArray().Select(e => e.GetString()));

        // Every other command of the 15.
        List<string?> Strings(string name) => [.. result.GetProperty(name).EnumerateArray().Select(e => e.GetString())];
        Assert.Equal(["alice@localhost", "boss@localhost", "carol@localhost"], Strings("online_list"));
        Assert.Equal("3", result.GetProperty("registered_num").GetString());
        Assert.Equal(["alice@localhost", "boss@localhost", "carol@localhost"], Strings("registered_list"));
        Assert.InRange(DateTimeOffset.Parse(result.GetProperty("lastlogin").GetString()!), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(["completed", "alice@localhost"], Strings("roster"));
        Assert.Equal("Authorized use only. <b>Be kind</b> & \"careful\".", result.GetProperty("edit_motd_prefilled").GetString());
        foreach (var command in new[] { "edit_motd", "delete_motd", "change_password", "disable", "reenable", "delete" })
        {
            Assert.True(Strings(command)[0] == "completed", $"{command}: {result.GetProperty(command)}");
        }
        Assert.True(result.GetProperty("signed_in_with_new_password").GetBoolean());
        Assert.True(result.GetProperty("disabled_session_ended").GetBoolean());
        Assert.True(result.GetProperty("signed_in_after_reenable").GetBoolean());
        Assert.Equal("2", result.GetProperty("registered_after_delete").GetString());

        var audit = await _node.CliAsync(["audit", "list"]);
        var actions = audit.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => line.Contains('\t')).Select(line => line.Split('\t')).ToList();
        // The set-up's CLI changes first, then the admin's from the client.
        Assert.Equal(["account.create", "account.create", "admin.grant", "account.create", "banner.set", "announcement.send", "banner.set", "banner.clear",
            "account.password", "account.disable", "account.enable", "account.remove"], actions.Select(fields => fields[3]));
        Assert.All(actions.Take(3), fields => Assert.Equal("cli", fields[2]));
        Assert.All(actions.Skip(3), fields => Assert.Equal(("boss@localhost", "127.0.0.1"), (fields[1], fields[2])));
        Assert.DoesNotContain("carol-secret-1", audit.Output);
        Assert.DoesNotContain("carol@localhost", (await _node.CliAsync(["user", "list"])).Output);
    }
}
