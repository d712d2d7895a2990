using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;
using Parley.Xml;
using static Parley.Server.Tests.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>A running node hears what the `parley user` and `parley room` commands changed in its database.</summary>
public sealed class NodeNoticeTests
{
    [Fact]
    public async Task Every_session_of_an_account_removed_with_the_cli_ends_with_not_authorized_and_others_stay()
    {
        await using var node = await Muc.StartAsync();
        await using var laptop = await OnlineAsync(node, "alice", "laptop");
        await using var phone = await OnlineAsync(node, "alice", "phone");
        await using var bob = await OnlineAsync(node, "bob");

        await ParleyAsync(node, "user", "remove", "alice@localhost");

        foreach (var session in new[] { laptop, phone })
        {
            var error = await session.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
            Assert.NotNull(error.Child("not-authorized", Ns.StreamErrors));
            Assert.Equal("The account was removed.", error.ChildText("text", Ns.StreamErrors));
            Assert.True(await session.IsClosedAsync());
        }
        Assert.Equal("result", (await IqAsync(bob, TestNode.Domain, $"<ping xmlns='{Ns.Ping}'/>", "get")).GetAttribute("type"));
    }

    [Theory]
    [InlineData(1, "1 session ended")]
    [InlineData(2, "2 sessions ended")]
    public async Task The_log_says_how_many_sessions_of_a_removed_account_ended_in_good_english(int devices, string expected)
    {
        await using var node = await Muc.StartAsync(FastNotices);
        var sessions = new List<XmppTestClient>();
        for (var device = 0; device < devices; device++)
        {
            sessions.Add(await OnlineAsync(node, "alice", $"device{device}"));
        }

        await ParleyAsync(node, "user", "remove", "alice@localhost");

        Assert.EndsWith($"was removed by the administrator; {expected}", await node.Logs.WaitForAsync("alice@localhost was removed by the administrator"));
        foreach (var session in sessions)
        {
            await session.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_online_contact_of_an_account_removed_with_the_cli_gets_the_ended_subscription_pushed()
    {
        await using var node = await Muc.StartAsync(FastNotices);
        var rosters = node.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("bob@localhost", new Parley.Storage.RosterItem("alice@localhost", "Alice", Parley.Storage.Subscription.Both, false, false, ["Team"]));
        await rosters.SetItemAsync("alice@localhost", new Parley.Storage.RosterItem("bob@localhost", "Bob", Parley.Storage.Subscription.Both, false, false, []));
        await using var bob = await OnlineAsync(node, "bob");
        await IqAsync(bob, "bob@localhost", $"<query xmlns='{Ns.Roster}'/>", "get");

        await ParleyAsync(node, "user", "remove", "alice@localhost");

        var push = await bob.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set" && e.Child("query", Ns.Roster) is not null);
        var item = push.Child("query", Ns.Roster)!.Child("item", Ns.Roster)!;
        Assert.Equal(("alice@localhost", "none", "Alice"), (item.GetAttribute("jid"), item.GetAttribute("subscription"), item.GetAttribute("name")));
        // What the push says is what the roster now holds.
        var roster = await IqAsync(bob, "bob@localhost", $"<query xmlns='{Ns.Roster}'/>", "get");
        Assert.Equal("none", roster.Child("query", Ns.Roster)!.Child("item", Ns.Roster)!.GetAttribute("subscription"));
    }

    [Fact]
    public async Task Online_users_see_contacts_imported_with_the_cli_at_once_with_their_presence()
    {
        await using var node = await Muc.StartAsync(FastNotices);
        await using var alice = await OnlineAsync(node, "alice");
        await using var bob = await OnlineAsync(node, "bob", "desk");
        foreach (var client in new[] { alice, bob })
        {
            await IqAsync(client, client.Jid!.Split('/')[0], $"<query xmlns='{Ns.Roster}'/>", "get");
        }
        var csv = Path.Combine(node.Options.DataDir, "rosters.csv");
        await File.WriteAllTextAsync(csv, "alice@localhost,bob@localhost,Bob,Team\n");

        await ParleyAsync(node, "roster", "import", csv);

        var push = await alice.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set" && e.Child("query", Ns.Roster) is not null);
        var item = push.Child("query", Ns.Roster)!.Child("item", Ns.Roster)!;
        Assert.Equal(("bob@localhost", "both", "Bob", "Team"), (item.GetAttribute("jid"), item.GetAttribute("subscription"), item.GetAttribute("name"), item.ChildText("group", Ns.Roster)));
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "bob@localhost/desk" && e.GetAttribute("type") is null);
        var reverse = await bob.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set" && e.Child("query", Ns.Roster) is not null);
        Assert.Equal("alice@localhost", reverse.Child("query", Ns.Roster)!.Child("item", Ns.Roster)!.GetAttribute("jid"));
        await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "alice@localhost/home" && e.GetAttribute("type") is null);
    }

    [Fact]
    public async Task An_account_removed_with_the_cli_loses_its_affiliations_in_rooms_in_memory()
    {
        await using var node = await Muc.StartAsync(FastNotices);
        var room = Room("team");
        await using var bob = await OnlineAsync(node, "bob");
        await CreateAsync(bob, room, "Bob");
        await using (var alice = await OnlineAsync(node, "alice"))
        {
            var admin = await IqAsync(bob, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='admin' jid='alice@localhost'/></query>");
            Assert.Equal("result", admin.GetAttribute("type"));

            await ParleyAsync(node, "user", "remove", "alice@localhost");
            await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        }

        // Wait until the room has forgotten her: the admin list, read under the room's gate, no longer names her.
        await WaitUntilAsync(async () => !(await AdminsAsync(bob, room)).Contains("alice@localhost"));
        await node.CreateUserAsync("alice", "alice-password");
        await using var newAlice = await OnlineAsync(node, "alice");
        var self = await JoinAsync(newAlice, room, "Alice");
        Assert.Equal("none", self.Child("x", Ns.MucUser)!.Child("item", Ns.MucUser)!.GetAttribute("affiliation"));
    }

    [Fact]
    public async Task A_live_room_destroyed_with_the_cli_is_destroyed_for_its_occupants_and_stays_gone()
    {
        await using var node = await Muc.StartAsync(FastNotices);
        await using var alice = await OnlineAsync(node, "alice");
        await using var bob = await OnlineAsync(node, "bob");
        var room = Room("team");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_persistentroom", "1"), ("muc#roomconfig_roomname", "Team"));
        await JoinAsync(bob, room, "Bob");

        await ParleyAsync(node, "room", "destroy", room);

        foreach (var (occupant, nick) in new[] { (alice, "Alice"), (bob, "Bob") })
        {
            var gone = await occupant.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/{nick}" && e.GetAttribute("type") == "unavailable");
            var destroy = gone.Child("x", Ns.MucUser)!.Child("destroy", Ns.MucUser)!;
            Assert.Equal("Destroyed by the administrator", destroy.ChildText("reason", Ns.MucUser));
        }
        // The room in memory is gone too: a subject change (which a live room would save) finds no room.
        await alice.SendAsync($"<message to='{room}' type='groupchat' id='s1'><subject>Back again?</subject></message>");
        var refused = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "s1");
        Assert.Equal("item-not-found", Condition(refused));
        Assert.Null(await node.App.Node.Storage.Rooms.GetAsync(room));
        var items = (await IqAsync(alice, Service, $"<query xmlns='{Ns.DiscoItems}'/>", "get")).Child("query", Ns.DiscoItems)!;
        Assert.DoesNotContain(items.Children("item", Ns.DiscoItems), item => item.GetAttribute("jid") == room);
    }

    [Fact]
    public async Task A_live_room_configured_with_the_cli_shows_its_new_name_and_owner_at_once()
    {
        await using var node = await Muc.StartAsync(FastNotices);
        await using var alice = await OnlineAsync(node, "alice");
        await using var bob = await OnlineAsync(node, "bob");
        var room = Room("team");
        await CreateAsync(alice, room, "Alice", ("muc#roomconfig_persistentroom", "1"), ("muc#roomconfig_roomname", "Team"));
        await JoinAsync(bob, room, "Bob");

        await ParleyAsync(node, "room", "configure", room, "--name", "Renamed", "--owner", "bob@localhost");

        var promoted = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/Bob" && Codes(e).Contains(110));
        var item = promoted.Child("x", Ns.MucUser)!.Child("item", Ns.MucUser)!;
        Assert.Equal(("owner", "moderator"), (item.GetAttribute("affiliation"), item.GetAttribute("role")));
        var changed = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("from") == room && Codes(e).Contains(104));
        Assert.Equal("groupchat", changed.GetAttribute("type"));
        var info = (await IqAsync(alice, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        Assert.Equal("Renamed", info.Child("identity", Ns.DiscoInfo)!.GetAttribute("name"));
    }

    [Fact]
    public async Task A_notice_of_an_unknown_kind_is_ignored_and_later_notices_are_still_handled()
    {
        await using var node = await Muc.StartAsync(FastNotices);
        await using var alice = await OnlineAsync(node, "alice");

        await node.App.Node.Storage.Notices.PublishAsync("restart-everything", "localhost");
        await node.App.Node.Storage.Notices.PublishAsync("account-removed", "not a jid@@");
        await ParleyAsync(node, "user", "remove", "alice@localhost");

        var error = await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.NotNull(error.Child("not-authorized", Ns.StreamErrors));
    }

    private static void FastNotices(ParleyOptions options) => options.Storage.NoticePollMilliseconds = 50;

    internal static async Task ParleyAsync(TestNode node, params string[] args)
    {
        var (exitCode, output, error) = await node.RunParleyAsync(args);
        Assert.True(exitCode == 0, $"parley {string.Join(' ', args)}: exit {exitCode}\n{output}\n{error}");
    }

    private static async Task<List<string>> AdminsAsync(XmppTestClient owner, string room)
    {
        var list = await IqAsync(owner, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='admin'/></query>", "get");
        return [.. list.Child("query", Ns.MucAdmin)!.Children("item", Ns.MucAdmin).Select(item => item.GetAttribute("jid")!)];
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + XmppTestClient.Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold before the deadline");
            await Task.Yield();
        }
    }
}
