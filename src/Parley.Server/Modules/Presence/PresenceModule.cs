using System.Globalization;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.Roster;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Presence;

/// <summary>
/// Presence (RFC 6121 §4) and the entry to subscriptions (§3). A client's broadcast presence goes
/// to its own resources and to the contacts subscribed to it; the first one also fetches the
/// presence of the contacts it is subscribed to, delivers subscription requests still waiting, and
/// lets other modules react (offline messages). Unavailable presence reaches the same people plus
/// everyone the session sent directed presence to, and is kept as the account's last presence.
/// </summary>
public sealed class PresenceModule(
    SessionRegistry sessions,
    RosterService rosters,
    SubscriptionHandler subscriptions,
    Router router,
    ModuleRegistry modules,
    IParleyStorage storage) : IModule, ILastPresence
{
    /// <summary>Where the account's last unavailable presence is kept (it also answers XEP-0012, through <see cref="ILastPresence"/>).</summary>
    private const string LastPresenceKind = "last-presence";

    /// <summary>
    /// Entities each session sent directed presence to (RFC 6121 §4.6) that are not covered by its broadcast;
    /// they get its unavailable presence when it goes. Only the session's own stanza flow and its end touch a set.
    /// </summary>
    private readonly SessionState<HashSet<Jid>> _directed = new(static _ => []);

    /// <summary>The name under which the session keeps its directed presence for a resumption on another node.</summary>
    private const string DirectedKept = "directed";

    public void Register(ModuleRegistry registry)
    {
        registry.AddStreamFeature(new Element("sub", Ns.PreApproval));
        registry.OnClientStanza("presence", HookPhase.Presence, FromClientAsync);
        registry.OnInbound("presence", HookPhase.Presence, InboundAsync);
        registry.OnSessionEnded(SessionEndedAsync);
        registry.OnRosterImported(RosterImportedAsync);
        registry.RestoreOnResumption(DirectedKept, RestoreDirected);
        // RFC 6121 §2.5.2: a contact that leaves the roster (or whose account goes) shares no presence any more.
        rosters.OnContactLeaving(subscriptions.CancelBothWaysAsync);
    }

    private async ValueTask<bool> FromClientAsync(ClientStanza stanza)
    {
        var presence = stanza.Stanza;
        var session = stanza.Sender;
        var type = presence.GetAttribute("type");

        if (stanza.To is { } to)
        {
            if (SubscriptionRules.Parse(type) is { } subscriptionType)
            {
                if (to.Bare.Equals(session.Jid.Bare))
                {
                    session.Send(Stanzas.ErrorReply(presence, StanzaError.BadRequest("An account always sees its own presence; it cannot subscribe to itself.")));
                    return true;
                }
                await subscriptions.OutboundAsync(session.Jid, to, subscriptionType, presence).ConfigureAwait(false);
                return true;
            }
            switch (type)
            {
                case "probe":
                    // Probes are the server's to send (§4.3); one from a client is dropped.
                    return true;
                case null or "unavailable":
                    await TrackDirectedAsync(session, to, available: type is null).ConfigureAwait(false);
                    return false;
                default:
                    return !IsKnownType(type);
            }
        }

        switch (type)
        {
            case null:
                if (Validate(presence) is { } error)
                {
                    session.Send(Stanzas.ErrorReply(presence, error));
                    return true;
                }
                await AvailableAsync(session, presence).ConfigureAwait(false);
                return true;
            case "unavailable":
                await UnavailableAsync(session, presence).ConfigureAwait(false);
                return true;
            default:
                // Subscription stanzas and probes need an address; errors without one go nowhere.
                if (!IsKnownType(type))
                {
                    session.Send(Stanzas.ErrorReply(presence, StanzaError.BadRequest($"'{type}' is not a presence type.")));
                }
                return true;
        }
    }

    private async ValueTask<bool> InboundAsync(InboundStanza stanza)
    {
        var presenceType = stanza.Stanza.GetAttribute("type");
        if (presenceType == "probe")
        {
            await AnswerProbeAsync(stanza.To.Bare, stanza.From).ConfigureAwait(false);
            return true;
        }
        if (SubscriptionRules.Parse(presenceType) is not { } type)
        {
            return false;
        }
        if (!await storage.Accounts.ExistsAsync(stanza.To.Bare.ToString()).ConfigureAwait(false))
        {
            if (type == SubscriptionType.Subscribe)
            {
                // Nobody can approve: say no, so the requester's roster does not wait forever.
                var refusal = new Element("presence", Ns.Client)
                    .SetAttribute("type", "unsubscribed")
                    .SetAttribute("from", stanza.To.Bare.ToString())
                    .SetAttribute("to", stanza.From.Bare.ToString());
                await router.RouteAsync(refusal, stanza.To.Bare, stanza.From.Bare).ConfigureAwait(false);
            }
            return true;
        }
        await subscriptions.InboundAsync(stanza.To, stanza.From, type, stanza.Stanza).ConfigureAwait(false);
        return true;
    }

    private async ValueTask AvailableAsync(ClientSession session, Element presence)
    {
        var initial = !session.IsAvailable;
        var wasReachable = !initial && session.Priority >= 0;
        var priority = PriorityOf(presence);
        // Until the stored messages are handed over (the reachable event below), new ones are stored behind them.
        session.AwaitsStoredMessages = priority >= 0 && !wasReachable;
        session.Priority = priority;
        session.Presence = presence;
        try
        {
            await AnnounceAsync(session, presence, initial, wasReachable).ConfigureAwait(false);
        }
        finally
        {
            session.AwaitsStoredMessages = false;
        }
    }

    private async ValueTask AnnounceAsync(ClientSession session, Element presence, bool initial, bool wasReachable)
    {
        var roster = await rosters.GetAsync(session.Jid).ConfigureAwait(false);
        await BroadcastAsync(session, presence, roster).ConfigureAwait(false);
        if (!initial)
        {
            if (!wasReachable && session.Priority >= 0)
            {
                await modules.SessionReachable.RaiseAsync(session).ConfigureAwait(false);
            }
            return;
        }

        await SendContactsPresenceAsync(session, roster).ConfigureAwait(false);
        foreach (var pending in await rosters.GetPendingAsync(session.Jid).ConfigureAwait(false))
        {
            // §3.1.3: requests the user has not answered are delivered again at each login. One from a contact
            // blocked since is dropped, as it would have been had the block come first.
            if (!Jid.TryParse(pending.Contact, out var contact) || await modules.MayDeliverStoredAsync(session.Jid, contact).ConfigureAwait(false))
            {
                session.Send(ParseStored(pending.StanzaXml));
            }
            else
            {
                await rosters.RemovePendingAsync(session.Jid, contact).ConfigureAwait(false);
            }
        }
        await modules.SessionAvailable.RaiseAsync(session).ConfigureAwait(false);
        if (session.Priority >= 0)
        {
            await modules.SessionReachable.RaiseAsync(session).ConfigureAwait(false);
        }
    }

    private async ValueTask UnavailableAsync(ClientSession session, Element presence)
    {
        if (!session.IsAvailable)
        {
            return;
        }
        session.Presence = null;
        // Kept before anyone hears of it: a contact who sees the user go may ask at once (a new login's probe).
        await KeepLastPresenceAsync(session, presence).ConfigureAwait(false);
        var roster = await rosters.GetAsync(session.Jid).ConfigureAwait(false);
        await BroadcastAsync(session, presence, roster).ConfigureAwait(false);
        await EndDirectedPresenceAsync(session, presence).ConfigureAwait(false);
    }

    private async ValueTask SessionEndedAsync(ClientSession session)
    {
        var unavailable = new Element("presence", Ns.Client).SetAttribute("type", "unavailable").SetAttribute("from", session.Jid.ToString());
        if (session.IsAvailable)
        {
            await UnavailableAsync(session, unavailable).ConfigureAwait(false);
        }
        else
        {
            await EndDirectedPresenceAsync(session, unavailable).ConfigureAwait(false);
        }
        _directed.Remove(session);
        rosters.Forget(session.Jid);
    }

    /// <summary>§4.2.2 and §4.4.2: to every available resource of the account and to each contact subscribed to it.</summary>
    private async ValueTask BroadcastAsync(ClientSession session, Element presence, Storage.Roster roster)
    {
        foreach (var own in sessions.SessionsOf(session.Jid))
        {
            if (own.IsAvailable || ReferenceEquals(own, session))
            {
                own.Send(Addressed(presence, session, own.Jid));
            }
        }
        var toContacts = new List<(Element, Jid)>();
        foreach (var item in roster.Items)
        {
            if (item.Subscription is Subscription.From or Subscription.Both && Jid.TryParse(item.Contact, out var contact))
            {
                toContacts.Add((Addressed(presence, session, contact), contact));
            }
        }
        await router.RouteEachAsync(toContacts, session.Jid).ConfigureAwait(false);
    }

    /// <summary>
    /// §4.3: a probe (§4.3.1) to each contact the user is subscribed to, routed like any stanza, whether the
    /// contact is served by this node, another node or another server; whoever serves it answers
    /// (<see cref="AnswerProbeAsync"/>). The user's module never reads the contact's sessions itself.
    /// </summary>
    private async ValueTask SendContactsPresenceAsync(ClientSession session, Storage.Roster roster)
    {
        var probes = new List<(Element, Jid)>();
        foreach (var item in roster.Items)
        {
            if (item.Subscription is Subscription.To or Subscription.Both && Jid.TryParse(item.Contact, out var contact))
            {
                probes.Add((Probe(session.Jid, contact), contact.Bare));
            }
        }
        await router.RouteEachAsync(probes, session.Jid).ConfigureAwait(false);
    }

    private ValueTask ProbeAsync(Jid user, Jid contact) => router.RouteAsync(Probe(user, contact), user, contact.Bare);

    private static Element Probe(Jid user, Jid contact) =>
        new Element("presence", Ns.Client)
            .SetAttribute("type", "probe")
            .SetAttribute("from", user.ToString())
            .SetAttribute("to", contact.Bare.ToString());

    /// <summary>
    /// §4.3.2, on the contact's side: to a prober the account has approved, the presence of each of its available
    /// resources, or its last unavailable presence with its time (XEP-0203). The answers go through the router, so
    /// that the prober's own filters (blocking) apply. Without an available resource the last presence is read
    /// first: an account that has none to tell (never online, or signed in but not yet available) costs no roster read.
    /// </summary>
    private async ValueTask AnswerProbeAsync(Jid account, Jid prober)
    {
        var online = sessions.SessionsOf(account);
        var available = false;
        foreach (var session in online)
        {
            available |= session.IsAvailable;
        }
        var last = available ? null : await ReadLastAsync(account).ConfigureAwait(false);
        if (!available && last is null)
        {
            return;
        }
        var item = await rosters.GetItemAsync(account, prober.Bare).ConfigureAwait(false);
        if (item?.Subscription is not (Subscription.From or Subscription.Both))
        {
            return;
        }
        if (last is { } kept)
        {
            var unavailable = kept.Presence.SetAttribute("to", prober.ToString());
            unavailable.Add(new Element("delay", Ns.Delay)
                .SetAttribute("from", account.Domain)
                .SetAttribute("stamp", XmppDateTime.FormatSeconds(kept.At)));
            await router.RouteAsync(unavailable, account, prober).ConfigureAwait(false);
            return;
        }
        foreach (var session in online)
        {
            if (session.Presence is { } presence)
            {
                await router.RouteAsync(Addressed(presence, session, prober), session.Jid, prober).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// `parley roster import` wrote the account's roster: an online account's clients get the changed items pushed,
    /// a probe to each contact it now receives presence from and its presence to each it now sends presence to, as
    /// after an approved subscription (§3.1.5). Each side of a pair does both, because the import's notices reach the two sides one after the other: the first side's probe
    /// may find the other's roster not yet reloaded, and the other side's presence then comes with its own turn.
    /// </summary>
    private async ValueTask RosterImportedAsync(Jid account)
    {
        var reload = await rosters.ReloadAsync(account).ConfigureAwait(false);
        if (!IsAvailable(account))
        {
            return;
        }
        foreach (var contact in reload.To)
        {
            await ProbeAsync(account, contact).ConfigureAwait(false);
        }
        foreach (var contact in reload.From)
        {
            foreach (var session in sessions.SessionsOf(account))
            {
                if (session.Presence is { } presence)
                {
                    await router.RouteAsync(Addressed(presence, session, contact), session.Jid, contact).ConfigureAwait(false);
                }
            }
        }
    }

    private async ValueTask EndDirectedPresenceAsync(ClientSession session, Element unavailable)
    {
        if (_directed.Find(session) is not { Count: > 0 } directed)
        {
            return;
        }
        foreach (var entity in directed)
        {
            await router.RouteAsync(Addressed(unavailable, session, entity), session.Jid, entity).ConfigureAwait(false);
        }
        directed.Clear();
        session.Keep(DirectedKept, null);
    }

    /// <summary>§4.6: directed presence to someone who does not get the broadcast is remembered, to be ended on unavailable.</summary>
    private async ValueTask TrackDirectedAsync(ClientSession session, Jid to, bool available)
    {
        if (!available)
        {
            if (_directed.Find(session) is { } directed && directed.Remove(to))
            {
                KeepDirected(session, directed);
            }
            return;
        }
        // Tracked before initial presence too: a client may join a room first (XEP-0045) and must leave it when it goes.
        var item = await rosters.GetItemAsync(session.Jid, to.Bare).ConfigureAwait(false);
        if (item?.Subscription is not (Subscription.From or Subscription.Both) && _directed.Of(session) is var tracked && tracked.Add(to))
        {
            KeepDirected(session, tracked);
        }
    }

    /// <summary>Whom the session sent directed presence to, as &lt;directed&gt;&lt;to jid/&gt;…&lt;/directed&gt;: a session resumed on another node still ends it.</summary>
    private static void KeepDirected(ClientSession session, HashSet<Jid> directed)
    {
        if (directed.Count == 0)
        {
            session.Keep(DirectedKept, null);
            return;
        }
        var kept = new Element(DirectedKept, Ns.Client);
        foreach (var entity in directed)
        {
            kept.AddChild("to").SetAttribute("jid", entity.ToString());
        }
        session.Keep(DirectedKept, kept);
    }

    private void RestoreDirected(ClientSession session, Element kept)
    {
        var directed = _directed.Of(session);
        foreach (var to in kept.Children("to"))
        {
            if (Jid.TryParse(to.GetAttribute("jid"), out var entity))
            {
                directed.Add(entity);
            }
        }
    }

    public bool IsAvailable(Jid account)
    {
        foreach (var session in sessions.SessionsOf(account))
        {
            if (session.IsAvailable)
            {
                return true;
            }
        }
        return false;
    }

    public async ValueTask<LastUnavailable?> LastUnavailableAsync(Jid account) =>
        await ReadLastAsync(account).ConfigureAwait(false) is { } last
            ? new LastUnavailable(last.At, last.Presence.ChildText("status", Ns.Client))
            : null;

    /// <summary>The account's last unavailable presence as kept, and when it was kept.</summary>
    private async ValueTask<(Element Presence, DateTimeOffset At)?> ReadLastAsync(Jid account) =>
        await storage.Documents.GetAsync(account.Bare.ToString(), LastPresenceKind, "").ConfigureAwait(false) is { } last
            ? (ParseStored(last.Xml), last.UpdatedAt)
            : null;

    private async ValueTask KeepLastPresenceAsync(ClientSession session, Element presence)
    {
        if (session.AccountRemoved)
        {
            // Its data is deleted already; a row written now would greet a new account of the same name.
            return;
        }
        foreach (var other in sessions.SessionsOf(session.Jid))
        {
            if (other.IsAvailable && !ReferenceEquals(other, session))
            {
                return;
            }
        }
        var last = new Element("presence", Ns.Client).SetAttribute("type", "unavailable").SetAttribute("from", session.Jid.Bare.ToString());
        if (presence.Child("status", Ns.Client) is { } status)
        {
            last.Add(status.Clone());
        }
        await storage.Documents.SetAsync(session.Jid.Bare.ToString(), LastPresenceKind, "", last.ToXml(Ns.Client)).ConfigureAwait(false);
    }

    private static Element Addressed(Element presence, ClientSession from, Jid to)
    {
        var copy = presence.Clone();
        copy.SetAttribute("from", from.Jid.ToString());
        copy.SetAttribute("to", to.ToString());
        return copy;
    }

    private static StanzaError? Validate(Element presence)
    {
        var priority = presence.ChildText("priority", Ns.Client);
        if (priority is not null && !(int.TryParse(priority, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value is >= -128 and <= 127))
        {
            return StanzaError.BadRequest("Priority must be an integer from -128 to 127.");
        }
        var show = presence.ChildText("show", Ns.Client);
        if (show is not null and not ("away" or "chat" or "dnd" or "xa"))
        {
            return StanzaError.BadRequest("Show must be away, chat, dnd or xa.");
        }
        return null;
    }

    private static int PriorityOf(Element presence) =>
        int.TryParse(presence.ChildText("priority", Ns.Client), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var priority) ? priority : 0;

    private static bool IsKnownType(string? type) =>
        type is null or "unavailable" or "probe" or "error" or "subscribe" or "subscribed" or "unsubscribe" or "unsubscribed";

    private static Element ParseStored(string xml) => ElementParser.Parse(xml, Ns.Client);
}
