using System.Net;
using System.Net.WebSockets;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.Server.Tests.Support;

/// <summary>An XMPP over WebSocket client (RFC 7395) for tests, built on .NET's ClientWebSocket: one element per text message.</summary>
public sealed class WebSocketTestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private HttpMessageInvoker? _invoker;

    private WebSocketTestClient(ClientWebSocket socket) => _socket = socket;

    public ClientWebSocket Socket => _socket;
    public string? Jid { get; private set; }

    /// <param name="configure">Changes the handshake: another subprotocol, an Origin header.</param>
    /// <param name="receiveBufferSize">A small socket receive buffer, for a client that is slow to read; 0 leaves the system's.</param>
    public static async Task<WebSocketTestClient> ConnectAsync(TestNode node, Action<ClientWebSocketOptions>? configure = null, bool https = false, int receiveBufferSize = 0)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (configure is null)
        {
            socket.Options.AddSubProtocol("xmpp");
        }
        else
        {
            configure(socket.Options);
        }
        if (https)
        {
            socket.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        using var timeout = new CancellationTokenSource(XmppTestClient.Deadline);
        var uri = https ? new Uri($"wss://127.0.0.1:{node.HttpsPort}/xmpp-websocket") : new Uri($"ws://127.0.0.1:{node.HttpPort}/xmpp-websocket");
        if (receiveBufferSize > 0)
        {
            var invoker = new HttpMessageInvoker(new SocketsHttpHandler
            {
                ConnectCallback = async (context, cancellationToken) =>
                {
                    var tcp = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = receiveBufferSize };
                    await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new System.Net.Sockets.NetworkStream(tcp, ownsSocket: true);
                },
            });
            await socket.ConnectAsync(uri, invoker, timeout.Token);
            return new WebSocketTestClient(socket) { _invoker = invoker };
        }
        else
        {
            await socket.ConnectAsync(uri, timeout.Token);
        }
        return new WebSocketTestClient(socket);
    }

    /// <summary>The HTTP status of a handshake the node refused.</summary>
    public static async Task<HttpStatusCode> RefusedHandshakeAsync(TestNode node, Action<ClientWebSocketOptions> configure)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        configure(socket.Options);
        using var timeout = new CancellationTokenSource(XmppTestClient.Deadline);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"ws://127.0.0.1:{node.HttpPort}/xmpp-websocket"), timeout.Token));
        return socket.HttpStatusCode;
    }

    /// <summary>Connects, opens, signs in with SCRAM-SHA-256 and binds.</summary>
    public static async Task<WebSocketTestClient> LoginAsync(TestNode node, string user, string password, string? resource = null, int receiveBufferSize = 0)
    {
        var client = await ConnectAsync(node, receiveBufferSize: receiveBufferSize);
        await client.OpenAsync();
        await client.AuthenticateAsync(user, password);
        await client.BindAsync(resource);
        return client;
    }

    public Task SendAsync(string xml) => SendAsync(Encoding.UTF8.GetBytes(xml), WebSocketMessageType.Text);

    public async Task SendAsync(byte[] message, WebSocketMessageType type)
    {
        using var timeout = new CancellationTokenSource(XmppTestClient.Deadline);
        await _socket.SendAsync(message, type, endOfMessage: true, timeout.Token);
    }

    /// <summary>Sends &lt;open/&gt;; returns the stream features that follow the node's &lt;open/&gt;.</summary>
    public async Task<Element> OpenAsync(string to = TestNode.Domain)
    {
        await SendAsync($"<open xmlns='{Ns.Framing}' to='{to}' version='1.0'/>");
        var open = await ReceiveAsync();
        Assert.Equal(("open", Ns.Framing), (open.Name, open.Namespace));
        Assert.Equal("1.0", open.GetAttribute("version"));
        return await ReceiveAsync();
    }

    /// <summary>SCRAM-SHA-256, then the new stream; returns its features.</summary>
    public async Task<Element> AuthenticateAsync(string user, string password)
    {
        var scram = new ScramClient(ScramHash.Sha256, user, password);
        await SendAsync($"<auth xmlns='{Ns.Sasl}' mechanism='SCRAM-SHA-256'>{Convert.ToBase64String(scram.ClientFirst())}</auth>");
        var challenge = await ReceiveAsync();
        Assert.Equal("challenge", challenge.Name);
        await SendAsync($"<response xmlns='{Ns.Sasl}'>{Convert.ToBase64String(scram.ClientFinal(Convert.FromBase64String(challenge.Text)))}</response>");
        var success = await ReceiveAsync();
        Assert.Equal("success", success.Name);
        Assert.True(scram.VerifyServerFinal(Convert.FromBase64String(success.Text)));
        return await OpenAsync();
    }

    public async Task<string> BindAsync(string? resource = null)
    {
        await SendAsync($"<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='{Ns.Bind}'>{(resource is null ? "" : $"<resource>{resource}</resource>")}</bind></iq>");
        var bound = await ReceiveAsync(e => e.GetAttribute("id") == "bind");
        var jid = bound.Child("bind", Ns.Bind)!.ChildText("jid", Ns.Bind)!;
        Jid = jid;
        return jid;
    }

    /// <summary>The text of the next message; null when the node closed the WebSocket.</summary>
    public async Task<string?> ReceiveTextAsync()
    {
        using var timeout = new CancellationTokenSource(XmppTestClient.Deadline);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var received = await _socket.ReceiveAsync(buffer, timeout.Token);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }
            Assert.Equal(WebSocketMessageType.Text, received.MessageType);
            message.Write(buffer, 0, received.Count);
            if (received.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.ToArray());
            }
        }
    }

    /// <summary>The next element; each message must be exactly one, declaring its own namespace.</summary>
    public async Task<Element> ReceiveAsync()
    {
        var text = await ReceiveTextAsync() ?? throw new InvalidOperationException("The node closed the WebSocket.");
        return Parse(text);
    }

    public async Task<Element> ReceiveAsync(Func<Element, bool> match)
    {
        while (true)
        {
            var element = await ReceiveAsync();
            if (match(element))
            {
                return element;
            }
        }
    }

    /// <summary>Reads until the node closes the WebSocket; returns the stream error's condition on the way (or null) and the close status.</summary>
    public async Task<(string? Condition, WebSocketCloseStatus? Status)> ReadUntilClosedAsync()
    {
        string? condition = null;
        while (await ReceiveTextAsync() is { } text)
        {
            var element = Parse(text);
            if (element.Name == "error" && element.Namespace == Ns.Streams)
            {
                condition = element.Children().First(c => c.Namespace == Ns.StreamErrors).Name;
            }
        }
        return (condition, _socket.CloseStatus);
    }

    /// <summary>A message as a browser reads it: a document of its own, every prefix declared in it.</summary>
    private static Element Parse(string text)
    {
        System.Xml.Linq.XElement.Parse(text);
        return ElementParser.Parse(text, "");
    }

    /// <summary>Drops the connection without a &lt;close/&gt; or a close frame.</summary>
    public void Drop() => _socket.Abort();

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        _invoker?.Dispose();
        return ValueTask.CompletedTask;
    }
}
