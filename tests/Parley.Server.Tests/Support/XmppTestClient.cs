using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.Server.Tests.Support;

/// <summary>
/// A bare-hands XMPP client for tests that must send exactly the bytes a misbehaving client would.
/// Interop tests use real clients instead.
/// </summary>
public sealed class XmppTestClient : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly TcpClient _tcp;
    private Stream _stream;
    private PipeReader _input;
    private readonly XmlStreamReader _reader = new(new XmlLimits { MaxStanzaBytes = 16 * 1024 * 1024, MaxDepth = 256 });

    private XmppTestClient(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _stream = stream;
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
    }

    public string? Jid { get; private set; }

    /// <summary>The xml:lang of the stream headers this client sends; none when null.</summary>
    public string? StreamLang { get; set; }
    public SslStream? Tls => _stream as SslStream;

    /// <param name="receiveBufferSize">A small socket receive buffer, for a client that is slow to read; 0 leaves the system's.</param>
    public static async Task<XmppTestClient> ConnectAsync(int port, bool directTls = false, int receiveBufferSize = 0)
    {
        var tcp = new TcpClient();
        if (receiveBufferSize > 0)
        {
            tcp.ReceiveBufferSize = receiveBufferSize;
        }
        await tcp.ConnectAsync("127.0.0.1", port);
        var client = new XmppTestClient(tcp, tcp.GetStream());
        if (directTls)
        {
            await client.HandshakeAsync();
        }
        return client;
    }

    /// <summary>Connects, secures, authenticates with SCRAM-SHA-256 and binds.</summary>
    public static async Task<XmppTestClient> LoginAsync(TestNode node, string user, string password, string? resource = null, int receiveBufferSize = 0)
    {
        var client = await ConnectAsync(node.C2sPort, receiveBufferSize: receiveBufferSize);
        await client.OpenStreamAsync();
        await client.StartTlsAsync();
        await client.AuthenticateAsync(user, password);
        await client.BindAsync(resource);
        return client;
    }

    public Task SendAsync(string xml) => SendAsync(Encoding.UTF8.GetBytes(xml));

    /// <summary>Sends available presence and waits for the server to reflect it: the session is then available.</summary>
    public async Task AnnounceAsync(string presence = "<presence/>")
    {
        await SendAsync(presence);
        await ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == Jid && e.GetAttribute("type") is null);
    }

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends the stream header and returns the server's features.</summary>
    public async Task<Element> OpenStreamAsync(string to = TestNode.Domain)
    {
        var lang = StreamLang is null ? "" : $" xml:lang='{StreamLang}'";
        await SendAsync($"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{to}' version='1.0'{lang}>");
        var header = await NextEventAsync();
        Assert.Equal(XmlStreamEventKind.StreamStart, header.Kind);
        var features = await ReceiveAsync();
        Assert.Equal("features", features.Name);
        return features;
    }

    /// <summary>STARTTLS, then the new stream's features.</summary>
    /// <param name="trailing">Sent in the same write right after &lt;starttls/&gt; (go-xmpp sends a newline).</param>
    public async Task<Element> StartTlsAsync(string trailing = "")
    {
        await SendAsync("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" + trailing);
        var proceed = await ReceiveAsync();
        Assert.Equal("proceed", proceed.Name);
        await HandshakeAsync();
        return await OpenStreamAsync();
    }

    private async Task HandshakeAsync()
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TestNode.Domain,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        _stream = tls;
        _input = PipeReader.Create(tls, new StreamPipeReaderOptions(leaveOpen: true));
        _reader.Reset();
    }

    /// <summary>Runs a SCRAM exchange; returns the server's last element (success or failure).</summary>
    public Task<Element> TryAuthenticateAsync(string user, string password, string mechanism = "SCRAM-SHA-256") =>
        TryAuthenticateAsync(new ScramClient(mechanism.StartsWith("SCRAM-SHA-1", StringComparison.Ordinal) ? ScramHash.Sha1 : ScramHash.Sha256, user, password), mechanism);

    /// <summary>Runs a SCRAM exchange with the given client (e.g. one set up for channel binding).</summary>
    public async Task<Element> TryAuthenticateAsync(ScramClient scram, string mechanism)
    {
        await SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mechanism}'>{Convert.ToBase64String(scram.ClientFirst())}</auth>");
        var challenge = await ReceiveAsync();
        if (challenge.Name != "challenge")
        {
            return challenge;
        }
        var final = scram.ClientFinal(Convert.FromBase64String(challenge.Text));
        await SendAsync($"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{Convert.ToBase64String(final)}</response>");
        var outcome = await ReceiveAsync();
        if (outcome.Name == "success")
        {
            Assert.True(scram.VerifyServerFinal(Convert.FromBase64String(outcome.Text)), "the server's signature must verify");
        }
        return outcome;
    }

    /// <summary>Authenticates, restarts the stream and returns its features.</summary>
    public async Task<Element> AuthenticateAsync(string user, string password, string mechanism = "SCRAM-SHA-256")
    {
        var outcome = await TryAuthenticateAsync(user, password, mechanism);
        Assert.Equal("success", outcome.Name);
        return await RestartStreamAsync();
    }

    /// <summary>After SASL success: a new stream header, and the new stream's features.</summary>
    public async Task<Element> RestartStreamAsync()
    {
        _reader.Reset();
        return await OpenStreamAsync();
    }

    public async Task<string> BindAsync(string? resource = null)
    {
        var resourceXml = resource is null ? "" : $"<resource>{resource}</resource>";
        await SendAsync($"<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>{resourceXml}</bind></iq>");
        var result = await ReceiveAsync();
        Assert.Equal("result", result.GetAttribute("type"));
        Jid = result.Child("bind", Ns.Bind)!.ChildText("jid", Ns.Bind);
        Assert.NotNull(Jid);
        return Jid!;
    }

    /// <summary>The next top-level element; fails the test if none comes before the deadline.</summary>
    public async Task<Element> ReceiveAsync(TimeSpan? deadline = null)
    {
        var ev = await NextEventAsync(deadline);
        Assert.True(ev.Kind == XmlStreamEventKind.Element, $"expected an element, got {ev.Kind}");
        return ev.Element!;
    }

    /// <summary>The next element that matches, skipping others (e.g. presence while waiting for a message).</summary>
    public async Task<Element> ReceiveAsync(Func<Element, bool> match)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        while (true)
        {
            var element = await ReceiveAsync();
            if (match(element))
            {
                return element;
            }
            timeout.Token.ThrowIfCancellationRequested();
        }
    }

    public async Task<XmlStreamEvent> NextEventAsync(TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? Deadline);
        while (true)
        {
            var result = await _input.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            var found = _reader.TryRead(ref buffer, out var ev);
            _input.AdvanceTo(buffer.Start, found ? buffer.Start : buffer.End);
            if (found)
            {
                return ev;
            }
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("The server closed the connection.");
            }
        }
    }

    /// <summary>Reads until the server sends a stream error, and returns its condition; asserts that the stream then ends.</summary>
    public async Task<string> ExpectStreamErrorAsync()
    {
        while (true)
        {
            var ev = await NextEventAsync();
            if (ev.Kind == XmlStreamEventKind.Element && ev.Element!.Name == "error" && ev.Element.Namespace == Ns.Streams)
            {
                var condition = ev.Element.Children().First(c => c.Namespace == Ns.StreamErrors && c.Name != "text").Name;
                Assert.True(await IsClosedAsync(), "the server must close the stream after a stream error");
                return condition;
            }
        }
    }

    /// <summary>True once the server has closed the stream or the connection (before the deadline).</summary>
    public async Task<bool> IsClosedAsync()
    {
        try
        {
            while (true)
            {
                var ev = await NextEventAsync();
                if (ev.Kind == XmlStreamEventKind.StreamEnd)
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or XmlStreamException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync();
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
