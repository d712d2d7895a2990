using Parley.Protocol;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Mam;

/// <summary>Which messages belong in a user's archive (XEP-0313 §5.1.1, XEP-0334 hints) and what the user's preferences allow.</summary>
public static class ArchivePolicy
{
    private const string RetractionNamespacePrefix = "urn:xmpp:message-retract:";

    /// <summary>
    /// Chat and normal messages that are part of a conversation: a body, a correction (XEP-0308), a retraction
    /// (XEP-0424), an OMEMO payload, or a &lt;store/&gt; hint. Never groupchat, headline or error; never a message
    /// with &lt;no-store/&gt; or &lt;no-permanent-store/&gt;. Chat states, receipts and markers alone are not kept.
    /// </summary>
    public static bool IsArchivable(Element message)
    {
        if (message.GetAttribute("type") is "groupchat" or "headline" or "error")
        {
            return false;
        }
        var hasContent = false;
        foreach (var node in message.Nodes)
        {
            if (node is not Element child)
            {
                continue;
            }
            switch (child.Name)
            {
                case "no-store" or "no-permanent-store" when child.Namespace == Ns.Hints:
                    return false;
                case "store" when child.Namespace == Ns.Hints:
                case "body" when child.Namespace == message.Namespace:
                case "replace" when child.Namespace == Ns.MessageCorrection:
                case "encrypted" when child.Namespace == Ns.LegacyOmemo:
                    hasContent = true;
                    break;
                case "retract" when child.Namespace?.StartsWith(RetractionNamespacePrefix, StringComparison.Ordinal) == true:
                    hasContent = true;
                    break;
            }
        }
        return hasContent;
    }

    /// <summary>
    /// Whether the preferences let a message with <paramref name="peer"/> be archived: the never list first (the
    /// safer answer wins), then the always list, then the default. A bare JID in a list matches every resource.
    /// </summary>
    public static ArchiveDecision Decide(ArchivePreferences preferences, Jid peer)
    {
        if (Matches(preferences.Never, peer))
        {
            return ArchiveDecision.Skip;
        }
        if (Matches(preferences.Always, peer))
        {
            return ArchiveDecision.Archive;
        }
        return preferences.Default switch
        {
            "always" => ArchiveDecision.Archive,
            "roster" => ArchiveDecision.IfInRoster,
            _ => ArchiveDecision.Skip,
        };
    }

    private static bool Matches(IReadOnlyList<string> jids, Jid peer)
    {
        if (jids.Count == 0)
        {
            return false;
        }
        var full = peer.ToString();
        var bare = peer.Bare.ToString();
        foreach (var jid in jids)
        {
            if (jid == bare || jid == full)
            {
                return true;
            }
        }
        return false;
    }
}

public enum ArchiveDecision
{
    Skip,
    Archive,

    /// <summary>Default "roster": archive when the peer is in the user's roster.</summary>
    IfInRoster,
}
