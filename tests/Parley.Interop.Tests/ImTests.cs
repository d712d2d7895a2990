using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>Contacts, presence, chat, offline messages and blocking with real Debian clients (RFC 6121).</summary>
public sealed class ImTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        foreach (var user in new[] { "alice", "bob", "carol", "dave" })
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
    public async Task Slixmpp_users_add_each_other_chat_get_offline_messages_and_block()
    {
        var result = await RunAsync("slixmpp_im.py", "alice@localhost", "alice-secret", "bob@localhost", "bob-secret");

        Assert.Equal("both", result.GetProperty("roster").GetProperty("alice").GetString());
        Assert.Equal("both", result.GetProperty("roster").GetProperty("bob").GetString());
        Assert.Equal("Bob", result.GetProperty("roster").GetProperty("name").GetString());
        // slixmpp reports an available presence's show as its type.
        Assert.Equal("away", result.GetProperty("presence")[1].GetString());
        Assert.Equal("bob@localhost/", result.GetProperty("presence")[0].GetString()![..14]);
        var offline = result.GetProperty("offline");
        Assert.Equal("first while you were out", offline[0].GetProperty("body").GetString());
        Assert.Equal("second while you were out", offline[1].GetProperty("body").GetString());
        Assert.True(offline[0].GetProperty("delayed").GetBoolean());
        Assert.False(string.IsNullOrEmpty(result.GetProperty("blocked_error").GetString()));
        Assert.False(result.GetProperty("received_while_blocked").GetBoolean());
    }

    [Fact]
    public async Task Aioxmpp_users_subscribe_see_presence_chat_and_get_offline_messages()
    {
        var result = await RunAsync("aioxmpp_im.py", "carol@localhost", "carol-secret", "dave@localhost", "dave-secret");

        Assert.Equal("to", result.GetProperty("subscription").GetString());
        Assert.Equal("call me when you are back", result.GetProperty("offline").GetProperty("body").GetString());
        Assert.True(result.GetProperty("offline").GetProperty("delayed").GetBoolean());
    }
}
