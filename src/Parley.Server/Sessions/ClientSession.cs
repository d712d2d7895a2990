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

    private IStanzaSink _sink;

    public ClientSession(Jid jid, IStanzaSink sink, string remoteAddress)
    {
        Jid = jid;
        _sink = sink;
        RemoteAddress = remoteAddress;
        Id = Interlocked.Increment(ref s_nextId);
    }

    public long Id { get; }
    public Jid Jid { get; }
    public string RemoteAddress { get; }

    /// <summary>The connection that carries the session now; a resumption (XEP-0198) moves it to another.</summary>
    public IStanzaSink Sink
    {
        get => Volatile.Read(ref _sink);
        set => Volatile.Write(ref _sink, value);
    }

    /// <summary>Stream management (XEP-0198), once the client enabled it.</summary>
    public StreamManagementState? Management { get; set; }

    /// <summary>The last available presence the client broadcast, or null while it has sent none (or went unavailable).</summary>
    public Element? Presence { get; set; }

    public int Priority { get; set; }

    public bool IsAvailable => Presence is not null;

    /// <summary>An "interested resource" (RFC 6121 §2.1.6): it asked for the roster, so it gets roster pushes.</summary>
    public bool IsInterested { get; set; }

    /// <summary>The session ends because its account was deleted: nothing may be stored for the account any more.</summary>
    public bool AccountRemoved { get; private set; }

    /// <summary>Ends the session because its account was deleted (in-band or by the administrator).</summary>
    public void EndForRemovedAccount()
    {
        AccountRemoved = true;
        Sink.CloseWithError("not-authorized", "The account was removed.");
    }

    /// <summary>
    /// Entities this session sent directed presence to (RFC 6121 §4.6) that are not covered by its
    /// broadcast; they get its unavailable presence when it goes. Only the session's own stanza flow touches it.
    /// </summary>
    public HashSet<Jid> DirectedPresence { get; } = [];

    private readonly Lock _stateLock = new();
    private List<Element>? _held;
    private bool _inactive;

    /// <summary>
    /// Sends to the client. While the client says it is inactive (XEP-0352), presence and chat
    /// states are held, each sender's latest replacing its earlier one; anything else is urgent
    /// and goes at once, after what was held, so the order stays as sent.
    /// </summary>
    public bool Send(Element stanza)
    {
        if (!Volatile.Read(ref _inactive))
        {
            return Sink.Send(stanza);
        }
        lock (_stateLock)
        {
            if (!_inactive)
            {
                return Sink.Send(stanza);
            }
            if (CanWait(stanza))
            {
                Hold(stanza);
                return true;
            }
            FlushHeld();
            return Sink.Send(stanza);
        }
    }

    public void SetActive(bool active)
    {
        lock (_stateLock)
        {
            Volatile.Write(ref _inactive, !active);
            if (active)
            {
                FlushHeld();
            }
        }
    }

    private void Hold(Element stanza)
    {
        _held ??= [];
        var from = stanza.GetAttribute("from");
        var index = _held.FindIndex(held => held.Name == stanza.Name && held.GetAttribute("from") == from);
        if (index >= 0)
        {
            _held.RemoveAt(index);
        }
        _held.Add(stanza);
    }

    private void FlushHeld()
    {
        if (_held is null)
        {
            return;
        }
        foreach (var held in _held)
        {
            Sink.Send(held);
        }
        _held = null;
    }

    /// <summary>Presence updates and messages that carry only a chat state (XEP-0085) can wait.</summary>
    private static bool CanWait(Element stanza)
    {
        if (stanza.Name == "presence")
        {
            return stanza.GetAttribute("type") is null or "unavailable";
        }
        if (stanza.Name != "message")
        {
            return false;
        }
        var any = false;
        foreach (var child in stanza.Children())
        {
            if (child.Namespace != "http://jabber.org/protocol/chatstates" && child.Name != "thread")
            {
                return false;
            }
            any = true;
        }
        return any;
    }

    public override string ToString() => Jid.ToString();
}
