using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Parley.Protocol;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>
/// An XMPP over WebSocket session (RFC 7395) signed in with SCRAM-SHA-256, bound and present: one stanza per text
/// message each way. Sends from the schedule's thread go through a queue to one writer, as ClientWebSocket allows one
/// send at a time and has no synchronous send.
/// </summary>
internal sealed class WebSocketLoadClient : IChatClient
{
    private readonly ClientWebSocket _socket;
    private readonly Channel<byte[]> _outgoing = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly byte[] _receiveBuffer = new byte[16 * 1024];
    private Task? _writing;
    private Task? _receiving;

    private WebSocketLoadClient(ClientWebSocket socket) => _socket = socket;

    public string BoundJid { get; private set; } = "";

    /// <summary>Opens, signs in, opens again, binds and sends initial presence; returns once the presence is echoed.</summary>
    /// <exception cref="LoginException">The server refused or answered something unexpected.</exception>
    public static async Task<WebSocketLoadClient> LoginAsync(Uri uri, string domain, string user, SaltedPasswordCache password, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("xmpp");
        var client = new WebSocketLoadClient(socket);
        try
        {
            await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            var open = $"<open xmlns='{Ns.Framing}' to='{domain}' version='1.0'/>";
            await client.SendAsync(open, cancellationToken).ConfigureAwait(false);
            await client.ExpectAsync("features", cancellationToken).ConfigureAwait(false);
            await ScramSignIn.RunAsync(client.SendAsync, client.ExpectAsync, user, password, cancellationToken).ConfigureAwait(false);
            await client.SendAsync(open, cancellationToken).ConfigureAwait(false);
            await client.ExpectAsync("features", cancellationToken).ConfigureAwait(false);
            await client.SendAsync($"<iq xmlns='{Ns.Client}' type='set' id='bind'><bind xmlns='{Ns.Bind}'><resource>load</resource></bind></iq>", cancellationToken).ConfigureAwait(false);
            var bound = await client.ExpectAsync("iq", cancellationToken).ConfigureAwait(false);
            client.BoundJid = bound.Child("bind", Ns.Bind)?.ChildText("jid", Ns.Bind) ?? throw new LoginException($"bind failed: {bound.ToXml(Ns.Client)}");
            await client.SendAsync($"<presence xmlns='{Ns.Client}'/>", cancellationToken).ConfigureAwait(false);
            await client.ExpectAsync("presence", cancellationToken).ConfigureAwait(false);
            client._writing = client.WriteQueuedAsync();
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void StartReceiving(Action<Element> onElement)
    {
        if (_receiving is not null)
        {
            throw new InvalidOperationException("This client is receiving already.");
        }
        _receiving = Task.Run(async () =>
        {
            while (await ReceiveAsync(CancellationToken.None).ConfigureAwait(false) is { } element)
            {
                onElement(element);
            }
        });
    }

    public void Send(ReadOnlySpan<byte> bytes) => _outgoing.Writer.TryWrite(bytes.ToArray());

    /// <summary>RFC 7395 §3.6: our &lt;close/&gt;, the server's, then the WebSocket close handshake.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        _outgoing.Writer.TryWrite(Encoding.UTF8.GetBytes($"<close xmlns='{Ns.Framing}'/>"));
        _outgoing.Writer.TryComplete();
        if (_writing is not null)
        {
            await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        if (_receiving is not null)
        {
            await _receiving.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        _outgoing.Writer.TryComplete();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task WriteQueuedAsync()
    {
        var reader = _outgoing.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var bytes))
            {
                await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private Task SendAsync(string xml, CancellationToken cancellationToken) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(xml), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>Reads messages until one is the element <paramref name="name"/>; a failure or a stream error throws.</summary>
    private async Task<Element> ExpectAsync(string name, CancellationToken cancellationToken)
    {
        while (true)
        {
            var element = await ReceiveAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new LoginException($"the node closed the WebSocket waiting for <{name}/>");
            if (element.Name == name)
            {
                return element;
            }
            if (element.Name is "failure" or "error")
            {
                throw new LoginException($"<{element.Name}/> waiting for <{name}/>: {element.ToXml(Ns.Client)}");
            }
        }
    }

    /// <summary>The next stanza or framing element; null once the server closed the stream or the WebSocket.</summary>
    private async Task<Element?> ReceiveAsync(CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        ValueWebSocketReceiveResult received;
        do
        {
            received = await _socket.ReceiveAsync(_receiveBuffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }
            message.Write(_receiveBuffer, 0, received.Count);
        }
        while (!received.EndOfMessage);
        var element = ElementParser.Parse(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length), Ns.Client);
        return element.Name == "close" && element.Namespace == Ns.Framing ? null : element;
    }
}
