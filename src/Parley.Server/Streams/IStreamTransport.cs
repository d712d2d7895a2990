using Parley.Xml;

namespace Parley.Server.Streams;

/// <summary>What the reader of a stream does after the handler dealt with one event.</summary>
public enum StreamAction
{
    Continue,

    /// <summary>The handler answered &lt;proceed/&gt;: the transport runs the TLS handshake, then reads a new stream.</summary>
    StartTls,

    /// <summary>SASL succeeded: the peer opens a new stream over the same connection (RFC 6120 §6.4.6).</summary>
    Restart,

    Stop,
}

/// <summary>Receives what a transport reads: the stream's opening, each top-level element, its close.</summary>
public interface IStreamHandler
{
    ValueTask<StreamAction> HandleAsync(XmlStreamEvent ev);

    /// <summary>The domain the stream is for; picks the certificate when the client sent no SNI.</summary>
    string Domain { get; }
}

/// <summary>
/// The carrier of one XMPP stream: turns the peer's bytes into stream events and elements back into
/// the peer's framing, and nothing more. TCP (STARTTLS or TLS from the first byte) is the first; a
/// WebSocket (RFC 7395) or a BOSH session has the same shape: it never offers STARTTLS, carries one
/// element per frame, and marks the stream's opening and close with elements of its own.
/// The <see cref="StreamNegotiator"/> and the <see cref="ClientStream"/> run over any of them.
/// </summary>
public interface IStreamTransport : IAsyncDisposable
{
    string ConnectionId { get; }
    string RemoteAddress { get; }

    /// <summary>How the client reached the node, for the log: "STARTTLS", "direct TLS", ...</summary>
    string Description { get; }

    bool IsSecure { get; }

    /// <summary>True while the stream can still be upgraded to TLS in-band (TCP before STARTTLS).</summary>
    bool CanStartTls { get; }

    /// <summary>The default namespace the peer declared for its stream (jabber:client for clients).</summary>
    string? StreamNamespace { get; }

    /// <summary>
    /// The namespace elements written on this transport inherit: jabber:client inside a TCP stream; none
    /// on a WebSocket, where every element is a document of its own and declares its namespace.
    /// </summary>
    string? DefaultNamespace { get; }

    /// <summary>When the peer last sent anything (Environment.TickCount64), whitespace included.</summary>
    long LastReceived { get; }

    /// <summary>
    /// The transport drops a peer that stops answering its own probes (WebSocket pings), so a silent user is no dead
    /// connection: Sessions:IdleTimeoutSeconds does not apply.
    /// </summary>
    bool DropsDeadPeers => false;

    /// <summary>Channel-binding types this connection supports, best first (none without TLS).</summary>
    IReadOnlyList<string> ChannelBindingTypes { get; }

    /// <summary>Channel-binding data of <paramref name="type"/> for SCRAM-*-PLUS, or null.</summary>
    byte[]? ChannelBinding(string type);

    /// <summary>Cancelled when the connection is gone.</summary>
    CancellationToken Closed { get; }

    /// <summary>Whatever precedes the first stream: the TLS handshake of a direct-TLS port.</summary>
    ValueTask OpenAsync();

    /// <summary>
    /// Reads until the handler says <see cref="StreamAction.Stop"/> or the peer's input ends, handing
    /// each event to <paramref name="handler"/> and carrying out what it asks (TLS, a stream restart).
    /// Throws <see cref="XmlStreamException"/> for input that is not acceptable XML.
    /// </summary>
    Task ReadAsync(IStreamHandler handler);

    /// <summary>Opens the server's side of the stream.</summary>
    void WriteStreamHeader(string id, string from);

    void Write(Element element);

    /// <summary>One element the caller already serialized (a shared stanza, a stream-management nonza).</summary>
    void Write(ReadOnlySpan<byte> element);

    void WriteStreamClose();

    /// <summary>Whatever keeps an idle connection alive in this framing (a space on TCP).</summary>
    void WriteKeepalive();

    /// <summary>Sends what was written; false once the peer is gone.</summary>
    ValueTask<bool> FlushAsync();

    /// <summary>Ends the sending side cleanly (TLS close_notify, then FIN); reading may go on.</summary>
    ValueTask CloseOutputAsync();

    /// <summary>Drops the connection without a goodbye.</summary>
    void Abort();
}
