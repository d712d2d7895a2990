using Parley.Protocol;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Server.Modules.Presence;

/// <summary>
/// Presence among the sessions of one account: a client's broadcast presence (no 'to') is kept
/// on its session and sent to the account's other available resources, and a session that ends
/// is announced as unavailable to them. Contacts and subscriptions (RFC 6121) build on this.
/// </summary>
public sealed class PresenceModule(SessionRegistry sessions) : IModule
{
    public void Register(ModuleRegistry registry)
    {
        registry.OnClientStanza("presence", order: 100, Broadcast);
        registry.OnSessionEnded(AnnounceUnavailable);
    }

    private ValueTask<bool> Broadcast(ClientStanza stanza)
    {
        if (stanza.To is not null)
        {
            return ValueTask.FromResult(false);
        }
        var presence = stanza.Stanza;
        var session = stanza.Sender;
        switch (presence.GetAttribute("type"))
        {
            case null:
                if (!TryReadPriority(presence, out var priority))
                {
                    session.Send(Stanzas.ErrorReply(presence, StanzaError.BadRequest("Priority must be an integer from -128 to 127.")));
                    return ValueTask.FromResult(true);
                }
                session.Priority = priority;
                session.Presence = presence;
                SendToOwnResources(session, presence);
                break;
            case "unavailable":
                var wasAvailable = session.IsAvailable;
                session.Presence = null;
                if (wasAvailable)
                {
                    SendToOwnResources(session, presence);
                }
                break;
        }
        return ValueTask.FromResult(true);
    }

    private ValueTask AnnounceUnavailable(ClientSession session)
    {
        if (session.IsAvailable)
        {
            session.Presence = null;
            var unavailable = new Element("presence", Ns.Client).SetAttribute("type", "unavailable").SetAttribute("from", session.Jid.ToString());
            SendToOwnResources(session, unavailable);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Each available resource of the account, the sender included, gets the presence (RFC 6121 §4.2.2).</summary>
    private void SendToOwnResources(ClientSession sender, Element presence)
    {
        foreach (var session in sessions.SessionsOf(sender.Jid))
        {
            if (session.IsAvailable || ReferenceEquals(session, sender))
            {
                var copy = presence.Clone();
                copy.SetAttribute("to", session.Jid.ToString());
                session.Send(copy);
            }
        }
    }

    private static bool TryReadPriority(Element presence, out int priority)
    {
        priority = 0;
        var text = presence.ChildText("priority", Ns.Client);
        return text is null || (int.TryParse(text, out priority) && priority is >= -128 and <= 127);
    }
}
