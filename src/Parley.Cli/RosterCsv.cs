using Parley.Storage;

namespace Parley.Cli;

/// <summary>
/// The roster CSV that <c>parley roster export</c> writes and <c>parley roster import</c> reads: one line per item and
/// group, <c>jid,contact_jid,name,group,subscription</c>.
/// </summary>
internal static class RosterCsv
{
    public const string Header = "jid,contact_jid,name,group,subscription";

    /// <summary>What a line must look like, for error messages.</summary>
    public const string LineFormat = "jid,contact_jid[,name[,group[,subscription]]]";

    /// <summary>RFC 6121's name for the state, as the 'subscription' attribute writes it.</summary>
    public static string SubscriptionText(Subscription subscription) => subscription switch
    {
        Subscription.None => "none",
        Subscription.To => "to",
        Subscription.From => "from",
        Subscription.Both => "both",
        _ => throw new ArgumentOutOfRangeException(nameof(subscription), subscription, null),
    };

    public static bool TryParseSubscription(string text, out Subscription subscription)
    {
        foreach (var candidate in (ReadOnlySpan<Subscription>)[Subscription.None, Subscription.To, Subscription.From, Subscription.Both])
        {
            if (text.Equals(SubscriptionText(candidate), StringComparison.OrdinalIgnoreCase))
            {
                subscription = candidate;
                return true;
            }
        }

        subscription = default;
        return false;
    }
}
