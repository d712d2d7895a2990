using Parley.Server.Modules.Presence;
using Parley.Storage;

namespace Parley.Server.Tests.Modules;

/// <summary>Every cell of RFC 6121 Appendix A, written out as the RFC's tables write them.</summary>
public sealed class SubscriptionRulesTests
{
    private static SubscriptionState State(string name) => name switch
    {
        "None" => new(Subscription.None, false, false),
        "None + Pending Out" => new(Subscription.None, true, false),
        "None + Pending In" => new(Subscription.None, false, true),
        "None + Pending Out/In" => new(Subscription.None, true, true),
        "To" => new(Subscription.To, false, false),
        "To + Pending In" => new(Subscription.To, false, true),
        "From" => new(Subscription.From, false, false),
        "From + Pending Out" => new(Subscription.From, true, false),
        "Both" => new(Subscription.Both, false, false),
        _ => throw new ArgumentException(name),
    };

    private static void Check(Func<SubscriptionType, SubscriptionState, SubscriptionDecision> rule, SubscriptionType type, string existing, bool pass, string? newState)
    {
        var decision = rule(type, State(existing));

        Assert.Equal(pass, decision.Pass);
        Assert.Equal(State(newState ?? existing), decision.NewState);
        Assert.Equal(newState ?? existing, decision.NewState.ToString());
    }

    [Theory] // A.2.1 Client generation of outbound subscription request
    [InlineData("None", true, "None + Pending Out")]
    [InlineData("None + Pending Out", true, null)]
    [InlineData("None + Pending In", true, "None + Pending Out/In")]
    [InlineData("None + Pending Out/In", true, null)]
    [InlineData("To", true, null)]
    [InlineData("To + Pending In", true, null)]
    [InlineData("From", true, "From + Pending Out")]
    [InlineData("From + Pending Out", true, null)]
    [InlineData("Both", true, null)]
    public void Outbound_subscribe(string existing, bool route, string? newState) =>
        Check(SubscriptionRules.Outbound, SubscriptionType.Subscribe, existing, route, newState);

    [Theory] // A.2.2 Client generation of outbound unsubscribe
    [InlineData("None", true, null)]
    [InlineData("None + Pending Out", true, "None")]
    [InlineData("None + Pending In", true, null)]
    [InlineData("None + Pending Out/In", true, "None + Pending In")]
    [InlineData("To", true, "None")]
    [InlineData("To + Pending In", true, "None + Pending In")]
    [InlineData("From", true, null)]
    [InlineData("From + Pending Out", true, "From")]
    [InlineData("Both", true, "From")]
    public void Outbound_unsubscribe(string existing, bool route, string? newState) =>
        Check(SubscriptionRules.Outbound, SubscriptionType.Unsubscribe, existing, route, newState);

    [Theory] // A.2.3 Client generation of outbound subscription approval
    [InlineData("None", false, null)]
    [InlineData("None + Pending Out", false, null)]
    [InlineData("None + Pending In", true, "From")]
    [InlineData("None + Pending Out/In", true, "From + Pending Out")]
    [InlineData("To", false, null)]
    [InlineData("To + Pending In", true, "Both")]
    [InlineData("From", false, null)]
    [InlineData("From + Pending Out", false, null)]
    [InlineData("Both", false, null)]
    public void Outbound_subscribed(string existing, bool route, string? newState) =>
        Check(SubscriptionRules.Outbound, SubscriptionType.Subscribed, existing, route, newState);

    [Theory] // A.2.4 Client generation of outbound unsubscribed
    [InlineData("None", false, null)]
    [InlineData("None + Pending Out", false, null)]
    [InlineData("None + Pending In", true, "None")]
    [InlineData("None + Pending Out/In", true, "None + Pending Out")]
    [InlineData("To", false, null)]
    [InlineData("To + Pending In", true, "To")]
    [InlineData("From", true, "None")]
    [InlineData("From + Pending Out", true, "None + Pending Out")]
    [InlineData("Both", true, "To")]
    public void Outbound_unsubscribed(string existing, bool route, string? newState) =>
        Check(SubscriptionRules.Outbound, SubscriptionType.Unsubscribed, existing, route, newState);

    [Theory] // A.3.1 Server processing of inbound subscription request
    [InlineData("None", true, "None + Pending In")]
    [InlineData("None + Pending Out", true, "None + Pending Out/In")]
    [InlineData("None + Pending In", false, null)]
    [InlineData("None + Pending Out/In", false, null)]
    [InlineData("To", true, "To + Pending In")]
    [InlineData("To + Pending In", false, null)]
    [InlineData("From", false, null)]
    [InlineData("From + Pending Out", false, null)]
    [InlineData("Both", false, null)]
    public void Inbound_subscribe(string existing, bool deliver, string? newState) =>
        Check(SubscriptionRules.Inbound, SubscriptionType.Subscribe, existing, deliver, newState);

    [Theory] // A.3.2 Server processing of inbound unsubscribe
    [InlineData("None", false, null)]
    [InlineData("None + Pending Out", false, null)]
    [InlineData("None + Pending In", true, "None")]
    [InlineData("None + Pending Out/In", true, "None + Pending Out")]
    [InlineData("To", false, null)]
    [InlineData("To + Pending In", true, "To")]
    [InlineData("From", true, "None")]
    [InlineData("From + Pending Out", true, "None + Pending Out")]
    [InlineData("Both", true, "To")]
    public void Inbound_unsubscribe(string existing, bool deliver, string? newState) =>
        Check(SubscriptionRules.Inbound, SubscriptionType.Unsubscribe, existing, deliver, newState);

    [Theory] // A.3.3 Server processing of inbound subscription approval
    [InlineData("None", false, null)]
    [InlineData("None + Pending Out", true, "To")]
    [InlineData("None + Pending In", false, null)]
    [InlineData("None + Pending Out/In", true, "To + Pending In")]
    [InlineData("To", false, null)]
    [InlineData("To + Pending In", false, null)]
    [InlineData("From", false, null)]
    [InlineData("From + Pending Out", true, "Both")]
    [InlineData("Both", false, null)]
    public void Inbound_subscribed(string existing, bool deliver, string? newState) =>
        Check(SubscriptionRules.Inbound, SubscriptionType.Subscribed, existing, deliver, newState);

    [Theory] // A.3.4 Server processing of inbound unsubscribed
    [InlineData("None", false, null)]
    [InlineData("None + Pending Out", true, "None")]
    [InlineData("None + Pending In", false, null)]
    [InlineData("None + Pending Out/In", true, "None + Pending In")]
    [InlineData("To", true, "None")]
    [InlineData("To + Pending In", true, "None + Pending In")]
    [InlineData("From", false, null)]
    [InlineData("From + Pending Out", true, "From")]
    [InlineData("Both", true, "From")]
    public void Inbound_unsubscribed(string existing, bool deliver, string? newState) =>
        Check(SubscriptionRules.Inbound, SubscriptionType.Unsubscribed, existing, deliver, newState);
}
