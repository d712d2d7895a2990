using Parley.Protocol;
using Parley.Server.Tests.Support;
using MucOptions = Parley.Server.Modules.Muc.MucOptions;
using static Parley.Server.Tests.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>Every refusal of XEP-0045 that the issue lists, with the XEP's error condition and type.</summary>
public sealed class MucBadInputTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await StartAsync(o => o.Module<MucOptions>().MaxRoomsPerUser = 2);

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Joining_without_a_nickname_is_jid_malformed()
    {
        await using var alice = await OnlineAsync(_node, "alice");

        await alice.SendAsync($"<presence to='{Room("nonick")}'><x xmlns='{Ns.Muc}'/></presence>");

        var error = await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "error");
        Assert.Equal("jid-malformed", Condition(error));
        Assert.Equal("modify", ErrorType(error));
    }

    [Fact]
    public async Task Joining_with_a_2000_character_nickname_is_jid_malformed()
    {
        await using var alice = await OnlineAsync(_node, "alice");

        Assert.Equal("jid-malformed", await JoinErrorAsync(alice, Room("longnick"), new string('n', 2000)));
    }

    [Fact]
    public async Task Joining_with_a_nickname_in_use_is_a_conflict()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await CreateAsync(alice, Room("taken"), "Same");

        Assert.Equal("conflict", await JoinErrorAsync(bob, Room("taken"), "Same"));
    }

    [Fact]
    public async Task A_missing_or_wrong_password_is_not_authorized_and_the_right_one_lets_in()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("secret");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_passwordprotectedroom", "1"), ("muc#roomconfig_roomsecret", "cauldron"));

        Assert.Equal("not-authorized", await JoinErrorAsync(bob, room, "Bob"));
        Assert.Equal("not-authorized", await JoinErrorAsync(bob, room, "Bob", "<password>toad</password>"));
        await JoinAsync(bob, room, "Bob", "<password>cauldron</password>");
    }

    [Fact]
    public async Task A_room_configured_with_only_a_secret_is_password_protected()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("only-secret");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_roomsecret", "cauldron"));

        Assert.Equal("not-authorized", await JoinErrorAsync(bob, room, "Bob"));
        await JoinAsync(bob, room, "Bob", "<password>cauldron</password>");
        var info = (await IqAsync(bob, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Contains(info.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == "muc_passwordprotected");

        // Clearing the secret is what opens the room again.
        Assert.Equal("result", (await ConfigureAsync(alice, room, ("muc#roomconfig_roomsecret", ""))).GetAttribute("type"));
        info = (await IqAsync(bob, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Contains(info.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == "muc_unsecured");
    }

    [Fact]
    public async Task An_outcast_is_forbidden_to_enter()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("banned");
        await CreateAsync(alice, room, "Alice");
        Assert.Equal("result", (await IqAsync(alice, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='outcast' jid='bob@localhost'/></query>")).GetAttribute("type"));

        await bob.SendAsync($"<presence to='{room}/Bob'><x xmlns='{Ns.Muc}'/></presence>");
        var error = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "error");
        Assert.Equal("forbidden", Condition(error));
        Assert.Equal("auth", ErrorType(error));
    }

    [Fact]
    public async Task A_non_member_entering_a_members_only_room_needs_registration()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("members");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_membersonly", "1"));

        await bob.SendAsync($"<presence to='{room}/Bob'><x xmlns='{Ns.Muc}'/></presence>");
        var error = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "error");
        Assert.Equal("registration-required", Condition(error));
        Assert.Equal("auth", ErrorType(error));
    }

    [Fact]
    public async Task A_visitor_speaking_in_a_moderated_room_is_forbidden()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("moderated");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_moderatedroom", "1"));
        var self = await JoinAsync(bob, room, "Bob");
        Assert.Equal("visitor", Item(self)!.GetAttribute("role"));

        await SayAsync(bob, room, "may I?");

        var error = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error");
        Assert.Equal("forbidden", Condition(error));
    }

    [Fact]
    public async Task A_configuration_form_with_an_unknown_field_or_an_invalid_value_is_not_acceptable_and_changes_nothing()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        var room = Room("badform");
        await CreateAsync(alice, room, "Alice");

        var unknown = await ConfigureAsync(alice, room, ("muc#roomconfig_roomname", "Renamed"), ("muc#roomconfig_teleport", "1"));
        Assert.Equal("not-acceptable", Condition(unknown));
        Assert.Contains("muc#roomconfig_teleport", unknown.Child("error")!.ChildText("text", Ns.Stanzas));
        var invalid = await ConfigureAsync(alice, room, ("muc#roomconfig_membersonly", "maybe"));
        Assert.Equal("not-acceptable", Condition(invalid));
        var noPassword = await ConfigureAsync(alice, room, ("muc#roomconfig_passwordprotectedroom", "1"));
        Assert.Equal("not-acceptable", Condition(noPassword));
        var tooMany = await ConfigureAsync(alice, room, ("muc#roomconfig_maxusers", "5000"));
        Assert.Equal("not-acceptable", Condition(tooMany));

        var info = (await IqAsync(alice, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Equal("badform", info.Child("identity", Ns.DiscoInfo)!.GetAttribute("name"));
        Assert.Contains(info.Children("feature", Ns.DiscoInfo), f => f.GetAttribute("var") == "muc_open");
    }

    [Fact]
    public async Task An_owner_removing_the_last_owner_is_a_conflict()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        var room = Room("lastowner");
        await CreateAsync(alice, room, "Alice");

        var demote = await IqAsync(alice, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='admin' jid='alice@localhost'/></query>");
        Assert.Equal("conflict", Condition(demote));
        var emptyOwners = await ConfigureAsync(alice, room, ("muc#roomconfig_roomowners", ""));
        Assert.Equal("not-acceptable", Condition(emptyOwners));

        Assert.Equal("result", (await IqAsync(alice, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='owner' jid='bob@localhost'/></query>")).GetAttribute("type"));
        Assert.Equal("result", (await IqAsync(alice, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='admin' jid='alice@localhost'/></query>")).GetAttribute("type"));
    }

    [Fact]
    public async Task A_groupchat_message_from_someone_not_in_the_room_is_not_acceptable_and_reaches_nobody()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = Room("closed");
        await CreateAsync(alice, room, "Alice");

        await SayAsync(bob, room, "I am not in there");

        var error = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error");
        Assert.Equal("not-acceptable", Condition(error));
        await SayAsync(alice, room, "only me");
        var next = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "groupchat");
        Assert.Equal("only me", next.ChildText("body"));
    }

    [Fact]
    public async Task An_invitation_to_a_malformed_jid_is_jid_malformed()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        var room = Room("badinvite");
        await CreateAsync(alice, room, "Alice");

        await alice.SendAsync($"<message to='{room}'><x xmlns='{Ns.MucUser}'><invite to='bob@@localhost'/></x></message>");

        var error = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error");
        Assert.Equal("jid-malformed", Condition(error));
        Assert.Equal("modify", ErrorType(error));
    }

    [Fact]
    public async Task A_message_to_a_room_that_does_not_exist_is_item_not_found()
    {
        await using var alice = await OnlineAsync(_node, "alice");

        await SayAsync(alice, Room("nowhere"), "anyone?");

        Assert.Equal("item-not-found", Condition(await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "error")));
    }

    [Fact]
    public async Task A_user_past_the_ad_hoc_room_limit_is_refused_with_resource_constraint()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await CreateAsync(alice, Room("first"), "Alice");
        await CreateAsync(alice, Room("second"), "Alice");

        Assert.Equal("resource-constraint", await JoinErrorAsync(alice, Room("third"), "Alice"));
    }

    [Fact]
    public async Task A_full_room_is_service_unavailable_to_the_next_user()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await using var carol = await OnlineAsync(_node, "carol");
        var room = Room("small");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_maxusers", "2"));
        await JoinAsync(bob, room, "Bob");

        await carol.SendAsync($"<presence to='{room}/Carol'><x xmlns='{Ns.Muc}'/></presence>");
        var error = await carol.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "error");
        Assert.Equal("service-unavailable", Condition(error));
        Assert.Equal("wait", ErrorType(error));
    }

    [Fact]
    public async Task A_user_not_listed_may_not_make_a_room_persistent()
    {
        await using var node = await StartAsync(o => o.Module<MucOptions>().PersistentRoomCreators = ["carol@localhost"]);
        await using var alice = await OnlineAsync(node, "alice");
        await using var carol = await OnlineAsync(node, "carol");
        await CreateAsync(alice, Room("mine"), "Alice");
        await CreateAsync(carol, Room("team"), "Carol", ("muc#roomconfig_persistentroom", "1"));

        var refused = await ConfigureAsync(alice, Room("mine"), ("muc#roomconfig_persistentroom", "1"));

        Assert.Equal("forbidden", Condition(refused));
    }
}
