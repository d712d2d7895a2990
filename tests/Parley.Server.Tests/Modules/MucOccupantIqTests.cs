using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;
using static Parley.Server.Tests.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>IQs to an occupant's room JID: passed on to the occupant without revealing real JIDs, answers passed back.</summary>
public sealed class MucOccupantIqTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    /// <summary>Alice creates a semi-anonymous room and Bob joins it; both have consumed the join traffic.</summary>
    private static async Task<string> RoomWithAliceAndBobAsync(XmppTestClient alice, XmppTestClient bob, string name)
    {
        var room = Room(name);
        await CreateAsync(alice, room, "Alice");
        await JoinAsync(bob, room, "Bob");
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == room + "/Bob");
        return room;
    }

    private static Task<Element> VersionRequestAsync(XmppTestClient client) =>
        client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "get" && e.Child("query", Ns.Version) is not null);

    private static Task AnswerVersionAsync(XmppTestClient client, Element request, string name, string? id = null) =>
        client.SendAsync($"<iq type='result' id='{id ?? request.GetAttribute("id")}' to='{request.GetAttribute("from")}'><query xmlns='{Ns.Version}'><name>{name}</name></query></iq>");

    /// <summary>The next IQ, or private message saying "fence", from the room; what the room sent before the fence comes first.</summary>
    private static Task<Element> NextIqOrFenceAsync(XmppTestClient client, string room) =>
        client.ReceiveAsync(e => e.GetAttribute("from")?.StartsWith(room + "/", StringComparison.Ordinal) == true
            && (e.Name == "iq" || (e.Name == "message" && e.ChildText("body") == "fence")));

    private static Task SendFenceAsync(XmppTestClient client, string to) =>
        client.SendAsync($"<message type='chat' to='{to}'><body>fence</body></message>");

    [Fact]
    public async Task A_version_request_reaches_the_occupant_from_the_requesters_occupant_jid_and_the_answer_comes_back_with_the_requesters_id()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = await RoomWithAliceAndBobAsync(alice, bob, "versions");

        await alice.SendAsync($"<iq type='get' id='alice-version-1' to='{room}/Bob'><query xmlns='{Ns.Version}'/></iq>");

        var request = await VersionRequestAsync(bob);
        Assert.Equal(room + "/Alice", request.GetAttribute("from"));
        Assert.Equal(bob.Jid, request.GetAttribute("to"));
        Assert.DoesNotContain("alice@localhost", request.ToXml(Ns.Client), StringComparison.Ordinal);
        await AnswerVersionAsync(bob, request, "Bob's client");

        var answer = await alice.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "alice-version-1");
        Assert.Equal("result", answer.GetAttribute("type"));
        Assert.Equal(room + "/Bob", answer.GetAttribute("from"));
        Assert.Equal(alice.Jid, answer.GetAttribute("to"));
        Assert.Equal("Bob's client", answer.Child("query", Ns.Version)!.ChildText("name", Ns.Version));
        Assert.DoesNotContain("bob@localhost", answer.ToXml(Ns.Client), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vcard_request_to_an_occupant_is_answered_by_the_server_with_the_accounts_stored_vcard()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await bob.SendAsync($"<iq type='set' id='store-vcard'><vCard xmlns='{Ns.VCard}'><FN>Bob Builder</FN></vCard></iq>");
        var stored = await bob.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "store-vcard");
        Assert.Equal("result", stored.GetAttribute("type"));
        var room = await RoomWithAliceAndBobAsync(alice, bob, "cards");

        var answer = await IqAsync(alice, room + "/Bob", $"<vCard xmlns='{Ns.VCard}'/>", "get");

        Assert.Equal("result", answer.GetAttribute("type"));
        Assert.Equal(room + "/Bob", answer.GetAttribute("from"));
        Assert.Equal("Bob Builder", answer.Child("vCard", Ns.VCard)!.ChildText("FN", Ns.VCard));
        // Bob's client was not asked: the first thing from the room after the answer is Alice's fence.
        await SendFenceAsync(alice, room + "/Bob");
        Assert.Equal("message", (await NextIqOrFenceAsync(bob, room)).Name);
    }

    [Fact]
    public async Task An_error_answer_comes_back_to_the_requester_as_an_error()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = await RoomWithAliceAndBobAsync(alice, bob, "refusals");

        await alice.SendAsync($"<iq type='get' id='alice-time' to='{room}/Bob'><time xmlns='{Ns.Time}'/></iq>");
        var request = await bob.ReceiveAsync(e => e.Name == "iq" && e.Child("time", Ns.Time) is not null);
        await bob.SendAsync($"<iq type='error' id='{request.GetAttribute("id")}' to='{request.GetAttribute("from")}'><time xmlns='{Ns.Time}'/>"
            + $"<error type='cancel'><feature-not-implemented xmlns='{Ns.Stanzas}'/></error></iq>");

        var answer = await alice.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "alice-time");
        Assert.Equal("feature-not-implemented", Condition(answer));
        Assert.Equal(room + "/Bob", answer.GetAttribute("from"));
    }

    [Fact]
    public async Task Answers_with_an_unknown_id_from_someone_else_or_a_second_time_are_dropped()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await using var carol = await OnlineAsync(_node, "carol");
        var room = await RoomWithAliceAndBobAsync(alice, bob, "strays");
        await JoinAsync(carol, room, "Carol");

        await alice.SendAsync($"<iq type='get' id='first' to='{room}/Bob'><query xmlns='{Ns.Version}'/></iq>");
        var request = await VersionRequestAsync(bob);
        // Carol saw nothing of the request, but answers with its id anyway: not Bob's answer, so not passed on.
        await AnswerVersionAsync(carol, request, "Carol's forgery");
        await SendFenceAsync(carol, room + "/Alice");
        var afterForgery = await NextIqOrFenceAsync(alice, room);
        Assert.Equal(room + "/Carol", afterForgery.GetAttribute("from"));
        Assert.Equal("message", afterForgery.Name);

        await AnswerVersionAsync(bob, request, "Made up", id: "no-such-id");
        await AnswerVersionAsync(bob, request, "Bob's client");
        await AnswerVersionAsync(bob, request, "Bob's client again");
        await SendFenceAsync(bob, room + "/Alice");

        var answer = await NextIqOrFenceAsync(alice, room);
        Assert.Equal("first", answer.GetAttribute("id"));
        Assert.Equal("Bob's client", answer.Child("query", Ns.Version)!.ChildText("name", Ns.Version));
        var fence = await NextIqOrFenceAsync(alice, room);
        Assert.Equal("message", fence.Name);
        Assert.Equal(room + "/Bob", fence.GetAttribute("from"));
    }

    [Fact]
    public async Task An_answer_after_the_requester_left_the_room_goes_nowhere()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = await RoomWithAliceAndBobAsync(alice, bob, "departures");

        await alice.SendAsync($"<iq type='get' id='before-leaving' to='{room}/Bob'><query xmlns='{Ns.Version}'/></iq>");
        var request = await VersionRequestAsync(bob);
        await alice.SendAsync($"<presence to='{room}/Alice' type='unavailable'/>");
        await alice.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable" && Codes(e).Contains(110));
        await AnswerVersionAsync(bob, request, "Bob's client");
        await bob.SendAsync("<message type='chat' to='alice@localhost/home'><body>fence</body></message>");

        var next = await alice.ReceiveAsync(e => e.Name == "iq" || (e.Name == "message" && e.ChildText("body") == "fence"));
        Assert.Equal("message", next.Name);
        Assert.Equal(bob.Jid, next.GetAttribute("from"));
    }

    [Fact]
    public async Task A_request_to_a_nickname_joined_from_two_devices_goes_to_the_device_joined_last()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bobHome = await OnlineAsync(_node, "bob", "home");
        await using var bobWork = await OnlineAsync(_node, "bob", "work");
        var room = await RoomWithAliceAndBobAsync(alice, bobHome, "devices");
        await JoinAsync(bobWork, room, "Bob");

        await alice.SendAsync($"<iq type='get' id='which-device' to='{room}/Bob'><query xmlns='{Ns.Version}'/></iq>");

        var request = await VersionRequestAsync(bobWork);
        Assert.Equal(bobWork.Jid, request.GetAttribute("to"));
        await SendFenceAsync(alice, room + "/Bob");
        Assert.Equal("message", (await NextIqOrFenceAsync(bobHome, room)).Name);
    }

    [Fact]
    public async Task A_ping_to_another_occupant_is_answered_by_the_room()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = await RoomWithAliceAndBobAsync(alice, bob, "pings");

        var pong = await IqAsync(alice, room + "/Bob", $"<ping xmlns='{Ns.Ping}'/>", "get");

        Assert.Equal("result", pong.GetAttribute("type"));
        Assert.Equal(room + "/Bob", pong.GetAttribute("from"));
        await SendFenceAsync(alice, room + "/Bob");
        Assert.Equal("message", (await NextIqOrFenceAsync(bob, room)).Name);
    }

    [Fact]
    public async Task A_request_from_outside_the_room_is_not_acceptable_and_one_to_an_unknown_nickname_is_item_not_found()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        await using var carol = await OnlineAsync(_node, "carol");
        var room = await RoomWithAliceAndBobAsync(alice, bob, "closed-door");

        var outsider = await IqAsync(carol, room + "/Bob", $"<query xmlns='{Ns.Version}'/>", "get");
        Assert.Equal("not-acceptable", Condition(outsider));
        var outsiderVCard = await IqAsync(carol, room + "/Bob", $"<vCard xmlns='{Ns.VCard}'/>", "get");
        Assert.Equal("not-acceptable", Condition(outsiderVCard));
        var nobody = await IqAsync(alice, room + "/Nobody", $"<query xmlns='{Ns.Version}'/>", "get");
        Assert.Equal("item-not-found", Condition(nobody));
    }

    [Fact]
    public async Task A_self_ping_to_a_room_that_is_gone_says_not_joined_so_the_client_joins_again()
    {
        await using var alice = await OnlineAsync(_node, "alice");

        // XEP-0410: item-not-found would mean "still joined, nickname changed"; a room that is gone has nobody in it.
        var selfPing = await IqAsync(alice, $"gone@{Service}/Alice", $"<ping xmlns='{Ns.Ping}'/>", "get");
        Assert.Equal("not-acceptable", Condition(selfPing));
        var other = await IqAsync(alice, $"gone@{Service}/Alice", $"<query xmlns='{Ns.Version}'/>", "get");
        Assert.Equal("item-not-found", Condition(other));
    }

    [Fact]
    public async Task A_room_waiting_for_too_many_answers_refuses_more_requests_with_resource_constraint()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        await using var bob = await OnlineAsync(_node, "bob");
        var room = await RoomWithAliceAndBobAsync(alice, bob, "flood");
        const int RoomCapacity = 256;

        for (var i = 1; i <= RoomCapacity; i++)
        {
            await alice.SendAsync($"<iq type='get' id='flood-{i}' to='{room}/Bob'><query xmlns='{Ns.Version}'/></iq>");
        }
        var refused = await IqAsync(alice, room + "/Bob", $"<query xmlns='{Ns.Version}'/>", "get");

        Assert.Equal("resource-constraint", Condition(refused));
        Assert.Equal("wait", ErrorType(refused));
    }

    [Fact]
    public async Task An_answer_to_a_room_that_is_gone_gets_no_error_back()
    {
        await using var bob = await OnlineAsync(_node, "bob");

        await bob.SendAsync($"<iq type='result' id='late-answer' to='{Room("gone")}/Alice'/>");
        await bob.SendAsync($"<iq type='get' id='ping-fence' to='{Service}'><ping xmlns='{Ns.Ping}'/></iq>");

        var next = await bob.ReceiveAsync(e => e.Name == "iq");
        Assert.Equal("ping-fence", next.GetAttribute("id"));
        Assert.Equal("result", next.GetAttribute("type"));
    }
}
