using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Modules.Carbons;

/// <summary>What to do with a message for the account's other devices.</summary>
public enum CarbonDecision
{
    /// <summary>Not an instant message, or the sender asked that it not be copied.</summary>
    DoNotCopy,

    /// <summary>Copy it.</summary>
    Copy,

    /// <summary>An error: copy it only if it answers a message the other devices were copied (XEP-0280 §6).</summary>
    CopyIfItAnswersACopiedMessage,
}

/// <summary>
/// Which messages are carbon-copied: the rules of XEP-0280 §6 that the server promises by advertising
/// urn:xmpp:carbons:rules:0, and the &lt;private/&gt; element (§9) and XEP-0334 &lt;no-copy/&gt; hint that opt out.
/// </summary>
public static class CarbonRules
{
    /// <param name="message">The message as it is routed.</param>
    /// <param name="sentByUser">True for a message the account sends, false for one it receives.</param>
    /// <param name="peer">Whom the account exchanges the message with: the 'to' of a sent message, the 'from' of a received one.</param>
    public static CarbonDecision Decide(Element message, bool sentByUser, Jid peer)
    {
        var type = message.GetAttribute("type");
        // Group chat reaches each device through its own room presence; headlines are notifications, not conversation.
        if (type is "groupchat" or "headline")
        {
            return CarbonDecision.DoNotCopy;
        }

        var hasBody = false;
        var hasImPayload = false;
        var isFromRoom = false;
        var isInvitation = false;
        // Indexed: Children() would allocate an iterator for every message routed.
        var nodes = message.Nodes;
        for (var i = 0; i < nodes.Count; i++)
        {
            if (nodes[i] is not Element child)
            {
                continue;
            }
            switch (child.Namespace)
            {
                case Ns.Carbons when child.Name == "private":
                case Ns.Hints when child.Name == "no-copy":
                    return CarbonDecision.DoNotCopy;
                // jabber:server too: a message from another domain keeps the namespace its stream gave it.
                case Ns.Client or Ns.Server when child.Name == "body":
                    hasBody = true;
                    break;
                case Ns.Receipts or Ns.ChatStates or Ns.ChatMarkers:
                    hasImPayload = true;
                    break;
                case Ns.MucUser when child.Name == "x":
                    isFromRoom = true;
                    isInvitation |= child.Child("invite", Ns.MucUser) is not null;
                    break;
                case Ns.DirectInvitation when child.Name == "x":
                    isInvitation = true;
                    break;
            }
        }

        if (type == "error")
        {
            return CarbonDecision.CopyIfItAnswersACopiedMessage;
        }
        // A private message from a room occupant: the room itself sends it to every device that joined (§6).
        if (!sentByUser && isFromRoom && !isInvitation && peer.Resource is not null)
        {
            return CarbonDecision.DoNotCopy;
        }
        if (type == "chat")
        {
            return CarbonDecision.Copy;
        }
        // Type normal (RFC 6121 §5.2.2: missing or unknown types are normal).
        return hasBody || hasImPayload || isInvitation ? CarbonDecision.Copy : CarbonDecision.DoNotCopy;
    }
}
