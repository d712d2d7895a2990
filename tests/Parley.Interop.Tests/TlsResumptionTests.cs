using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>
/// Debian's OpenSSL client (`openssl s_client`) comes back with the session ticket of its first connection: the node
/// resumes the TLS 1.3 session rather than run a full handshake again, on both client ports. A returning client is
/// then spared the certificate's signature and a round trip.
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
        }
        finally
        {
            File.Delete(session);
        }
    }

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
