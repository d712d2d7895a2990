using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;
using static Parley.Server.Tests.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>XEP-0421: every presence and message a room sends for an occupant carries the room's id for that user.</summary>
public sealed class MucOccupantIdTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    /// <summary>The one occupant-id of a stanza (the XEP allows no more than one).</summary>
    private static string OccupantId(Element stanza) => Assert.Single(stanza.Children("occupant-id", Ns.OccupantId)).GetAttribute("id")!;

    private static Task<Element> PresenceFromAsync(XmppTestClient client, string occupantJid, Func<Element, bool>? also = null) =>
        client.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == occupantJid && (also is null || also(e)));

    [Fact]
    public async Task One_user_has_one_id_on_every_device_after_a_nick_change_and_a_rejoin_and_another_user_another()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bobHome = await OnlineAsync(_node, "bob", "home");
        await using var bobPhone = await OnlineAsync(_node, "bob", "phone");
        var room = Room("ids");
        var aliceSelf = await JoinAsync(alice, room, "Alice");
        await ConfigureAsync(alice, room);

        var bobSelf = await JoinAsync(bobHome, room, "Bob");
        var bobId = OccupantId(bobSelf);
        Assert.Equal(bobId, OccupantId(await PresenceFromAsync(alice, room + "/Bob")));
        Assert.NotEqual(OccupantId(aliceSelf), bobId);
        // Pseudonymous: nothing of the JID shows.
        Assert.DoesNotContain("bob", bobId, StringComparison.OrdinalIgnoreCase);

        Assert.Equal(bobId, OccupantId(await JoinAsync(bobPhone, room, "Bob")));

        await SayAsync(bobPhone, room, "from the phone");
        Assert.Equal(bobId, OccupantId(await GroupchatAsync(alice, "from the phone")));

        await bobHome.SendAsync($"<presence to='{room}/Robert'/>");
        Assert.Equal(bobId, OccupantId(await PresenceFromAsync(alice, room + "/Robert")));

        await bobHome.SendAsync($"<presence to='{room}/Robert' type='unavailable'/>");
        await bobPhone.SendAsync($"<presence to='{room}/Robert' type='unavailable'/>");
        var left = await PresenceFromAsync(alice, room + "/Robert", e => e.GetAttribute("type") == "unavailable");
        Assert.Equal(bobId, OccupantId(left));
        Assert.Equal(bobId, OccupantId(await JoinAsync(bobHome, room, "Bobby")));
    }

    [Fact]
    public async Task Ids_differ_between_rooms_and_survive_a_restart_in_presence_history_and_the_archive()
    {
        var team = Room("team");
        var other = Room("other");
        string bobInTeam;
        await using (var alice = await OnlineAsync(_node, "alice"))
        await using (var bob = await OnlineAsync(_node, "bob"))
        {
            await CreateAsync(alice, team, "Alice", ("muc#roomconfig_persistentroom", "1"));
            await CreateAsync(alice, other, "Alice", ("muc#roomconfig_persistentroom", "1"));
            bobInTeam = OccupantId(await JoinAsync(bob, team, "Bob"));
            Assert.NotEqual(bobInTeam, OccupantId(await JoinAsync(bob, other, "Bob")));
            await SayAsync(bob, team, "before the restart");
            Assert.Equal(bobInTeam, OccupantId(await GroupchatAsync(alice, "before the restart")));
        }

        _node = await _node.RestartAsync();

        await using var bobAgain = await OnlineAsync(_node, "bob");
        await bobAgain.SendAsync($"<presence to='{team}/Bob'><x xmlns='{Ns.Muc}'/></presence>");
        Assert.Equal(bobInTeam, OccupantId(await bobAgain.ReceiveAsync(e => e.Name == "presence" && Codes(e).Contains(110))));
        var history = await GroupchatAsync(bobAgain, "before the restart");
        Assert.NotNull(history.Child("delay", Ns.Delay));
        Assert.Equal(bobInTeam, OccupantId(history));

        // The archive's results come before the IQ's answer.
        await bobAgain.SendAsync($"<iq type='set' id='mam1' to='{team}'><query xmlns='{Ns.Mam}'/></iq>");
        var forwarded = (await bobAgain.ReceiveAsync(e => e.Name == "message" && e.Child("result", Ns.Mam) is not null))
            .Child("result", Ns.Mam)!.Child("forwarded", Ns.Forward)!.Child("message")!;
        Assert.Equal("before the restart", forwarded.ChildText("body"));
        Assert.Equal(bobInTeam, OccupantId(forwarded));
        Assert.Equal("result", (await bobAgain.ReceiveAsync(e => e.GetAttribute("id") == "mam1")).GetAttribute("type"));
    }

    [Fact]
    public async Task An_occupant_id_a_client_puts_in_its_presence_or_messages_is_replaced_by_the_rooms()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("forgery");
        var aliceId = OccupantId(await JoinAsync(alice, room, "Alice"));
        await ConfigureAsync(alice, room);
        var forged = $"<occupant-id xmlns='{Ns.OccupantId}' id='{aliceId}'/>";

        await bob.SendAsync($"<presence to='{room}/Bob'><x xmlns='{Ns.Muc}'/>{forged}</presence>");
        var bobId = OccupantId(await PresenceFromAsync(alice, room + "/Bob"));
        Assert.NotEqual(aliceId, bobId);
        await bob.ReceiveAsync(e => e.Name == "message" && e.Child("subject") is not null);

        await bob.SendAsync($"<message to='{room}' type='groupchat'><body>I am Alice</body>{forged}</message>");
        Assert.Equal(bobId, OccupantId(await GroupchatAsync(alice, "I am Alice")));

        await bob.SendAsync($"<message to='{room}/Alice' type='chat'><body>psst, Alice here</body>{forged}</message>");
        var whisper = await alice.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == "psst, Alice here");
        Assert.Equal(room + "/Bob", whisper.GetAttribute("from"));
        Assert.Equal(bobId, OccupantId(whisper));

        await bob.SendAsync($"<presence to='{room}/Bob'><show>away</show>{forged}</presence>");
        Assert.Equal(bobId, OccupantId(await PresenceFromAsync(alice, room + "/Bob", e => e.ChildText("show") == "away")));
    }

    [Fact]
    public async Task Rooms_and_the_service_advertise_occupant_ids_and_rooms_message_moderation()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        var room = Room("features");
        await CreateAsync(alice, room, "Alice");

        var roomInfo = (await IqAsync(alice, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        var roomFeatures = roomInfo.Children("feature", Ns.DiscoInfo).Select(f => f.GetAttribute("var")).ToList();
        Assert.Contains(Ns.OccupantId, roomFeatures);
        Assert.Contains(Ns.MessageModeration, roomFeatures);
        var serviceInfo = (await IqAsync(alice, Service, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Contains(serviceInfo.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == Ns.OccupantId);
    }
}
