namespace Parley.Storage;

/// <summary>Subscriptions stored as RFC 6121's attribute values, so a roster table reads plainly in a SQL shell.</summary>
internal static class RosterSubscriptions
{
    public static string ToText(Subscription subscription) => subscription switch
    {
        Subscription.None => "none",
        Subscription.To => "to",
        Subscription.From => "from",
        Subscription.Both => "both",
        _ => throw new ArgumentOutOfRangeException(nameof(subscription), subscription, null),
    };

    public static Subscription Parse(string text) => text switch
    {
        "none" => Subscription.None,
        "to" => Subscription.To,
        "from" => Subscription.From,
        "both" => Subscription.Both,
        _ => throw new InvalidOperationException($"The roster_items table holds the unknown subscription '{text}'."),
    };
}
