using Parley.Protocol;
using Parley.Server.Modules.Disco;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>
/// Bookmarks compatibility (XEP-0402 §compat, XEP-0411) over real connections: whichever of private XML,
/// the legacy storage:bookmarks PEP node or the bookmarks2 node a client writes, the other two follow, with
/// the events a client of each kind expects and no echo of the server's own rewrites.
/// </summary>
public sealed class BookmarksTests : IAsyncLifetime
{
    private const string Bookmarks2 = "urn:xmpp:bookmarks:1";
    private const string Legacy = "storage:bookmarks";
    private const string Owner = "juliet@localhost";

    private const string LegacyList =
        "<storage xmlns='storage:bookmarks'>" +
        "<conference jid='council@conference.localhost' name='Council' autojoin='true'><nick>Jules</nick><password>secret</password>" +
        "<minimize xmlns='urn:example:ui'/></conference>" +
        "<conference jid='garden@conference.localhost' name='Garden'/>" +
        "<url name='Verona' url='https://verona.example/'/>" +
        "</storage>";

    // Caps 'ver' strings the node has already asked about: a second session with the same one gets no query.
    private readonly HashSet<string> _answeredVers = [];
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("juliet", "juliet-password");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    /// <summary>A session of juliet's; with <paramref name="notify"/> it is available and asks for both bookmark nodes' events.</summary>
    private async Task<XmppTestClient> OnlineAsync(string resource, bool notify = true)
    {
        var client = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", resource);
        if (!notify)
        {
            return client;
        }
        string[] features = [Ns.DiscoInfo, Ns.Caps, Bookmarks2 + "+notify", Legacy + "+notify"];
        var ver = EntityCapabilities.Ver("client", "pc", "Bookmarks Test", features);
        await client.SendAsync($"<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://parley.test/bookmarks' ver='{ver}'/></presence>");
        if (_answeredVers.Add(ver))
        {
            var query = await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "get" && e.Child("query", Ns.DiscoInfo) is not null);
            var answer = string.Concat(features.Select(f => $"<feature var='{f}'/>"));
            await client.SendAsync(
                $"<iq type='result' id='{query.GetAttribute("id")}' to='{query.GetAttribute("from")}'><query xmlns='http://jabber.org/protocol/disco#info' node='https://parley.test/bookmarks#{ver}'>" +
                $"<identity category='client' type='pc' name='Bookmarks Test'/>{answer}</query></iq>");
        }
        // The ping's answer comes after the server has taken in the caps answer, so events can flow from here on.
        await DrainAsync(client);
        return client;
    }

    /// <summary>Everything the server sent the client before the answer to a ping sent now.</summary>
    private static async Task<List<Element>> DrainAsync(XmppTestClient client)
    {
        var id = "drain-" + Guid.NewGuid().ToString("N");
        await client.SendAsync($"<iq type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>");
        var received = new List<Element>();
        while (true)
        {
            var element = await client.ReceiveAsync();
            if (element.Name == "iq" && element.GetAttribute("id") == id)
            {
                return received;
            }
            received.Add(element);
        }
    }

    private static async Task<Element> IqAsync(XmppTestClient client, string type, string payload, string? to = null)
    {
        var id = "iq-" + Guid.NewGuid().ToString("N");
        var toAttribute = to is null ? "" : $" to='{to}'";
        await client.SendAsync($"<iq type='{type}' id='{id}'{toAttribute}>{payload}</iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == id);
    }

    private static async Task SetPrivateAsync(XmppTestClient client, string fragment) =>
        Assert.Equal("result", (await IqAsync(client, "set", $"<query xmlns='jabber:iq:private'>{fragment}</query>")).GetAttribute("type"));

    private static async Task<Element> GetPrivateListAsync(XmppTestClient client)
    {
        var result = await IqAsync(client, "get", "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>");
        Assert.Equal("result", result.GetAttribute("type"));
        return result.Child("query", Ns.Private)!.Child("storage", Legacy)!;
    }

    private static async Task PublishAsync(XmppTestClient client, string node, string itemId, string payload) =>
        Assert.Equal("result", (await IqAsync(client, "set",
            $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{node}'><item id='{itemId}'>{payload}</item></publish></pubsub>")).GetAttribute("type"));

    private static async Task<List<Element>> ItemsAsync(XmppTestClient client, string node)
    {
        var result = await IqAsync(client, "get", $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{node}'/></pubsub>", Owner);
        Assert.Equal("result", result.GetAttribute("type"));
        return [.. result.Child("pubsub", Ns.PubSub)!.Child("items", Ns.PubSub)!.Children("item", Ns.PubSub)];
    }

    /// <summary>The single legacy list kept in the storage:bookmarks PEP node.</summary>
    private static async Task<Element> LegacyPepListAsync(XmppTestClient client)
    {
        var item = Assert.Single(await ItemsAsync(client, Legacy));
        Assert.Equal("current", item.GetAttribute("id"));
        return item.Child("storage", Legacy)!;
    }

    /// <summary>The &lt;item/&gt; and &lt;retract/&gt; entries of the events about <paramref name="node"/> among <paramref name="received"/>.</summary>
    private static List<Element> EventEntries(IEnumerable<Element> received, string node) =>
        [.. received
            .Where(e => e.Name == "message")
            .Select(e => e.Child("event", Ns.PubSubEvent)?.Child("items", Ns.PubSubEvent))
            .Where(items => items?.GetAttribute("node") == node)
            .SelectMany(items => items!.Children())];

    private static List<string?> Rooms(Element legacyList) =>
        [.. legacyList.Children("conference", Legacy).Select(c => c.GetAttribute("jid"))];

    [Fact]
    public async Task A_legacy_private_xml_list_becomes_one_bookmarks2_item_per_room_with_events()
    {
        await using var modern = await OnlineAsync("modern");
        await using var legacy = await OnlineAsync("legacy", notify: false);

        await SetPrivateAsync(legacy, LegacyList);

        var received = await DrainAsync(modern);
        var events = EventEntries(received, Bookmarks2);
        Assert.Equal(["council@conference.localhost", "garden@conference.localhost"], events.Select(e => e.GetAttribute("id")));
        Assert.Equal("Council", events[0].Child("conference", Bookmarks2)!.GetAttribute("name"));
        Assert.Single(EventEntries(received, Legacy));

        var items = await ItemsAsync(modern, Bookmarks2);
        Assert.Equal(2, items.Count);
        var council = items.Single(i => i.GetAttribute("id") == "council@conference.localhost").Child("conference", Bookmarks2)!;
        Assert.Equal("Council", council.GetAttribute("name"));
        Assert.Equal("true", council.GetAttribute("autojoin"));
        Assert.Equal("Jules", council.ChildText("nick", Bookmarks2));
        Assert.Equal("secret", council.ChildText("password", Bookmarks2));
        Assert.NotNull(council.Child("extensions", Bookmarks2)?.Child("minimize", "urn:example:ui"));
        var garden = items.Single(i => i.GetAttribute("id") == "garden@conference.localhost").Child("conference", Bookmarks2)!;
        Assert.Null(garden.GetAttribute("autojoin"));

        Assert.Equal(["council@conference.localhost", "garden@conference.localhost"], Rooms(await LegacyPepListAsync(modern)));

        // XEP-0402's node: every room kept, the owner's eyes only.
        var configure = await IqAsync(modern, "get", $"<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='{Bookmarks2}'/></pubsub>");
        var fields = configure.Child("pubsub", Ns.PubSubOwner)!.Child("configure", Ns.PubSubOwner)!.Child("x", Ns.DataForms)!
            .Children("field", Ns.DataForms).ToDictionary(f => f.GetAttribute("var")!, f => f.ChildText("value", Ns.DataForms));
        Assert.Equal("whitelist", fields["pubsub#access_model"]);
        Assert.Equal("max", fields["pubsub#max_items"]);
        Assert.Equal("1", fields["pubsub#persist_items"]);
    }

    [Fact]
    public async Task Storing_the_same_legacy_list_again_republishes_no_bookmarks2_item_and_dropping_a_room_retracts_it()
    {
        await using var modern = await OnlineAsync("modern");
        await using var legacy = await OnlineAsync("legacy", notify: false);
        await SetPrivateAsync(legacy, LegacyList);
        await DrainAsync(modern);

        await SetPrivateAsync(legacy, LegacyList);
        var again = await DrainAsync(modern);
        Assert.Empty(EventEntries(again, Bookmarks2));
        // XEP-0411: a legacy write is announced on the legacy node all the same.
        Assert.Single(EventEntries(again, Legacy));

        await SetPrivateAsync(legacy, "<storage xmlns='storage:bookmarks'><conference jid='garden@conference.localhost' name='Garden'/></storage>");
        var dropped = Assert.Single(EventEntries(await DrainAsync(modern), Bookmarks2));
        Assert.Equal("retract", dropped.Name);
        Assert.Equal("council@conference.localhost", dropped.GetAttribute("id"));
        Assert.Equal("garden@conference.localhost", Assert.Single(await ItemsAsync(modern, Bookmarks2)).GetAttribute("id"));
    }

    [Fact]
    public async Task A_bookmarks2_publish_and_retract_rewrite_private_xml_and_the_legacy_node_with_one_event_each()
    {
        await using var modern = await OnlineAsync("modern");
        await using var phone = await OnlineAsync("phone");
        await using var legacy = await OnlineAsync("legacy", notify: false);
        await SetPrivateAsync(legacy, "<storage xmlns='storage:bookmarks'><url name='Verona' url='https://verona.example/'/></storage>");
        await DrainAsync(phone);

        await PublishAsync(modern, Bookmarks2, "balcony@conference.localhost",
            "<conference xmlns='urn:xmpp:bookmarks:1' name='Balcony' autojoin='true'><nick>Jules</nick></conference>");

        var received = await DrainAsync(phone);
        // One publish, one event: the server's rewrite of the legacy copies does not come back as a second one.
        Assert.Equal("balcony@conference.localhost", Assert.Single(EventEntries(received, Bookmarks2)).GetAttribute("id"));
        Assert.Single(EventEntries(received, Legacy));

        var list = await GetPrivateListAsync(legacy);
        var conference = Assert.Single(list.Children("conference", Legacy));
        Assert.Equal("balcony@conference.localhost", conference.GetAttribute("jid"));
        Assert.Equal("Balcony", conference.GetAttribute("name"));
        Assert.Equal("true", conference.GetAttribute("autojoin"));
        Assert.Equal("Jules", conference.ChildText("nick", Legacy));
        // Bookmarks2 has no place for URLs; the private copy keeps them.
        Assert.Equal("https://verona.example/", list.Child("url", Legacy)?.GetAttribute("url"));
        Assert.Equal(["balcony@conference.localhost"], Rooms(await LegacyPepListAsync(legacy)));

        var retracted = await IqAsync(modern, "set",
            $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='{Bookmarks2}' notify='true'><item id='balcony@conference.localhost'/></retract></pubsub>");
        Assert.Equal("result", retracted.GetAttribute("type"));

        received = await DrainAsync(phone);
        Assert.Equal("retract", Assert.Single(EventEntries(received, Bookmarks2)).Name);
        Assert.Single(EventEntries(received, Legacy));
        Assert.Empty(Rooms(await GetPrivateListAsync(legacy)));
        Assert.Empty(Rooms(await LegacyPepListAsync(legacy)));
        Assert.Empty(await ItemsAsync(modern, Bookmarks2));
    }

    [Theory]
    [InlineData("purge")]
    [InlineData("delete")]
    public async Task Purging_or_deleting_the_bookmarks2_node_empties_the_legacy_copies(string action)
    {
        await using var modern = await OnlineAsync("modern");
        await using var legacy = await OnlineAsync("legacy", notify: false);
        await PublishAsync(legacy, Legacy, "current", LegacyList);
        await DrainAsync(modern);

        var answer = await IqAsync(modern, "set", $"<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><{action} node='{Bookmarks2}'/></pubsub>");

        Assert.Equal("result", answer.GetAttribute("type"));
        var list = await GetPrivateListAsync(legacy);
        Assert.Empty(Rooms(list));
        Assert.NotNull(list.Child("url", Legacy));
        Assert.Empty(Rooms(await LegacyPepListAsync(legacy)));
    }

    [Fact]
    public async Task A_legacy_pep_list_is_copied_to_private_xml_and_bookmarks2()
    {
        await using var modern = await OnlineAsync("modern");
        await using var legacy = await OnlineAsync("legacy", notify: false);

        await PublishAsync(legacy, Legacy, "current", LegacyList);

        var received = await DrainAsync(modern);
        Assert.Equal(2, EventEntries(received, Bookmarks2).Count);
        Assert.Single(EventEntries(received, Legacy));
        var list = await GetPrivateListAsync(legacy);
        Assert.Equal(["council@conference.localhost", "garden@conference.localhost"], Rooms(list));
        Assert.NotNull(list.Child("url", Legacy));
        Assert.Equal(2, (await ItemsAsync(modern, Bookmarks2)).Count);
    }

    [Fact]
    public async Task Entries_without_a_usable_room_jid_stay_in_the_legacy_list_but_make_no_bookmarks2_item()
    {
        await using var modern = await OnlineAsync("modern");
        const string odd = "<storage xmlns='storage:bookmarks'><conference name='No JID'/><conference jid='@@bad' name='Bad JID'/>" +
            "<conference jid='garden@conference.localhost' name='Garden'/></storage>";

        await SetPrivateAsync(modern, odd);

        Assert.Equal("garden@conference.localhost", Assert.Single(await ItemsAsync(modern, Bookmarks2)).GetAttribute("id"));
        // Private XML gives back what the client stored, unconverted.
        Assert.Equal(3, (await GetPrivateListAsync(modern)).Children("conference", Legacy).Count());
    }

    [Fact]
    public async Task The_account_advertises_the_compatibility_features()
    {
        await using var juliet = await OnlineAsync("modern", notify: false);

        var info = await IqAsync(juliet, "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", Owner);

        var features = info.Child("query", Ns.DiscoInfo)!.Children("feature", Ns.DiscoInfo).Select(f => f.GetAttribute("var")).ToList();
        Assert.Contains("urn:xmpp:bookmarks:1#compat", features);
        Assert.Contains("urn:xmpp:bookmarks:1#compat-pep", features);
        Assert.Contains("urn:xmpp:bookmarks-conversion:0", features);
    }
}
