using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;
using static Parley.Server.Tests.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>Moderator, admin and owner use cases (XEP-0045 §8–§10), voice requests, registration and destruction.</summary>
public sealed class MucModerationTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static string AdminItem(string attributes, string reason = "") =>
        $"<query xmlns='{Ns.MucAdmin}'><item {attributes}>{(reason.Length > 0 ? $"<reason>{reason}</reason>" : "")}</item></query>";

    [Fact]
    public async Task A_kicked_occupant_hears_307_with_the_actor_and_reason_and_everyone_else_sees_it_leave()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("kick");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        await alice.SendAsync($"<iq type='set' id='kick1' to='{room}'>{AdminItem("nick='Bob' role='none'", "Be quiet")}</iq>");

        // Occupants hear of the kick before the moderator's IQ result (§8.2).
        var seen = await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob" && e.GetAttribute("type") == "unavailable");
        Assert.Equal([307], Codes(seen));
        Assert.Equal("result", (await alice.ReceiveAsync(e => e.GetAttribute("id") == "kick1")).GetAttribute("type"));

        var kicked = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        Assert.Equal([110, 307], Codes(kicked));
        Assert.Equal("Alice", Item(kicked)!.Child("actor", Ns.MucUser)!.GetAttribute("nick"));
        Assert.Equal("Be quiet", Item(kicked)!.ChildText("reason", Ns.MucUser));
    }

    [Fact]
    public async Task Moderators_may_not_kick_admins_and_participants_may_not_kick_at_all()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await using var carol = await OnlineAsync(_node, "carol");
        var room = Room("nokick");
        await CreateAsync(alice, room, "Alice");
        await IqAsync(alice, room, AdminItem("jid='bob@localhost' affiliation='admin'"));
        await JoinAsync(bob, room, "Bob");
        await JoinAsync(carol, room, "Carol");

        var byAdmin = await IqAsync(bob, room, AdminItem("nick='Alice' role='none'"));
        Assert.Equal("not-allowed", Condition(byAdmin));
        var byParticipant = await IqAsync(carol, room, AdminItem("nick='Bob' role='none'"));
        Assert.Equal("forbidden", Condition(byParticipant));
        var adminGrantsOwner = await IqAsync(bob, room, AdminItem("jid='carol@localhost' affiliation='owner'"));
        Assert.Equal("forbidden", Condition(adminGrantsOwner));
        var adminBansOwner = await IqAsync(bob, room, AdminItem("jid='alice@localhost' affiliation='outcast'"));
        Assert.Equal("not-allowed", Condition(adminBansOwner));
    }

    [Fact]
    public async Task Banning_an_occupant_removes_it_with_301_and_lists_it_as_outcast()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("ban");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        await IqAsync(alice, room, AdminItem("jid='bob@localhost' affiliation='outcast'", "Spam"));

        var banned = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        Assert.Equal([110, 301], Codes(banned));
        Assert.Equal("outcast", Item(banned)!.GetAttribute("affiliation"));
        var list = await IqAsync(alice, room, AdminItem("affiliation='outcast'"), "get");
        var item = list.Child("query", Ns.MucAdmin)!.Child("item", Ns.MucAdmin)!;
        Assert.Equal("bob@localhost", item.GetAttribute("jid"));
        Assert.Equal("Spam", item.ChildText("reason", Ns.MucAdmin));
    }

    [Fact]
    public async Task Voice_is_revoked_and_granted_and_the_voice_list_shows_participants()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("voice");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        await IqAsync(alice, room, AdminItem("nick='Bob' role='visitor'"));
        var silenced = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob" && Item(e)?.GetAttribute("role") == "visitor");
        Assert.Contains(110, Codes(silenced));
        await SayAsync(bob, room, "can you hear me?");
        Assert.Equal("forbidden", Condition(await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error")));

        await IqAsync(alice, room, AdminItem("nick='Bob' role='participant'"));
        var participants = await IqAsync(alice, room, AdminItem("role='participant'"), "get");
        Assert.Equal("Bob", participants.Child("query", Ns.MucAdmin)!.Child("item", Ns.MucAdmin)!.GetAttribute("nick"));
        await SayAsync(bob, room, "now I can");
        await GroupchatAsync(alice, "now I can");
    }

    [Fact]
    public async Task Members_moderators_admins_and_owners_are_granted_listed_and_revoked()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("lists");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        await IqAsync(alice, room, AdminItem("jid='carol@localhost' affiliation='member'"));
        await IqAsync(alice, room, AdminItem("jid='dave@localhost' affiliation='admin'"));
        await IqAsync(alice, room, AdminItem("nick='Bob' role='moderator'"));
        var moderator = await bob.ReceiveAsync(e => e.Name == "presence" && Item(e)?.GetAttribute("role") == "moderator" && e.GetAttribute("from") == room + "/Bob");
        Assert.Contains(110, Codes(moderator));

        static List<string?> Jids(Element list) => list.Child("query", Ns.MucAdmin)!.Children("item", Ns.MucAdmin).Select(i => i.GetAttribute("jid") ?? i.GetAttribute("nick")).ToList();
        Assert.Equal(["carol@localhost"], Jids(await IqAsync(alice, room, AdminItem("affiliation='member'"), "get")));
        Assert.Equal(["dave@localhost"], Jids(await IqAsync(alice, room, AdminItem("affiliation='admin'"), "get")));
        Assert.Equal(["alice@localhost"], Jids(await IqAsync(alice, room, AdminItem("affiliation='owner'"), "get")));
        Assert.Equal(2, Jids(await IqAsync(alice, room, AdminItem("role='moderator'"), "get")).Count);
        Assert.Equal("forbidden", Condition(await IqAsync(bob, room, AdminItem("affiliation='member'"), "get")));

        await IqAsync(alice, room, AdminItem("jid='carol@localhost' affiliation='none'"));
        Assert.Empty(Jids(await IqAsync(alice, room, AdminItem("affiliation='member'"), "get")));
    }

    [Fact]
    public async Task A_member_of_a_non_anonymous_room_may_read_its_member_list_without_being_in_it()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await using var dave = await OnlineAsync(_node, "dave");
        var open = Room("open-members");
        await CreateAsync(alice, open, "Alice", ("muc#roomconfig_whois", "anyone"));
        var membersOnly = Room("members-only");
        await CreateAsync(alice, membersOnly, "Alice", ("muc#roomconfig_whois", "anyone"), ("muc#roomconfig_membersonly", "1"));
        var semiAnonymous = Room("hidden-members");
        await CreateAsync(alice, semiAnonymous, "Alice", ("muc#roomconfig_membersonly", "1"));
        foreach (var room in new[] { open, membersOnly, semiAnonymous })
        {
            await IqAsync(alice, room, AdminItem("jid='bob@localhost' affiliation='member'"));
            await IqAsync(alice, room, AdminItem("jid='carol@localhost' affiliation='member'"));
            await IqAsync(alice, room, AdminItem("jid='mallory@localhost' affiliation='outcast'"));
        }

        // XEP-0045 §9.5, as ejabberd and Prosody: a member may see who else is one, where real JIDs are no secret.
        foreach (var room in new[] { open, membersOnly })
        {
            var members = await IqAsync(bob, room, AdminItem("affiliation='member'"), "get");
            Assert.Equal("result", members.GetAttribute("type"));
            var jids = members.Child("query", Ns.MucAdmin)!.Children("item", Ns.MucAdmin).Select(i => i.GetAttribute("jid")).Order();
            Assert.Equal(["bob@localhost", "carol@localhost"], jids);
            Assert.Equal("alice@localhost", (await IqAsync(bob, room, AdminItem("affiliation='owner'"), "get")).Child("query", Ns.MucAdmin)!.Child("item", Ns.MucAdmin)!.GetAttribute("jid"));
            Assert.Equal("forbidden", Condition(await IqAsync(bob, room, AdminItem("affiliation='outcast'"), "get")));
            Assert.Equal("forbidden", Condition(await IqAsync(dave, room, AdminItem("affiliation='member'"), "get")));
        }
        Assert.Equal("forbidden", Condition(await IqAsync(bob, semiAnonymous, AdminItem("affiliation='member'"), "get")));
    }

    [Fact]
    public async Task Removing_a_member_from_a_members_only_room_removes_the_occupant_with_321()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("club");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_membersonly", "1"));
        await IqAsync(alice, room, AdminItem("jid='bob@localhost' affiliation='member'"));
        await JoinAsync(bob, room, "Bob");

        await IqAsync(alice, room, AdminItem("jid='bob@localhost' affiliation='none'"));

        var removed = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        Assert.Equal([110, 321], Codes(removed));
    }

    [Fact]
    public async Task A_visitor_asks_for_voice_the_moderator_gets_the_form_and_approving_grants_it()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("askvoice");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_moderatedroom", "1"));
        await JoinAsync(bob, room, "Bob");

        await bob.SendAsync($"<message to='{room}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{Ns.MucRequest}</value></field><field var='muc#role'><value>participant</value></field></x></message>");

        var request = await alice.ReceiveAsync(e => e.Name == "message" && e.Child("x", Ns.DataForms) is not null);
        var fields = request.Child("x", Ns.DataForms)!.Children("field", Ns.DataForms).ToDictionary(f => f.GetAttribute("var")!, f => f.ChildText("value", Ns.DataForms));
        Assert.Equal("Bob", fields["muc#roomnick"]);
        Assert.Equal(bob.Jid, fields["muc#jid"]);

        await alice.SendAsync($"<message to='{room}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{Ns.MucRequest}</value></field><field var='muc#role'><value>participant</value></field><field var='muc#roomnick'><value>Bob</value></field><field var='muc#request_allow'><value>true</value></field></x></message>");
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob" && Item(e)?.GetAttribute("role") == "participant");
    }

    [Fact]
    public async Task Registering_with_a_room_reserves_the_nickname_and_makes_a_member()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await using var carol = await OnlineAsync(_node, "carol");
        var room = Room("register");
        await CreateAsync(alice, room, "Alice");

        var form = await IqAsync(bob, room, $"<query xmlns='{Ns.Register}'/>", "get");
        Assert.Contains(form.Child("query", Ns.Register)!.Child("x", Ns.DataForms)!.Children("field", Ns.DataForms), f => f.GetAttribute("var") == "muc#register_roomnick");
        var submitted = await IqAsync(bob, room, $"<query xmlns='{Ns.Register}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{Ns.MucRegister}</value></field><field var='muc#register_roomnick'><value>Bobby</value></field></x></query>");
        Assert.Equal("result", submitted.GetAttribute("type"));

        var registered = await IqAsync(bob, room, $"<query xmlns='{Ns.Register}'/>", "get");
        Assert.NotNull(registered.Child("query", Ns.Register)!.Child("registered", Ns.Register));
        Assert.Equal("Bobby", registered.Child("query", Ns.Register)!.ChildText("username", Ns.Register));
        Assert.Equal("conflict", await JoinErrorAsync(carol, room, "Bobby"));
        var taken = await IqAsync(carol, room, $"<query xmlns='{Ns.Register}'><x xmlns='jabber:x:data' type='submit'><field var='muc#register_roomnick'><value>Bobby</value></field></x></query>");
        Assert.Equal("conflict", Condition(taken));
        var self = await JoinAsync(bob, room, "Bobby");
        Assert.Equal("member", Item(self)!.GetAttribute("affiliation"));
    }

    [Fact]
    public async Task The_x_roomuser_item_node_tells_a_user_their_reserved_nickname_and_other_nodes_are_not_found()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await using var carol = await OnlineAsync(_node, "carol");
        var room = Room("reserved");
        await CreateAsync(alice, room, "Alice");
        await IqAsync(bob, room, $"<query xmlns='{Ns.Register}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{Ns.MucRegister}</value></field><field var='muc#register_roomnick'><value>Bobby</value></field></x></query>");

        // XEP-0045 §7.12: the reserved nickname as the conference identity's name; an empty query for someone without one.
        var bobs = (await IqAsync(bob, room, $"<query xmlns='{Ns.DiscoInfo}' node='x-roomuser-item'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Equal("x-roomuser-item", bobs.GetAttribute("node"));
        var identity = Assert.Single(bobs.Children("identity", Ns.DiscoInfo));
        Assert.Equal(("conference", "text", "Bobby"), (identity.GetAttribute("category"), identity.GetAttribute("type"), identity.GetAttribute("name")));
        Assert.Empty(bobs.Children("feature", Ns.DiscoInfo));
        var carols = (await IqAsync(carol, room, $"<query xmlns='{Ns.DiscoInfo}' node='x-roomuser-item'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Empty(carols.Children());

        Assert.Equal("item-not-found", Condition(await IqAsync(carol, room, $"<query xmlns='{Ns.DiscoInfo}' node='no-such-node'/>", "get")));
        Assert.Equal("item-not-found", Condition(await IqAsync(carol, room, $"<query xmlns='{Ns.DiscoItems}' node='no-such-node'/>", "get")));
    }

    [Fact]
    public async Task Destroying_a_room_tells_occupants_the_alternate_venue_and_only_owners_may()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("doomed");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        var refused = await IqAsync(bob, room, $"<query xmlns='{Ns.MucOwner}'><destroy/></query>");
        Assert.Equal("forbidden", Condition(refused));
        var done = await IqAsync(alice, room, $"<query xmlns='{Ns.MucOwner}'><destroy jid='{Room("newhome")}'><reason>Moved</reason></destroy></query>");
        Assert.Equal("result", done.GetAttribute("type"));

        var gone = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable");
        var destroy = gone.Child("x", Ns.MucUser)!.Child("destroy", Ns.MucUser)!;
        Assert.Equal(Room("newhome"), destroy.GetAttribute("jid"));
        Assert.Equal("Moved", destroy.ChildText("reason", Ns.MucUser));
        Assert.Equal("item-not-found", Condition(await IqAsync(bob, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")));
    }

    [Fact]
    public async Task Only_owners_see_the_configuration_form_which_has_the_standard_fields()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("configured");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        Assert.Equal("forbidden", Condition(await IqAsync(bob, room, $"<query xmlns='{Ns.MucOwner}'/>", "get")));
        var form = (await IqAsync(alice, room, $"<query xmlns='{Ns.MucOwner}'/>", "get")).Child("query", Ns.MucOwner)!.Child("x", Ns.DataForms)!;
        var vars = form.Children("field", Ns.DataForms).Select(f => f.GetAttribute("var")).ToList();
        foreach (var field in new[] { "roomname", "roomdesc", "persistentroom", "publicroom", "moderatedroom", "membersonly", "passwordprotectedroom", "roomsecret", "whois", "maxusers", "changesubject", "allowinvites", "allowpm", "enablelogging", "roomowners", "roomadmins" })
        {
            Assert.Contains("muc#roomconfig_" + field, vars);
        }

        await ConfigureAsync(alice, room, ("muc#roomconfig_whois", "anyone"));
        var change = await bob.ReceiveAsync(e => e.Name == "message" && Codes(e).Count > 0);
        Assert.Equal([104, 172], Codes(change));
    }

    [Fact]
    public async Task Only_moderators_change_the_subject_unless_the_room_lets_participants()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("subject");
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");

        await bob.SendAsync($"<message to='{room}' type='groupchat'><subject>Mine now</subject></message>");
        Assert.Equal("forbidden", Condition(await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error")));

        await ConfigureAsync(alice, room, ("muc#roomconfig_changesubject", "1"));
        await bob.SendAsync($"<message to='{room}' type='groupchat'><subject>Mine now</subject></message>");
        var subject = await alice.ReceiveAsync(e => e.Name == "message" && e.ChildText("subject") == "Mine now");
        Assert.Equal(room + "/Bob", subject.GetAttribute("from"));
    }
}
