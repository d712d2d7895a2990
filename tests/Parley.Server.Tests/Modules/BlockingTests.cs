using Parley.Protocol;
using Parley.Server.Modules.Blocking;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>Blocking command (XEP-0191) over real connections, and its JID matching.</summary>
public sealed class BlockingTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        foreach (var user in new[] { "juliet", "romeo", "nurse" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    /// <summary>Logs in, asks for the block list (so it gets pushes) and sends initial presence.</summary>
    private async Task<XmppTestClient> OnlineAsync(string user, string resource = "home", bool askForList = true)
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", resource);
        if (askForList)
        {
            await BlocklistAsync(client);
        }
        await client.AnnounceAsync();
        return client;
    }

    private static async Task<string[]> BlocklistAsync(XmppTestClient client)
    {
        await client.SendAsync("<iq type='get' id='list'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
        var result = await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "list");
        Assert.Equal("result", result.GetAttribute("type"));
        return [.. result.Child("blocklist", Ns.Blocking)!.Children("item", Ns.Blocking).Select(i => i.GetAttribute("jid")!)];
    }

    private static async Task<Element> SetAsync(XmppTestClient client, string payload)
    {
        await client.SendAsync($"<iq type='set' id='change'>{payload}</iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "change");
    }

    private static async Task BlockAsync(XmppTestClient client, params string[] jids)
    {
        var items = string.Concat(jids.Select(j => $"<item jid='{j}'/>"));
        Assert.Equal("result", (await SetAsync(client, $"<block xmlns='urn:xmpp:blocking'>{items}</block>")).GetAttribute("type"));
    }

    /// <summary>Pings the server and returns what arrived before the answer: the server has handled everything the client sent before.</summary>
    private static async Task<List<Element>> UntilPongAsync(XmppTestClient client)
    {
        await client.SendAsync("<iq type='get' id='barrier' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        var before = new List<Element>();
        while (true)
        {
            var element = await client.ReceiveAsync();
            if (element.Name == "iq" && element.GetAttribute("id") == "barrier")
            {
                return before;
            }
            before.Add(element);
        }
    }

    private static bool From(Element stanza, string who) => stanza.GetAttribute("from")?.StartsWith(who, StringComparison.Ordinal) == true;

    /// <summary>Juliet and Romeo each approve the other's subscription, through the roster store (as an import would).</summary>
    private async Task MutualSubscriptionAsync()
    {
        var rosters = _node.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("juliet@localhost", new RosterItem("romeo@localhost", null, Subscription.Both, false, false, []));
        await rosters.SetItemAsync("romeo@localhost", new RosterItem("juliet@localhost", null, Subscription.Both, false, false, []));
    }

    [Fact]
    public async Task Blocking_and_unblocking_change_the_list()
    {
        await using var juliet = await OnlineAsync("juliet");
        Assert.Empty(await BlocklistAsync(juliet));

        await BlockAsync(juliet, "romeo@localhost", "Nurse@LOCALHOST");
        Assert.Equal(["nurse@localhost", "romeo@localhost"], await BlocklistAsync(juliet));

        Assert.Equal("result", (await SetAsync(juliet, "<unblock xmlns='urn:xmpp:blocking'><item jid='romeo@localhost'/></unblock>")).GetAttribute("type"));
        Assert.Equal(["nurse@localhost"], await BlocklistAsync(juliet));

        await BlockAsync(juliet, "romeo@localhost/phone", "example.org");
        Assert.Equal("result", (await SetAsync(juliet, "<unblock xmlns='urn:xmpp:blocking'/>")).GetAttribute("type"));
        Assert.Empty(await BlocklistAsync(juliet));
    }

    [Fact]
    public async Task Changes_are_pushed_to_the_resources_that_asked_for_the_list()
    {
        await using var home = await OnlineAsync("juliet", "home");
        await using var phone = await OnlineAsync("juliet", "phone");
        await using var tablet = await OnlineAsync("juliet", "tablet", askForList: false);

        await home.SendAsync("<iq type='set' id='block'><block xmlns='urn:xmpp:blocking'><item jid='romeo@localhost'/></block></iq>");

        // The resource that asked is told too, before its answer.
        foreach (var resource in new[] { home, phone })
        {
            var push = await resource.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set");
            Assert.Equal(resource.Jid, push.GetAttribute("to"));
            Assert.Equal("romeo@localhost", push.Child("block", Ns.Blocking)!.Child("item", Ns.Blocking)!.GetAttribute("jid"));
        }
        Assert.Equal("result", (await home.ReceiveAsync(e => e.GetAttribute("id") == "block")).GetAttribute("type"));
        Assert.DoesNotContain(await UntilPongAsync(tablet), e => e.Name == "iq");

        Assert.Equal("result", (await SetAsync(home, "<unblock xmlns='urn:xmpp:blocking'/>")).GetAttribute("type"));
        var unblockAll = await phone.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set");
        Assert.Empty(unblockAll.Child("unblock", Ns.Blocking)!.Children());
    }

    [Fact]
    public async Task Messages_and_requests_from_a_blocked_user_are_answered_as_if_the_user_were_offline()
    {
        await using var juliet = await OnlineAsync("juliet");
        await using var romeo = await OnlineAsync("romeo");
        await BlockAsync(juliet, "romeo@localhost");

        await romeo.SendAsync("<message to='juliet@localhost' type='chat' id='m'><body>hear me</body></message>");
        var bounced = await romeo.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "m");
        Assert.NotNull(bounced.Child("error")!.Child("service-unavailable", Ns.Stanzas));

        await romeo.SendAsync("<iq type='get' to='juliet@localhost/home' id='full'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.NotNull((await romeo.ReceiveAsync(e => e.GetAttribute("id") == "full")).Child("error")!.Child("service-unavailable", Ns.Stanzas));
        await romeo.SendAsync("<iq type='get' to='juliet@localhost' id='bare'><query xmlns='jabber:iq:last'/></iq>");
        Assert.NotNull((await romeo.ReceiveAsync(e => e.GetAttribute("id") == "bare")).Child("error")!.Child("service-unavailable", Ns.Stanzas));
        // A result answers nothing and gets nothing back.
        await romeo.SendAsync("<iq type='result' to='juliet@localhost/home' id='stray'/>");
        Assert.DoesNotContain(await UntilPongAsync(romeo), e => e.GetAttribute("id") == "stray");

        Assert.DoesNotContain(await UntilPongAsync(juliet), e => From(e, "romeo@localhost"));
    }

    [Fact]
    public async Task A_blocked_users_message_to_an_offline_user_is_refused_and_not_stored()
    {
        await using (var juliet = await OnlineAsync("juliet"))
        {
            await BlockAsync(juliet, "romeo@localhost");
        }
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync("<message to='juliet@localhost' type='chat' id='m'><body>are you there?</body></message>");

        var bounced = await romeo.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "m");
        Assert.NotNull(bounced.Child("error")!.Child("service-unavailable", Ns.Stanzas));
        Assert.Equal(0, await _node.App.Node.Storage.Offline.CountAsync("juliet@localhost"));
    }

    [Fact]
    public async Task A_blocked_contact_sees_the_user_go_offline_and_neither_sees_the_others_presence_until_unblocked()
    {
        await MutualSubscriptionAsync();
        await using var juliet = await OnlineAsync("juliet");
        await using var romeo = await OnlineAsync("romeo");
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/home" && e.GetAttribute("type") is null);

        await BlockAsync(juliet, "romeo@localhost");
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/home" && e.GetAttribute("type") == "unavailable");

        await romeo.SendAsync("<presence><show>away</show></presence>");
        await juliet.SendAsync("<presence><show>dnd</show></presence>");
        var seenByRomeo = await UntilPongAsync(romeo);
        Assert.DoesNotContain(await UntilPongAsync(juliet), e => From(e, "romeo@localhost"));
        seenByRomeo.AddRange(await UntilPongAsync(romeo));
        Assert.DoesNotContain(seenByRomeo, e => From(e, "juliet@localhost"));

        Assert.Equal("result", (await SetAsync(juliet, "<unblock xmlns='urn:xmpp:blocking'><item jid='romeo@localhost'/></unblock>")).GetAttribute("type"));
        var current = await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/home");
        Assert.Equal("dnd", current.ChildText("show"));
        await romeo.SendAsync("<presence><show>chat</show></presence>");
        await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "romeo@localhost/home" && e.ChildText("show") == "chat");
    }

    [Fact]
    public async Task Messages_and_requests_kept_before_a_block_are_not_delivered_after_it()
    {
        await using (var romeo = await OnlineAsync("romeo"))
        {
            await romeo.SendAsync("<presence to='juliet@localhost' type='subscribe'/>");
            await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>remember me?</body></message>");
            await UntilPongAsync(romeo);
        }
        await using var juliet = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "home");
        // Blocked before her first presence, which is when kept stanzas are delivered.
        await BlockAsync(juliet, "romeo@localhost");

        await juliet.SendAsync("<presence/>");

        Assert.DoesNotContain(await UntilPongAsync(juliet), e => From(e, "romeo@localhost"));
        Assert.Equal(0, await _node.App.Node.Storage.Offline.CountAsync("juliet@localhost"));
        Assert.Empty(await _node.App.Node.Storage.Rosters.GetPendingAsync("juliet@localhost"));
    }

    [Fact]
    public async Task A_blocked_users_subscription_request_is_dropped_without_an_answer()
    {
        await using var juliet = await OnlineAsync("juliet");
        await using var romeo = await OnlineAsync("romeo");
        await BlockAsync(juliet, "romeo@localhost");

        await romeo.SendAsync("<presence to='juliet@localhost' type='subscribe'/>");

        Assert.DoesNotContain(await UntilPongAsync(romeo), e => From(e, "juliet@localhost"));
        Assert.DoesNotContain(await UntilPongAsync(juliet), e => From(e, "romeo@localhost"));
        Assert.Empty(await _node.App.Node.Storage.Rosters.GetPendingAsync("juliet@localhost"));
    }

    [Theory]
    [InlineData("<message to='romeo@localhost' type='chat' id='out'><body>wherefore</body></message>")]
    [InlineData("<iq to='romeo@localhost/home' type='get' id='out'><ping xmlns='urn:xmpp:ping'/></iq>")]
    [InlineData("<presence to='romeo@localhost' id='out'/>")]
    public async Task Sending_to_a_blocked_address_is_refused_with_blocked(string stanza)
    {
        await using var juliet = await OnlineAsync("juliet");
        await using var romeo = await OnlineAsync("romeo");
        await BlockAsync(juliet, "romeo@localhost");

        await juliet.SendAsync(stanza);

        var refused = await juliet.ReceiveAsync(e => e.GetAttribute("id") == "out");
        Assert.Equal("error", refused.GetAttribute("type"));
        var error = refused.Child("error")!;
        Assert.NotNull(error.Child("not-acceptable", Ns.Stanzas));
        Assert.NotNull(error.Child("blocked", Ns.BlockingErrors));
        Assert.DoesNotContain(await UntilPongAsync(romeo), e => From(e, "juliet@localhost"));
    }

    [Theory]
    [InlineData("localhost", "phone", true)]
    [InlineData("romeo@localhost/phone", "phone", true)]
    [InlineData("romeo@localhost/phone", "home", false)]
    [InlineData("nurse@localhost", "home", false)]
    public async Task A_block_matches_the_senders_it_names(string blocked, string romeosResource, bool refused)
    {
        await using var juliet = await OnlineAsync("juliet");
        await using var romeo = await OnlineAsync("romeo", romeosResource);
        await BlockAsync(juliet, blocked);

        await romeo.SendAsync("<message to='juliet@localhost' type='chat' id='m'><body>hello</body></message>");

        var seenByRomeo = await UntilPongAsync(romeo);
        var seenByJuliet = await UntilPongAsync(juliet);
        Assert.Equal(!refused, seenByJuliet.Any(e => e.Name == "message" && e.ChildText("body") == "hello"));
        Assert.Equal(refused, seenByRomeo.Any(e => e.Name == "message" && e.GetAttribute("type") == "error"));
    }

    [Theory]
    [InlineData("get", "<block xmlns='urn:xmpp:blocking'><item jid='romeo@localhost'/></block>", "bad-request")]
    [InlineData("set", "<block xmlns='urn:xmpp:blocking'/>", "bad-request")]
    [InlineData("set", "<block xmlns='urn:xmpp:blocking'><item/></block>", "bad-request")]
    [InlineData("set", "<block xmlns='urn:xmpp:blocking'><item jid='romeo@localhost'/><item jid='romeo@@localhost'/></block>", "jid-malformed")]
    [InlineData("set", "<blocklist xmlns='urn:xmpp:blocking'/>", "bad-request")]
    public async Task A_bad_request_gets_its_error_and_changes_nothing(string type, string payload, string condition)
    {
        await using var juliet = await OnlineAsync("juliet");

        await juliet.SendAsync($"<iq type='{type}' id='bad'>{payload}</iq>");

        var error = await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "bad");
        Assert.Equal("error", error.GetAttribute("type"));
        Assert.NotNull(error.Child("error")!.Child(condition, Ns.Stanzas));
        Assert.Empty(await BlocklistAsync(juliet));
    }

    [Fact]
    public async Task Another_user_can_neither_read_nor_change_the_list()
    {
        await using var juliet = await OnlineAsync("juliet");
        await using var romeo = await OnlineAsync("romeo");

        await romeo.SendAsync("<iq type='set' to='juliet@localhost' id='meddle'><unblock xmlns='urn:xmpp:blocking'/></iq>");

        var error = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "meddle");
        Assert.NotNull(error.Child("error")!.Child("forbidden", Ns.Stanzas));
    }

    [Fact]
    public async Task The_list_survives_a_restart_of_the_node()
    {
        await using (var juliet = await OnlineAsync("juliet"))
        {
            await BlockAsync(juliet, "romeo@localhost");
        }

        _node = await _node.RestartAsync();
        await using var julietAgain = await OnlineAsync("juliet");
        await using var romeo = await OnlineAsync("romeo");

        Assert.Equal(["romeo@localhost"], await BlocklistAsync(julietAgain));
        await romeo.SendAsync("<message to='juliet@localhost' type='chat' id='m'><body>still?</body></message>");
        Assert.Equal("error", (await romeo.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "m")).GetAttribute("type"));
    }

    [Fact]
    public async Task The_server_advertises_blocking()
    {
        await using var juliet = await OnlineAsync("juliet");

        await juliet.SendAsync("<iq type='get' to='localhost' id='disco'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");

        var result = await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "disco");
        Assert.Contains(result.Child("query", Ns.DiscoInfo)!.Children("feature"), f => f.GetAttribute("var") == Ns.Blocking);
    }

    [Theory]
    [InlineData("example.com", "example.com", true)]
    [InlineData("example.com", "romeo@example.com/phone", true)]
    [InlineData("example.com", "conference.example.com", true)]
    [InlineData("example.com", "room@conference.example.com/nick", true)]
    [InlineData("example.com", "notexample.com", false)]
    [InlineData("romeo@example.com", "romeo@example.com/any", true)]
    [InlineData("romeo@example.com", "romeo@other.example", false)]
    [InlineData("romeo@example.com/phone", "romeo@example.com/phone", true)]
    [InlineData("romeo@example.com/phone", "romeo@example.com/home", false)]
    [InlineData("romeo@example.com/phone", "romeo@example.com", false)]
    [InlineData("example.com/phone", "romeo@example.com/phone", true)]
    [InlineData("example.com/phone", "romeo@example.com/home", false)]
    public void Matching_follows_the_xep(string blocked, string sender, bool blocks) =>
        Assert.Equal(blocks, new Blocklist([blocked]).Blocks(Jid.Parse(sender)));
}
