using System.Globalization;
using Parley.Protocol;
using Parley.Server.Tests.Support;
using static Parley.Server.Tests.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>Discussion history on join (§7.2.14), persistent rooms across restarts, and MAM on the room JID (XEP-0313).</summary>
public sealed class MucHistoryTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static async Task<List<string>> HistoryAsync(XmppTestClient client, string room, string nick, string history)
    {
        await client.SendAsync($"<presence to='{room}/{nick}'><x xmlns='{Ns.Muc}'>{history}</x></presence>");
        await client.ReceiveAsync(e => e.Name == "presence" && Codes(e).Contains(110));
        var bodies = new List<string>();
        while (true)
        {
            var message = await client.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("from")!.StartsWith(room, StringComparison.Ordinal));
            if (message.Child("subject") is not null)
            {
                return bodies;
            }
            Assert.Equal(room, message.Child("delay", Ns.Delay)!.GetAttribute("from"));
            bodies.Add(message.ChildText("body")!);
        }
    }

    [Fact]
    public async Task History_on_join_honours_maxstanzas_maxchars_seconds_and_since()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("history");
        await CreateAsync(alice, room, "Alice");
        foreach (var body in new[] { "one", "two", "three" })
        {
            await SayAsync(alice, room, body);
            await GroupchatAsync(alice, body);
        }

        Assert.Equal(["one", "two", "three"], await HistoryAsync(bob, room, "Bob", ""));
        await bob.SendAsync($"<presence to='{room}/Bob' type='unavailable'/>");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        Assert.Equal(["two", "three"], await HistoryAsync(bob, room, "Bob", "<history maxstanzas='2'/>"));
        await bob.SendAsync($"<presence to='{room}/Bob' type='unavailable'/>");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        Assert.Empty(await HistoryAsync(bob, room, "Bob", "<history maxchars='0'/>"));
        await bob.SendAsync($"<presence to='{room}/Bob' type='unavailable'/>");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        var future = DateTimeOffset.UtcNow.AddMinutes(5).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        Assert.Empty(await HistoryAsync(bob, room, "Bob", $"<history since='{future}'/>"));
        await bob.SendAsync($"<presence to='{room}/Bob' type='unavailable'/>");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        Assert.Equal(["one", "two", "three"], await HistoryAsync(bob, room, "Bob", "<history seconds='300'/>"));
    }

    [Fact]
    public async Task A_persistent_room_keeps_configuration_affiliations_subject_and_history_across_a_restart_and_serves_mam_once_per_message()
    {
        var room = Room("team");
        await using (var alice = await OnlineAsync(_node, "alice"))
        await using (var bob = await OnlineAsync(_node, "bob"))
        {
            await CreateAsync(alice, room, "Alice", ("muc#roomconfig_persistentroom", "1"), ("muc#roomconfig_roomname", "Team"), ("muc#roomconfig_membersonly", "1"));
            await IqAsync(alice, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='member' jid='bob@localhost'/></query>");
            await alice.SendAsync($"<message to='{room}' type='groupchat'><subject>Sprint 12</subject></message>");
            await JoinAsync(bob, room, "Bob");
            await SayAsync(alice, room, "kept forever");
            var received = await GroupchatAsync(bob, "kept forever");
            var stanzaId = received.Child("stanza-id", Ns.StanzaId)!;
            Assert.Equal(room, stanzaId.GetAttribute("by"));
            Assert.False(string.IsNullOrEmpty(stanzaId.GetAttribute("id")));
        }

        _node = await _node.RestartAsync();

        await using var bobAgain = await OnlineAsync(_node, "bob");
        await using var carol = await OnlineAsync(_node, "carol");
        Assert.Equal("registration-required", await JoinErrorAsync(carol, room, "Carol"));
        Assert.Equal(["kept forever"], await HistoryAsync(bobAgain, room, "Bob", ""));
        var info = (await IqAsync(bobAgain, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Equal("Team", info.Child("identity", Ns.DiscoInfo)!.GetAttribute("name"));
        Assert.Contains(info.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == Ns.Mam);

        var fin = await MamAsync(bobAgain, room);
        Assert.Equal("true", fin.fin.GetAttribute("complete"));
        var forwarded = Assert.Single(fin.results);
        Assert.Equal(room + "/Alice", forwarded.GetAttribute("from"));
        Assert.Equal("kept forever", forwarded.ChildText("body"));
        Assert.Equal("forbidden", Condition(await IqAsync(carol, room, $"<query xmlns='{Ns.Mam}'/>")));
    }

    [Fact]
    public async Task The_senders_origin_id_stays_in_history_and_the_archive_and_only_a_stanza_id_claiming_the_room_goes()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("kept-ids");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_persistentroom", "1"));
        await alice.SendAsync($"<message id='o1' to='{room}' type='groupchat'><body>with ids</body><origin-id xmlns='{Ns.StanzaId}' id='o1'/>"
            + $"<stanza-id xmlns='{Ns.StanzaId}' by='{room}' id='forged'/></message>");
        var reflected = await GroupchatAsync(alice, "with ids");
        var roomsId = Assert.Single(reflected.Children("stanza-id", Ns.StanzaId));
        Assert.NotEqual("forged", roomsId.GetAttribute("id"));

        await bob.SendAsync($"<presence to='{room}/Bob'><x xmlns='{Ns.Muc}'/></presence>");
        var history = await bob.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == "with ids");
        Assert.NotNull(history.Child("delay", Ns.Delay));
        Assert.Equal("o1", history.Child("origin-id", Ns.StanzaId)?.GetAttribute("id"));
        Assert.Equal(roomsId.GetAttribute("id"), Assert.Single(history.Children("stanza-id", Ns.StanzaId)).GetAttribute("id"));

        var archived = Assert.Single((await MamAsync(bob, room)).results);
        Assert.Equal("o1", archived.Child("origin-id", Ns.StanzaId)?.GetAttribute("id"));
        Assert.DoesNotContain(archived.Children("stanza-id", Ns.StanzaId), s => s.GetAttribute("id") == "forged");
    }

    [Fact]
    public async Task A_rooms_archive_answers_full_text_search_and_its_disco_says_so()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        var room = Room("searchable");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_persistentroom", "1"));
        foreach (var body in new[] { "Standup moves to ten", "lunch?", "standup notes are in the wiki" })
        {
            await SayAsync(alice, room, body);
            await GroupchatAsync(alice, body);
        }

        var info = (await IqAsync(alice, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        var (fin, results) = await MamAsync(alice, room,
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>"
            + "<field var='{urn:xmpp:fulltext:0}fulltext'><value>STANDUP</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set>");

        Assert.Contains(info.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == Ns.FullTextSearch);
        Assert.Equal("Standup moves to ten", Assert.Single(results).ChildText("body"));
        Assert.Equal("2", fin.Child("set", Ns.Rsm)!.ChildText("count", Ns.Rsm));
        Assert.Equal("false", fin.GetAttribute("complete"));
    }
}
