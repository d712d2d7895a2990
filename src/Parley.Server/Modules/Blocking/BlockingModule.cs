using System.Collections.Concurrent;
using System.Globalization;
using Parley.Protocol;
using Parley.Server.Concurrency;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.Roster;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Blocking;

/// <summary>
/// Blocking command (XEP-0191). A user blocks JIDs; from then on nothing from them reaches the
/// user (messages and IQ requests are answered as if the user were offline, presence is dropped),
/// the user's own stanzas to them are refused with &lt;blocked/&gt;, and they see the user as offline.
/// The lists of online accounts are kept in memory, as every stanza to them is checked.
/// </summary>
public sealed class BlockingModule(IParleyStorage storage, SessionRegistry sessions, Router router, RosterService rosters) : IModule
{
    private readonly IBlocklistStore _store = storage.Blocklists;

    // By the bare JID's text, so that a stanza to a full JID finds the recipient's list without building its bare JID.
    private readonly ConcurrentDictionary<string, Blocklist>.AlternateLookup<ReadOnlySpan<char>> _onlineByText =
        new ConcurrentDictionary<string, Blocklist>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    private ConcurrentDictionary<string, Blocklist> Online => _onlineByText.Dictionary;

    // Sessions that asked for the block list, and so get pushes (XEP-0191 §3.3).
    private readonly SessionFlags _interested = new();

    // Changes to a list, and caching it, are serialized per account; nothing routes while holding the lock.
    private readonly StripedLock _gates = new();
    private long _pushCount;

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Blocking);
        registry.HandleIq(Ns.Blocking, IqTarget.Account, HandleIqAsync);
        foreach (var stanzaName in new[] { "message", "presence", "iq" })
        {
            registry.OnInbound(stanzaName, HookPhase.Blocking, InboundAsync);
            registry.OnLeavingNode(stanzaName, HookPhase.Blocking, SenderBlocksAsync);
            registry.OnClientStanza(stanzaName, HookPhase.Blocking, FromClientAsync);
        }
        registry.OnSessionEnded(SessionEndedAsync);
        _interested.ForgetWhenEnded(registry);
        _interested.KeepOnResumption(registry, "blocklist-pushes");
        // XEP-0191 §3.3: nothing from a blocked entity reaches the user, including what was kept before the block.
        registry.FilterStoredStanzas(async (account, from) => !(await GetAsync(account).ConfigureAwait(false)).Blocks(from));
    }

    private async ValueTask<Element> HandleIqAsync(IqRequest request)
    {
        var account = request.To.Bare;
        if (!request.From.Bare.Equals(account))
        {
            return request.Error(StanzaError.Forbidden("Only the user can see or change their block list."));
        }
        switch (request.Payload.Name)
        {
            case "blocklist" when request.IsGet:
                if (request.Sender is { } sender)
                {
                    _interested.Set(sender);
                }
                var result = new Element("blocklist", Ns.Blocking);
                foreach (var jid in (await GetAsync(account).ConfigureAwait(false)).Jids)
                {
                    result.AddChild("item", Ns.Blocking).SetAttribute("jid", jid);
                }
                return request.Result(result);
            case "block" when request.IsSet:
                return await BlockAsync(request, account).ConfigureAwait(false);
            case "unblock" when request.IsSet:
                return await UnblockAsync(request, account).ConfigureAwait(false);
            default:
                return request.Error(StanzaError.BadRequest("Expected get <blocklist/>, or set <block/> or <unblock/>."));
        }
    }

    private async ValueTask<Element> BlockAsync(IqRequest request, Jid account)
    {
        if (ParseItems(request.Payload, out var jids) is { } error)
        {
            return request.Error(error);
        }
        if (jids.Count == 0)
        {
            return request.Error(StanzaError.BadRequest("<block/> must contain at least one <item/>."));
        }
        var added = await ChangeAsync(account, () => _store.AddAsync(account.ToString(), jids), (list, changed) => list.With(changed)).ConfigureAwait(false);
        if (added.Count > 0)
        {
            Push(account, "block", added);
        }
        foreach (var jid in added)
        {
            // §3.3: a contact that got the user's presence now sees the user go offline.
            await SendPresenceAsync(account, Jid.Parse(jid), _ => new Element("presence", Ns.Client).SetAttribute("type", "unavailable")).ConfigureAwait(false);
        }
        return request.Result();
    }

    private async ValueTask<Element> UnblockAsync(IqRequest request, Jid account)
    {
        if (ParseItems(request.Payload, out var jids) is { } error)
        {
            return request.Error(error);
        }
        var user = account.ToString();
        var all = jids.Count == 0;
        var removed = all
            ? await ChangeAsync(account, () => _store.ClearAsync(user), (_, _) => Blocklist.Empty).ConfigureAwait(false)
            : await ChangeAsync(account, () => _store.RemoveAsync(user, jids), (list, changed) => list.Without(changed)).ConfigureAwait(false);
        if (all)
        {
            // §3.5: unblocking everything is pushed as an empty <unblock/>.
            Push(account, "unblock", []);
        }
        else if (removed.Count > 0)
        {
            Push(account, "unblock", removed);
        }
        foreach (var jid in removed)
        {
            // §3.4: a contact allowed to see the user's presence gets it again.
            await SendPresenceAsync(account, Jid.Parse(jid), session => session.Presence?.Clone()).ConfigureAwait(false);
        }
        return request.Result();
    }

    /// <summary>Applies a change to storage and to the cached list under the account's gate; returns the JIDs that changed.</summary>
    private async ValueTask<IReadOnlyList<string>> ChangeAsync(
        Jid account,
        Func<Task<IReadOnlyList<string>>> store,
        Func<Blocklist, IReadOnlyList<string>, Blocklist> apply)
    {
        using (await _gates.LockAsync(account).ConfigureAwait(false))
        {
            var current = Online.TryGetValue(account.ToString(), out var cached)
                ? cached
                : new Blocklist(await _store.GetAsync(account.ToString()).ConfigureAwait(false));
            var changed = await store().ConfigureAwait(false);
            if (sessions.SessionsOf(account).Length > 0)
            {
                Online[account.ToString()] = apply(current, changed);
            }
            else
            {
                Online.TryRemove(account.ToString(), out _);
            }
            return changed;
        }
    }

    /// <summary>
    /// XEP-0191 §3.3: what a blocked entity sends the user is not delivered; a message or IQ request
    /// gets &lt;service-unavailable/&gt;, as if the user were offline; presence is dropped without a word.
    /// Also, what the server sends on behalf of a local user (presence broadcasts) does not reach those
    /// the user blocks, except what only takes something away from them.
    /// </summary>
    private async ValueTask<bool> InboundAsync(InboundStanza inbound)
    {
        var recipient = inbound.To;
        var sender = inbound.From;
        if (sender.SharesBareWith(recipient))
        {
            // An account's own resources always reach each other.
            return false;
        }
        var stanza = inbound.Stanza;
        if (MayMatter(stanza, recipient) && (await GetAsync(recipient).ConfigureAwait(false)).Blocks(sender))
        {
            switch (stanza.Name)
            {
                case "message":
                    await router.BounceAsync(stanza, sender, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
                    break;
                case "iq" when stanza.GetAttribute("type") is "get" or "set":
                    await router.BounceAsync(stanza, sender, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
                    break;
            }
            return true;
        }
        // Checked where the stanza left, if it came from another node: the sender's list is at hand there.
        return !inbound.Arrived && await SenderBlocksAsync(inbound).ConfigureAwait(false);
    }

    /// <summary>Whether a local sender's own list blocks the recipient of what the server sends on the sender's behalf.</summary>
    private async ValueTask<bool> SenderBlocksAsync(InboundStanza outbound)
    {
        var sender = outbound.From;
        return sender.Local is not null && router.IsLocalDomain(sender.Domain) && !sender.SharesBareWith(outbound.To)
            && !MayReachBlocked(outbound.Stanza)
            && (await GetAsync(sender).ConfigureAwait(false)).Blocks(outbound.To);
    }

    /// <summary>XEP-0191 §3.3: the user's own stanzas to a blocked JID are not routed but refused with &lt;blocked/&gt;.</summary>
    private async ValueTask<bool> FromClientAsync(ClientStanza client)
    {
        // The user's own server answers the user's requests, whatever domain the user blocks.
        if (client.To is not { } to || to.SharesBareWith(client.Sender.Jid) || (to.Local is null && router.IsLocalDomain(to.Domain)))
        {
            return false;
        }
        if (!(await GetAsync(client.Sender.Jid).ConfigureAwait(false)).Blocks(to))
        {
            return false;
        }
        var stanza = client.Stanza;
        // RFC 6120 §8.3.1: an error is never answered with an error.
        if (!Stanzas.IsError(stanza))
        {
            var reply = Stanzas.ErrorReply(stanza, new StanzaError("not-acceptable", ErrorType.Cancel, "You have blocked this address; unblock it to communicate."));
            ((Element)reply.Nodes[^1]).Add(new Element("blocked", Ns.BlockingErrors));
            client.Sender.Send(reply);
        }
        return true;
    }

    private async ValueTask SessionEndedAsync(ClientSession session)
    {
        var account = session.Jid.Bare;
        using (await _gates.LockAsync(account).ConfigureAwait(false))
        {
            if (sessions.SessionsOf(account).Length == 0)
            {
                Online.TryRemove(account.ToString(), out _);
            }
        }
    }

    /// <summary>
    /// The list of <paramref name="jid"/>'s account (any JID of it): from memory while it is online (loaded on first need),
    /// else from storage.
    /// </summary>
    private ValueTask<Blocklist> GetAsync(Jid jid) =>
        _onlineByText.TryGetValue(jid.BareText, out var cached)
            ? ValueTask.FromResult(cached)
            : LoadAsync(jid.Bare);

    private async ValueTask<Blocklist> LoadAsync(Jid account)
    {
        if (sessions.SessionsOf(account).Length == 0)
        {
            return new Blocklist(await _store.GetAsync(account.ToString()).ConfigureAwait(false));
        }
        using (await _gates.LockAsync(account).ConfigureAwait(false))
        {
            if (Online.TryGetValue(account.ToString(), out var cached))
            {
                return cached;
            }
            var loaded = new Blocklist(await _store.GetAsync(account.ToString()).ConfigureAwait(false));
            // Checked under the gate the last session's end also takes, so a list is never left behind.
            if (sessions.SessionsOf(account).Length > 0)
            {
                Online[account.ToString()] = loaded;
            }
            return loaded;
        }
    }

    /// <summary>
    /// Availability presence for an account without sessions reaches nobody, so it needs no check;
    /// everything else may be stored or change the roster.
    /// </summary>
    private bool MayMatter(Element stanza, Jid recipient) =>
        stanza.Name != "presence" || stanza.GetAttribute("type") is not (null or "unavailable" or "error") || sessions.SessionsOf(recipient).Length > 0;

    /// <summary>
    /// What may still go from a user to someone the user blocked: presence that only ends something for them (going
    /// offline, a subscription cancelled), and the error that answers what they sent (the block's own
    /// service-unavailable, which crosses the bus when the two are served by different nodes).
    /// </summary>
    private static bool MayReachBlocked(Element stanza) =>
        stanza.GetAttribute("type") == "error"
        || stanza.Name == "presence" && stanza.GetAttribute("type") is "unavailable" or "unsubscribe" or "unsubscribed";

    /// <summary>Sends each available resource's presence to <paramref name="contact"/>, when the roster lets the contact see it.</summary>
    private async ValueTask SendPresenceAsync(Jid account, Jid contact, Func<ClientSession, Element?> presenceOf)
    {
        var item = await rosters.GetItemAsync(account, contact.Bare).ConfigureAwait(false);
        if (item?.Subscription is not (Subscription.From or Subscription.Both))
        {
            return;
        }
        foreach (var session in sessions.SessionsOf(account))
        {
            if (session.IsAvailable && presenceOf(session) is { } presence)
            {
                presence.SetAttribute("from", session.Jid.ToString()).SetAttribute("to", contact.ToString());
                await router.RouteAsync(presence, session.Jid, contact).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Tells every resource that asked for the list what changed.</summary>
    private void Push(Jid account, string change, IReadOnlyList<string> jids)
    {
        foreach (var session in sessions.SessionsOf(account))
        {
            if (!_interested.IsSet(session))
            {
                continue;
            }
            var payload = new Element(change, Ns.Blocking);
            foreach (var jid in jids)
            {
                payload.AddChild("item", Ns.Blocking).SetAttribute("jid", jid);
            }
            var push = new Element("iq", Ns.Client)
                .SetAttribute("type", "set")
                .SetAttribute("id", "block-push-" + Interlocked.Increment(ref _pushCount).ToString(CultureInfo.InvariantCulture))
                .SetAttribute("to", session.Jid.ToString());
            session.Send(push.Add(payload));
        }
    }

    /// <summary>The prepared JIDs of the request's items; an error when an item has no JID or a malformed one.</summary>
    private static StanzaError? ParseItems(Element payload, out List<string> jids)
    {
        jids = [];
        foreach (var item in payload.Children("item", Ns.Blocking))
        {
            var text = item.GetAttribute("jid");
            if (text is null)
            {
                return StanzaError.BadRequest("Every <item/> needs a 'jid'.");
            }
            if (!Jid.TryParse(text, out var jid))
            {
                return StanzaError.JidMalformed($"'{text}' is not a valid JID.");
            }
            jids.Add(jid.ToString());
        }
        return null;
    }
}
