using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using Parley.Cluster.Bus;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Modules.Disco;
using Parley.Storage;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// Two nodes on one database and one NATS bus, alice homed on node a and bob on node b: what one user sends reaches
/// the other across the bus with the semantics of a single node.
/// </summary>
public sealed class TwoNodeClusterTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();
    private TestNode _a = null!;
    private TestNode _b = null!;

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        _a = await _cluster.StartNodeAsync("a");
        _b = await _cluster.StartNodeAsync("b");
        foreach (var user in new[] { "alice", "bob" })
        {
            await _a.CreateUserAsync(user, user + "-password");
        }
        await _cluster.AssignAsync([_a, _b], ("alice@localhost", "a"), ("bob@localhost", "b"));
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    /// <summary>Signed in (STARTTLS, SASL) and not yet bound.</summary>
    private static async Task<XmppTestClient> AuthenticatedAsync(TestNode node, string user)
    {
        var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        await client.OpenStreamAsync();
        await client.StartTlsAsync();
        await client.AuthenticateAsync(user, user + "-password");
        return client;
    }

    private static async Task<XmppTestClient> OnlineAsync(TestNode node, string user, string resource)
    {
        var client = await XmppTestClient.LoginAsync(node, user, user + "-password", resource);
        await client.AnnounceAsync();
        return client;
    }

    [Fact]
    public async Task Alice_on_one_node_and_bob_on_the_other_chat_both_ways()
    {
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await using var bob = await OnlineAsync(_b, "bob", "phone");

        await alice.SendAsync("<message to='bob@localhost' type='chat' id='c1'><body>hello across nodes</body></message>");
        var atBob = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "c1");
        await bob.SendAsync("<message to='alice@localhost/desk' type='chat' id='c2'><body>hello back</body></message>");
        var atAlice = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "c2");

        Assert.Equal("hello across nodes", atBob.ChildText("body"));
        Assert.Equal("alice@localhost/desk", atBob.GetAttribute("from"));
        Assert.Equal("hello back", atAlice.ChildText("body"));
        Assert.Equal("bob@localhost/phone", atAlice.GetAttribute("from"));
        Assert.Single(_a.App.Node.Sessions.All);
        Assert.Single(_b.App.Node.Sessions.All);
    }

    [Fact]
    public async Task A_message_on_a_nodes_subject_that_is_not_a_stanza_is_dropped_and_the_node_keeps_routing()
    {
        await using (var stranger = new NatsConnection(NatsOpts.Default with { Url = _cluster.Nats.Url }))
        {
            await stranger.ConnectAsync();
            var headers = new NatsHeaders { ["Parley-From"] = "mallory@localhost", ["Parley-To"] = "bob@localhost" };
            await stranger.RequestAsync<byte[], byte[]>("parley.node.b", "<message to='bob@localhost'><body>cut"u8.ToArray(), headers);
            await stranger.RequestAsync<byte[], byte[]>("parley.node.b", "<message/>"u8.ToArray());
            // A batch of two stanzas with one recipient: which is whose cannot be told.
            var batch = new NatsHeaders { ["Parley-From"] = "mallory@localhost", ["Parley-To"] = "bob@localhost", ["Parley-Batch"] = "1" };
            await stranger.RequestAsync<byte[], byte[]>("parley.node.b", "<batch xmlns='jabber:client'><message><body>one</body></message><message/></batch>"u8.ToArray(), batch);
        }
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await using var bob = await OnlineAsync(_b, "bob", "phone");

        await alice.SendAsync("<message to='bob@localhost' type='chat' id='after'><body>still there?</body></message>");

        Assert.Equal("still there?", (await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "after")).ChildText("body"));
        Assert.Equal(3, _b.Logs.Lines.Count(line => line.Contains("A message on parley.node.b is not a stanza with its routing headers; dropped", StringComparison.Ordinal)));
        Assert.DoesNotContain(_b.Logs.Lines, line => line.Contains("mallory", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Presence_to_contacts_on_the_other_node_crosses_the_bus_once_for_all_of_them()
    {
        string[] contacts = ["bob", "carol", "dave"];
        foreach (var user in contacts[1..])
        {
            await _a.CreateUserAsync(user, user + "-password");
            await _cluster.AssignAsync([_a, _b], ($"{user}@localhost", "b"));
        }
        foreach (var contact in contacts)
        {
            await _a.App.Node.Storage.Rosters.SetItemAsync("alice@localhost", new($"{contact}@localhost", null, Subscription.Both, false, false, []));
            await _a.App.Node.Storage.Rosters.SetItemAsync($"{contact}@localhost", new("alice@localhost", null, Subscription.Both, false, false, []));
        }
        var online = new List<XmppTestClient>();
        try
        {
            foreach (var contact in contacts)
            {
                online.Add(await OnlineAsync(_b, contact, "phone"));
            }
            // Alice's probes go to node b together and each contact's node answers for it.
            await using var alice = await OnlineAsync(_a, "alice", "desk");
            // Presence from different contacts may come in any order (RFC 6121 orders only what one sender sends).
            var seen = new HashSet<string>();
            while (seen.Count < contacts.Length)
            {
                var presence = await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from")!.EndsWith("@localhost/phone", StringComparison.Ordinal));
                seen.Add(presence.GetAttribute("from")!);
            }
            foreach (var client in online)
            {
                await client.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
            }

            var sent = Bus(_a).Sent;
            await alice.SendAsync("<presence><show>away</show></presence>");

            // A contact may have had her available presence twice (her broadcast and the answer to its own probe
            // crossing), which RFC 6121 allows; the change is what counts.
            foreach (var (client, contact) in online.Zip(contacts))
            {
                var away = await client.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk" && e.ChildText("show") is not null);
                Assert.Equal("away", away.ChildText("show"));
                Assert.Equal($"{contact}@localhost", away.GetAttribute("to"));
            }
            Assert.Equal(1, Bus(_a).Sent - sent);
        }
        finally
        {
            foreach (var client in online)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static ClusterBus Bus(TestNode node) => node.App.Web.Services.GetRequiredService<ClusterBus>();

    [Fact]
    public async Task Subscriptions_both_ways_then_presence_crosses_and_a_probe_is_answered_by_the_other_node()
    {
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await using (var bob = await OnlineAsync(_b, "bob", "phone"))
        {
            // Each approval brings the approver's presence across the bus (RFC 6121 §3.1.5).
            await alice.SendAsync("<presence to='bob@localhost' type='subscribe'/>");
            await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribe" && e.GetAttribute("from") == "alice@localhost");
            await bob.SendAsync("<presence to='alice@localhost' type='subscribed'/>");
            await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "bob@localhost/phone" && e.GetAttribute("type") is null);
            await bob.SendAsync("<presence to='alice@localhost' type='subscribe'/>");
            await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "subscribe" && e.GetAttribute("from") == "bob@localhost");
            await alice.SendAsync("<presence to='bob@localhost' type='subscribed'/>");
            await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk" && e.GetAttribute("type") is null);

            // A change of presence is broadcast to the contact on the other node.
            await alice.SendAsync("<presence><show>away</show></presence>");
            var away = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk" && e.ChildText("show") == "away");
            Assert.Null(away.GetAttribute("type"));
        }

        // bob's next session probes alice on node a; node a answers with her current presence.
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "bob@localhost/phone" && e.GetAttribute("type") == "unavailable");
        await using var tablet = await XmppTestClient.LoginAsync(_b, "bob", "bob-password", "tablet");
        await tablet.SendAsync("<presence/>");
        var probed = await tablet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
        Assert.Equal("away", probed.ChildText("show"));
        var roster = await _b.App.Node.Storage.Rosters.GetAsync("bob@localhost");
        Assert.Equal(Subscription.Both, Assert.Single(roster.Items).Subscription);
    }

    [Fact]
    public async Task A_pep_item_alice_publishes_on_her_node_reaches_bob_on_his_whose_caps_ask_for_it()
    {
        const string Nick = "http://jabber.org/protocol/nick";
        var rosters = _a.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("alice@localhost", new RosterItem("bob@localhost", null, Subscription.Both, false, false, []));
        await rosters.SetItemAsync("bob@localhost", new RosterItem("alice@localhost", null, Subscription.Both, false, false, []));
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await using var bob = await XmppTestClient.LoginAsync(_b, "bob", "bob-password", "phone");
        string[] features = [Ns.DiscoInfo, Ns.Caps, Nick + "+notify"];
        var ver = EntityCapabilities.Ver("client", "pc", "Parley Test", features);
        await bob.SendAsync($"<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://parley.test/client' ver='{ver}'/></presence>");
        var query = await bob.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "get" && e.Child("query", Ns.DiscoInfo) is not null);
        await bob.SendAsync(
            $"<iq type='result' id='{query.GetAttribute("id")}' to='{query.GetAttribute("from")}'><query xmlns='{Ns.DiscoInfo}' node='https://parley.test/client#{ver}'>" +
            $"<identity category='client' type='pc' name='Parley Test'/>{string.Concat(features.Select(f => $"<feature var='{f}'/>"))}</query></iq>");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");

        await alice.SendAsync($"<iq type='set' id='pub1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{Nick}'><item id='current'><nick xmlns='{Nick}'>Ali</nick></item></publish></pubsub></iq>");
        await alice.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "pub1");
        var message = await bob.ReceiveAsync(e => e.Name == "message" && e.Child("event", Ns.PubSubEvent) is not null);

        Assert.Equal("alice@localhost", message.GetAttribute("from"));
        Assert.Equal("headline", message.GetAttribute("type"));
        var item = message.Child("event", Ns.PubSubEvent)!.Child("items", Ns.PubSubEvent)!.Child("item", Ns.PubSubEvent)!;
        Assert.Equal("Ali", item.ChildText("nick", Nick));
    }

    [Fact]
    public async Task An_iq_to_a_full_jid_on_the_other_node_is_answered_and_a_vcard_is_read_from_the_users_node()
    {
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await using var bob = await OnlineAsync(_b, "bob", "phone");

        await bob.SendAsync("<iq to='alice@localhost/desk' type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>");
        var ping = await alice.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "ping1");
        Assert.Equal("bob@localhost/phone", ping.GetAttribute("from"));
        await alice.SendAsync("<iq to='bob@localhost/phone' type='result' id='ping1'/>");
        var pong = await bob.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "ping1");
        Assert.Equal("result", pong.GetAttribute("type"));
        Assert.Equal("alice@localhost/desk", pong.GetAttribute("from"));

        await alice.SendAsync("<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Alice Liddell</FN></vCard></iq>");
        await alice.ReceiveAsync(e => e.GetAttribute("id") == "v1");
        await bob.SendAsync("<iq to='alice@localhost' type='get' id='v2'><vCard xmlns='vcard-temp'/></iq>");
        var card = await bob.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "v2");
        Assert.Equal("result", card.GetAttribute("type"));
        Assert.Equal("Alice Liddell", card.Child("vCard", "vcard-temp")?.ChildText("FN", "vcard-temp"));
    }

    [Fact]
    public async Task A_message_to_bob_while_he_is_offline_everywhere_is_stored_and_delivered_when_he_comes_on_his_node()
    {
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='o1'><body>while you were out</body></message>");
        var deadline = DateTime.UtcNow + XmppTestClient.Deadline;
        while (await _b.App.Node.Storage.Offline.CountAsync("bob@localhost") != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the message was not stored for bob");
            await Task.Delay(20);
        }

        await using var bob = await XmppTestClient.LoginAsync(_b, "bob", "bob-password", "phone");
        await bob.SendAsync("<presence/>");
        var stored = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "o1");

        Assert.Equal("while you were out", stored.ChildText("body"));
        Assert.NotNull(stored.Child("delay", "urn:xmpp:delay"));
    }

    [Fact]
    public async Task A_message_whose_routing_waits_on_the_receiving_node_does_not_hold_up_what_others_send_to_that_node()
    {
        // Dave's message to carol (offline, served by b) waits on b for carol's offline-storage lock, held here as a
        // long store of hers would hold it. Alice's message to bob, sent after it, must not wait behind it: the
        // receiving node routes one sender's stanzas in order, not everyone's one at a time.
        var dave = new[] { "dave", "erin", "frank", "grace" }
            .First(name => ClusterBus.LaneOf(Jid.Parse($"{name}@localhost")) != ClusterBus.LaneOf(Jid.Parse("alice@localhost")));
        foreach (var user in new[] { dave, "carol" })
        {
            await _a.CreateUserAsync(user, user + "-password");
        }
        await _cluster.AssignAsync([_a, _b], ($"{dave}@localhost", "a"), ("carol@localhost", "b"));
        await using var bob = await OnlineAsync(_b, "bob", "phone");
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await using var sender = await OnlineAsync(_a, dave, "desk");

        await using var database = Npgsql.NpgsqlDataSource.Create(_cluster.Database);
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var lockCarol = new Npgsql.NpgsqlCommand("SELECT pg_advisory_xact_lock(1, hashtext('carol@localhost'))", connection, transaction))
        {
            await lockCarol.ExecuteNonQueryAsync();
        }
        await sender.SendAsync("<message to='carol@localhost' type='chat' id='held'><body>for later</body></message>");
        await ClusterNodes.UntilAsync(async () =>
        {
            await using var waiting = database.CreateCommand("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
            return (long)(await waiting.ExecuteScalarAsync())! == 1;
        }, "the message to carol waits for her offline-storage lock");

        await alice.SendAsync("<message to='bob@localhost' type='chat' id='meanwhile'><body>not stuck</body></message>");
        var atBob = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "meanwhile");
        Assert.Equal("not stuck", atBob.ChildText("body"));

        await transaction.RollbackAsync();
        await ClusterNodes.UntilAsync(async () => await _b.App.Node.Storage.Offline.CountAsync("carol@localhost") == 1,
            "the message to carol is stored once her lock is free");
    }

    [Fact]
    public async Task Directed_presence_to_a_user_on_the_other_node_arrives_and_its_unavailable_follows_when_the_sender_leaves()
    {
        await using var bob = await OnlineAsync(_b, "bob", "phone");
        await using (var alice = await OnlineAsync(_a, "alice", "desk"))
        {
            // Not contacts: only the directed presence tells bob about alice.
            await alice.SendAsync("<presence to='bob@localhost/phone'><status>about the meeting</status></presence>");
            var directed = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
            Assert.Null(directed.GetAttribute("type"));
            Assert.Equal("about the meeting", directed.ChildText("status"));
        }
        // RFC 6121 §4.6.3: a resource that sent directed presence and goes gets its unavailable sent there too.
        var gone = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
        Assert.Equal("unavailable", gone.GetAttribute("type"));
    }

    [Fact]
    public async Task A_user_who_blocked_someone_on_the_other_node_gets_nothing_from_them_and_the_sender_is_told_as_if_offline()
    {
        await using var bob = await OnlineAsync(_b, "bob", "phone");
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await bob.SendAsync("<iq type='set' id='block'><block xmlns='urn:xmpp:blocking'><item jid='alice@localhost'/></block></iq>");
        Assert.Equal("result", (await bob.ReceiveAsync(e => e.GetAttribute("id") == "block")).GetAttribute("type"));

        await alice.SendAsync("<message to='bob@localhost' type='chat' id='blocked'><body>hear me</body></message>");
        var bounced = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "blocked");
        Assert.NotNull(bounced.Child("error")!.Child("service-unavailable", Ns.Stanzas));

        // Bob still gets what others send, and nothing of alice's came before it.
        await bob.SendAsync("<iq type='set' id='unblock'><unblock xmlns='urn:xmpp:blocking'/></iq>");
        Assert.Equal("result", (await bob.ReceiveAsync(e => e.GetAttribute("id") == "unblock")).GetAttribute("type"));
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='after'><body>now?</body></message>");
        var first = await bob.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("after", first.GetAttribute("id"));
    }

    [Fact]
    public async Task A_user_who_blocked_a_contact_on_the_other_node_is_offline_to_him_and_her_presence_changes_do_not_reach_him()
    {
        var rosters = _a.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("alice@localhost", new RosterItem("bob@localhost", null, Subscription.Both, false, false, []));
        await rosters.SetItemAsync("bob@localhost", new RosterItem("alice@localhost", null, Subscription.Both, false, false, []));
        await using var bob = await OnlineAsync(_b, "bob", "phone");
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk" && e.GetAttribute("type") is null);

        await alice.SendAsync("<iq type='set' id='block'><block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></block></iq>");
        Assert.Equal("result", (await alice.ReceiveAsync(e => e.GetAttribute("id") == "block")).GetAttribute("type"));
        // XEP-0191 §3.3: bob sees her go offline, and nothing of her presence after that.
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk" && e.GetAttribute("type") == "unavailable");
        await alice.SendAsync("<presence><show>dnd</show><status>blocked him</status></presence>");
        await alice.SendAsync("<presence><show>away</show><status>still blocked</status></presence>");

        // Unblocking brings her presence back; it is the first presence of hers he gets since the block.
        await alice.SendAsync("<iq type='set' id='unblock'><unblock xmlns='urn:xmpp:blocking'/></iq>");
        Assert.Equal("result", (await alice.ReceiveAsync(e => e.GetAttribute("id") == "unblock")).GetAttribute("type"));
        var next = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/desk");
        Assert.Equal("still blocked", next.ChildText("status"));
    }

    [Fact]
    public async Task A_chat_between_nodes_is_in_both_users_archives_with_one_stanza_id_each()
    {
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        await using var bob = await OnlineAsync(_b, "bob", "phone");
        await alice.SendAsync("<message to='bob@localhost' type='chat' id='kept'><body>for the record</body></message>");
        await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "kept");

        foreach (var (client, other) in new[] { (alice, "bob@localhost"), (bob, "alice@localhost") })
        {
            await client.SendAsync("<iq type='set' id='mam'><query xmlns='urn:xmpp:mam:2' queryid='q'/></iq>");
            var found = await client.ReceiveAsync(e => e.Name == "message" && e.Child("result", "urn:xmpp:mam:2") is not null);
            var forwarded = found.Child("result", "urn:xmpp:mam:2")!.Child("forwarded", "urn:xmpp:forward:0")!.Child("message", Ns.Client)!;
            Assert.Equal("for the record", forwarded.ChildText("body"));
            Assert.StartsWith(other == "bob@localhost" ? "bob@localhost" : "alice@localhost/desk", forwarded.GetAttribute(other == "bob@localhost" ? "to" : "from"));
            var fin = await client.ReceiveAsync(e => e.GetAttribute("id") == "mam");
            Assert.Equal("true", fin.Child("fin", "urn:xmpp:mam:2")!.GetAttribute("complete"));
        }
    }

    [Fact]
    public async Task A_client_signing_in_on_the_node_that_does_not_serve_it_is_sent_to_its_home_with_see_other_host()
    {
        await using var bob = await AuthenticatedAsync(_a, "bob");
        await bob.SendAsync("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");

        Assert.Equal("see-other-host", await bob.ExpectStreamErrorAsync());
        Assert.Contains(_a.Logs.Lines, line => line.Contains($"bob@localhost is served by another node; sent to 127.0.0.1:{_b.C2sPort}", StringComparison.Ordinal));
        Assert.Empty(_a.App.Node.Sessions.All);
    }

    [Fact]
    public async Task A_client_resuming_on_the_node_that_does_not_serve_it_is_sent_to_its_node_and_resumes_there_with_what_it_missed()
    {
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        var phone = await XmppTestClient.LoginAsync(_b, "bob", "bob-password", "phone");
        await phone.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        var id = (await phone.ReceiveAsync(e => e.Name == "enabled")).GetAttribute("id");
        await phone.AnnounceAsync();
        await phone.DisposeAsync();
        await Eventually.TrueAsync(() => _b.App.Node.Resumable.Find(id!) is not null);
        await alice.SendAsync("<message to='bob@localhost/phone' type='chat' id='m1'><body>while you were away</body></message>");

        await using var wrong = await AuthenticatedAsync(_a, "bob");
        await wrong.SendAsync($"<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>");
        Assert.Equal("see-other-host", await wrong.ExpectStreamErrorAsync());
        Assert.Contains(_a.Logs.Lines, line => line.Contains($"bob@localhost asked to resume a stream of the node that serves it; sent to 127.0.0.1:{_b.C2sPort}", StringComparison.Ordinal));

        await using var resumed = await AuthenticatedAsync(_b, "bob");
        await resumed.SendAsync($"<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>");
        await resumed.ReceiveAsync(e => e.Name == "resumed");
        var missed = await resumed.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "m1");
        Assert.Equal("while you were away", missed.ChildText("body"));
    }

    [Fact]
    public async Task A_stream_that_no_node_holds_is_refused_with_item_not_found_where_the_account_is_served()
    {
        await using var bob = await AuthenticatedAsync(_b, "bob");
        await bob.SendAsync("<resume xmlns='urn:xmpp:sm:3' previd='no-such-stream' h='0'/>");

        var failed = await bob.ReceiveAsync(e => e.Name == "failed");
        Assert.NotNull(failed.Child("item-not-found", Ns.Stanzas));
    }

    /// <summary>Signs bob in on node a, which does not serve him; returns how long the see-other-host answer took after the bind.</summary>
    private async Task<TimeSpan> BobSignsInOnTheWrongNodeAsync()
    {
        await using var bob = await AuthenticatedAsync(_a, "bob");
        var clock = Stopwatch.StartNew();
        await bob.SendAsync("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
        Assert.Equal("see-other-host", await bob.ExpectStreamErrorAsync());
        return clock.Elapsed;
    }

    [Fact]
    public async Task A_client_that_keeps_coming_back_to_the_wrong_node_is_answered_later_each_time_and_others_are_not_slowed()
    {
        var answers = new List<TimeSpan>();
        for (var attempt = 1; attempt <= 7; attempt++)
        {
            answers.Add(await BobSignsInOnTheWrongNodeAsync());
        }

        // The first few go at once; after them each waits at least twice as long as the one before.
        for (var attempt = SendAwayPacing.FreeSendAways + 1; attempt <= 7; attempt++)
        {
            // Less the timer's granularity: a delay may end a few milliseconds before the stopwatch says.
            var expected = SendAwayPacing.FirstDelay * (1 << (attempt - SendAwayPacing.FreeSendAways - 1)) - TimeSpan.FromMilliseconds(50);
            Assert.True(answers[attempt - 1] >= expected, $"attempt {attempt} answered after {answers[attempt - 1]}, expected at least {expected}");
        }
        Assert.Contains(_a.Logs.Lines, line => line.Contains("bob@localhost was sent to its node more than 3 times within a minute and keeps coming back; it is answered after 2000 ms", StringComparison.Ordinal));

        // While his next answer waits (4 s), alice signs in on the same node and is answered at once.
        var eighth = BobSignsInOnTheWrongNodeAsync();
        await using var alice = await OnlineAsync(_a, "alice", "desk");
        Assert.False(eighth.IsCompleted, "alice's sign-in must not wait behind bob's loop");
        Assert.True(await eighth >= TimeSpan.FromSeconds(3.9));
    }
}
