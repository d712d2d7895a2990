using System.Text.RegularExpressions;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>
/// Debian's OpenSSL client (`openssl s_client`) comes back with the session ticket of its first connection: the node
/// resumes the TLS 1.3 session rather than run a full handshake again, on both client ports. A returning client is
/// then spared the certificate's signature and a round trip, and the node's metrics say how many handshakes resumed.
/// </summary>
public sealed class TlsResumptionTests : IAsyncLifetime
{
    // A stream opened and closed at once: the node answers and closes its side, so s_client reads to the end of the
    // connection, the session ticket that follows the handshake included.
    private const string OpenAndClose =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'></stream:stream>";

    private ParleyProcess _node = null!;

    public async Task InitializeAsync() => _node = await ParleyProcess.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Theory]
    [InlineData("starttls")]
    [InlineData("directtls")]
    public async Task A_client_that_comes_back_with_its_session_ticket_resumes_its_tls_session(string mode)
    {
        var session = Path.Combine(Path.GetTempPath(), $"parley-tls-session-{Guid.NewGuid():N}.pem");
        try
        {
            Assert.Contains("New, TLSv1.3", await ConnectAsync(mode, "-sess_out", session));
            Assert.Contains("Reused, TLSv1.3", await ConnectAsync(mode, "-sess_in", session));
            Assert.Equal((1, 1), await HandshakesAsync(full: 1, resumed: 1));
        }
        finally
        {
            File.Delete(session);
        }
    }

    /// <summary>
    /// The node's count of full and resumed handshakes from /metrics, once it shows the expected ones or after 30 s (the
    /// exporter answers repeated scrapes from a short cache).
    /// </summary>
    private async Task<(double Full, double Resumed)> HandshakesAsync(double full, double resumed)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var scrape = await http.GetStringAsync($"http://127.0.0.1:{_node.HttpPort}/metrics");
            var counted = (Handshakes(scrape, "false"), Handshakes(scrape, "true"));
            if (counted == (full, resumed) || DateTime.UtcNow > deadline)
            {
                return counted;
            }
            await Task.Delay(100);
        }
    }

    private static double Handshakes(string scrape, string resumed) =>
        Regex.Matches(scrape, $@"^parley_tls_handshakes_total\{{[^}}]*resumed=""{resumed}""[^}}]*\}} (\S+)", RegexOptions.Multiline)
            .Sum(match => double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    private async Task<string> ConnectAsync(string mode, string sessionOption, string sessionFile)
    {
        var port = mode == "starttls" ? _node.C2sPort : _node.C2sTlsPort;
        List<string> arguments = ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-tls1_3", "-ign_eof", sessionOption, sessionFile];
        if (mode == "starttls")
        {
            arguments.AddRange(["-starttls", "xmpp", "-xmpphost", "localhost"]);
        }
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/openssl", arguments, TimeSpan.FromSeconds(30), OpenAndClose);
        Assert.True(exitCode == 0, $"openssl s_client failed:\n{output}\nnode log:\n{_node.Output}");
        return output;
    }
}
