using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using Parley.Protocol;
using Parley.Server.Streams;
using Parley.Xml;

namespace Parley.Server.Web;

/// <summary>
/// An XMPP stream over a WebSocket (RFC 7395): every message is one text frame holding one complete element; the
/// stream opens with &lt;open/&gt; and ends with &lt;close/&gt; in the framing namespace, which this transport turns
/// into the stream events the negotiator knows. Keepalive is the WebSocket's own ping, not whitespace.
/// </summary>
public sealed class WebSocketStreamTransport : IStreamTransport
{
    private const int InitialFrameBytes = 4096;

    /// <summary>Fed to the reader once, so that each frame's element is read as a child of a stream in jabber:client.</summary>
    private static readonly byte[] ReaderStreamHeader = Encoding.UTF8.GetBytes($"<stream:stream xmlns='{Ns.Client}' xmlns:stream='{Ns.Streams}'>");
    private static readonly byte[] StreamsPrefix = "<stream:"u8.ToArray();
    private static readonly byte[] StreamsPrefixDeclaration = Encoding.UTF8.GetBytes($" xmlns:stream='{Ns.Streams}'");
    private static readonly byte[] CloseElement = Encoding.UTF8.GetBytes($"<close xmlns='{Ns.Framing}'/>");

    private readonly WebSocket _socket;
    private readonly CancellationToken _closed;
    private readonly Action _abortConnection;
    private readonly int _maxFrameBytes;
    private readonly XmlStreamReader _reader;
    private readonly ArrayBufferWriter<byte> _output = new(InitialFrameBytes);
    private readonly List<int> _frameEnds = [];
    private bool _streamOpen;
    private WebSocketCloseStatus _closeStatus = WebSocketCloseStatus.NormalClosure;

    /// <param name="abortConnection">Drops the HTTP connection under the WebSocket.</param>
    public WebSocketStreamTransport(WebSocket socket, string connectionId, string remoteAddress, bool secure, bool https,
        CancellationToken closed, Action abortConnection, XmlLimits limits, bool pinged)
    {
        DropsDeadPeers = pinged;
        _socket = socket;
        _closed = closed;
        _abortConnection = abortConnection;
        _maxFrameBytes = limits.MaxStanzaBytes;
        ConnectionId = connectionId;
        RemoteAddress = remoteAddress;
        IsSecure = secure;
        Description = https ? "WebSocket over HTTPS" : secure ? "WebSocket, secure by its proxy or loopback" : "WebSocket over plain HTTP";
        _reader = new XmlStreamReader(limits);
        var header = new ReadOnlySequence<byte>(ReaderStreamHeader);
        _reader.TryRead(ref header, out _);
    }

    public string ConnectionId { get; }
    public string RemoteAddress { get; }
    public string Description { get; }
    public bool IsSecure { get; }
    public bool CanStartTls => false;
    public string? StreamNamespace => Ns.Client;
    public string? DefaultNamespace => null;
    public long LastReceived { get; private set; } = Environment.TickCount64;

    /// <summary>With pings on, a peer that stops answering them is dropped by the WebSocket (its KeepAliveTimeout).</summary>
    public bool DropsDeadPeers { get; }
    public IReadOnlyList<string> ChannelBindingTypes => [];
    public CancellationToken Closed => _closed;

    public byte[]? ChannelBinding(string type) => null;

    public ValueTask OpenAsync() => ValueTask.CompletedTask;

    public async Task ReadAsync(IStreamHandler handler)
    {
        var frame = ArrayPool<byte>.Shared.Rent(InitialFrameBytes);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult received;
                do
                {
                    if (length == frame.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(frame.Length * 2, _maxFrameBytes + 1));
                        frame.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(frame);
                        frame = larger;
                    }
                    received = await _socket.ReceiveAsync(frame.AsMemory(length), _closed).ConfigureAwait(false);
                    length += received.Count;
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    if (length > _maxFrameBytes)
                    {
                        _closeStatus = WebSocketCloseStatus.MessageTooBig;
                        throw new XmlStreamException(XmlStreamError.PolicyViolation, $"A message is larger than {_maxFrameBytes} bytes.");
                    }
                }
                while (!received.EndOfMessage);
                LastReceived = Environment.TickCount64;
                if (received.MessageType == WebSocketMessageType.Binary)
                {
                    _closeStatus = WebSocketCloseStatus.InvalidMessageType;
                    throw new XmlStreamException(XmlStreamError.PolicyViolation, "XMPP over WebSocket is carried in text messages only (RFC 7395 §3.3).");
                }
                var bytes = new ReadOnlySequence<byte>(frame, 0, length);
                if (IsWhitespace(bytes.FirstSpan))
                {
                    continue;
                }
                var ev = ReadOneElement(ref bytes);
                var next = await handler.HandleAsync(ev).ConfigureAwait(false);
                if (next == StreamAction.Stop)
                {
                    return;
                }
                if (next == StreamAction.StartTls)
                {
                    throw new InvalidOperationException("A WebSocket stream offers no STARTTLS.");
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>The one element of a message (RFC 7395 §3.3.3), as the stream event it stands for.</summary>
    private XmlStreamEvent ReadOneElement(ref ReadOnlySequence<byte> bytes)
    {
        if (!_reader.TryRead(ref bytes, out var ev) || ev.Kind != XmlStreamEventKind.Element)
        {
            throw new XmlStreamException(XmlStreamError.NotWellFormed, "A message must hold one complete element (RFC 7395 §3.3.3).");
        }
        if (!IsWhitespace(bytes.FirstSpan))
        {
            throw new XmlStreamException(XmlStreamError.NotWellFormed, "A message must hold one element only (RFC 7395 §3.3.3).");
        }
        var element = ev.Element!;
        if (element.Namespace == Ns.Framing && element.Name == "close")
        {
            return new XmlStreamEvent(XmlStreamEventKind.StreamEnd, null);
        }
        if (element.Namespace == Ns.Framing && element.Name == "open")
        {
            // The negotiator knows a stream's opening as <stream:stream>: the same attributes, in the streams namespace.
            var header = new Element("stream", Ns.Streams);
            foreach (var name in (ReadOnlySpan<string>)["to", "from", "version", "xml:lang", "id"])
            {
                if (element.GetAttribute(name) is { } value)
                {
                    header.SetAttribute(name, value);
                }
            }
            _streamOpen = true;
            return new XmlStreamEvent(XmlStreamEventKind.StreamStart, header);
        }
        if (!_streamOpen)
        {
            // Not an <open/> in the framing namespace (a TCP-style <stream:stream/> included): the negotiator answers
            // an opening in the namespace the client used, which it cannot accept.
            _streamOpen = true;
            return new XmlStreamEvent(XmlStreamEventKind.StreamStart, new Element("open", element.Namespace));
        }
        return ev;
    }

    private static bool IsWhitespace(ReadOnlySpan<byte> bytes) => bytes.IndexOfAnyExcept(" \t\r\n"u8) < 0;

    public void WriteStreamHeader(string id, string from)
    {
        Encoding.UTF8.GetBytes($"<open xmlns='{Ns.Framing}' id='{id}' from='{XmlEscaping.EscapeAttributeValue(from)}' version='1.0' xml:lang='en'/>", _output);
        EndFrame();
    }

    public void Write(Element element)
    {
        if (element.Namespace == Ns.Streams)
        {
            var serialized = new ArrayBufferWriter<byte>();
            element.WriteTo(serialized, null);
            Write(serialized.WrittenSpan);
            return;
        }
        element.WriteTo(_output, null);
        EndFrame();
    }

    public void Write(ReadOnlySpan<byte> element)
    {
        if (element.StartsWith(StreamsPrefix))
        {
            // Features and stream errors come as <stream:NAME> for the prefix a TCP stream's header declares; here each
            // message is a document of its own (a browser parses it alone), so it declares the prefix itself.
            var nameEnd = element.IndexOfAny(" />"u8);
            _output.Write(element[..nameEnd]);
            _output.Write(StreamsPrefixDeclaration);
            _output.Write(element[nameEnd..]);
        }
        else
        {
            _output.Write(element);
        }
        EndFrame();
    }

    public void WriteStreamClose() => Write(CloseElement);

    public void WriteKeepalive()
    {
        // The WebSocket pings on its own (Parley:Web:WebSocketPingSeconds); RFC 7395 §3.4 has no whitespace keepalive.
    }

    private void EndFrame() => _frameEnds.Add(_output.WrittenCount);

    public async ValueTask<bool> FlushAsync()
    {
        try
        {
            var start = 0;
            foreach (var end in _frameEnds)
            {
                await _socket.SendAsync(_output.WrittenMemory[start..end], WebSocketMessageType.Text, endOfMessage: true, _closed).ConfigureAwait(false);
                start = end;
            }
            return _socket.State is WebSocketState.Open or WebSocketState.CloseReceived;
        }
        catch (WebSocketException)
        {
            return false;
        }
        finally
        {
            _frameEnds.Clear();
            _output.ResetWrittenCount();
        }
    }

    /// <summary>Starts the WebSocket's closing handshake, with the status a bad message earned (1003, 1009) or a normal one.</summary>
    public async ValueTask CloseOutputAsync()
    {
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                await _socket.CloseOutputAsync(_closeStatus, null, _closed).ConfigureAwait(false);
            }
            catch (WebSocketException)
            {
                Abort();
            }
        }
    }

    public void Abort()
    {
        _socket.Abort();
        try
        {
            _abortConnection();
        }
        catch (ObjectDisposedException)
        {
            // The request has ended already (a shutdown raced the session's own close): its connection is gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The client closed first: answer its close frame, so that it sees a clean close.
        await CloseOutputAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
