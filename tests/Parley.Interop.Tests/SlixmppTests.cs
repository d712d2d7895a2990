using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>python3-slixmpp from Debian against the real `parley serve` process.</summary>
public sealed class SlixmppTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        var add = await _node.CliAsync(["user", "add", "alice@localhost", "--password", "alice-secret"]);
        Assert.True(add.ExitCode == 0, add.Output);
        // The second account's password comes on standard input, as a script would pass it.
        add = await _node.CliAsync(["user", "add", "bob@localhost"], "bob-secret\n");
        Assert.True(add.ExitCode == 0, add.Output);
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Theory]
    [InlineData("starttls")]
    [InlineData("directtls")]
    public async Task Two_slixmpp_clients_log_in_with_scram_sha_256_and_chat(string mode)
    {
        var port = mode == "starttls" ? _node.C2sPort : _node.C2sTlsPort;
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_chat.py");

        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [script, "127.0.0.1", port.ToString(), mode, "SCRAM-SHA-256", "alice@localhost/laptop", "alice-secret", "bob@localhost/phone", "bob-secret"],
            TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, $"slixmpp run failed:\n{output}\nnode log:\n{_node.Output}");
        var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("alice@localhost/laptop", result.GetProperty("jid1").GetString());
        Assert.Equal(["SCRAM-SHA-256", "SCRAM-SHA-256"], result.GetProperty("mechanisms").EnumerateArray().Select(m => m.GetString()));
        Assert.All(result.GetProperty("tls").EnumerateArray(), v => Assert.Equal("TLSv1.3", v.GetString()));
        Assert.Equal("hello from one", result.GetProperty("received_by_2").GetProperty("body").GetString());
        Assert.Equal("alice@localhost/laptop", result.GetProperty("received_by_2").GetProperty("from").GetString());
        Assert.Equal("hello back", result.GetProperty("received_by_1").GetProperty("body").GetString());
    }

    [Fact]
    public async Task Slixmpp_finds_full_text_search_advertised_and_pages_through_the_messages_with_a_word()
    {
        string[] conversation =
        [
            "Meet me on the balcony", "What light through yonder window breaks?", "The Balcony at nine.",
            "Parting is such sweet sorrow", "balcony, then garden", "Bring a ladder for the BALCONY", "Good night",
        ];
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_search.py");

        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [script, "127.0.0.1", _node.C2sPort.ToString(), "alice@localhost", "alice-secret", "bob@localhost", "bob-secret", "Balcony", "2", .. conversation],
            TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, $"slixmpp_search.py failed:\n{output}\nnode log:\n{_node.Output}");
        var result = JsonDocument.Parse(output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
        Assert.Contains("urn:xmpp:fulltext:0", result.GetProperty("features").EnumerateArray().Select(f => f.GetString()));
        Assert.Contains("{urn:xmpp:fulltext:0}fulltext", result.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        var pages = result.GetProperty("pages").EnumerateArray().ToArray();
        Assert.Equal(
            [["Meet me on the balcony", "The Balcony at nine."], ["balcony, then garden", "Bring a ladder for the BALCONY"]],
            pages.Select(page => page.GetProperty("bodies").EnumerateArray().Select(b => b.GetString()).ToArray()));
        Assert.All(pages, page => Assert.Equal("4", page.GetProperty("count").GetString()));
        Assert.Equal("true", pages[^1].GetProperty("complete").GetString());
    }

    [Fact]
    public async Task Slixmpp_with_a_wrong_password_is_refused()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_chat.py");

        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [script, "127.0.0.1", _node.C2sPort.ToString(), "starttls", "SCRAM-SHA-256", "alice@localhost/laptop", "wrong", "bob@localhost/phone", "bob-secret"],
            TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains("authentication failed", output);
    }

    [Fact]
    public async Task Ten_logins_in_a_row_with_slixmpps_default_mechanisms_are_not_slowed_down()
    {
        // slixmpp 1.8 tries SCRAM-*-PLUS with tls-unique first, which TLS 1.3 refuses; that is not a wrong password.
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_logins.py");
        var elapsed = System.Diagnostics.Stopwatch.StartNew();

        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [script, "127.0.0.1", _node.C2sPort.ToString(), "alice@localhost/laptop", "alice-secret", "10"],
            TimeSpan.FromSeconds(120));
        elapsed.Stop();

        Assert.True(exitCode == 0, $"slixmpp run failed:\n{output}\nnode log:\n{_node.Output}");
        // slixmpp may report its pending tasks on stderr after the JSON line.
        var logins = JsonDocument.Parse(output.Split('\n').Last(line => line.StartsWith('{'))).RootElement.GetProperty("logins");
        Assert.Equal(10, logins.GetArrayLength());
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(15), $"ten logins took {elapsed.Elapsed.TotalSeconds:F1} s: {logins}");
        Assert.Contains("refused: Channel binding type 'tls-unique' is not supported", _node.Output);
        Assert.Contains("(a client protocol failure, not counted as a failed password)", _node.Output);
    }
}
