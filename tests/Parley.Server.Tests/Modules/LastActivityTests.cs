using System.Globalization;
using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>Last activity (XEP-0012) of the server and of accounts, over real connections.</summary>
public sealed class LastActivityTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        foreach (var user in new[] { "juliet", "romeo", "nurse", "tybalt" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
        // Juliet and Tybalt let Romeo see their presence (as a roster import would set it up).
        var rosters = _node.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("juliet@localhost", new RosterItem("romeo@localhost", null, Subscription.From, false, false, []));
        await rosters.SetItemAsync("romeo@localhost", new RosterItem("juliet@localhost", null, Subscription.To, false, false, []));
        await rosters.SetItemAsync("tybalt@localhost", new RosterItem("romeo@localhost", null, Subscription.From, false, false, []));
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<XmppTestClient> OnlineAsync(string user)
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", "home");
        await client.AnnounceAsync();
        return client;
    }

    private static async Task<Element> LastAsync(XmppTestClient client, string to)
    {
        await client.SendAsync($"<iq type='get' to='{to}' id='last'><query xmlns='jabber:iq:last'/></iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "last");
    }

    private static long Seconds(Element result)
    {
        Assert.Equal("result", result.GetAttribute("type"));
        return long.Parse(result.Child("query", Ns.Last)!.GetAttribute("seconds")!, CultureInfo.InvariantCulture);
    }

    private static void AssertError(Element reply, string condition)
    {
        Assert.Equal("error", reply.GetAttribute("type"));
        Assert.NotNull(reply.Child("error")!.Child(condition, Ns.Stanzas));
    }

    [Fact]
    public async Task The_server_answers_with_its_uptime()
    {
        await using var romeo = await OnlineAsync("romeo");

        Assert.InRange(Seconds(await LastAsync(romeo, "localhost")), 0, 300);
    }

    [Fact]
    public async Task An_online_account_was_last_active_now()
    {
        await using var juliet = await OnlineAsync("juliet");
        await using var romeo = await OnlineAsync("romeo");

        Assert.Equal(0, Seconds(await LastAsync(romeo, "juliet@localhost")));
        Assert.Equal(0, Seconds(await LastAsync(juliet, "juliet@localhost")));
    }

    [Fact]
    public async Task An_offline_account_shows_when_it_left_and_its_last_status_to_a_subscribed_contact()
    {
        await using (var juliet = await OnlineAsync("juliet"))
        {
            await juliet.SendAsync("<presence type='unavailable'><status>gone to the balcony</status></presence>");
            await juliet.SendAsync("<iq type='get' id='barrier' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
            await juliet.ReceiveAsync(e => e.GetAttribute("id") == "barrier");
        }
        await using var romeo = await OnlineAsync("romeo");

        var result = await LastAsync(romeo, "juliet@localhost");

        Assert.InRange(Seconds(result), 0, 60);
        Assert.Equal("gone to the balcony", result.Child("query", Ns.Last)!.Text);
    }

    [Fact]
    public async Task Someone_the_account_does_not_share_presence_with_is_forbidden()
    {
        await using var nurse = await OnlineAsync("nurse");

        AssertError(await LastAsync(nurse, "juliet@localhost"), "forbidden");
    }

    [Fact]
    public async Task An_account_that_never_logged_in_has_no_last_activity()
    {
        await using var romeo = await OnlineAsync("romeo");

        AssertError(await LastAsync(romeo, "tybalt@localhost"), "item-not-found");
    }

    [Fact]
    public async Task An_account_that_does_not_exist_is_service_unavailable()
    {
        await using var romeo = await OnlineAsync("romeo");

        AssertError(await LastAsync(romeo, "nobody@localhost"), "service-unavailable");
    }

    [Fact]
    public async Task A_set_is_a_bad_request()
    {
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync("<iq type='set' to='localhost' id='set'><query xmlns='jabber:iq:last'/></iq>");

        AssertError(await romeo.ReceiveAsync(e => e.GetAttribute("id") == "set"), "bad-request");
    }

    [Fact]
    public async Task The_server_advertises_last_activity()
    {
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync("<iq type='get' to='localhost' id='disco'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");

        var result = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "disco");
        Assert.Contains(result.Child("query", Ns.DiscoInfo)!.Children("feature"), f => f.GetAttribute("var") == Ns.Last);
    }
}
