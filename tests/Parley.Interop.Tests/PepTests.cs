using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>Personal eventing (XEP-0163) with a real Debian client: nickname (XEP-0172) and avatar (XEP-0084).</summary>
public sealed class PepTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        foreach (var user in new[] { "alice", "bob" })
        {
            var add = await _node.CliAsync(["user", "add", $"{user}@localhost", "--password", $"{user}-secret"]);
            Assert.True(add.ExitCode == 0, add.Output);
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_slixmpp_contact_gets_the_nickname_and_avatar_another_slixmpp_user_publishes()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_pep.py");
        var (exitCode, output) = await ExternalProcess.RunAsync(
            "/usr/bin/python3", [path, "127.0.0.1", _node.C2sPort.ToString(), "alice@localhost", "alice-secret", "bob@localhost", "bob-secret"], TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"slixmpp_pep.py failed:\n{output}\nnode log:\n{_node.Output}");
        var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;

        Assert.Equal("alice@localhost", result.GetProperty("nick")[0].GetString());
        Assert.Equal("Ally", result.GetProperty("nick")[1].GetString());
        Assert.Equal("alice@localhost", result.GetProperty("avatar")[0].GetString());
        Assert.Equal("image/png", result.GetProperty("avatar")[2].GetString());
        Assert.True(result.GetProperty("avatar_data_matches").GetBoolean());
    }
}
