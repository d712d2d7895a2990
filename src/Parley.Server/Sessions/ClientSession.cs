using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Sessions;

/// <summary>Where a session's outgoing stanzas go: the connection that currently carries it.</summary>
public interface IStanzaSink
{
    /// <summary>Queues a stanza for sending; never blocks. False when the connection is closing.</summary>
    bool Send(Element stanza);

    /// <summary>Ends the stream with a stream error (RFC 6120 §4.9) and closes the connection.</summary>
    /// <param name="conditionContent">The condition's own text: the address of &lt;see-other-host/&gt;.</param>
    void CloseWithError(string condition, string? text = null, string? conditionContent = null);
}

/// <summary>Holds back, for one session, stanzas that can wait; installed as the session's <see cref="ClientSession.Gate"/>.</summary>
public interface ISendGate
{
    /// <summary>Sends <paramref name="stanza"/> to the session's sink now, or keeps it to send later; false when the connection is closing.</summary>
    bool Send(ClientSession session, Element stanza);
}

/// <summary>
/// A bound client resource (RFC 6120 §7): its full JID, its presence and where to send to it.
/// Kept apart from the connection so that a later stream can take the session over (XEP-0198).
/// </summary>
public sealed class ClientSession
{
    private static long s_nextId;

    private IStanzaSink _sink;

    public ClientSession(Jid jid, IStanzaSink sink, string remoteAddress, string transport = "")
    {
        Jid = jid;
        _sink = sink;
        RemoteAddress = remoteAddress;
        Transport = transport;
        Id = Interlocked.Increment(ref s_nextId);
        Since = DateTimeOffset.UtcNow;
        Alone = [this];
    }

    /// <summary>This session as the only recipient of a message, made once instead of once per message delivered.</summary>
    public IReadOnlyList<ClientSession> Alone { get; }

    /// <summary>When the resource was bound, for administrators' session lists.</summary>
    public DateTimeOffset Since { get; }

    public long Id { get; }
    public Jid Jid { get; }
    public string RemoteAddress { get; }

    /// <summary>How the client reached the node when it bound the session ("STARTTLS", "direct TLS", ...), for metrics.</summary>
    public string Transport { get; }

    /// <summary>The connection that carries the session now; a resumption (XEP-0198) moves it to another.</summary>
    public IStanzaSink Sink
    {
        get => Volatile.Read(ref _sink);
        set => Volatile.Write(ref _sink, value);
    }

    /// <summary>Stream management (XEP-0198), once the client enabled it.</summary>
    public StreamManagementState? Management { get; set; }

    // Presence and priority are routing facts: the router's RFC 6121 delivery rules (which resource gets a
    // message to the bare JID) read them, so they stay here. What a module keeps for itself about a session
    // lives in that module, in a SessionState keyed by the session.

    /// <summary>The last available presence the client broadcast, or null while it has sent none (or went unavailable).</summary>
    public Element? Presence { get; set; }

    public int Priority { get; set; }

    public bool IsAvailable => Presence is not null;

    private volatile bool _awaitsStoredMessages;

    /// <summary>
    /// From the presence that makes the session a place for messages to the bare JID until what was stored for the
    /// account has been handed to it: such messages are stored meanwhile rather than sent at once, so that none
    /// overtakes one stored before it.
    /// </summary>
    public bool AwaitsStoredMessages
    {
        get => _awaitsStoredMessages;
        set => _awaitsStoredMessages = value;
    }

    /// <summary>The session ends because its account was deleted: nothing may be stored for the account any more.</summary>
    public bool AccountRemoved { get; private set; }

    /// <summary>Ends the session because its account was deleted (in-band or by the administrator).</summary>
    public void EndForRemovedAccount()
    {
        AccountRemoved = true;
        Sink.CloseWithError("not-authorized", "The account was removed.");
    }

    /// <summary>Ends the session at an administrator's request; the client may sign in again.</summary>
    public void EndByAdministrator() => Sink.CloseWithError("policy-violation", "The session was ended by an administrator.");

    /// <summary>An administrator disabled the account: the session ends as any other, with a stream error saying why.</summary>
    public void EndForDisabledAccount() => Sink.CloseWithError("not-authorized", "The account was disabled by an administrator.");

    /// <summary>Another node of the cluster serves the account now: the client is sent there (RFC 6120 &lt;see-other-host/&gt;).</summary>
    public void SendToOtherHost(string address) =>
        Sink.CloseWithError("see-other-host", $"{Jid.Bare} is served by the node at {address} now.", address);

    private ISendGate? _gate;

    /// <summary>
    /// The module holding back what this session need not get yet (client state indication), while it holds;
    /// null, the usual case, sends straight to the sink.
    /// </summary>
    public ISendGate? Gate
    {
        get => Volatile.Read(ref _gate);
        set => Volatile.Write(ref _gate, value);
    }

    /// <summary>
    /// The cluster node the client is connected to when that is not this one: set on the stand-in this node holds for a
    /// client relayed to it (Cluster:Redirect off); null for a client connected here.
    /// </summary>
    public string? ConnectedAt { get; init; }

    private readonly Lock _keptLock = new();
    private Dictionary<string, Element>? _kept;
    private int _keptVersion;

    /// <summary>Changes whenever what the modules keep changes: a copy made at one version is current while it holds.</summary>
    public int KeptVersion => Volatile.Read(ref _keptVersion);

    /// <summary>
    /// A module's state of this session that a resumption elsewhere restores (XEP-0198: the session as it was), as one
    /// element that the module replaces whole at each change, or null to drop it; copied to the stream-management
    /// copy at once, in order with the session's other changes. The module itself keeps the live state.
    /// </summary>
    public void Keep(string name, Element? state)
    {
        lock (_keptLock)
        {
            if (state is null)
            {
                _kept?.Remove(name);
            }
            else
            {
                (_kept ??= new(StringComparer.Ordinal))[name] = state;
            }
            _keptVersion++;
        }
        if (Management is { } management)
        {
            lock (management.Sync)
            {
                management.Replica?.Kept(name, state);
            }
        }
    }

    /// <summary>What the modules keep of this session now (<see cref="Keep"/>), by module.</summary>
    public IReadOnlyList<KeyValuePair<string, Element>> Kept()
    {
        lock (_keptLock)
        {
            return _kept is null ? [] : [.. _kept];
        }
    }

    /// <summary>Set for a client served here whose account another node of the cluster serves: what it sends goes there.</summary>
    public ISessionRelay? Relay { get; init; }

    /// <summary>Sends to the client, through the <see cref="Gate"/> while there is one.</summary>
    public bool Send(Element stanza) => Gate is { } gate ? gate.Send(this, stanza) : Sink.Send(stanza);

    public override string ToString() => Jid.ToString();
}
