using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>Multi-user chat (XEP-0045) with a real client: python3-slixmpp's xep_0045 plugin.</summary>
public sealed class MucTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            var add = await _node.CliAsync(["user", "add", $"{user}@localhost", "--password", $"{user}-secret"]);
            Assert.True(add.ExitCode == 0, add.Output);
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<JsonElement> RunAsync(string script, params string[] arguments)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", script);
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3", [path, "127.0.0.1", _node.C2sPort.ToString(), .. arguments], TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"{script} failed:\n{output}\nnode log:\n{_node.Output}");
        return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
    }

    [Fact]
    public async Task Slixmpp_creates_configures_invites_joins_twice_moderates_and_finds_history_after_a_restart()
    {
        const string Room = "team@conference.localhost";
        var setup = await RunAsync("slixmpp_muc.py", "setup", Room, "alice@localhost:alice-secret", "bob@localhost:bob-secret", "carol@localhost:carol-secret");

        Assert.Equal([110, 201], setup.GetProperty("created_codes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.Equal(Room, setup.GetProperty("invited_by").GetString());
        Assert.Contains(110, setup.GetProperty("second_device_codes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.True(setup.GetProperty("kicked").GetBoolean());
        Assert.True(setup.GetProperty("both_devices").GetBoolean());
        Assert.True(setup.GetProperty("adhoc_listed_while_occupied").GetBoolean());
        Assert.Equal("item-not-found", setup.GetProperty("adhoc_after_leaving").GetString());

        _node = await _node.RestartAsync();
        var list = await _node.CliAsync(["room", "list"]);
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains(Room, list.Output);

        var after = await RunAsync("slixmpp_muc.py", "after-restart", Room, "bob@localhost:bob-secret");
        Assert.Equal(["before the restart", "desk only"], after.GetProperty("history").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Team room", after.GetProperty("name").GetString());
    }
}
