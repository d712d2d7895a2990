using Parley.Protocol;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Roster;

/// <summary>Roster items as RFC 6121 §2.1 writes them.</summary>
public static class RosterXml
{
    public static Element Item(RosterItem item)
    {
        var element = new Element("item", Ns.Roster)
            .SetAttribute("jid", item.Contact)
            .SetAttribute("name", item.Name)
            .SetAttribute("subscription", SubscriptionName(item.Subscription));
        if (item.AskSubscribe)
        {
            element.SetAttribute("ask", "subscribe");
        }
        if (item.PreApproved)
        {
            element.SetAttribute("approved", "true");
        }
        foreach (var group in item.Groups)
        {
            element.AddChild("group").AddText(group);
        }
        return element;
    }

    public static Element Removal(string contact) =>
        new Element("item", Ns.Roster).SetAttribute("jid", contact).SetAttribute("subscription", "remove");

    public static string SubscriptionName(Subscription subscription) => subscription switch
    {
        Subscription.To => "to",
        Subscription.From => "from",
        Subscription.Both => "both",
        _ => "none",
    };
}
