using Microsoft.Extensions.DependencyInjection;
using Parley.Cluster.Bus;
using Parley.Cluster.Rooms;
using Parley.Protocol;
using Parley.Server.Modules.Muc;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// Three nodes, alice homed on a, bob on b and carol on c: a chat room runs on one node and its occupants are on all
/// three; when its node stops, the persistent room runs on a live node with its configuration and history, and its
/// occupants, told by self-ping that they are out, join again.
/// </summary>
public sealed class ClusterRoomTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();
    private TestNode _a = null!;
    private TestNode _b = null!;
    private TestNode _c = null!;

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        var nodes = await _cluster.StartHomesAsync(["a", "b", "c"], ["alice", "bob", "carol"]);
        (_a, _b, _c) = (nodes[0], nodes[1], nodes[2]);
    }

    public async Task DisposeAsync()
    {
        if (_c is not null)
        {
            await _c.DisposeAsync();
        }
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task Three_users_on_three_nodes_in_one_room_see_each_others_presence_and_messages()
    {
        // The room runs on b: alice and carol reach it over the bus, bob on his own node.
        var room = RoomRunningOn(_a, "b");
        await using var alice = await Muc.OnlineAsync(_a, "alice");
        await using var bob = await Muc.OnlineAsync(_b, "bob");
        await using var carol = await Muc.OnlineAsync(_c, "carol");

        await Muc.CreateAsync(alice, room, "alice");
        var bobJoined = await JoinAsync(bob, room, "bob");
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/bob");
        var carolJoined = await JoinAsync(carol, room, "carol");
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/carol");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/carol");

        await Muc.SayAsync(alice, room, "from alice on a", "m-a");
        await Muc.SayAsync(bob, room, "from bob on b", "m-b");
        await Muc.SayAsync(carol, room, "from carol on c", "m-c");

        Assert.Equal([$"{room}/alice"], bobJoined.Others);
        Assert.Equal([$"{room}/alice", $"{room}/bob"], carolJoined.Others.Order());
        string[] all = ["from alice on a", "from bob on b", "from carol on c"];
        foreach (var client in new[] { alice, bob, carol })
        {
            Assert.Equal(all, (await GroupchatBodiesAsync(client, 3)).Order());
        }
        Assert.Equal(new[] { 0, 1, 0 }, new[] { _a, _b, _c }.Select(node => Rooms(node).LoadedRooms));

        // A private message from c to a, through the room on b; then carol leaves and both others see it.
        await carol.SendAsync($"<message to='{room}/alice' type='chat' id='pm'><body>just between us</body></message>");
        var pm = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "pm");
        Assert.Equal(($"{room}/carol", "just between us"), (pm.GetAttribute("from"), pm.ChildText("body")));
        await carol.SendAsync($"<presence to='{room}/carol' type='unavailable'/>");
        foreach (var client in new[] { alice, bob })
        {
            await client.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/carol" && e.GetAttribute("type") == "unavailable");
        }
    }

    [Fact]
    public async Task A_persistent_room_whose_node_stops_runs_on_a_live_node_with_its_configuration_and_history_and_occupants_join_again()
    {
        var room = RoomRunningOn(_a, "c");
        var created = await _cluster.ParleyAsync("room", "create", room, "--owner", "alice@localhost", "--name", "Team room");
        Assert.True(created.ExitCode == 0, created.Error);
        await using var alice = await Muc.OnlineAsync(_a, "alice");
        await using var bob = await Muc.OnlineAsync(_b, "bob");
        await JoinAsync(alice, room, "alice");
        await JoinAsync(bob, room, "bob");
        await alice.SendAsync($"<message to='{room}' type='groupchat' id='s1'><subject>Plans</subject></message>");
        await bob.ReceiveAsync(e => e.Name == "message" && e.ChildText("subject") == "Plans");
        await Muc.SayAsync(alice, room, "before the stop", "m1");
        await bob.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == "before the stop");

        var stopping = _c;
        _c = null!;
        await stopping.DisposeAsync();
        await Eventually.TrueAsync(() => ClusterNodes.View(_a).Node("c") is { Up: false } && ClusterNodes.View(_b).Node("c") is { Up: false });

        // XEP-0410: the room's new node does not know alice as an occupant, and says so; her client joins again.
        var ping = await Muc.IqAsync(alice, $"{room}/alice", $"<ping xmlns='{Ns.Ping}'/>", "get");
        Assert.Equal("not-acceptable", Muc.Condition(ping));
        var again = await JoinAsync(alice, room, "alice", "<history maxstanzas='10'/>");
        await JoinAsync(bob, room, "bob");
        var info = await Muc.IqAsync(alice, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get");
        await Muc.SayAsync(bob, room, "after the stop", "m2");

        Assert.Equal(["before the stop"], again.History);
        Assert.Equal("Plans", again.Subject);
        Assert.Equal("Team room", info.Child("query", Ns.DiscoInfo)!.Child("identity", Ns.DiscoInfo)!.GetAttribute("name"));
        Assert.Equal("after the stop", (await Muc.GroupchatAsync(alice, "after the stop")).ChildText("body"));
        Assert.Equal(["before the stop", "after the stop"], (await Muc.MamAsync(bob, room)).results.Select(message => message.ChildText("body")));
        var host = RoomPlacement.HostOf(room, ClusterNodes.View(_a).Nodes)!.Name;
        Assert.Equal(1, Rooms(host == "a" ? _a : _b).LoadedRooms);

        // c comes back and the room goes home to it: its occupants hear they are out (332) and join there.
        _c = await _cluster.StartNodeAsync("c");
        var handedOff = await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/alice" && e.GetAttribute("type") == "unavailable");
        Assert.Equal([110, 332], Muc.Codes(handedOff));
        await Eventually.TrueAsync(() => ClusterNodes.View(_a).Node("c") is { Up: true } && ClusterNodes.View(_b).Node("c") is { Up: true });
        var home = await JoinAsync(alice, room, "alice", "<history maxstanzas='10'/>");
        Assert.Equal(["before the stop", "after the stop"], home.History);
        Assert.Equal(1, Rooms(_c).LoadedRooms);
        Assert.Equal(0, Rooms(_a).LoadedRooms + Rooms(_b).LoadedRooms);
    }

    [Fact]
    public async Task While_the_bus_is_down_a_message_to_a_room_on_another_node_waits_and_arrives_once_it_is_back_and_the_room_keeps_its_occupants()
    {
        var room = RoomRunningOn(_a, "b");
        await using var alice = await Muc.OnlineAsync(_a, "alice");
        await using var bob = await Muc.OnlineAsync(_b, "bob");
        await Muc.CreateAsync(alice, room, "alice");
        await JoinAsync(bob, room, "bob");
        var bus = _a.App.Web.Services.GetRequiredService<ClusterBus>();

        await _cluster.Nats.StopAsync();
        await Eventually.TrueAsync(() => !bus.Connected);
        await Muc.SayAsync(alice, room, "anyone?", "held");
        await Eventually.TrueAsync(() => bus.Held == 1);
        await _cluster.Nats.StartAgainAsync();

        // Held on alice's node while the bus was down, it reaches the room and both occupants once it is back.
        Assert.Equal("anyone?", (await Muc.GroupchatAsync(bob, "anyone?")).ChildText("body"));
        Assert.Equal(["anyone?"], (await GroupchatBodiesAsync(alice, 1)));
        Assert.Equal("result", (await Muc.IqAsync(alice, $"{room}/alice", $"<ping xmlns='{Ns.Ping}'/>", "get")).GetAttribute("type"));
        await Muc.SayAsync(alice, room, "back again", "again");
        Assert.Equal("back again", (await Muc.GroupchatAsync(bob, "back again")).ChildText("body"));
    }

    private sealed record Joined(List<string> Others, List<string> History, string Subject);

    /// <summary>Joins, collecting the other occupants' presence, the history and the subject that ends the join.</summary>
    private static async Task<Joined> JoinAsync(XmppTestClient client, string room, string nick, string mucChildren = "")
    {
        await client.SendAsync($"<presence to='{room}/{nick}'><x xmlns='{Ns.Muc}'>{mucChildren}</x></presence>");
        var joined = new Joined([], [], "");
        while (true)
        {
            var stanza = await client.ReceiveAsync(e => e.Name is "presence" or "message" && Jid.TryParse(e.GetAttribute("from"), out var from) && from.Bare.ToString() == room);
            Assert.True(stanza.GetAttribute("type") != "error", $"join refused: {stanza}");
            if (stanza.Name == "presence")
            {
                if (!Muc.Codes(stanza).Contains(110))
                {
                    joined.Others.Add(stanza.GetAttribute("from")!);
                }
            }
            else if (stanza.Child("subject") is { } subject && stanza.Child("body") is null)
            {
                return joined with { Subject = subject.Text };
            }
            else if (stanza.ChildText("body") is { } body)
            {
                joined.History.Add(body);
            }
        }
    }

    private static async Task<List<string>> GroupchatBodiesAsync(XmppTestClient client, int count)
    {
        var bodies = new List<string>();
        while (bodies.Count < count)
        {
            bodies.Add((await client.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "groupchat" && e.Child("body") is not null)).ChildText("body")!);
        }
        return bodies;
    }

    /// <summary>A room name that the nodes, as <paramref name="seenBy"/> sees them up now, place on <paramref name="node"/>.</summary>
    internal static string RoomRunningOn(TestNode seenBy, string node)
    {
        for (var i = 0; ; i++)
        {
            var room = Muc.Room("team" + i);
            if (RoomPlacement.HostOf(room, ClusterNodes.View(seenBy).Nodes)!.Name == node)
            {
                return room;
            }
        }
    }

    private static MucService Rooms(TestNode node) => node.App.Web.Services.GetRequiredService<MucService>();
}
