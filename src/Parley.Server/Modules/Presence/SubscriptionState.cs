using Parley.Storage;

namespace Parley.Server.Modules.Presence;

/// <summary>The four subscription stanza types of RFC 6121 §3.</summary>
public enum SubscriptionType
{
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
}

/// <summary>
/// The subscription state of one contact in one user's roster, as RFC 6121 Appendix A names the
/// nine states: the subscription plus "Pending Out" (the user asked, ask='subscribe') and
/// "Pending In" (the contact asked and the user has not answered).
/// </summary>
public readonly record struct SubscriptionState(Subscription Subscription, bool PendingOut, bool PendingIn)
{
    public static readonly SubscriptionState None = new(Subscription.None, false, false);

    public bool HasTo => Subscription is Subscription.To or Subscription.Both;
    public bool HasFrom => Subscription is Subscription.From or Subscription.Both;

    public SubscriptionState WithTo(bool to) => this with { Subscription = Combine(to, HasFrom) };
    public SubscriptionState WithFrom(bool from) => this with { Subscription = Combine(HasTo, from) };

    private static Subscription Combine(bool to, bool from) => (to, from) switch
    {
        (true, true) => Subscription.Both,
        (true, false) => Subscription.To,
        (false, true) => Subscription.From,
        _ => Subscription.None,
    };

    public override string ToString()
    {
        var name = Subscription.ToString();
        return (PendingOut, PendingIn) switch
        {
            (true, true) => name + " + Pending Out/In",
            (true, false) => name + " + Pending Out",
            (false, true) => name + " + Pending In",
            _ => name,
        };
    }
}

/// <summary>What the server does with one subscription stanza in one state.</summary>
/// <param name="Pass">Route the stanza (outbound) or deliver it to the user (inbound).</param>
/// <param name="NewState">The state afterwards (equal to the old one when nothing changes).</param>
public readonly record struct SubscriptionDecision(bool Pass, SubscriptionState NewState);

/// <summary>
/// RFC 6121 Appendix A, the tables as functions: A.2 for stanzas the user's client sends
/// (outbound), A.3 for stanzas the user's server receives from a contact (inbound). Side effects
/// the text adds around the tables (auto-replies, pre-approval, presence) are the caller's.
/// </summary>
public static class SubscriptionRules
{
    public static SubscriptionDecision Outbound(SubscriptionType type, SubscriptionState state) => type switch
    {
        // A.2.1: always routed; the user now waits for an answer unless already subscribed.
        SubscriptionType.Subscribe => new(true, state.HasTo ? state : state with { PendingOut = true }),

        // A.2.2: always routed; the user's interest in the contact's presence ends.
        SubscriptionType.Unsubscribe => new(true, state.WithTo(false) with { PendingOut = false }),

        // A.2.3: only an answer to a pending request is routed; otherwise it is a pre-approval (the caller's).
        SubscriptionType.Subscribed => state.PendingIn && !state.HasFrom
            ? new(true, state.WithFrom(true) with { PendingIn = false })
            : new(false, state),

        // A.2.4: routed when it cancels the contact's subscription or denies a pending request.
        _ => state.HasFrom || state.PendingIn
            ? new(true, state.WithFrom(false) with { PendingIn = false })
            : new(false, state),
    };

    public static SubscriptionDecision Inbound(SubscriptionType type, SubscriptionState state) => type switch
    {
        // A.3.1: delivered unless the contact is already subscribed or already asked (the server answers for it then).
        SubscriptionType.Subscribe => state.HasFrom || state.PendingIn
            ? new(false, state)
            : new(true, state with { PendingIn = true }),

        // A.3.2: delivered when it ends the contact's subscription or withdraws its pending request.
        SubscriptionType.Unsubscribe => state.HasFrom || state.PendingIn
            ? new(true, state.WithFrom(false) with { PendingIn = false })
            : new(false, state),

        // A.3.3: only an answer to the user's pending request counts.
        SubscriptionType.Subscribed => state.PendingOut && !state.HasTo
            ? new(true, state.WithTo(true) with { PendingOut = false })
            : new(false, state),

        // A.3.4: delivered when it ends the user's subscription or refuses the user's pending request.
        _ => state.HasTo || state.PendingOut
            ? new(true, state.WithTo(false) with { PendingOut = false })
            : new(false, state),
    };

    public static SubscriptionType? Parse(string? type) => type switch
    {
        "subscribe" => SubscriptionType.Subscribe,
        "subscribed" => SubscriptionType.Subscribed,
        "unsubscribe" => SubscriptionType.Unsubscribe,
        "unsubscribed" => SubscriptionType.Unsubscribed,
        _ => null,
    };

    public static string Name(SubscriptionType type) => type switch
    {
        SubscriptionType.Subscribe => "subscribe",
        SubscriptionType.Subscribed => "subscribed",
        SubscriptionType.Unsubscribe => "unsubscribe",
        _ => "unsubscribed",
    };
}
