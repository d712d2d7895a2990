using System.Runtime.CompilerServices;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Modules.Carbons;

/// <summary>
/// Message Carbons (XEP-0280): a session that turned carbons on gets a copy of each instant message
/// its account sends from another session (&lt;sent/&gt;) or receives on another session
/// (&lt;received/&gt;), so every device shows both sides of every conversation. Which messages are
/// copied is decided by <see cref="CarbonRules"/>.
/// </summary>
/// <remarks>
/// A copy wraps the very element that is routed (stanzas are read-only once they reach the router),
/// and the copy's &lt;sent/&gt; or &lt;received/&gt; is built once per message; only the small
/// wrapper, which must name each device in 'to' (§7, §8), is made per device.
/// </remarks>
public sealed class CarbonsModule(SessionRegistry sessions) : IModule
{
    private readonly SessionState<SessionCarbons> _sessions = new(static _ => new SessionCarbons());

    /// <summary>Kept while the session has carbons on, so that a resumption on another node keeps them on.</summary>
    private static readonly Element s_enabled = new("carbons", Ns.Carbons);

    // Private messages (§9) as delivered, without their <private/> element: they still must not be copied.
    private readonly ConditionalWeakTable<Element, object> _privateMessages = new();

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Carbons, server: true, account: true);
        registry.AddFeature(Ns.CarbonsRules, server: true, account: true);
        registry.HandleIq(Ns.Carbons, IqTarget.Account, HandleIqAsync);
        registry.OnClientStanza("message", HookPhase.CarbonCopies, CopySent);
        registry.OnInbound("message", HookPhase.CarbonPrivacy, StripPrivate);
        registry.OnMessageDelivered(CopyReceived);
        _sessions.ForgetWhenEnded(registry);
        registry.RestoreOnResumption(s_enabled.Name, (session, _) => _sessions.Of(session).Enabled = true);
    }

    private bool IsEnabled(ClientSession session) => _sessions.Find(session)?.Enabled ?? false;

    private ValueTask<Element> HandleIqAsync(IqRequest request)
    {
        if (request.Sender is not { } sender || !request.From.Bare.Equals(request.To.Bare))
        {
            return ValueTask.FromResult(request.Error(StanzaError.NotAllowed("Only a client of this account can turn its own carbons on or off.")));
        }
        if (!request.IsSet)
        {
            return ValueTask.FromResult(request.Error(StanzaError.BadRequest("Carbons are turned on and off with an IQ of type set.")));
        }
        switch (request.Payload.Name)
        {
            case "enable":
                _sessions.Of(sender).Enabled = true;
                sender.Keep(s_enabled.Name, s_enabled);
                break;
            case "disable":
                if (_sessions.Find(sender) is { } state)
                {
                    state.Enabled = false;
                    sender.Keep(s_enabled.Name, null);
                }
                break;
            default:
                return ValueTask.FromResult(request.Error(StanzaError.BadRequest("Expected <enable/> or <disable/>.")));
        }
        return ValueTask.FromResult(request.Result());
    }

    /// <summary>§8: a copy of what one session sends goes to the account's other carbons-enabled sessions.</summary>
    private ValueTask<bool> CopySent(ClientStanza sent)
    {
        var sender = sent.Sender;
        var account = sender.Jid.Bare;
        var accountSessions = sessions.SessionsOf(account);
        if (accountSessions.Length < 2)
        {
            return ValueTask.FromResult(false);
        }
        var message = sent.Stanza;
        // RFC 6120 §10.3.1: a message without 'to' is for the sender's own bare JID.
        var peer = sent.To ?? account;
        var decision = CarbonRules.Decide(message, sentByUser: true, peer);
        var id = message.GetAttribute("id");
        if (!ShouldCopy(decision, id, peer, sender))
        {
            return ValueTask.FromResult(false);
        }

        Element? carbon = null;
        foreach (var session in accountSessions)
        {
            // The session the message is addressed to gets the message itself.
            if (session == sender || session.Jid.Equals(sent.To) || !IsEnabled(session))
            {
                continue;
            }
            carbon ??= Carbon("sent", message);
            session.Send(Wrapper(account, session, message, carbon));
        }
        if (carbon is not null && decision == CarbonDecision.Copy && id is not null)
        {
            _sessions.Of(sender).RememberCopied(id, peer.Bare);
        }
        return ValueTask.FromResult(false);
    }

    /// <summary>
    /// §7: a copy of what reached the account goes to its carbons-enabled sessions that did not get the
    /// message itself, including those that could not (negative priority) when it was stored offline.
    /// </summary>
    private ValueTask CopyReceived(DeliveredMessage delivered)
    {
        var (message, from, to, recipients) = delivered;
        var account = to.Bare;
        // What the account sends to itself was copied when it was sent.
        if (from.Bare.Equals(account))
        {
            return ValueTask.CompletedTask;
        }
        var accountSessions = sessions.SessionsOf(account);
        if (accountSessions.Length <= recipients.Count || _privateMessages.TryGetValue(message, out _))
        {
            return ValueTask.CompletedTask;
        }
        var decision = CarbonRules.Decide(message, sentByUser: false, from);
        var id = message.GetAttribute("id");
        if (!AnyShouldCopy(decision, id, from, recipients))
        {
            return ValueTask.CompletedTask;
        }

        Element? carbon = null;
        foreach (var session in accountSessions)
        {
            if (Contains(recipients, session) || !IsEnabled(session))
            {
                continue;
            }
            carbon ??= Carbon("received", message);
            session.Send(Wrapper(account, session, message, carbon));
        }
        if (carbon is not null && decision == CarbonDecision.Copy && id is not null)
        {
            for (var i = 0; i < recipients.Count; i++)
            {
                _sessions.Of(recipients[i]).RememberCopied(id, from.Bare);
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// §9: the receiving server removes &lt;private/&gt; before delivery: the delivered copy goes
    /// without it (the routed element may be shared, so it is never changed in place), remembered as private.
    /// </summary>
    private ValueTask<bool> StripPrivate(InboundStanza inbound)
    {
        if (inbound.Stanza.Child("private", Ns.Carbons) is not null)
        {
            var message = inbound.Stanza.Clone();
            while (message.Child("private", Ns.Carbons) is { } privateElement)
            {
                message.Remove(privateElement);
            }
            _privateMessages.AddOrUpdate(message, message);
            inbound.Stanza = message;
        }
        return ValueTask.FromResult(false);
    }

    private bool ShouldCopy(CarbonDecision decision, string? id, Jid peer, ClientSession session) => decision switch
    {
        CarbonDecision.Copy => true,
        CarbonDecision.CopyIfItAnswersACopiedMessage => id is not null && _sessions.Find(session) is { } state && state.AnswersCopied(id, peer),
        _ => false,
    };

    private bool AnyShouldCopy(CarbonDecision decision, string? id, Jid peer, IReadOnlyList<ClientSession> recipients)
    {
        if (decision != CarbonDecision.CopyIfItAnswersACopiedMessage)
        {
            return decision == CarbonDecision.Copy;
        }
        for (var i = 0; i < recipients.Count; i++)
        {
            if (ShouldCopy(decision, id, peer, recipients[i]))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Contains(IReadOnlyList<ClientSession> list, ClientSession session)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == session)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>&lt;sent/&gt; or &lt;received/&gt; around the message (XEP-0297 forwarding).</summary>
    private static Element Carbon(string direction, Element message)
    {
        var carbon = new Element(direction, Ns.Carbons);
        carbon.AddChild("forwarded", Ns.Forward).Add(message);
        return carbon;
    }

    /// <summary>From the account's bare JID (clients ignore copies from anyone else), to the one device, of the message's type.</summary>
    private static Element Wrapper(Jid account, ClientSession session, Element message, Element carbon)
    {
        var type = message.GetAttribute("type");
        return new Element("message", Ns.Client)
            .SetAttribute("from", account.ToString())
            .SetAttribute("to", session.Jid.ToString())
            // RFC 6120 §8.3: a stanza of type error must carry an <error/>; the copy of an error does not, the copied message does.
            .SetAttribute("type", type == "error" ? null : type)
            .Add(carbon);
    }
}
