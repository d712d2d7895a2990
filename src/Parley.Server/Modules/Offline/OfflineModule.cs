using Parley.Protocol;
using Parley.Server.Concurrency;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Offline;

/// <summary>
/// Offline messages (XEP-0160): a normal or chat message that no session of an existing account
/// could take is stored, and handed to the first session that sends initial presence with a
/// non-negative priority (RFC 6121 §8.5.2.2.1), stamped with when it arrived (XEP-0203).
/// </summary>
public sealed class OfflineModule(
    ParleyOptions options, IParleyStorage storage, Router router, ModuleRegistry modules, SessionRegistry sessions, TimeProvider time) : IModule
{
    /// <summary>The disco#info feature of offline storage (XEP-0160 §6, registered with XEP-0030).</summary>
    public const string Feature = "msgoffline";

    private readonly int _limit = options.Limits.MaxOfflineMessages;

    // Two sessions of one account coming online together must not both get (and then both remove) the same messages.
    private readonly StripedLock _deliveryGates = new();

    public void Register(ModuleRegistry registry)
    {
        if (_limit <= 0)
        {
            return;
        }
        registry.AddFeature(Feature);
        registry.OnUndeliverableMessage(KeepAsync);
        registry.OnSessionReachable(DeliverAsync);
    }

    private async ValueTask<bool> KeepAsync(Element message, Jid from, Jid to)
    {
        // The router offers only normal and chat messages (XEP-0160 §3 keeps no others).
        if (!IsWorthKeeping(message))
        {
            return false;
        }
        var user = to.Bare.ToString();
        if (!await storage.Accounts.ExistsAsync(user).ConfigureAwait(false))
        {
            return false;
        }
        var (kept, arrived) = ArrivalOf(message, to.Domain);
        if (!await storage.Offline.StoreAsync(user, kept.ToXml(Ns.Client), arrived, _limit).ConfigureAwait(false))
        {
            await router.BounceAsync(message, from, StanzaError.ServiceUnavailable("The recipient's offline storage is full.")).ConfigureAwait(false);
            return true;
        }

        // A session that became reachable while this message was on its way here may already have read its offline
        // messages: it is handed what was just stored now rather than at its next login (the gate keeps it once).
        // One still being handed its stored messages comes first: the router kept the message for it, and the
        // account's other sessions have had it already.
        ClientSession? reachable = null;
        foreach (var session in sessions.SessionsOf(to.Bare))
        {
            if (!session.IsAvailable || session.Priority < 0)
            {
                continue;
            }
            if (session.AwaitsStoredMessages)
            {
                reachable = session;
                break;
            }
            reachable ??= session;
        }
        if (reachable is not null)
        {
            await DeliverAsync(reachable).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>
    /// When the message reached this server: now, or — for a message a session held and never acknowledged
    /// (XEP-0198) — the stamp the router put on it then, which the stored copy drops so that it carries one delay only.
    /// </summary>
    private (Element Message, DateTimeOffset Arrived) ArrivalOf(Element message, string domain)
    {
        foreach (var delay in message.Children("delay", Ns.Delay))
        {
            if (delay.GetAttribute("from") == domain
                && XmppDateTime.TryParse(delay.GetAttribute("stamp"), out var arrived))
            {
                var copy = message.Clone();
                copy.Remove(copy.Children("delay", Ns.Delay).First(d => d.GetAttribute("from") == domain));
                return (copy, arrived);
            }
        }
        return (message, time.GetUtcNow());
    }

    private async ValueTask DeliverAsync(ClientSession session)
    {
        var account = session.Jid.Bare;
        var user = account.ToString();
        using (await _deliveryGates.LockAsync(account).ConfigureAwait(false))
        {
            var waiting = await storage.Offline.GetAsync(user).ConfigureAwait(false);
            if (waiting.Count == 0)
            {
                return;
            }
            var handled = new List<long>(waiting.Count);
            foreach (var stored in waiting)
            {
                var message = Stamped(stored, account.Domain);
                if (Jid.TryParse(message.GetAttribute("from"), out var from) && !await modules.MayDeliverStoredAsync(account, from).ConfigureAwait(false))
                {
                    // From someone the user blocked after it arrived: neither delivered nor kept.
                    handled.Add(stored.Id);
                    continue;
                }
                if (!session.Send(message))
                {
                    // The connection is closing: what it did not take stays stored for the next login.
                    break;
                }
                handled.Add(stored.Id);
            }
            await storage.Offline.RemoveAsync(user, handled).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// XEP-0160 §3: a message carrying only chat states (XEP-0085) is not worth keeping; XEP-0334 §4.2:
    /// nor is one whose sender asked with &lt;no-store/&gt; that it not be stored even for a while.
    /// </summary>
    private static bool IsWorthKeeping(Element message)
    {
        if (message.Child("no-store", Ns.Hints) is not null)
        {
            return false;
        }
        foreach (var child in message.Children())
        {
            // A thread only says where the notification belongs (XEP-0085 §5.5); alone it is no content.
            var isStateOnly = child.Namespace == Ns.ChatStates || (child.Name == "thread" && child.Namespace == Ns.Client);
            if (!isStateOnly)
            {
                return true;
            }
        }
        return false;
    }

    private static Element Stamped(OfflineMessage stored, string domain)
    {
        var message = ElementParser.Parse(stored.Xml, Ns.Client);
        message.Add(new Element("delay", Ns.Delay)
            .SetAttribute("from", domain)
            .SetAttribute("stamp", XmppDateTime.FormatSeconds(stored.Stamp))
            .AddText("Offline Storage"));
        return message;
    }
}
