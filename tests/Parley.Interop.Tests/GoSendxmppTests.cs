using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>
/// Debian's go-sendxmpp (go-xmpp), which writes a newline after &lt;starttls/&gt; and after each SASL
/// element, sends a message to a slixmpp user over each client port.
/// </summary>
public sealed class GoSendxmppTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        await _node.AddUsersAsync("alice", "bob");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Theory]
    [InlineData("starttls")]
    [InlineData("directtls")]
    public async Task Go_sendxmpp_logs_in_and_its_message_reaches_the_recipient(string mode)
    {
        var port = mode == "starttls" ? _node.C2sPort : _node.C2sTlsPort;
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "gosendxmpp_to_slixmpp.py");
        var body = $"sent by go-sendxmpp over {mode}";

        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [script, "127.0.0.1", port.ToString(), mode, "alice@localhost", "alice-secret", "bob@localhost/desk", "bob-secret", body],
            TimeSpan.FromSeconds(90));

        Assert.True(exitCode == 0, $"go-sendxmpp run failed:\n{output}\nnode log:\n{_node.Output}");
        var received = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.GetProperty("received");
        Assert.Equal(body, received.GetProperty("body").GetString());
        Assert.StartsWith("alice@localhost/", received.GetProperty("from").GetString());
    }
}
