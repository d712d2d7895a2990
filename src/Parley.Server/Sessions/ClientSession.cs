using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Sessions;

/// <summary>Where a session's outgoing stanzas go: the connection that currently carries it.</summary>
public interface IStanzaSink
{
    /// <summary>Queues a stanza for sending; never blocks. False when the connection is closing.</summary>
    bool Send(Element stanza);

    /// <summary>Ends the stream with a stream error (RFC 6120 §4.9) and closes the connection.</summary>
    void CloseWithError(string condition, string? text = null);
}

/// <summary>
/// A bound client resource (RFC 6120 §7): its full JID, its presence and where to send to it.
/// Kept apart from the connection so that a later stream can take the session over (XEP-0198).
/// </summary>
public sealed class ClientSession
{
    private static long s_nextId;

    public ClientSession(Jid jid, IStanzaSink sink, string remoteAddress)
    {
        Jid = jid;
        Sink = sink;
        RemoteAddress = remoteAddress;
        Id = Interlocked.Increment(ref s_nextId);
    }

    public long Id { get; }
    public Jid Jid { get; }
    public string RemoteAddress { get; }
    public IStanzaSink Sink { get; }

    /// <summary>The last available presence the client broadcast, or null while it has sent none (or went unavailable).</summary>
    public Element? Presence { get; set; }

    public int Priority { get; set; }

    public bool IsAvailable => Presence is not null;

    /// <summary>An "interested resource" (RFC 6121 §2.1.6): it asked for the roster, so it gets roster pushes.</summary>
    public bool IsInterested { get; set; }

    /// <summary>
    /// Entities this session sent directed presence to (RFC 6121 §4.6) that are not covered by its
    /// broadcast; they get its unavailable presence when it goes. Only the session's own stanza flow touches it.
    /// </summary>
    public HashSet<Jid> DirectedPresence { get; } = [];

    public bool Send(Element stanza) => Sink.Send(stanza);

    public override string ToString() => Jid.ToString();
}
