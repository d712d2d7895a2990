using System.Globalization;
using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Cluster.Resumption;

/// <summary>
/// The events a node sends its group peer about its sessions' stream management, as XML in a &lt;batch/&gt;:
/// <c>&lt;open id jid resumable handled sent&gt;[presence][&lt;k name/&gt;…][&lt;q t/&gt;…]&lt;/open&gt;</c> a session's whole state;
/// <c>&lt;k id name&gt;[state]&lt;/k&gt;</c> what a module keeps of the session for a resumption (its directed presence,
/// its client state…), replacing what it kept before, or nothing any more;
/// <c>&lt;q id t&gt;stanza&lt;/q&gt;</c> a stanza queued for the client (t: when it arrived, Unix ms);
/// <c>&lt;a id h/&gt;</c> the client acknowledged h; <c>&lt;h id h/&gt;</c> the server handled h of the client's stanzas;
/// <c>&lt;p id&gt;[presence]&lt;/p&gt;</c> the session's presence; <c>&lt;end id/&gt;</c> the session ended and what it held
/// was delivered; <c>&lt;reset/&gt;</c> forget every session of this node (a full copy follows).
/// </summary>
internal static class ReplicaBatch
{
    public static Element Open(ClientSession session, StreamManagementState management)
    {
        var open = Open(management.Id, session, management.Resumable, management.Handled, management.Sent);
        foreach (var (stanza, arrived) in management.UnackedWithArrival())
        {
            open.Add(new Element("q", Ns.Client).SetAttribute("t", Stamp(arrived)).Add(stanza));
        }
        return open;
    }

    /// <summary>A session without stream management: nothing to resume, only what its end must tell others.</summary>
    public static Element OpenWithoutManagement(string id, ClientSession session) => Open(id, session, resumable: false, handled: 0, sent: 0);

    private static Element Open(string id, ClientSession session, bool resumable, uint handled, uint sent)
    {
        var open = new Element("open", Ns.Client)
            .SetAttribute("id", id)
            .SetAttribute("jid", session.Jid.ToString())
            .SetAttribute("resumable", resumable ? "true" : "false")
            .SetAttribute("handled", handled.ToString(CultureInfo.InvariantCulture))
            .SetAttribute("sent", sent.ToString(CultureInfo.InvariantCulture));
        if (session.Presence is { } presence)
        {
            open.Add(presence);
        }
        foreach (var (name, state) in session.Kept())
        {
            open.Add(new Element("k", Ns.Client).SetAttribute("name", name).Add(state));
        }
        return open;
    }

    public static Element Queued(string id, Element stanza, DateTimeOffset arrived) =>
        new Element("q", Ns.Client).SetAttribute("id", id).SetAttribute("t", Stamp(arrived)).Add(stanza);

    public static Element Count(string name, string id, uint h) =>
        new Element(name, Ns.Client).SetAttribute("id", id).SetAttribute("h", h.ToString(CultureInfo.InvariantCulture));

    public static Element Presence(string id, Element? presence)
    {
        var element = new Element("p", Ns.Client).SetAttribute("id", id);
        return presence is null ? element : element.Add(presence);
    }

    public static Element Kept(string id, string name, Element? state)
    {
        var element = new Element("k", Ns.Client).SetAttribute("id", id).SetAttribute("name", name);
        return state is null ? element : element.Add(state);
    }

    public static Element End(string id) => new Element("end", Ns.Client).SetAttribute("id", id);

    public static Element Reset() => new("reset", Ns.Client);

    private static string Stamp(DateTimeOffset arrived) => arrived.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    public static DateTimeOffset ArrivedOf(Element q) =>
        long.TryParse(q.GetAttribute("t"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.UtcNow;

    public static uint CountOf(Element element, string attribute) =>
        uint.TryParse(element.GetAttribute(attribute), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;

    public static Element? StanzaIn(Element wrapper) => wrapper.Children().FirstOrDefault();
}

/// <summary>The peer's copy of one session of another node: what a resumption here needs.</summary>
internal sealed class SessionReplica(string id, Jid jid, bool resumable, uint handled, uint sent)
{
    private readonly Queue<(Element Stanza, DateTimeOffset Arrived)> _unacked = new();

    public string Id { get; } = id;
    public Jid Jid { get; } = jid;
    public bool Resumable { get; } = resumable;
    public uint Handled { get; set; } = handled;
    public uint Sent { get; private set; } = sent;
    public Element? Presence { get; set; }

    /// <summary>What the modules kept of the session (<see cref="ClientSession.Keep"/>), by module.</summary>
    public Dictionary<string, Element> Kept { get; } = new(StringComparer.Ordinal);

    /// <summary>Applies a &lt;k name&gt;[state]&lt;/k&gt;: the module's state replaces what it kept, or is gone.</summary>
    public void Keep(Element k)
    {
        var name = k.GetAttribute("name") ?? "";
        if (ReplicaBatch.StanzaIn(k) is { } state)
        {
            Kept[name] = state;
        }
        else
        {
            Kept.Remove(name);
        }
    }

    /// <summary>False once more stanzas waited than the copy keeps: the client cannot resume with all of them, so it is not offered.</summary>
    public bool Complete { get; private set; } = true;

    public IReadOnlyCollection<(Element Stanza, DateTimeOffset Arrived)> Unacked => _unacked;

    public void Queue(Element stanza, DateTimeOffset arrived, int max)
    {
        Sent++;
        if (_unacked.Count >= max)
        {
            Complete = false;
            return;
        }
        _unacked.Enqueue((stanza, arrived));
    }

    /// <summary>The client acknowledged the first <paramref name="h"/> stanzas (counters wrap at 2^32, as on the node).</summary>
    public void Acknowledge(uint h)
    {
        var acknowledgedBefore = Sent - (uint)_unacked.Count;
        var newly = h - acknowledgedBefore;
        if ((int)newly <= 0)
        {
            return;
        }
        for (var i = 0u; i < newly && _unacked.Count > 0; i++)
        {
            _unacked.Dequeue();
        }
    }
}
