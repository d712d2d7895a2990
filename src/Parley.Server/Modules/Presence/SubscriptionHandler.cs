using Parley.Protocol;
using Parley.Server.Modules.Roster;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Presence;

/// <summary>
/// Presence subscriptions (RFC 6121 §3): applies <see cref="SubscriptionRules"/> to a user's roster,
/// stores the result, and does what the RFC's text adds around its tables — pre-approval, the
/// server's own answers, and the presence that follows an approval or a cancellation.
/// </summary>
public sealed class SubscriptionHandler(RosterService rosters, SessionRegistry sessions, Router router)
{
    /// <summary>The user's client sent a subscription stanza to the contact.</summary>
    public async ValueTask OutboundAsync(Jid user, Jid contact, SubscriptionType type, Element request)
    {
        user = user.Bare;
        contact = contact.Bare;
        SubscriptionState before;
        SubscriptionDecision decision;
        using (await rosters.LockAsync(user).ConfigureAwait(false))
        {
            var item = await rosters.GetItemAsync(user, contact).ConfigureAwait(false);
            before = await StateAsync(user, contact, item).ConfigureAwait(false);
            decision = SubscriptionRules.Outbound(type, before);

            var preApproved = item?.PreApproved ?? false;
            if (type == SubscriptionType.Subscribed && !decision.Pass && !before.HasFrom)
            {
                // RFC 6121 §3.4: approving a request that has not come yet is a pre-approval.
                preApproved = true;
            }
            if (type == SubscriptionType.Unsubscribed)
            {
                preApproved = false;
            }
            await SaveAsync(user, contact, item, before, decision.NewState, preApproved, request: null).ConfigureAwait(false);
        }

        if (!decision.Pass)
        {
            return;
        }
        await router.RouteAsync(SubscriptionStanza(type, user, contact, request), user, contact).ConfigureAwait(false);
        if (type == SubscriptionType.Subscribed)
        {
            // §3.1.5: the contact now sees the user, so it gets the user's current presence.
            await SendPresenceOfAsync(user, contact).ConfigureAwait(false);
        }
        else if (type == SubscriptionType.Unsubscribed && before.HasFrom)
        {
            // §3.2.2: the contact may no longer see the user, so it learns the user is gone.
            await SendUnavailableOfAsync(user, contact).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// RFC 6121 §2.5.2: the user stops sharing presence with the contact both ways and refuses the
    /// contact's pending request, as when the contact is removed from the roster or the account goes.
    /// </summary>
    public async ValueTask CancelBothWaysAsync(Jid user, Jid contact)
    {
        var item = await rosters.GetItemAsync(user, contact).ConfigureAwait(false);
        var pending = await rosters.HasPendingAsync(user, contact).ConfigureAwait(false);
        if (item is not null && (item.Subscription is Subscription.To or Subscription.Both || item.AskSubscribe))
        {
            await OutboundAsync(user, contact, SubscriptionType.Unsubscribe, new Element("presence", Ns.Client)).ConfigureAwait(false);
        }
        if (pending || item?.Subscription is Subscription.From or Subscription.Both)
        {
            await OutboundAsync(user, contact, SubscriptionType.Unsubscribed, new Element("presence", Ns.Client)).ConfigureAwait(false);
        }
    }

    /// <summary>A subscription stanza from the contact reached the user's server.</summary>
    public async ValueTask InboundAsync(Jid user, Jid contact, SubscriptionType type, Element stanza)
    {
        user = user.Bare;
        contact = contact.Bare;
        SubscriptionState before;
        SubscriptionDecision decision;
        var autoApproved = false;
        using (await rosters.LockAsync(user).ConfigureAwait(false))
        {
            var item = await rosters.GetItemAsync(user, contact).ConfigureAwait(false);
            before = await StateAsync(user, contact, item).ConfigureAwait(false);
            if (type == SubscriptionType.Subscribe && item is { PreApproved: true } && !before.HasFrom)
            {
                // §3.4: the user said yes in advance.
                autoApproved = true;
                decision = new SubscriptionDecision(false, before.WithFrom(true) with { PendingIn = false });
                await SaveAsync(user, contact, item, before, decision.NewState, preApproved: false, request: null).ConfigureAwait(false);
            }
            else
            {
                decision = SubscriptionRules.Inbound(type, before);
                await SaveAsync(user, contact, item, before, decision.NewState, item?.PreApproved ?? false, type == SubscriptionType.Subscribe ? stanza : null).ConfigureAwait(false);
            }
        }

        if (type == SubscriptionType.Subscribe && (autoApproved || before.HasFrom))
        {
            // §3.1.3: the server answers for the user who has already approved.
            await router.RouteAsync(SubscriptionStanza(SubscriptionType.Subscribed, user, contact, null), user, contact).ConfigureAwait(false);
            await SendPresenceOfAsync(user, contact).ConfigureAwait(false);
            return;
        }
        if (!decision.Pass)
        {
            return;
        }
        foreach (var session in sessions.SessionsOf(user))
        {
            if (session.IsAvailable)
            {
                session.Send(stanza);
            }
        }
        if (type == SubscriptionType.Unsubscribe && before.HasFrom)
        {
            // §3.3.3: the contact stopped watching the user; it gets the user's unavailable presence.
            await SendUnavailableOfAsync(user, contact).ConfigureAwait(false);
        }
    }

    private async ValueTask<SubscriptionState> StateAsync(Jid user, Jid contact, RosterItem? item)
    {
        var pendingIn = await rosters.HasPendingAsync(user, contact).ConfigureAwait(false);
        return new SubscriptionState(item?.Subscription ?? Subscription.None, item?.AskSubscribe ?? false, pendingIn);
    }

    /// <summary>
    /// Writes what changed: the roster item (created when the user's side of the state needs one)
    /// and the pending request, which lives apart because a request alone does not put a contact
    /// on the roster (§3.1.3).
    /// </summary>
    private async ValueTask SaveAsync(Jid user, Jid contact, RosterItem? item, SubscriptionState before, SubscriptionState after, bool preApproved, Element? request)
    {
        var itemChanged = before.Subscription != after.Subscription || before.PendingOut != after.PendingOut || (item?.PreApproved ?? false) != preApproved;
        if (itemChanged)
        {
            var updated = (item ?? new RosterItem(contact.ToString(), null, Subscription.None, false, false, []))
                with
            { Subscription = after.Subscription, AskSubscribe = after.PendingOut, PreApproved = preApproved };
            await rosters.SetAsync(user, updated).ConfigureAwait(false);
        }
        if (after.PendingIn && !before.PendingIn && request is not null)
        {
            await rosters.SetPendingAsync(user, contact, request).ConfigureAwait(false);
        }
        else if (before.PendingIn && !after.PendingIn)
        {
            await rosters.RemovePendingAsync(user, contact).ConfigureAwait(false);
        }
    }

    /// <summary>The stanza the server routes: from the user's bare JID (§3.1.2), keeping the client's status or nick.</summary>
    private static Element SubscriptionStanza(SubscriptionType type, Jid user, Jid contact, Element? request)
    {
        var stanza = new Element("presence", Ns.Client)
            .SetAttribute("type", SubscriptionRules.Name(type))
            .SetAttribute("from", user.ToString())
            .SetAttribute("to", contact.ToString());
        if (request is not null)
        {
            stanza.SetAttribute("id", request.GetAttribute("id"));
            foreach (var child in request.Children())
            {
                stanza.Add(child.Clone());
            }
        }
        return stanza;
    }

    private async ValueTask SendPresenceOfAsync(Jid user, Jid contact)
    {
        foreach (var session in sessions.SessionsOf(user))
        {
            if (session.Presence is { } presence)
            {
                var copy = presence.Clone().SetAttribute("from", session.Jid.ToString()).SetAttribute("to", contact.ToString());
                await router.RouteAsync(copy, session.Jid, contact).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask SendUnavailableOfAsync(Jid user, Jid contact)
    {
        foreach (var session in sessions.SessionsOf(user))
        {
            if (session.IsAvailable)
            {
                var unavailable = new Element("presence", Ns.Client)
                    .SetAttribute("type", "unavailable")
                    .SetAttribute("from", session.Jid.ToString())
                    .SetAttribute("to", contact.ToString());
                await router.RouteAsync(unavailable, session.Jid, contact).ConfigureAwait(false);
            }
        }
    }
}
