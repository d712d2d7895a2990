using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;
using static Parley.Server.Tests.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>Entering, talking in and leaving rooms (XEP-0045 §7) over real connections.</summary>
public sealed class MucRoomTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task The_service_is_listed_by_the_server_and_describes_itself_as_a_conference_service()
    {
        await using var alice = await OnlineAsync(_node, "alice");

        var items = await IqAsync(alice, "localhost", $"<query xmlns='{Ns.DiscoItems}'/>", "get");
        Assert.Contains(items.Child("query", Ns.DiscoItems)!.Children("item", Ns.DiscoItems), i => i.GetAttribute("jid") == Service);
        var info = (await IqAsync(alice, Service, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Equal("conference", info.Child("identity", Ns.DiscoInfo)!.GetAttribute("category"));
        Assert.Contains(info.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == Ns.Muc);
        var unique = await IqAsync(alice, Service, $"<unique xmlns='{Ns.MucUnique}'/>", "get");
        Assert.Matches("^[a-z2-7]{26}$", unique.ChildText("unique", Ns.MucUnique));
    }

    [Fact]
    public async Task Creating_a_reserved_room_locks_it_until_the_owner_accepts_an_instant_configuration()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("plans");

        var self = await JoinAsync(alice, room, "Alice");
        Assert.Equal([110, 201], Codes(self));
        Assert.Equal("owner", Item(self)!.GetAttribute("affiliation"));
        Assert.Equal("moderator", Item(self)!.GetAttribute("role"));
        Assert.Equal("item-not-found", await JoinErrorAsync(bob, room, "Bob"));

        Assert.Equal("result", (await ConfigureAsync(alice, room)).GetAttribute("type"));

        var bobSelf = await JoinAsync(bob, room, "Bob");
        Assert.Equal([110], Codes(bobSelf));
        Assert.Equal("participant", Item(bobSelf)!.GetAttribute("role"));
        var bobSeenByAlice = await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob");
        Assert.Equal(bob.Jid, Item(bobSeenByAlice)!.GetAttribute("jid"));
        Assert.Equal(alice.Jid, bobSeenByAlice.GetAttribute("to"));
    }

    [Fact]
    public async Task A_joining_occupant_gets_the_others_presence_then_its_own_then_the_subject()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("order");
        await CreateAsync(alice, room, "Alice");
        await alice.SendAsync($"<message to='{room}' type='groupchat'><subject>Plans for Friday</subject></message>");
        await alice.ReceiveAsync(e => e.ChildText("subject") == "Plans for Friday");

        await bob.SendAsync($"<presence to='{room}/Bob'><x xmlns='{Ns.Muc}'/></presence>");

        var first = await bob.ReceiveAsync(e => e.Name is "presence" or "message" && e.GetAttribute("from")!.StartsWith(room, StringComparison.Ordinal));
        Assert.Equal(room + "/Alice", first.GetAttribute("from"));
        Assert.Null(Item(first)!.GetAttribute("jid"));
        var self = await bob.ReceiveAsync(e => e.GetAttribute("from")!.StartsWith(room, StringComparison.Ordinal));
        Assert.Equal([110], Codes(self));
        var subject = await bob.ReceiveAsync(e => e.GetAttribute("from")!.StartsWith(room, StringComparison.Ordinal));
        Assert.Equal("Plans for Friday", subject.ChildText("subject"));
        Assert.Equal(room + "/Alice", subject.GetAttribute("from"));
    }

    [Fact]
    public async Task A_subject_with_a_thread_is_an_ordinary_message_and_leaves_the_rooms_subject_alone()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("threads");
        await CreateAsync(alice, room, "Alice");
        await alice.SendAsync($"<message to='{room}' type='groupchat'><subject>Plans for Friday</subject></message>");
        await alice.ReceiveAsync(e => e.ChildText("subject") == "Plans for Friday");
        await JoinAsync(bob, room, "Bob");

        // XEP-0045 §8.1: only a subject with neither body nor thread changes the subject.
        await alice.SendAsync($"<message to='{room}' type='groupchat' id='t1'><subject>Lunch?</subject><thread>lunch-1</thread></message>");

        var threaded = await bob.ReceiveAsync(e => e.Name == "message" && e.ChildText("subject") == "Lunch?");
        Assert.Equal("lunch-1", threaded.ChildText("thread"));
        Assert.Equal(room + "/Alice", threaded.GetAttribute("from"));
        var info = (await IqAsync(bob, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        var subject = info.Child("x", Ns.DataForms)!.Children("field", Ns.DataForms).Single(f => f.GetAttribute("var") == "muc#roominfo_subject");
        Assert.Equal("Plans for Friday", subject.ChildText("value", Ns.DataForms));
    }

    [Fact]
    public async Task A_groupchat_message_reaches_every_occupant_from_the_senders_occupant_jid()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("talk");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        await SayAsync(bob, room, "Hello all", id: "hello1");

        foreach (var client in new[] { alice, bob })
        {
            var message = await GroupchatAsync(client, "Hello all");
            Assert.Equal(room + "/Bob", message.GetAttribute("from"));
            Assert.Equal("hello1", message.GetAttribute("id"));
        }
    }

    [Fact]
    public async Task A_message_sent_as_profanity_sends_it_comes_back_with_its_origin_id_so_the_client_shows_it_once()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("echo");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        // profanity 0.13: the message's id again as XEP-0359 origin-id; it drops the reflection whose origin-id it sent.
        await bob.SendAsync($"<message id='c0ffee-1' to='{room}' type='groupchat'><body>hello once</body><origin-id xmlns='{Ns.StanzaId}' id='c0ffee-1'/></message>");

        foreach (var client in new[] { bob, alice })
        {
            var message = await GroupchatAsync(client, "hello once");
            Assert.Equal("c0ffee-1", message.Child("origin-id", Ns.StanzaId)?.GetAttribute("id"));
        }
    }

    [Fact]
    public async Task Corrections_and_retractions_pass_through_the_room_with_the_ids_they_refer_to()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("fixes");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");
        await bob.SendAsync($"<message id='m1' to='{room}' type='groupchat'><body>helo</body><origin-id xmlns='{Ns.StanzaId}' id='m1'/></message>");
        await GroupchatAsync(bob, "helo");

        await bob.SendAsync($"<message id='m2' to='{room}' type='groupchat'><body>hello</body><replace xmlns='{Ns.MessageCorrection}' id='m1'/><origin-id xmlns='{Ns.StanzaId}' id='m2'/></message>");
        foreach (var client in new[] { bob, alice })
        {
            var correction = await GroupchatAsync(client, "hello");
            Assert.Equal("m1", correction.Child("replace", Ns.MessageCorrection)?.GetAttribute("id"));
            Assert.Equal("m2", correction.Child("origin-id", Ns.StanzaId)?.GetAttribute("id"));
        }

        await bob.SendAsync($"<message id='m3' to='{room}' type='groupchat'><retract xmlns='{Ns.MessageRetraction}' id='m1'/><origin-id xmlns='{Ns.StanzaId}' id='m3'/><body>retracted</body></message>");
        foreach (var client in new[] { bob, alice })
        {
            var retraction = await GroupchatAsync(client, "retracted");
            Assert.Equal("m1", retraction.Child("retract", Ns.MessageRetraction)?.GetAttribute("id"));
            Assert.Equal("m3", retraction.Child("origin-id", Ns.StanzaId)?.GetAttribute("id"));
        }
    }

    [Fact]
    public async Task Private_messages_go_to_one_occupant_and_not_to_a_nickname_nobody_has()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("whisper");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        await bob.SendAsync($"<message to='{room}/Alice' type='chat'><body>psst</body></message>");
        var whisper = await alice.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == "psst");
        Assert.Equal(room + "/Bob", whisper.GetAttribute("from"));
        Assert.NotNull(whisper.Child("x", Ns.MucUser));

        await bob.SendAsync($"<message to='{room}/Nobody' type='chat'><body>hello?</body></message>");
        Assert.Equal("item-not-found", Condition(await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error")));
        await bob.SendAsync($"<message to='{room}/Alice' type='groupchat'><body>wrong</body></message>");
        Assert.Equal("bad-request", Condition(await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error")));
    }

    [Fact]
    public async Task Changing_nickname_says_303_with_the_new_nickname_and_a_nickname_in_use_is_a_conflict()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("names");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob");

        await bob.SendAsync($"<presence to='{room}/Alice'/>");
        var refused = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "error");
        Assert.Equal("conflict", Condition(refused));
        Assert.Equal("cancel", ErrorType(refused));

        await bob.SendAsync($"<presence to='{room}/Robert'/>");
        var gone = await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob");
        Assert.Equal("unavailable", gone.GetAttribute("type"));
        Assert.Equal([303], Codes(gone));
        Assert.Equal("Robert", Item(gone)!.GetAttribute("nick"));
        var back = await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Robert");
        Assert.Null(back.GetAttribute("type"));
        var selfGone = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob");
        Assert.Equal([110, 303], Codes(selfGone));
    }

    [Fact]
    public async Task One_user_on_two_devices_is_one_occupant_and_leaving_from_one_keeps_the_other_in()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bobPhone = await OnlineAsync(_node, "bob", "phone");
        await using var bobDesk = await OnlineAsync(_node, "bob", "desk");
        var room = Room("devices");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bobPhone, room, "Bob");
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob");

        await JoinAsync(bobDesk, room, "Bob");
        await SayAsync(alice, room, "to both devices");
        await GroupchatAsync(bobPhone, "to both devices");
        await GroupchatAsync(bobDesk, "to both devices");

        await bobPhone.SendAsync($"<presence to='{room}/Bob' type='unavailable'/>");
        var phoneLeft = await bobPhone.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        Assert.Contains(110, Codes(phoneLeft));
        await SayAsync(alice, room, "desk only");
        await GroupchatAsync(bobDesk, "desk only");
        var next = await alice.ReceiveAsync(e => e.Name == "message" || (e.Name == "presence" && e.GetAttribute("from") == room + "/Bob"));
        Assert.Equal("message", next.Name);
    }

    [Fact]
    public async Task A_session_that_ends_leaves_its_rooms()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        var room = Room("hangup");
        await CreateAsync(alice, room, "Alice");
        var bob = await OnlineAsync(_node, "bob");
        await JoinAsync(bob, room, "Bob");
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob");

        await bob.DisposeAsync();

        var left = await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob");
        Assert.Equal("unavailable", left.GetAttribute("type"));
        Assert.Equal("none", Item(left)!.GetAttribute("role"));
    }

    [Fact]
    public async Task An_ad_hoc_room_is_gone_when_its_last_occupant_leaves()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("adhoc");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");
        var items = await IqAsync(alice, Service, $"<query xmlns='{Ns.DiscoItems}'/>", "get");
        Assert.Contains(items.Child("query", Ns.DiscoItems)!.Children(), i => i.GetAttribute("jid") == room);

        await bob.SendAsync($"<presence to='{room}/Bob' type='unavailable'/>");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        await alice.SendAsync($"<presence to='{room}/Alice' type='unavailable'/>");
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Alice");

        items = await IqAsync(alice, Service, $"<query xmlns='{Ns.DiscoItems}'/>", "get");
        Assert.DoesNotContain(items.Child("query", Ns.DiscoItems)!.Children(), i => i.GetAttribute("jid") == room);
        var info = await IqAsync(alice, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get");
        Assert.Equal("item-not-found", Condition(info));
        var again = await JoinAsync(bob, room, "Bob");
        Assert.Contains(201, Codes(again));
        Assert.Equal("owner", Item(again)!.GetAttribute("affiliation"));
    }

    [Fact]
    public async Task Joining_without_the_muc_element_creates_an_instant_room_at_once()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("legacy");

        await alice.SendAsync($"<presence to='{room}/Alice'/>");
        var self = await alice.ReceiveAsync(e => e.Name == "presence" && Codes(e).Contains(110));
        Assert.Contains(201, Codes(self));

        await JoinAsync(bob, room, "Bob");
    }

    [Fact]
    public async Task Self_ping_answers_an_occupant_and_tells_others_they_are_not_joined()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("pingroom");
        await CreateAsync(alice, room, "Alice");

        var joined = await IqAsync(alice, room + "/Alice", $"<ping xmlns='{Ns.Ping}'/>", "get");
        Assert.Equal("result", joined.GetAttribute("type"));
        var notJoined = await IqAsync(bob, room + "/Alice", $"<ping xmlns='{Ns.Ping}'/>", "get");
        Assert.Equal("not-acceptable", Condition(notJoined));
    }

    [Fact]
    public async Task The_room_describes_itself_with_features_and_extended_info()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        var room = Room("described");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_roomname", "Described"), ("muc#roomconfig_roomdesc", "A room with a description"), ("muc#roomconfig_membersonly", "1"));

        var info = (await IqAsync(alice, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;

        Assert.Equal("Described", info.Child("identity", Ns.DiscoInfo)!.GetAttribute("name"));
        var features = info.Children("feature", Ns.DiscoInfo).Select(f => f.GetAttribute("var")).ToList();
        Assert.Contains("muc_membersonly", features);
        Assert.Contains("muc_temporary", features);
        Assert.Contains("muc_semianonymous", features);
        Assert.Contains(Ns.MucSelfPing, features);
        var form = info.Child("x", Ns.DataForms)!;
        string? Field(string var) => form.Children("field", Ns.DataForms).First(f => f.GetAttribute("var") == var).ChildText("value", Ns.DataForms);
        Assert.Equal(Ns.MucRoomInfo, Field("FORM_TYPE"));
        Assert.Equal("A room with a description", Field("muc#roominfo_description"));
        Assert.Equal("1", Field("muc#roominfo_occupants"));
    }

    [Fact]
    public async Task Direct_invitations_pass_from_user_to_user_untouched()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");

        await alice.SendAsync($"<message to='bob@localhost'><x xmlns='{Ns.DirectInvitation}' jid='{Room("direct")}' reason='Join us'/></message>");

        var invitation = await bob.ReceiveAsync(e => e.Name == "message" && e.Child("x", Ns.DirectInvitation) is not null);
        Assert.Equal(Room("direct"), invitation.Child("x", Ns.DirectInvitation)!.GetAttribute("jid"));
        var info = (await IqAsync(alice, "alice@localhost", $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Contains(info.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == Ns.DirectInvitation);
    }

    [Fact]
    public async Task Mediated_invitations_reach_the_invitee_from_the_room_and_declines_reach_the_inviter()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("invites");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_membersonly", "1"));

        await alice.SendAsync($"<message to='{room}'><x xmlns='{Ns.MucUser}'><invite to='bob@localhost'><reason>Planning</reason></invite></x></message>");

        var invitation = await bob.ReceiveAsync(e => e.Name == "message" && e.Child("x", Ns.MucUser)?.Child("invite", Ns.MucUser) is not null);
        Assert.Equal(room, invitation.GetAttribute("from"));
        var invite = invitation.Child("x", Ns.MucUser)!.Child("invite", Ns.MucUser)!;
        Assert.Equal(alice.Jid, invite.GetAttribute("from"));
        Assert.Equal("Planning", invite.ChildText("reason", Ns.MucUser));
        // The invitation to a members-only room made Bob a member, so he may enter.
        await JoinAsync(bob, room, "Bob");

        await bob.SendAsync($"<message to='{room}'><x xmlns='{Ns.MucUser}'><decline to='{alice.Jid}'><reason>Busy</reason></decline></x></message>");
        var declined = await alice.ReceiveAsync(e => e.Name == "message" && e.Child("x", Ns.MucUser)?.Child("decline", Ns.MucUser) is not null);
        Assert.Equal("bob@localhost", declined.Child("x", Ns.MucUser)!.Child("decline", Ns.MucUser)!.GetAttribute("from"));
        Assert.Equal("Busy", declined.Child("x", Ns.MucUser)!.Child("decline", Ns.MucUser)!.ChildText("reason", Ns.MucUser));
    }
}
