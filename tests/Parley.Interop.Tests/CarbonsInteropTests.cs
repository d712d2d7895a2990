using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>Message Carbons (XEP-0280) with python3-slixmpp's xep_0280 plugin on two devices of one user.</summary>
public sealed class CarbonsInteropTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        foreach (var user in new[] { "romeo", "juliet" })
        {
            var add = await _node.CliAsync(["user", "add", $"{user}@localhost", "--password", $"{user}-secret"]);
            Assert.True(add.ExitCode == 0, add.Output);
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_contacts_messages_show_on_both_slixmpp_devices_and_what_one_device_sends_shows_on_the_other()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_carbons.py");
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [script, "127.0.0.1", _node.C2sPort.ToString(), "romeo@localhost", "romeo-secret", "juliet@localhost", "juliet-secret"],
            TimeSpan.FromSeconds(120));

        Assert.True(exitCode == 0, $"slixmpp_carbons.py failed:\n{output}\nnode log:\n{_node.Output}");
        var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.True(result.GetProperty("advertised").GetBoolean());

        var bare = result.GetProperty("bare");
        Assert.Equal("juliet@localhost/balcony", bare.GetProperty("phone_carbon").GetProperty("from").GetString());
        Assert.Equal("romeo@localhost", bare.GetProperty("phone_carbon").GetProperty("to").GetString());
        Assert.False(bare.GetProperty("phone_got_original").GetBoolean());

        Assert.Equal("juliet@localhost/balcony", result.GetProperty("full").GetProperty("from").GetString());
        Assert.Equal("romeo@localhost/phone", result.GetProperty("full").GetProperty("to").GetString());

        Assert.Equal("romeo@localhost/desk", result.GetProperty("sent").GetProperty("from").GetString());
        Assert.Equal("juliet@localhost", result.GetProperty("sent").GetProperty("to").GetString());
        Assert.True(result.GetProperty("private_delivered").GetBoolean());
        Assert.False(result.GetProperty("private_copied").GetBoolean());
    }
}
