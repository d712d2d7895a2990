using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Routing;

/// <summary>
/// Decides where a stanza goes: to the server's own handlers, to an account's handlers, or to the
/// sessions that must receive it (RFC 6120 §10, RFC 6121 §8.5). Stanzas are read-only once they
/// reach the router: one element may be queued to several sessions.
/// </summary>
public sealed partial class Router
{
    private readonly FrozenSet<string> _domains;
    private readonly Lazy<FrozenDictionary<string, ServiceHandler>> _services;
    private readonly SessionRegistry _sessions;
    private readonly ModuleRegistry _modules;
    private readonly ILogger<Router> _logger;

    private readonly IRemoteRoute[] _remoteRoutes;

    /// <param name="remoteRoutes">Where addresses go that this node does not serve (none: they are unreachable).</param>
    public Router(IEnumerable<string> domains, SessionRegistry sessions, ModuleRegistry modules, ILogger<Router> logger, IEnumerable<IRemoteRoute>? remoteRoutes = null)
    {
        _remoteRoutes = remoteRoutes?.ToArray() ?? [];
        _domains = domains.ToFrozenSet(StringComparer.Ordinal);
        // Built on first use: modules register their services after the router exists.
        _services = new(() => _domains
            .SelectMany(domain => modules.Services.Select(service => (Domain: $"{service.Subdomain}.{domain}", service.Handler)))
            .ToFrozenDictionary(pair => pair.Domain, pair => pair.Handler, StringComparer.Ordinal));
        _sessions = sessions;
        _modules = modules;
        _logger = logger;
    }

    public bool IsLocalDomain(string domain) => _domains.Contains(domain);

    /// <summary>Where is this address served, if not here: the first remote route that takes it.</summary>
    private IRemoteRoute? RemoteRouteTo(Jid to)
    {
        foreach (var route in _remoteRoutes)
        {
            if (route.Serves(to))
            {
                return route;
            }
        }
        return null;
    }

    private bool IsUnhostedSubdomain(string domain)
    {
        var dot = domain.IndexOf('.');
        return dot > 0 && _domains.Contains(domain[(dot + 1)..]);
    }

    /// <summary>True for a served domain and for the services hosted under it.</summary>
    public bool IsHere(string domain) => _domains.Contains(domain) || _services.Value.ContainsKey(domain);

    /// <summary>A stanza from a bound local client whose 'from' the server has stamped.</summary>
    public async ValueTask RouteFromClientAsync(Element stanza, ClientSession sender, Jid? to)
    {
        if (sender.Relay is { } relay)
        {
            // The node serving the account runs the session's side, as if the client were connected there.
            await relay.FromClientAsync(sender, stanza, to).ConfigureAwait(false);
            return;
        }
        var hooks = _modules.ClientHooks(stanza.Name);
        if (hooks.Length > 0)
        {
            var clientStanza = new ClientStanza(stanza, sender, to);
            foreach (var hook in hooks)
            {
                if (await hook(clientStanza).ConfigureAwait(false))
                {
                    return;
                }
            }
        }

        if (to is null)
        {
            switch (stanza.Name)
            {
                case "message":
                    // RFC 6120 §10.3.1: as if addressed to the sender's own bare JID.
                    await RouteAsync(stanza, sender.Jid, sender.Jid.Bare, sender).ConfigureAwait(false);
                    return;
                case "iq":
                    await HandleIqAsync(stanza, sender.Jid, sender.Jid.Bare, IqTarget.Account, sender).ConfigureAwait(false);
                    return;
                default:
                    // Presence without 'to' is a broadcast; the presence module handles it.
                    return;
            }
        }
        await RouteAsync(stanza, sender.Jid, to, sender).ConfigureAwait(false);
    }

    /// <summary>Routes a stanza from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public ValueTask RouteAsync(Element stanza, Jid from, Jid to, ClientSession? sender = null) =>
        RouteAsync(stanza, from, to, sender, mayLeaveNode: true);

    /// <summary>
    /// Routes stanzas from <paramref name="from"/> to several recipients, each as <see cref="RouteAsync(Element, Jid, Jid, ClientSession?)"/>
    /// would. Those for users that another node of the cluster serves leave together, one message per node, instead of
    /// one round trip per contact: what makes a presence broadcast to a roster spread over nodes cheap.
    /// </summary>
    public async ValueTask RouteEachAsync(IReadOnlyList<(Element Stanza, Jid To)> stanzas, Jid from)
    {
        Dictionary<IRemoteRoute, List<(Element Stanza, Jid To)>>? elsewhere = null;
        foreach (var (stanza, to) in stanzas)
        {
            if (to.Local is not null && IsLocalDomain(to.Domain) && RemoteRouteTo(to) is { } home)
            {
                if (await LeavingAsync(stanza, from, to).ConfigureAwait(false) is not { } leaving)
                {
                    continue;
                }
                elsewhere ??= [];
                if (!elsewhere.TryGetValue(home, out var batch))
                {
                    elsewhere[home] = batch = [];
                }
                batch.Add((leaving, to));
                continue;
            }
            await RouteAsync(stanza, from, to).ConfigureAwait(false);
        }
        foreach (var (route, batch) in elsewhere ?? [])
        {
            await route.SendEachAsync(batch, from).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A stanza another node of the cluster sent here for a user it found homed on this node: it is handled here
    /// even if this node's view of the user's home has changed meanwhile, so that two nodes never pass it back and forth.
    /// </summary>
    public ValueTask RouteArrivedAsync(Element stanza, Jid from, Jid to) => RouteAsync(stanza, from, to, null, mayLeaveNode: false);

    private async ValueTask RouteAsync(Element stanza, Jid from, Jid to, ClientSession? sender, bool mayLeaveNode)
    {
        // Every stanza that cannot leave the node left it (or was meant to) and came back here: its leaving hooks ran.
        var arrived = !mayLeaveNode;
        if (_services.Value.TryGetValue(to.Domain, out var service))
        {
            if (mayLeaveNode && to.Local is not null && RemoteRouteTo(to) is { } host)
            {
                // A chat room that runs on another node of the cluster.
                await host.SendAsync(stanza, from, to).ConfigureAwait(false);
                return;
            }
            await service(new ServiceStanza(stanza, from, to)).ConfigureAwait(false);
            return;
        }
        if (IsUnhostedSubdomain(to.Domain))
        {
            // conference.example.com with the group chat module switched off: this server, no such service.
            await BounceAsync(stanza, from, StanzaError.ServiceUnavailable($"No service is hosted at {to.Domain} on this server.")).ConfigureAwait(false);
            return;
        }
        if (!IsLocalDomain(to.Domain))
        {
            if (RemoteRouteTo(to) is { } route)
            {
                await route.SendAsync(stanza, from, to).ConfigureAwait(false);
                return;
            }
            await BounceAsync(stanza, from, StanzaError.RemoteServerNotFound($"This server does not connect to {to.Domain}.")).ConfigureAwait(false);
            return;
        }

        if (to.Local is null)
        {
            await ToServerAsync(stanza, from, to, sender).ConfigureAwait(false);
            return;
        }
        if (mayLeaveNode && RemoteRouteTo(to) is { } home)
        {
            // A user of a served domain whose home is another node of the cluster: that node runs the user's side.
            if (await LeavingAsync(stanza, from, to).ConfigureAwait(false) is { } leaving)
            {
                await home.SendAsync(leaving, from, to).ConfigureAwait(false);
            }
            return;
        }

        var hooks = _modules.InboundHooks(stanza.Name);
        if (hooks.Length > 0)
        {
            var inbound = new InboundStanza(stanza, from, to) { Arrived = arrived };
            foreach (var hook in hooks)
            {
                if (await hook(inbound).ConfigureAwait(false))
                {
                    return;
                }
            }
            stanza = inbound.Stanza;
        }

        if (to.IsBare)
        {
            await ToAccountAsync(stanza, from, to, sender).ConfigureAwait(false);
        }
        else
        {
            await ToFullJidAsync(stanza, from, to).ConfigureAwait(false);
        }
    }

    /// <summary>The stanza as the leaving hooks let it go to another node, or null when one of them dealt with it.</summary>
    private async ValueTask<Element?> LeavingAsync(Element stanza, Jid from, Jid to)
    {
        var hooks = _modules.LeavingHooks(stanza.Name);
        if (hooks.Length == 0)
        {
            return stanza;
        }
        var leaving = new InboundStanza(stanza, from, to);
        foreach (var hook in hooks)
        {
            if (await hook(leaving).ConfigureAwait(false))
            {
                return null;
            }
        }
        return leaving.Stanza;
    }

    /// <summary>Sends a stanza the server made (a reply, an error) to a local user; hosted services get theirs through RouteAsync.</summary>
    public void Deliver(Element stanza, Jid to)
    {
        if (to.IsBare)
        {
            foreach (var session in _sessions.SessionsOf(to))
            {
                session.Send(stanza);
            }
        }
        else
        {
            _sessions.Find(to)?.Send(stanza);
        }
    }

    private async ValueTask ToServerAsync(Element stanza, Jid from, Jid to, ClientSession? sender)
    {
        if (stanza.Name == "iq")
        {
            if (to.Resource is null)
            {
                await HandleIqAsync(stanza, from, to, IqTarget.Server, sender).ConfigureAwait(false);
            }
            else
            {
                await BounceAsync(stanza, from, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
            }
        }
        // Messages and presence addressed to the server itself are not for anyone: RFC 6120 §10.4 lets the server drop them.
    }

    private async ValueTask ToAccountAsync(Element stanza, Jid from, Jid to, ClientSession? sender)
    {
        switch (stanza.Name)
        {
            case "iq":
                await HandleIqAsync(stanza, from, to, IqTarget.Account, sender).ConfigureAwait(false);
                break;
            case "message":
                await DeliverMessageToAccountAsync(stanza, from, to).ConfigureAwait(false);
                break;
            default:
                foreach (var session in _sessions.SessionsOf(to))
                {
                    if (session.IsAvailable)
                    {
                        session.Send(stanza);
                    }
                }
                break;
        }
    }

    private async ValueTask ToFullJidAsync(Element stanza, Jid from, Jid to)
    {
        var session = _sessions.Find(to);
        if (session is not null)
        {
            session.Send(stanza);
            if (stanza.Name == "message" && _modules.MessageDelivered.HasHandlers)
            {
                await DeliveredAsync(stanza, from, to, session.Alone).ConfigureAwait(false);
            }
            return;
        }
        switch (stanza.Name)
        {
            case "message":
                // RFC 6121 §8.5.3.2.1: normal and chat fall back to the bare JID; groupchat bounces; headline is dropped.
                var type = MessageType(stanza);
                if (type is "normal" or "chat")
                {
                    await DeliverMessageToAccountAsync(stanza, from, to.Bare).ConfigureAwait(false);
                }
                else if (type == "groupchat")
                {
                    await BounceAsync(stanza, from, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
                }
                break;
            case "iq":
                await BounceAsync(stanza, from, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>RFC 6121 §8.5.2: the available resources with the highest non-negative priority get normal and chat messages.</summary>
    private async ValueTask DeliverMessageToAccountAsync(Element stanza, Jid from, Jid account)
    {
        var type = MessageType(stanza);
        if (type == "error")
        {
            return;
        }
        if (type == "groupchat")
        {
            await BounceAsync(stanza, from, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
            return;
        }

        var sessions = _sessions.SessionsOf(account);
        var highest = int.MinValue;
        foreach (var session in sessions)
        {
            if (session.IsAvailable && session.Priority >= 0 && session.Priority > highest)
            {
                highest = session.Priority;
            }
        }

        // A resource still being handed its stored messages gets this one after them, from storage: it is kept for
        // that resource, and the others of the same priority have it at once.
        List<ClientSession>? waiting = null;
        if (type != "headline")
        {
            foreach (var session in sessions)
            {
                if (session.AwaitsStoredMessages && session.Priority == highest)
                {
                    (waiting ??= []).Add(session);
                }
            }
        }
        if (waiting is not null && !await TryKeepAsync(stanza, from, account).ConfigureAwait(false))
        {
            waiting = null;
        }

        // Those it was kept for count as its recipients: no carbon copy or push for them, it reaches them anyway.
        List<ClientSession>? recipients = waiting is null ? null : [.. waiting];
        foreach (var session in sessions)
        {
            if (session.IsAvailable && session.Priority >= 0 && (type == "headline" || session.Priority == highest)
                && !(waiting?.Contains(session) ?? false) && session.Send(stanza))
            {
                (recipients ??= []).Add(session);
            }
        }

        if (recipients is not null)
        {
            await DeliveredAsync(stanza, from, account, recipients).ConfigureAwait(false);
            return;
        }
        if (type == "headline" || await KeepAsync(stanza, from, account).ConfigureAwait(false))
        {
            return;
        }
        // The same answer whether or not the account exists, so presence is not revealed (RFC 6121 §8.5.2.2.1).
        await BounceAsync(stanza, from, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
    }

    /// <summary>Offers the message to the modules that keep messages (offline storage), and if one kept it, tells the delivered-message handlers that no session has it yet.</summary>
    private async ValueTask<bool> KeepAsync(Element stanza, Jid from, Jid account)
    {
        if (!await TryKeepAsync(stanza, from, account).ConfigureAwait(false))
        {
            return false;
        }
        await DeliveredAsync(stanza, from, account, []).ConfigureAwait(false);
        return true;
    }

    /// <summary>Offers the message to the modules that keep messages (offline storage); true when one kept it.</summary>
    private async ValueTask<bool> TryKeepAsync(Element stanza, Jid from, Jid account)
    {
        foreach (var keep in _modules.UndeliverableMessage)
        {
            if (await keep(stanza, from, account).ConfigureAwait(false))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Stanzas a session never acknowledged (XEP-0198), after it ended: messages from others go to
    /// the account's other sessions or to offline storage, requests get an error, the rest is
    /// dropped. Copies of the account's own traffic (carbons, archive results) are not delivered again.
    /// </summary>
    /// <returns>How many messages went to the account's other sessions or offline storage.</returns>
    public async ValueTask<int> RedeliverAsync(IReadOnlyList<(Element Stanza, DateTimeOffset Arrived)> stanzas, Jid session)
    {
        var messages = 0;
        foreach (var (stanza, arrived) in stanzas)
        {
            if (!Jid.TryParse(stanza.GetAttribute("from"), out var from) || from.Bare.Equals(session.Bare))
            {
                continue;
            }
            switch (stanza.Name)
            {
                case "message" when MessageType(stanza) is "normal" or "chat":
                    // Stamped with when it first arrived (XEP-0203): it may reach the user much later.
                    var stamped = stanza.Clone();
                    stamped.Add(new Element("delay", Ns.Delay)
                        .SetAttribute("from", session.Domain)
                        .SetAttribute("stamp", XmppDateTime.Format(arrived)));
                    await DeliverMessageToAccountAsync(stamped, from, session.Bare).ConfigureAwait(false);
                    messages++;
                    break;
                case "iq" when stanza.GetAttribute("type") is "get" or "set":
                    await BounceAsync(stanza, from, StanzaError.RecipientUnavailable()).ConfigureAwait(false);
                    break;
            }
        }
        return messages;
    }

    private ValueTask DeliveredAsync(Element message, Jid from, Jid to, IReadOnlyList<ClientSession> recipients) =>
        _modules.MessageDelivered.RaiseAsync(new DeliveredMessage(message, from, to, recipients));

    private async ValueTask HandleIqAsync(Element iq, Jid from, Jid to, IqTarget target, ClientSession? sender)
    {
        var type = iq.GetAttribute("type");
        if (type is not ("get" or "set"))
        {
            // Results and errors addressed to the server answer nothing it asked.
            return;
        }
        var payload = FirstChild(iq);
        var handler = payload?.Namespace is { } ns ? _modules.FindIqHandler(ns, target) : null;
        if (payload is null || handler is null)
        {
            await BounceAsync(iq, from, StanzaError.ServiceUnavailable()).ConfigureAwait(false);
            return;
        }

        Element response;
        try
        {
            response = await handler(new IqRequest(iq, payload, from, to, sender)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogIqHandlerFailed(_logger, e, payload.Namespace ?? "", from.ToString());
            response = Stanzas.ErrorReply(iq, StanzaError.InternalServerError());
        }
        await ReplyAsync(response, from).ConfigureAwait(false);
    }

    /// <summary>Answers a stanza with an error, unless it is an error itself (RFC 6120 §8.3.1: never answer an error).</summary>
    public ValueTask BounceAsync(Element stanza, Jid from, StanzaError error) =>
        Stanzas.IsError(stanza) ? ValueTask.CompletedTask : ReplyAsync(Stanzas.ErrorReply(stanza, error), from);

    /// <summary>
    /// Sends a stanza the server made (a reply, an error) back to whoever asked: a local user, or a hosted
    /// service (a room passing on an occupant's request) whose answers <see cref="Deliver"/> would not reach.
    /// </summary>
    private ValueTask ReplyAsync(Element reply, Jid to)
    {
        // A user or a chat room on another node of the cluster.
        if (to.Local is not null && RemoteRouteTo(to) is { } remote)
        {
            var from = Jid.TryParse(reply.GetAttribute("from"), out var replier) ? replier : Jid.Create(null, to.Domain);
            return remote.SendAsync(reply, from, to);
        }
        if (_services.Value.TryGetValue(to.Domain, out var service))
        {
            if (Jid.TryParse(reply.GetAttribute("from"), out var from))
            {
                // Not awaited: the service asking may still be inside its own handler (a room holds its gate
                // while it routes), so the reply waits its turn instead of waiting for itself.
                _ = ReplyToServiceAsync(service, new ServiceStanza(reply, from, to));
            }
            return ValueTask.CompletedTask;
        }
        Deliver(reply, to);
        return ValueTask.CompletedTask;
    }

    private async Task ReplyToServiceAsync(ServiceHandler service, ServiceStanza reply)
    {
        try
        {
            await service(reply).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogServiceReplyFailed(_logger, e, reply.To.ToString());
        }
    }

    private static string MessageType(Element message) => message.GetAttribute("type") switch
    {
        "chat" => "chat",
        "groupchat" => "groupchat",
        "headline" => "headline",
        "error" => "error",
        // RFC 6121 §5.2.2: a missing or unknown type means normal.
        _ => "normal",
    };

    private static Element? FirstChild(Element element)
    {
        foreach (var node in element.Nodes)
        {
            if (node is Element child)
            {
                return child;
            }
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The handler for IQ namespace {Namespace} from {From} failed")]
    private static partial void LogIqHandlerFailed(ILogger logger, Exception exception, string @namespace, string from);

    [LoggerMessage(Level = LogLevel.Error, Message = "The service {To} failed on a reply the server sent it")]
    private static partial void LogServiceReplyFailed(ILogger logger, Exception exception, string to);
}
