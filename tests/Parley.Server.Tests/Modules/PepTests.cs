using System.Net.Sockets;
using Parley.Protocol;
using Parley.Server.Modules.Disco;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>
/// Personal eventing (XEP-0163 on XEP-0060) over real connections: publishing, retrieving, access models,
/// notifications to the sessions whose entity capabilities (XEP-0115) ask for NODE+notify, and the
/// nodes modern clients use (nickname, avatar, OMEMO, bookmarks).
/// </summary>
public sealed class PepTests : IAsyncLifetime
{
    private const string Nick = "http://jabber.org/protocol/nick";
    private const string AvatarMetadata = "urn:xmpp:avatar:metadata";
    private const string DeviceList = "eu.siacs.conversations.axolotl.devicelist";
    private const string Bookmarks = "urn:xmpp:bookmarks:1";
    private const int MaxItemBytes = 64 * 1024;

    private static readonly string[] Everything = [Nick, AvatarMetadata, DeviceList, Bookmarks];

    // Caps 'ver' strings this node has already asked about; a second session with one of them gets no query.
    private readonly HashSet<string> _answeredVers = [];

    // What each client received while the test waited for something else (e.g. its own event before its publish result).
    private readonly Dictionary<XmppTestClient, List<Element>> _skipped = [];
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        foreach (var user in new[] { "juliet", "romeo", "nurse", "tybalt" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    /// <summary>Logs in, asks for the roster, and becomes available with caps asking for events of <paramref name="notify"/>.</summary>
    private async Task<XmppTestClient> OnlineAsync(string user, string resource, params string[] notify)
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", resource);
        await client.SendAsync("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
        await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "roster1");
        await AvailableWithCapsAsync(client, notify);
        return client;
    }

    private async Task AvailableWithCapsAsync(XmppTestClient client, string[] notify)
    {
        string[] features = [Ns.DiscoInfo, Ns.Caps, .. notify.Select(node => node + "+notify")];
        var ver = EntityCapabilities.Ver("client", "pc", "Parley Test", features);
        await client.SendAsync($"<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://parley.test/client' ver='{ver}'/></presence>");
        if (_answeredVers.Add(ver))
        {
            // The server asks before it broadcasts the presence, so the query comes first.
            var query = await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "get" && e.Child("query", Ns.DiscoInfo) is not null);
            Assert.Equal($"https://parley.test/client#{ver}", query.Child("query", Ns.DiscoInfo)!.GetAttribute("node"));
            var answer = string.Concat(features.Select(f => $"<feature var='{f}'/>"));
            await client.SendAsync(
                $"<iq type='result' id='{query.GetAttribute("id")}' to='{query.GetAttribute("from")}'><query xmlns='http://jabber.org/protocol/disco#info' node='https://parley.test/client#{ver}'>" +
                $"<identity category='client' type='pc' name='Parley Test'/>{answer}</query></iq>");
        }
        await ReceiveAsync(client, e => e.Name == "presence" && e.GetAttribute("from") == client.Jid);
    }

    /// <summary>The first element that matches, earlier skipped ones included; the others are kept for later waits.</summary>
    private async Task<Element> ReceiveAsync(XmppTestClient client, Func<Element, bool> match)
    {
        if (!_skipped.TryGetValue(client, out var skipped))
        {
            _skipped[client] = skipped = [];
        }
        var index = skipped.FindIndex(e => match(e));
        if (index >= 0)
        {
            var earlier = skipped[index];
            skipped.RemoveAt(index);
            return earlier;
        }
        using var timeout = new CancellationTokenSource(XmppTestClient.Deadline);
        while (true)
        {
            var element = await client.ReceiveAsync();
            if (match(element))
            {
                return element;
            }
            skipped.Add(element);
            timeout.Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Both ways subscribed, as RosterAndPresenceTests does it.</summary>
    private async Task MutualAsync(XmppTestClient a, string aJid, XmppTestClient b, string bJid)
    {
        await a.SendAsync($"<presence to='{bJid}' type='subscribe'/>");
        await ReceiveAsync(b, e => e.Name == "presence" && e.GetAttribute("type") == "subscribe");
        await b.SendAsync($"<presence to='{aJid}' type='subscribed'/>");
        await b.SendAsync($"<presence to='{aJid}' type='subscribe'/>");
        await ReceiveAsync(a, e => e.Name == "presence" && e.GetAttribute("type") == "subscribe");
        await a.SendAsync($"<presence to='{bJid}' type='subscribed'/>");
        await SyncAsync(a);
        await SyncAsync(b);
    }

    /// <summary>
    /// A ping round trip: everything the server queued for the client before the answer arrives first.
    /// Returns all the client received and nobody waited for.
    /// </summary>
    private async Task<List<Element>> SyncAsync(XmppTestClient client)
    {
        var id = "sync-" + Guid.NewGuid().ToString("N");
        await client.SendAsync($"<iq type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>");
        await ReceiveAsync(client, e => e.Name == "iq" && e.GetAttribute("id") == id);
        var unclaimed = _skipped[client];
        _skipped[client] = [];
        return unclaimed;
    }

    private async Task<Element> IqAsync(XmppTestClient client, string payload, string type = "set", string? to = null)
    {
        var id = "iq-" + Guid.NewGuid().ToString("N");
        var toAttribute = to is null ? "" : $" to='{to}'";
        await client.SendAsync($"<iq type='{type}' id='{id}'{toAttribute}>{payload}</iq>");
        return await ReceiveAsync(client, e => e.Name == "iq" && e.GetAttribute("id") == id);
    }

    private Task<Element> PublishAsync(XmppTestClient client, string node, string payload, string? id = null, string? options = null)
    {
        var idAttribute = id is null ? "" : $" id='{id}'";
        var publishOptions = options is null ? "" : $"<publish-options>{Form("http://jabber.org/protocol/pubsub#publish-options", options)}</publish-options>";
        return IqAsync(client, $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{node}'><item{idAttribute}>{payload}</item></publish>{publishOptions}</pubsub>");
    }

    private static string Form(string formType, string fields) =>
        $"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{formType}</value></field>{fields}</x>";

    private static string Field(string name, string value) => $"<field var='pubsub#{name}'><value>{value}</value></field>";

    private Task<Element> ItemsAsync(XmppTestClient client, string owner, string node, string attributes = "", string inner = "") =>
        IqAsync(client, $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{node}'{attributes}>{inner}</items></pubsub>", "get", owner);

    private static List<Element> Items(Element result)
    {
        Assert.Equal("result", result.GetAttribute("type"));
        return [.. result.Child("pubsub", Ns.PubSub)!.Child("items", Ns.PubSub)!.Children("item", Ns.PubSub)];
    }

    private Task<Element> EventAsync(XmppTestClient client, string node) =>
        ReceiveAsync(client, e => e.Name == "message" && e.Child("event", Ns.PubSubEvent)?.Child("items", Ns.PubSubEvent)?.GetAttribute("node") == node);

    private static Element EventItem(Element message) =>
        message.Child("event", Ns.PubSubEvent)!.Child("items", Ns.PubSubEvent)!.Child("item", Ns.PubSubEvent)!;

    private static bool IsEvent(Element element) => element.Name == "message" && element.Child("event", Ns.PubSubEvent) is not null;

    /// <summary>The error's condition and its pubsub-specific condition (or null).</summary>
    private static (string Condition, string? PubSub) ErrorOf(Element reply)
    {
        Assert.Equal("error", reply.GetAttribute("type"));
        var error = reply.Child("error")!;
        return (error.Children().First(c => c.Namespace == Ns.Stanzas && c.Name != "text").Name,
            error.Children().FirstOrDefault(c => c.Namespace == Ns.PubSubErrors)?.Name);
    }

    private async Task<Dictionary<string, string>> ConfigurationAsync(XmppTestClient client, string node)
    {
        var result = await IqAsync(client, $"<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='{node}'/></pubsub>", "get");
        Assert.Equal("result", result.GetAttribute("type"));
        var form = result.Child("pubsub", Ns.PubSubOwner)!.Child("configure", Ns.PubSubOwner)!.Child("x", Ns.DataForms)!;
        return form.Children("field", Ns.DataForms).ToDictionary(f => f.GetAttribute("var")!, f => string.Join(",", f.Children("value", Ns.DataForms).Select(v => v.Text)));
    }

    [Fact]
    public async Task Published_items_can_be_read_back_and_retracted()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");

        var published = await PublishAsync(juliet, Nick, "<nick xmlns='http://jabber.org/protocol/nick'>Jules</nick>", id: "current");
        Assert.Equal("result", published.GetAttribute("type"));
        Assert.Equal("current", published.Child("pubsub", Ns.PubSub)!.Child("publish", Ns.PubSub)!.Child("item", Ns.PubSub)!.GetAttribute("id"));

        var item = Assert.Single(Items(await ItemsAsync(juliet, "juliet@localhost", Nick)));
        Assert.Equal("current", item.GetAttribute("id"));
        Assert.Equal("Jules", item.ChildText("nick", Nick));

        // Without an id the server makes one up and says which.
        var generated = await PublishAsync(juliet, Nick, "<nick xmlns='http://jabber.org/protocol/nick'>Juliet</nick>");
        var newId = generated.Child("pubsub", Ns.PubSub)!.Child("publish", Ns.PubSub)!.Child("item", Ns.PubSub)!.GetAttribute("id");
        Assert.False(string.IsNullOrEmpty(newId));
        Assert.Equal(newId, Assert.Single(Items(await ItemsAsync(juliet, "juliet@localhost", Nick))).GetAttribute("id"));

        var retracted = await IqAsync(juliet, $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='{Nick}' notify='true'><item id='{newId}'/></retract></pubsub>");
        Assert.Equal("result", retracted.GetAttribute("type"));
        Assert.Empty(Items(await ItemsAsync(juliet, "juliet@localhost", Nick)));

        var again = await IqAsync(juliet, $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='{Nick}'><item id='{newId}'/></retract></pubsub>");
        Assert.Equal(("item-not-found", null), ErrorOf(again));
        Assert.Equal(("item-not-found", null), ErrorOf(await ItemsAsync(juliet, "juliet@localhost", "urn:example:never-published")));
    }

    [Fact]
    public async Task The_first_publish_creates_the_node_with_the_default_configuration()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");

        await PublishAsync(juliet, Nick, "<nick xmlns='http://jabber.org/protocol/nick'>Jules</nick>");

        var config = await ConfigurationAsync(juliet, Nick);
        Assert.Equal("presence", config["pubsub#access_model"]);
        Assert.Equal("1", config["pubsub#max_items"]);
        Assert.Equal("1", config["pubsub#persist_items"]);
        Assert.Equal("http://jabber.org/protocol/pubsub#node_config", config["FORM_TYPE"]);
    }

    [Fact]
    public async Task Publish_options_configure_a_new_node_and_must_match_an_existing_one()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        var open = Field("access_model", "open") + Field("max_items", "max");

        Assert.Equal("result", (await PublishAsync(juliet, DeviceList, "<list xmlns='eu.siacs.conversations.axolotl'><device id='1'/></list>", "current", open)).GetAttribute("type"));
        var config = await ConfigurationAsync(juliet, DeviceList);
        Assert.Equal("open", config["pubsub#access_model"]);
        Assert.Equal("max", config["pubsub#max_items"]);

        // The same options again are met; different ones are not, and the item is not stored.
        Assert.Equal("result", (await PublishAsync(juliet, DeviceList, "<list xmlns='eu.siacs.conversations.axolotl'><device id='2'/></list>", "current", open)).GetAttribute("type"));
        var refused = await PublishAsync(juliet, DeviceList, "<list xmlns='eu.siacs.conversations.axolotl'><device id='3'/></list>", "current", Field("access_model", "whitelist"));
        Assert.Equal(("conflict", "precondition-not-met"), ErrorOf(refused));
        Assert.Equal("2", Assert.Single(Items(await ItemsAsync(juliet, "juliet@localhost", DeviceList))).Child("list")!.Child("device")!.GetAttribute("id"));

        // Option the server does not know: it cannot promise it either.
        var unknown = await PublishAsync(juliet, "urn:example:other", "<x xmlns='urn:example:other'/>", null, Field("no_such_option", "1"));
        Assert.Equal(("conflict", "precondition-not-met"), ErrorOf(unknown));
        var wrongFormType = await IqAsync(juliet,
            $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{Nick}'><item><nick xmlns='{Nick}'>J</nick></item></publish>" +
            $"<publish-options>{Form("urn:example:wrong", "")}</publish-options></pubsub>");
        Assert.Equal(("bad-request", "invalid-options"), ErrorOf(wrongFormType));
    }

    [Fact]
    public async Task Title_description_and_type_are_accepted_in_publish_options_and_configuration_and_shown_in_the_form()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        var described = Field("title", "My nickname") + Field("description", "What Juliet is called") + Field("type", Nick);

        Assert.Equal("result", (await PublishAsync(juliet, Nick, "<nick xmlns='http://jabber.org/protocol/nick'>Jules</nick>", "current", described)).GetAttribute("type"));
        var config = await ConfigurationAsync(juliet, Nick);
        Assert.Equal("My nickname", config["pubsub#title"]);
        Assert.Equal("What Juliet is called", config["pubsub#description"]);
        Assert.Equal(Nick, config["pubsub#type"]);

        var configured = await IqAsync(juliet, "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='" + Nick + "'>"
            + Form("http://jabber.org/protocol/pubsub#node_config", Field("description", "Changed")) + "</configure></pubsub>");
        Assert.Equal("result", configured.GetAttribute("type"));
        Assert.Equal("Changed", (await ConfigurationAsync(juliet, Nick))["pubsub#description"]);
        Assert.Equal("My nickname", (await ConfigurationAsync(juliet, Nick))["pubsub#title"]);
    }

    /// <summary>Juliet and Romeo subscribed both ways; Juliet publishes a presence node (nick), an open one (OMEMO devices) and a whitelist one (bookmarks).</summary>
    private async Task PublishOnePerAccessModelAsync(XmppTestClient juliet, XmppTestClient romeo)
    {
        await MutualAsync(juliet, "juliet@localhost", romeo, "romeo@localhost");
        await PublishAsync(juliet, Nick, "<nick xmlns='http://jabber.org/protocol/nick'>Jules</nick>", "current");
        await PublishAsync(juliet, DeviceList, "<list xmlns='eu.siacs.conversations.axolotl'><device id='7'/></list>", "current", Field("access_model", "open"));
        await PublishAsync(juliet, Bookmarks, "<conference xmlns='urn:xmpp:bookmarks:1' autojoin='true'/>", "capulets@conference.localhost",
            Field("access_model", "whitelist") + Field("max_items", "max") + Field("send_last_published_item", "never"));
    }

    [Fact]
    public async Task Presence_nodes_are_for_subscribed_contacts_open_nodes_for_anyone_whitelist_nodes_for_the_owner()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");
        await using var tybalt = await OnlineAsync("tybalt", "street");
        await PublishOnePerAccessModelAsync(juliet, romeo);

        Assert.Equal("Jules", Assert.Single(Items(await ItemsAsync(romeo, "juliet@localhost", Nick))).ChildText("nick", Nick));
        Assert.Equal(("not-authorized", "presence-subscription-required"), ErrorOf(await ItemsAsync(tybalt, "juliet@localhost", Nick)));

        Assert.Single(Items(await ItemsAsync(tybalt, "juliet@localhost", DeviceList)));

        Assert.Equal(("not-allowed", "closed-node"), ErrorOf(await ItemsAsync(romeo, "juliet@localhost", Bookmarks)));
        Assert.Single(Items(await ItemsAsync(juliet, "juliet@localhost", Bookmarks)));

        // Nobody but the owner changes a node.
        var intruder = await IqAsync(tybalt,
            $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{Nick}'><item><nick xmlns='{Nick}'>Fake</nick></item></publish></pubsub>", to: "juliet@localhost");
        Assert.Equal(("forbidden", null), ErrorOf(intruder));
        var configure = await IqAsync(romeo, $"<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='{Nick}'/></pubsub>", "get", "juliet@localhost");
        Assert.Equal(("forbidden", null), ErrorOf(configure));
    }

    [Fact]
    public async Task The_accounts_disco_items_list_the_nodes_the_requester_may_see()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");
        await using var tybalt = await OnlineAsync("tybalt", "street");
        await PublishOnePerAccessModelAsync(juliet, romeo);

        async Task<List<string>> NodesAsync(XmppTestClient client)
        {
            var result = await IqAsync(client, $"<query xmlns='{Ns.DiscoItems}'/>", "get", "juliet@localhost");
            Assert.Equal("result", result.GetAttribute("type"));
            var items = result.Child("query", Ns.DiscoItems)!.Children("item", Ns.DiscoItems).ToList();
            Assert.All(items, item => Assert.Equal("juliet@localhost", item.GetAttribute("jid")));
            return [.. items.Select(item => item.GetAttribute("node")!).Order(StringComparer.Ordinal)];
        }

        // XEP-0060 §5.2, XEP-0163: each node as an item of the account, as far as its access model lets the requester see it.
        // The bookmarks module mirrors new bookmarks into the older node too (XEP-0402 compat).
        Assert.Equal(new[] { DeviceList, Nick, Bookmarks, "storage:bookmarks" }.Order(StringComparer.Ordinal), await NodesAsync(juliet));
        Assert.Equal(new[] { DeviceList, Nick }.Order(StringComparer.Ordinal), await NodesAsync(romeo));
        Assert.Equal([DeviceList], await NodesAsync(tybalt));
    }

    [Fact]
    public async Task Bookmarks_published_without_options_stay_private_even_to_subscribed_contacts()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");
        await MutualAsync(juliet, "juliet@localhost", romeo, "romeo@localhost");

        await PublishAsync(juliet, "storage:bookmarks", "<storage xmlns='storage:bookmarks'><conference jid='secret@conference.localhost'><password>hush</password></conference></storage>", "current");
        await PublishAsync(juliet, Bookmarks, "<conference xmlns='urn:xmpp:bookmarks:1'><password>hush</password></conference>", "secret@conference.localhost");

        Assert.Equal(("not-allowed", "closed-node"), ErrorOf(await ItemsAsync(romeo, "juliet@localhost", "storage:bookmarks")));
        Assert.Equal(("not-allowed", "closed-node"), ErrorOf(await ItemsAsync(romeo, "juliet@localhost", Bookmarks)));
        Assert.Single(Items(await ItemsAsync(juliet, "juliet@localhost", "storage:bookmarks")));
    }

    [Fact]
    public async Task Events_reach_interested_contacts_and_own_resources_only()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony", Nick);
        await using var julietPhone = await OnlineAsync("juliet", "phone", Nick);
        await using var romeo = await OnlineAsync("romeo", "garden", Nick, AvatarMetadata);
        await using var nurse = await OnlineAsync("nurse", "kitchen");
        await using var tybalt = await OnlineAsync("tybalt", "street", Nick, AvatarMetadata);
        await MutualAsync(juliet, "juliet@localhost", romeo, "romeo@localhost");
        await MutualAsync(juliet, "juliet@localhost", nurse, "nurse@localhost");

        await PublishAsync(juliet, Nick, "<nick xmlns='http://jabber.org/protocol/nick'>Jules</nick>", "current");

        foreach (var receiver in new[] { romeo, julietPhone, juliet })
        {
            var message = await EventAsync(receiver, Nick);
            Assert.Equal("juliet@localhost", message.GetAttribute("from"));
            Assert.Equal(receiver.Jid, message.GetAttribute("to"));
            Assert.Equal("headline", message.GetAttribute("type"));
            Assert.Equal("Jules", EventItem(message).ChildText("nick", Nick));
        }
        // The nurse is a contact without +notify; Tybalt is interested but no contact.
        Assert.DoesNotContain(await SyncAsync(nurse), IsEvent);
        Assert.DoesNotContain(await SyncAsync(tybalt), IsEvent);

        await IqAsync(juliet, $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='{Nick}'><item id='current'/></retract></pubsub>");
        var retraction = await EventAsync(romeo, Nick);
        Assert.Equal("current", retraction.Child("event", Ns.PubSubEvent)!.Child("items", Ns.PubSubEvent)!.Child("retract", Ns.PubSubEvent)!.GetAttribute("id"));
    }

    [Fact]
    public async Task The_last_item_arrives_at_the_owners_login_and_at_a_contacts_available_presence()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony", AvatarMetadata);
        var romeo = await OnlineAsync("romeo", "garden", AvatarMetadata);
        await MutualAsync(juliet, "juliet@localhost", romeo, "romeo@localhost");
        await PublishAsync(juliet, AvatarMetadata, "<metadata xmlns='urn:xmpp:avatar:metadata'><info id='abc' bytes='12' type='image/png'/></metadata>", "abc");
        await EventAsync(romeo, AvatarMetadata);
        await romeo.DisposeAsync();

        // A new session of the owner, and a contact coming back, each get the item without asking.
        await using var julietPhone = await OnlineAsync("juliet", "phone", AvatarMetadata);
        var own = await EventAsync(julietPhone, AvatarMetadata);
        Assert.Equal("abc", EventItem(own).GetAttribute("id"));
        Assert.NotNull(own.Child("delay", Ns.Delay));

        await using var romeoAgain = await OnlineAsync("romeo", "garden", AvatarMetadata);
        var contacts = await EventAsync(romeoAgain, AvatarMetadata);
        Assert.Equal("juliet@localhost", contacts.GetAttribute("from"));
        Assert.Equal("abc", EventItem(contacts).Child("metadata", AvatarMetadata)!.Child("info")!.GetAttribute("id"));

        // A session that does not ask for the node does not get it.
        await using var romeoTablet = await OnlineAsync("romeo", "tablet", Nick);
        Assert.DoesNotContain(await SyncAsync(romeoTablet), IsEvent);
    }

    [Fact]
    public async Task A_node_keeps_only_its_newest_max_items()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        var two = Field("max_items", "2");
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal("result", (await PublishAsync(juliet, "urn:example:diary", $"<entry xmlns='urn:example:diary'>{i}</entry>", $"e{i}", two)).GetAttribute("type"));
        }

        Assert.Equal(["e2", "e3"], Items(await ItemsAsync(juliet, "juliet@localhost", "urn:example:diary")).Select(i => i.GetAttribute("id")));
        Assert.Equal(["e3"], Items(await ItemsAsync(juliet, "juliet@localhost", "urn:example:diary", " max_items='1'")).Select(i => i.GetAttribute("id")));
        Assert.Equal(["e2"], Items(await ItemsAsync(juliet, "juliet@localhost", "urn:example:diary", "", "<item id='e2'/><item id='e1'/>")).Select(i => i.GetAttribute("id")));
        Assert.Equal(("bad-request", null), ErrorOf(await ItemsAsync(juliet, "juliet@localhost", "urn:example:diary", " max_items='none'")));

        // Lowering the limit drops the older items at once.
        var configured = await IqAsync(juliet,
            $"<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:example:diary'>{Form("http://jabber.org/protocol/pubsub#node_config", Field("max_items", "1"))}</configure></pubsub>");
        Assert.Equal("result", configured.GetAttribute("type"));
        Assert.Equal(["e3"], Items(await ItemsAsync(juliet, "juliet@localhost", "urn:example:diary")).Select(i => i.GetAttribute("id")));
        var invalid = await IqAsync(juliet,
            $"<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:example:diary'>{Form("http://jabber.org/protocol/pubsub#node_config", Field("access_model", "everyone"))}</configure></pubsub>");
        Assert.Equal(("not-acceptable", null), ErrorOf(invalid));
    }

    [Fact]
    public async Task Nodes_and_items_survive_a_restart()
    {
        await using (var juliet = await OnlineAsync("juliet", "balcony"))
        {
            await PublishAsync(juliet, DeviceList, "<list xmlns='eu.siacs.conversations.axolotl'><device id='42'/></list>", "current", Field("access_model", "open"));
        }

        _node = await _node.RestartAsync();

        await using var tybalt = await XmppTestClient.LoginAsync(_node, "tybalt", "tybalt-password", "street");
        var item = Assert.Single(Items(await ItemsAsync(tybalt, "juliet@localhost", DeviceList)));
        Assert.Equal("42", item.Child("list")!.Child("device")!.GetAttribute("id"));
    }

    [Fact]
    public async Task An_item_over_the_item_limit_is_payload_too_big_and_nothing_is_stored()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        var data = new string('A', 100 * 1024);

        var refused = await PublishAsync(juliet, "urn:xmpp:avatar:data", $"<data xmlns='urn:xmpp:avatar:data'>{data}</data>", "big");

        Assert.Equal(("not-acceptable", "payload-too-big"), ErrorOf(refused));
        Assert.Contains($"at most {MaxItemBytes} bytes", refused.Child("error")!.ChildText("text", Ns.Stanzas));
        // The error does not echo the 100 KiB back.
        Assert.Null(refused.Child("pubsub", Ns.PubSub));
        Assert.Equal(("item-not-found", null), ErrorOf(await ItemsAsync(juliet, "juliet@localhost", "urn:xmpp:avatar:data")));
    }

    [Fact]
    public async Task A_ten_megabyte_publish_ends_the_stream_and_nothing_is_stored()
    {
        var juliet = await OnlineAsync("juliet", "balcony");
        var huge = $"<iq type='set' id='huge'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:data'><item id='x'><data xmlns='urn:xmpp:avatar:data'>{new string('A', 10 * 1024 * 1024)}</data></item></publish></pubsub></iq>";

        // The server stops reading at the stanza limit, so the rest of the write may fail; the stream error is what counts.
        var sending = Task.Run(async () =>
        {
            try
            {
                await juliet.SendAsync(huge);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The server closed the connection while the client was still writing.
            }
        });
        Assert.Equal("policy-violation", await juliet.ExpectStreamErrorAsync());
        await sending;
        await juliet.DisposeAsync();

        await using var again = await OnlineAsync("juliet", "phone");
        Assert.Equal(("item-not-found", null), ErrorOf(await ItemsAsync(again, "juliet@localhost", "urn:xmpp:avatar:data")));
    }

    [Fact]
    public async Task An_omemo_device_list_published_open_is_readable_and_its_bundle_too_by_someone_not_in_the_roster()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony", DeviceList);
        await using var tybalt = await OnlineAsync("tybalt", "street");
        var open = Field("access_model", "open");

        await PublishAsync(juliet, DeviceList, "<list xmlns='eu.siacs.conversations.axolotl'><device id='1234'/></list>", "current", open);
        await PublishAsync(juliet, "eu.siacs.conversations.axolotl.bundles:1234",
            "<bundle xmlns='eu.siacs.conversations.axolotl'><identityKey>BQ==</identityKey></bundle>", "current", open);
        await PublishAsync(juliet, "urn:xmpp:omemo:2:devices", "<devices xmlns='urn:xmpp:omemo:2'><device id='1234'/></devices>", "current", open);
        await PublishAsync(juliet, "urn:xmpp:omemo:2:bundles", "<bundle xmlns='urn:xmpp:omemo:2'><ik>BQ==</ik></bundle>", "1234", open + Field("max_items", "max"));

        Assert.Equal("1234", Assert.Single(Items(await ItemsAsync(tybalt, "juliet@localhost", DeviceList))).Child("list")!.Child("device")!.GetAttribute("id"));
        Assert.Equal("BQ==", Assert.Single(Items(await ItemsAsync(tybalt, "juliet@localhost", "eu.siacs.conversations.axolotl.bundles:1234"))).Child("bundle")!.ChildText("identityKey"));
        Assert.Single(Items(await ItemsAsync(tybalt, "juliet@localhost", "urn:xmpp:omemo:2:devices")));
        Assert.Equal("1234", Assert.Single(Items(await ItemsAsync(tybalt, "juliet@localhost", "urn:xmpp:omemo:2:bundles", "", "<item id='1234'/>"))).GetAttribute("id"));
        // The owner's own device got its device list as an event.
        Assert.Equal("1234", EventItem(await EventAsync(juliet, DeviceList)).Child("list")!.Child("device")!.GetAttribute("id"));
    }

    [Fact]
    public async Task Bookmarks_keep_every_conference_and_reach_only_the_owners_sessions()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony", Bookmarks);
        await using var julietPhone = await OnlineAsync("juliet", "phone", Bookmarks);
        await using var romeo = await OnlineAsync("romeo", "garden", Bookmarks);
        await MutualAsync(juliet, "juliet@localhost", romeo, "romeo@localhost");
        var options = Field("persist_items", "true") + Field("max_items", "max") + Field("send_last_published_item", "never") + Field("access_model", "whitelist");

        foreach (var room in new[] { "capulets", "montagues", "verona" })
        {
            var published = await PublishAsync(juliet, Bookmarks, $"<conference xmlns='urn:xmpp:bookmarks:1' name='{room}' autojoin='true'><nick>Jules</nick></conference>", $"{room}@conference.localhost", options);
            Assert.Equal("result", published.GetAttribute("type"));
            Assert.Equal(room, EventItem(await EventAsync(julietPhone, Bookmarks)).Child("conference")!.GetAttribute("name"));
        }

        Assert.Equal(3, Items(await ItemsAsync(juliet, "juliet@localhost", Bookmarks)).Count);
        Assert.DoesNotContain(await SyncAsync(romeo), IsEvent);
        var config = await ConfigurationAsync(juliet, Bookmarks);
        Assert.Equal("whitelist", config["pubsub#access_model"]);
        Assert.Equal("never", config["pubsub#send_last_published_item"]);
    }

    [Fact]
    public async Task Requests_without_a_node_or_payload_get_the_pubsub_errors()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");

        var noNode = await IqAsync(juliet, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish><item><x xmlns='urn:example'/></item></publish></pubsub>");
        Assert.Equal(("bad-request", "nodeid-required"), ErrorOf(noNode));
        var noPayload = await IqAsync(juliet, $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{Nick}'><item id='a'/></publish></pubsub>");
        Assert.Equal(("bad-request", "payload-required"), ErrorOf(noPayload));
        var subscribe = await IqAsync(juliet, $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{Nick}' jid='juliet@localhost'/></pubsub>", to: "juliet@localhost");
        Assert.Equal(("feature-not-implemented", "unsupported"), ErrorOf(subscribe));
    }

    [Fact]
    public async Task Deleting_a_node_removes_its_items_and_tells_the_interested_sessions()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony", Nick);
        await PublishAsync(juliet, Nick, "<nick xmlns='http://jabber.org/protocol/nick'>Jules</nick>", "current");
        await EventAsync(juliet, Nick);

        var deleted = await IqAsync(juliet, $"<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='{Nick}'/></pubsub>");

        Assert.Equal("result", deleted.GetAttribute("type"));
        var notice = await ReceiveAsync(juliet, e => e.Name == "message" && e.Child("event", Ns.PubSubEvent)?.Child("delete", Ns.PubSubEvent) is not null);
        Assert.Equal(Nick, notice.Child("event", Ns.PubSubEvent)!.Child("delete", Ns.PubSubEvent)!.GetAttribute("node"));
        Assert.Equal(("item-not-found", null), ErrorOf(await ItemsAsync(juliet, "juliet@localhost", Nick)));
        Assert.Equal(("item-not-found", null), ErrorOf(await IqAsync(juliet, $"<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='{Nick}'/></pubsub>")));
    }
}
