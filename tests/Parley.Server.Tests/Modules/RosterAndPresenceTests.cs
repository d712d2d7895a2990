using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>Rosters, subscriptions and presence between local users over real connections (RFC 6121).</summary>
public sealed class RosterAndPresenceTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o => o.Limits.MaxRosterItems = 3);
        foreach (var user in new[] { "juliet", "romeo", "nurse", "tybalt", "benvolio" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<XmppTestClient> OnlineAsync(string user, string resource = "home")
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", resource);
        await client.SendAsync("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
        await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "roster1");
        await client.AnnounceAsync();
        return client;
    }

    private static async Task<Element> RosterPushAsync(XmppTestClient client, string contact) =>
        (await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set"
            && e.Child("query", Ns.Roster)?.Child("item", Ns.Roster)?.GetAttribute("jid") == contact))
            .Child("query", Ns.Roster)!.Child("item", Ns.Roster)!;

    private static async Task<Element> RosterAsync(XmppTestClient client, string? version = null)
    {
        var ver = version is null ? "" : $" ver='{version}'";
        await client.SendAsync($"<iq type='get' id='r'><query xmlns='jabber:iq:roster'{ver}/></iq>");
        var result = await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "r");
        Assert.Equal("result", result.GetAttribute("type"));
        return result;
    }

    /// <summary>Romeo asks, Juliet approves and asks back, Romeo approves: both ways subscribed.</summary>
    private async Task MutualAsync(XmppTestClient romeo, XmppTestClient juliet)
    {
        await romeo.SendAsync("<presence to='juliet@localhost' type='subscribe'/>");
        await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribe");
        await juliet.SendAsync("<presence to='romeo@localhost' type='subscribed'/>");
        await juliet.SendAsync("<presence to='romeo@localhost' type='subscribe'/>");
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribe");
        await romeo.SendAsync("<presence to='juliet@localhost' type='subscribed'/>");
        var item = await RosterPushAsync(juliet, "romeo@localhost");
        while (item.GetAttribute("subscription") != "both")
        {
            item = await RosterPushAsync(juliet, "romeo@localhost");
        }
    }

    [Fact]
    public async Task Adding_a_contact_and_approving_makes_each_see_the_others_presence()
    {
        await using var romeo = await OnlineAsync("romeo");
        await using var juliet = await OnlineAsync("juliet");

        await romeo.SendAsync("<iq type='set' id='add'><query xmlns='jabber:iq:roster'><item jid='juliet@localhost' name='Juliet'><group>Capulets</group></item></query></iq>");
        var added = await RosterPushAsync(romeo, "juliet@localhost");
        Assert.Equal("none", added.GetAttribute("subscription"));
        Assert.Equal("Capulets", added.ChildText("group", Ns.Roster));

        await romeo.SendAsync("<presence to='juliet@localhost' type='subscribe'><status>It is I</status></presence>");
        var asking = await RosterPushAsync(romeo, "juliet@localhost");
        Assert.Equal("subscribe", asking.GetAttribute("ask"));
        var request = await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribe");
        Assert.Equal("romeo@localhost", request.GetAttribute("from"));
        Assert.Equal("It is I", request.ChildText("status"));

        await juliet.SendAsync("<presence to='romeo@localhost' type='subscribed'/>");
        var julietsItem = await RosterPushAsync(juliet, "romeo@localhost");
        Assert.Equal("from", julietsItem.GetAttribute("subscription"));
        var romeosItem = await RosterPushAsync(romeo, "juliet@localhost");
        Assert.Equal("to", romeosItem.GetAttribute("subscription"));
        Assert.Null(romeosItem.GetAttribute("ask"));
        Assert.Equal("Juliet", romeosItem.GetAttribute("name"));

        // Juliet's current presence arrives with the approval, and her changes follow.
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/home" && e.GetAttribute("type") is null);
        await juliet.SendAsync("<presence><show>away</show><status>at the balcony</status></presence>");
        var away = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/home" && e.ChildText("show") == "away");
        Assert.Equal("at the balcony", away.ChildText("status"));

        // Juliet asks back (as a client does on accepting): Romeo, who follows her, gets the request and approves it.
        await juliet.SendAsync("<presence to='romeo@localhost' type='subscribe'/>");
        var back = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribe");
        Assert.Equal("juliet@localhost", back.GetAttribute("from"));
        await romeo.SendAsync("<presence to='juliet@localhost' type='subscribed'/>");
        Assert.Equal("both", (await RosterPushAsync(romeo, "juliet@localhost")).GetAttribute("subscription"));
        await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "romeo@localhost/home" && e.GetAttribute("type") is null);
    }

    [Fact]
    public async Task A_contact_going_offline_is_seen_as_unavailable_and_a_new_login_gets_everyones_presence()
    {
        await using var romeo = await OnlineAsync("romeo");
        var juliet = await OnlineAsync("juliet");
        await MutualAsync(romeo, juliet);

        await juliet.SendAsync("<presence type='unavailable'><status>goodnight</status></presence>");
        var gone = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/home" && e.GetAttribute("type") == "unavailable");
        Assert.Equal("goodnight", gone.ChildText("status"));
        await juliet.DisposeAsync();

        // Romeo logs in on a second device: it gets Juliet's last presence with the time she left.
        await using var romeo2 = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "phone");
        await romeo2.SendAsync("<presence/>");
        var last = await romeo2.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost");
        Assert.Equal("unavailable", last.GetAttribute("type"));
        Assert.Equal("goodnight", last.ChildText("status"));
        Assert.NotNull(last.Child("delay", Ns.Delay));

        await using var juliet2 = await OnlineAsync("juliet", "again");
        await romeo2.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/again" && e.GetAttribute("type") is null);
    }

    [Fact]
    public async Task A_request_made_while_the_contact_was_offline_is_delivered_at_her_next_login()
    {
        await using var romeo = await OnlineAsync("romeo");
        await romeo.SendAsync("<presence to='juliet@localhost' type='subscribe'><status>please</status></presence>");
        await RosterPushAsync(romeo, "juliet@localhost");

        await using var juliet = await OnlineAsync("juliet");
        var request = await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribe");
        Assert.Equal("romeo@localhost", request.GetAttribute("from"));
        Assert.Equal("please", request.ChildText("status"));
        // A request alone does not put Romeo on Juliet's roster.
        Assert.Empty((await RosterAsync(juliet)).Child("query", Ns.Roster)!.Children("item"));
    }

    [Fact]
    public async Task Pre_approval_lets_a_later_request_through_without_asking()
    {
        await using var romeo = await OnlineAsync("romeo");
        await using var juliet = await OnlineAsync("juliet");

        // "subscribed" toward someone who never asked is a pre-approval (RFC 6121 §3.4), not routed.
        await juliet.SendAsync("<presence to='romeo@localhost' type='subscribed'/>");
        var approved = await RosterPushAsync(juliet, "romeo@localhost");
        Assert.Equal("true", approved.GetAttribute("approved"));
        Assert.Equal("none", approved.GetAttribute("subscription"));

        await romeo.SendAsync("<presence to='juliet@localhost' type='subscribe'/>");
        var subscribed = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribed");
        Assert.Equal("juliet@localhost", subscribed.GetAttribute("from"));
        var julietsItem = await RosterPushAsync(juliet, "romeo@localhost");
        Assert.Equal("from", julietsItem.GetAttribute("subscription"));
    }

    [Fact]
    public async Task Removing_a_contact_cancels_both_subscriptions_and_the_contact_sees_unavailable()
    {
        await using var romeo = await OnlineAsync("romeo");
        await using var juliet = await OnlineAsync("juliet");
        await MutualAsync(romeo, juliet);

        await romeo.SendAsync("<iq type='set' id='rm'><query xmlns='jabber:iq:roster'><item jid='juliet@localhost' subscription='remove'/></query></iq>");

        var removed = await RosterPushAsync(romeo, "juliet@localhost");
        while (removed.GetAttribute("subscription") != "remove")
        {
            removed = await RosterPushAsync(romeo, "juliet@localhost");
        }
        // Juliet's side, in order: she loses Romeo's subscription, then hers, then sees him go.
        Assert.Equal("to", (await RosterPushAsync(juliet, "romeo@localhost")).GetAttribute("subscription"));
        Assert.Equal("none", (await RosterPushAsync(juliet, "romeo@localhost")).GetAttribute("subscription"));
        await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "romeo@localhost/home" && e.GetAttribute("type") == "unavailable");
        Assert.Empty((await RosterAsync(romeo)).Child("query", Ns.Roster)!.Children("item"));
    }

    [Fact]
    public async Task Roster_versioning_returns_nothing_when_the_client_is_current()
    {
        await using var romeo = await OnlineAsync("romeo");
        await romeo.SendAsync("<iq type='set' id='add'><query xmlns='jabber:iq:roster'><item jid='nurse@localhost'/></query></iq>");
        var push = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set");
        var version = push.Child("query", Ns.Roster)!.GetAttribute("ver")!;

        var current = await RosterAsync(romeo, version);
        Assert.Null(current.Child("query", Ns.Roster));
        var stale = await RosterAsync(romeo, "0");
        Assert.Equal(version, stale.Child("query", Ns.Roster)!.GetAttribute("ver"));
        Assert.Single(stale.Child("query", Ns.Roster)!.Children("item"));
    }

    [Fact]
    public async Task The_stream_offers_roster_versioning_and_pre_approval()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        var features = await client.AuthenticateAsync("romeo", "romeo-password");

        Assert.NotNull(features.Child("bind", Ns.Bind));
        Assert.NotNull(features.Child("ver", Ns.RosterVersioning));
        Assert.NotNull(features.Child("sub", Ns.PreApproval));
    }

    [Theory]
    [InlineData("<item jid='nurse@localhost'/><item jid='tybalt@localhost'/>", "bad-request")]
    [InlineData("<item jid='nurse@@localhost'/>", "jid-malformed")]
    [InlineData("<item jid='nurse@localhost'><group>a</group><group>a</group></item>", "bad-request")]
    [InlineData("<item jid='nurse@localhost'><group></group></item>", "not-acceptable")]
    [InlineData("<item jid='nobody@localhost' subscription='remove'/>", "item-not-found")]
    public async Task A_bad_roster_set_gets_its_error_and_changes_nothing(string items, string condition)
    {
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync($"<iq type='set' id='bad'><query xmlns='jabber:iq:roster'>{items}</query></iq>");

        var error = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "bad");
        Assert.NotNull(error.Child("error")!.Child(condition, Ns.Stanzas));
        Assert.Empty((await RosterAsync(romeo)).Child("query", Ns.Roster)!.Children("item"));
    }

    [Fact]
    public async Task A_subscription_value_in_a_roster_set_is_ignored()
    {
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync("<iq type='set' id='claim'><query xmlns='jabber:iq:roster'><item jid='nurse@localhost' subscription='both'/></query></iq>");

        Assert.Equal("result", (await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "claim")).GetAttribute("type"));
        var item = (await RosterAsync(romeo)).Child("query", Ns.Roster)!.Child("item", Ns.Roster)!;
        Assert.Equal("none", item.GetAttribute("subscription"));
    }

    [Fact]
    public async Task A_roster_set_addressed_to_another_user_is_forbidden()
    {
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync("<iq type='set' to='juliet@localhost' id='push'><query xmlns='jabber:iq:roster'><item jid='romeo@localhost'/></query></iq>");

        var error = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "push");
        Assert.NotNull(error.Child("error")!.Child("forbidden", Ns.Stanzas));
    }

    [Fact]
    public async Task The_contact_limit_is_enforced_with_a_text_that_says_it()
    {
        await using var romeo = await OnlineAsync("romeo");
        foreach (var contact in new[] { "nurse", "tybalt", "benvolio" })
        {
            await romeo.SendAsync($"<iq type='set' id='{contact}'><query xmlns='jabber:iq:roster'><item jid='{contact}@localhost'/></query></iq>");
            Assert.Equal("result", (await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == contact)).GetAttribute("type"));
        }

        await romeo.SendAsync("<iq type='set' id='fourth'><query xmlns='jabber:iq:roster'><item jid='juliet@localhost'/></query></iq>");

        var error = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "fourth");
        Assert.NotNull(error.Child("error")!.Child("not-allowed", Ns.Stanzas));
        Assert.Contains("3 contacts", error.Child("error")!.ChildText("text", Ns.Stanzas));
        Assert.Equal(3, (await RosterAsync(romeo)).Child("query", Ns.Roster)!.Children("item").Count());
    }

    [Fact]
    public async Task Subscribing_to_oneself_is_a_bad_request()
    {
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync("<presence to='romeo@localhost' type='subscribe' id='self'/>");

        var error = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("id") == "self");
        Assert.NotNull(error.Child("error")!.Child("bad-request", Ns.Stanzas));
        Assert.Empty((await RosterAsync(romeo)).Child("query", Ns.Roster)!.Children("item"));
    }

    [Fact]
    public async Task A_subscription_request_to_a_user_that_does_not_exist_is_refused()
    {
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync("<presence to='ghost@localhost' type='subscribe'/>");

        // In order of arrival: the request is pending, then the refusal ends it, then the refusal itself.
        Assert.Equal("subscribe", (await RosterPushAsync(romeo, "ghost@localhost")).GetAttribute("ask"));
        var item = await RosterPushAsync(romeo, "ghost@localhost");
        Assert.Null(item.GetAttribute("ask"));
        Assert.Equal("none", item.GetAttribute("subscription"));
        var refused = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unsubscribed");
        Assert.Equal("ghost@localhost", refused.GetAttribute("from"));
    }

    [Fact]
    public async Task Directed_presence_is_ended_by_unavailable()
    {
        await using var romeo = await OnlineAsync("romeo");
        await using var nurse = await OnlineAsync("nurse");

        await romeo.SendAsync("<presence to='nurse@localhost/home'><status>a word?</status></presence>");
        await nurse.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "romeo@localhost/home");
        await romeo.SendAsync("<presence type='unavailable'/>");

        var gone = await nurse.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "romeo@localhost/home");
        Assert.Equal("unavailable", gone.GetAttribute("type"));
    }

    [Fact]
    public async Task Directed_presence_sent_before_initial_presence_is_ended_when_the_session_goes()
    {
        await using var nurse = await OnlineAsync("nurse");
        var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "incognito");

        await romeo.SendAsync("<presence to='nurse@localhost/home'/>");
        await nurse.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "romeo@localhost/incognito");
        await romeo.DisposeAsync();

        var gone = await nurse.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "romeo@localhost/incognito");
        Assert.Equal("unavailable", gone.GetAttribute("type"));
    }

    [Fact]
    public async Task A_roster_of_ten_thousand_contacts_comes_back_whole()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("boss", "boss-password");
        var items = Enumerable.Range(0, 10_000).Select(i =>
            ("boss@localhost", new Parley.Storage.RosterItem($"employee{i:D5}@localhost", $"Employee {i}", Parley.Storage.Subscription.Both, false, false, ["Company"])));
        Assert.Equal(10_000, await node.App.Node.Storage.Rosters.ImportAsync(items.ToAsyncEnumerable()));
        await using var boss = await XmppTestClient.LoginAsync(node, "boss", "boss-password", "desk");

        await boss.SendAsync("<iq type='get' id='big'><query xmlns='jabber:iq:roster'/></iq>");

        var result = await boss.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "big");
        var roster = result.Child("query", Ns.Roster)!.Children("item").ToList();
        Assert.Equal(10_000, roster.Count);
        Assert.Equal("employee00000@localhost", roster[0].GetAttribute("jid"));
        Assert.Equal("both", roster[^1].GetAttribute("subscription"));
    }
}
