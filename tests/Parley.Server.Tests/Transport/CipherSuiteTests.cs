using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Transport;

/// <summary>Both client ports offer the same modern TLS 1.2 suites: ECDHE with AES-GCM or ChaCha20-Poly1305, no CBC (LUCKY13).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CipherSuiteTests : IAsyncLifetime
{
    private static readonly TlsCipherSuite[] Cbc =
    [
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    ];

    private static readonly TlsCipherSuite[] Gcm = [TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256];

    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    /// <summary>A TLS 1.2 handshake offering only <paramref name="suites"/>; returns the suite agreed on.</summary>
    private async Task<TlsCipherSuite> HandshakeAsync(bool directTls, TlsCipherSuite[] suites)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", directTls ? _node.C2sTlsPort : _node.C2sPort);
        var stream = tcp.GetStream();
        if (!directTls)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(
                $"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{TestNode.Domain}' version='1.0'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
            await ReadThroughProceedAsync(stream);
        }
        await using var tls = new SslStream(stream, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TestNode.Domain,
            EnabledSslProtocols = SslProtocols.Tls12,
            CipherSuitesPolicy = new CipherSuitesPolicy(suites),
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }).WaitAsync(XmppTestClient.Deadline);
        return tls.NegotiatedCipherSuite;
    }

    /// <summary>Reads the plain-text stream up to the end of &lt;proceed/&gt;, and not a byte further.</summary>
    private static async Task ReadThroughProceedAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(XmppTestClient.Deadline);
        var text = new StringBuilder();
        var one = new byte[1];
        while (!(text.ToString().Contains("<proceed", StringComparison.Ordinal) && text[^1] == '>'))
        {
            if (await stream.ReadAsync(one, timeout.Token) == 0)
            {
                throw new EndOfStreamException($"The server closed the connection: {text}");
            }
            text.Append((char)one[0]);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_offering_only_cbc_suites_on_tls_1_2_is_refused(bool directTls)
    {
        await Assert.ThrowsAsync<AuthenticationException>(async () => await HandshakeAsync(directTls, Cbc));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_offering_aes_gcm_on_tls_1_2_is_served(bool directTls)
    {
        Assert.Contains(await HandshakeAsync(directTls, Gcm), Gcm);
    }
}
