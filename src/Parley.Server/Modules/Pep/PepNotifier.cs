using System.Collections.Concurrent;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.Roster;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Pep;

/// <summary>Why a requester may not see a node: the stanza error and the pubsub-specific condition (XEP-0060 §6.5.9).</summary>
public readonly record struct PepDenial(StanzaError Error, string Condition);

/// <summary>
/// Who sees a node's events (XEP-0163 §4): the owner's available sessions and the available sessions of
/// contacts the access model lets in, each only if its entity capabilities ask for NODE+notify. The owner's
/// side sends one event to each contact's bare JID, routed like any stanza; the side that serves the contact
/// (this node, another node, another server) hands it to the contact's sessions that asked for the node. A
/// session also gets the last published item of each node it is interested in, once its interests are
/// known and it is available (§4.3.2: at the owner's login and at a contact's available presence).
/// </summary>
public sealed class PepNotifier(IParleyStorage storage, RosterService rosters, SessionRegistry sessions, Router router)
{
    private readonly EntityCapsTracker _caps = new();

    // Session → the nodes whose last items it was sent; only the session's own stanza flow changes its set.
    private readonly ConcurrentDictionary<ClientSession, HashSet<string>> _served = new();

    public void Register(ModuleRegistry registry)
    {
        _caps.FeaturesChanged = SendLastItemsAsync;
        // Before the presence module (100) broadcasts, so the disco#info query leaves as early as it can.
        registry.OnClientStanza("presence", HookPhase.CapsFromPresence, _caps.OnPresenceAsync);
        registry.OnClientStanza("iq", HookPhase.CapsFromDisco, _caps.OnIqAsync);
        registry.OnInbound("message", HookPhase.PepNotifications, DeliverContactEventAsync);
        registry.OnSessionAvailable(SendLastItemsAsync);
        registry.OnSessionEnded(ForgetAsync);
    }

    /// <summary>Null when <paramref name="requester"/> may retrieve the node's items and get its events.</summary>
    public async ValueTask<PepDenial?> DenialAsync(Jid owner, PepNodeConfig config, Jid requester)
    {
        if (requester.Bare.Equals(owner.Bare))
        {
            return null;
        }
        switch (config.AccessModel)
        {
            case PepAccessModel.Open:
                return null;
            case PepAccessModel.Whitelist:
                return new PepDenial(StanzaError.NotAllowed("Only the owner may see this node."), "closed-node");
        }
        var item = await rosters.GetItemAsync(owner, requester.Bare).ConfigureAwait(false);
        return Allows(config, item)
            ? null
            : config.AccessModel == PepAccessModel.Presence
                ? new PepDenial(StanzaError.NotAuthorized("Only contacts subscribed to the owner's presence may see this node."), "presence-subscription-required")
                : new PepDenial(StanzaError.NotAuthorized("Only contacts in the roster groups the owner allowed may see this node."), "not-in-roster-group");
    }

    public ValueTask PublishedAsync(Jid owner, string node, PepNodeConfig config, string itemId, Element payload)
    {
        var items = new Element("items", Ns.PubSubEvent).SetAttribute("node", node);
        items.Add(ItemElement(Ns.PubSubEvent, itemId, config.DeliverPayloads ? payload : null));
        return NodeEventAsync(owner, node, config, items);
    }

    public ValueTask RetractedAsync(Jid owner, string node, PepNodeConfig config, string itemId)
    {
        var items = new Element("items", Ns.PubSubEvent).SetAttribute("node", node);
        items.AddChild("retract", Ns.PubSubEvent).SetAttribute("id", itemId);
        return NodeEventAsync(owner, node, config, items);
    }

    /// <summary>Sends an event (items, delete, purge) to every interested session the access model lets in.</summary>
    public async ValueTask NodeEventAsync(Jid owner, string node, PepNodeConfig config, Element eventChild)
    {
        if (!config.DeliverNotifications)
        {
            return;
        }
        // One event element shared by every message: routed stanzas are read-only.
        var ev = new Element("event", Ns.PubSubEvent).Add(eventChild);
        foreach (var session in sessions.SessionsOf(owner))
        {
            if (session.IsAvailable && _caps.WantsNotifications(session, node))
            {
                session.Send(EventMessage(owner, session.Jid, ev));
            }
        }
        if (config.AccessModel == PepAccessModel.Whitelist)
        {
            return;
        }
        var roster = await rosters.GetAsync(owner).ConfigureAwait(false);
        foreach (var item in roster.Items)
        {
            if (Allows(config, item) && Jid.TryParse(item.Contact, out var contact) && contact.Local is not null)
            {
                await router.RouteAsync(EventMessage(owner, contact.Bare, ev), owner.Bare, contact.Bare).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// On the contact's side: a PEP event from an account (a bare JID: clients' own stanzas always come from a full
    /// one) to the contact's bare JID goes to each of its available sessions whose caps ask for the node, and to no
    /// other. Blocking has already had its say.
    /// </summary>
    private ValueTask<bool> DeliverContactEventAsync(InboundStanza stanza)
    {
        var message = stanza.Stanza;
        if (!stanza.To.IsBare || !stanza.From.IsBare || stanza.From.Local is null || message.GetAttribute("type") != "headline"
            || message.Child("event", Ns.PubSubEvent) is not { } ev || ev.Children().FirstOrDefault()?.GetAttribute("node") is not { } node)
        {
            return ValueTask.FromResult(false);
        }
        foreach (var session in sessions.SessionsOf(stanza.To))
        {
            if (session.IsAvailable && _caps.WantsNotifications(session, node))
            {
                session.Send(EventMessage(stanza.From, session.Jid, ev));
            }
        }
        return ValueTask.FromResult(true);
    }

    public static Element ItemElement(string ns, string id, Element? payload)
    {
        var item = new Element("item", ns).SetAttribute("id", id);
        if (payload is not null)
        {
            item.Add(payload);
        }
        return item;
    }

    /// <summary>
    /// The last item of each node the session newly asked for, from its own account and from each contact it
    /// is subscribed to whose node lets it in. Waits until the session is available and its caps are known.
    /// </summary>
    private async ValueTask SendLastItemsAsync(ClientSession session)
    {
        if (!session.IsAvailable)
        {
            return;
        }
        var served = _served.GetOrAdd(session, _ => []);
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in _caps.NotifyNodesOf(session))
        {
            if (served.Add(node))
            {
                wanted.Add(node);
            }
        }
        if (wanted.Count == 0)
        {
            return;
        }

        var account = session.Jid.Bare;
        await SendLastItemsOfAsync(account, session, wanted).ConfigureAwait(false);
        foreach (var item in (await rosters.GetAsync(account).ConfigureAwait(false)).Items)
        {
            if (item.Subscription is Subscription.To or Subscription.Both && Jid.TryParse(item.Contact, out var contact)
                && contact.Local is not null && router.IsLocalDomain(contact.Domain))
            {
                await SendLastItemsOfAsync(contact, session, wanted).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask SendLastItemsOfAsync(Jid owner, ClientSession session, HashSet<string> wanted)
    {
        foreach (var node in await storage.Pep.GetNodesAsync(owner.ToString()).ConfigureAwait(false))
        {
            if (!wanted.Contains(node.Node))
            {
                continue;
            }
            var config = PepNodeConfig.FromStored(node.ConfigXml);
            if (!config.SendsLastItemOnPresence || !config.DeliverNotifications
                || await DenialAsync(owner, config, session.Jid.Bare).ConfigureAwait(false) is not null)
            {
                continue;
            }
            var last = await storage.Pep.GetItemsAsync(owner.ToString(), node.Node, 1).ConfigureAwait(false);
            if (last.Count == 0)
            {
                continue;
            }
            var items = new Element("items", Ns.PubSubEvent).SetAttribute("node", node.Node);
            items.Add(ItemElement(Ns.PubSubEvent, last[0].Id, config.DeliverPayloads ? ElementParser.Parse(last[0].Xml, Ns.Client) : null));
            var message = EventMessage(owner, session.Jid, new Element("event", Ns.PubSubEvent).Add(items));
            // XEP-0060 §12.7: an item sent later than published says when it was.
            message.Add(new Element("delay", Ns.Delay)
                .SetAttribute("from", owner.ToString())
                .SetAttribute("stamp", XmppDateTime.Format(last[0].Published)));
            if (owner.Equals(session.Jid.Bare))
            {
                session.Send(message);
            }
            else
            {
                await router.RouteAsync(message, owner, session.Jid).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask ForgetAsync(ClientSession session)
    {
        _served.TryRemove(session, out _);
        await _caps.ForgetAsync(session).ConfigureAwait(false);
    }

    /// <summary>Whether the owner's roster item for a contact lets the contact in (presence and roster models).</summary>
    private static bool Allows(PepNodeConfig config, RosterItem? item) => config.AccessModel switch
    {
        PepAccessModel.Open => item is not null && item.Subscription is Subscription.From or Subscription.Both,
        PepAccessModel.Presence => item is not null && item.Subscription is Subscription.From or Subscription.Both,
        PepAccessModel.Roster => item is not null && item.Groups.Any(group => config.RosterGroupsAllowed.Contains(group, StringComparer.Ordinal)),
        _ => false,
    };

    private static Element EventMessage(Jid owner, Jid to, Element ev) => new Element("message", Ns.Client)
        .SetAttribute("from", owner.Bare.ToString())
        .SetAttribute("to", to.ToString())
        .SetAttribute("type", "headline")
        .SetAttribute("id", Guid.NewGuid().ToString("N"))
        .Add(ev);
}
