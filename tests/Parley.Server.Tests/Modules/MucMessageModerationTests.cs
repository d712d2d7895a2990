using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;
using static Parley.Server.Tests.Modules.Muc;

namespace Parley.Server.Tests.Modules;

/// <summary>
/// XEP-0425: a moderator retracts an occupant's message from every occupant, the room's archive and its history, asking
/// in the current form (urn:xmpp:message-moderate:1) or in the older fastened one (urn:xmpp:message-moderate:0).
/// </summary>
public sealed class MucMessageModerationTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static string Moderate(string stanzaId, string reason = "") =>
        $"<moderate xmlns='{Ns.MessageModeration}' id='{stanzaId}'><retract xmlns='{Ns.MessageRetraction}'/>{(reason.Length > 0 ? $"<reason>{reason}</reason>" : "")}</moderate>";

    /// <summary>The request as XEP-0425 before 0.3 has it (and python3-slixmpp sends it).</summary>
    private static string LegacyModerate(string stanzaId, string reason = "") =>
        $"<apply-to xmlns='{Ns.Fasten}' id='{stanzaId}'><moderate xmlns='{Ns.MessageModerationLegacy}'><retract xmlns='{Ns.MessageRetractionLegacy}'/>{(reason.Length > 0 ? $"<reason>{reason}</reason>" : "")}</moderate></apply-to>";

    private static string StanzaId(Element message) => message.Child("stanza-id", Ns.StanzaId)!.GetAttribute("id")!;

    private static string OccupantId(Element stanza) => Assert.Single(stanza.Children("occupant-id", Ns.OccupantId)).GetAttribute("id")!;

    private static Task<Element> RetractionAsync(XmppTestClient client) =>
        client.ReceiveAsync(e => e.Name == "message" && e.Child("retract", Ns.MessageRetraction) is not null);

    /// <summary>The retraction tells, in both forms, which message the moderator took back, who they are and why.</summary>
    private static void AssertRetractsInBothForms(Element retraction, string stanzaId, string moderatorJid, string moderatorId, string? reason)
    {
        var retract = retraction.Child("retract", Ns.MessageRetraction)!;
        Assert.Equal(stanzaId, retract.GetAttribute("id"));
        Assert.Equal(reason, retract.ChildText("reason", Ns.MessageRetraction));
        var moderated = retract.Child("moderated", Ns.MessageModeration)!;
        Assert.Equal(moderatorJid, moderated.GetAttribute("by"));
        Assert.Equal(moderatorId, OccupantId(moderated));

        var applyTo = retraction.Child("apply-to", Ns.Fasten)!;
        Assert.Equal(stanzaId, applyTo.GetAttribute("id"));
        var legacyModerated = applyTo.Child("moderated", Ns.MessageModerationLegacy)!;
        Assert.Equal(moderatorJid, legacyModerated.GetAttribute("by"));
        Assert.NotNull(legacyModerated.Child("retract", Ns.MessageRetractionLegacy));
        Assert.Equal(reason, legacyModerated.ChildText("reason", Ns.MessageModerationLegacy));
        Assert.Equal(moderatorId, OccupantId(legacyModerated));
    }

    /// <summary>The room's archive, as MAM gives it (results first, then the IQ's answer).</summary>
    private static async Task<List<Element>> ArchiveAsync(XmppTestClient client, string room)
    {
        await client.SendAsync($"<iq type='set' id='mam' to='{room}'><query xmlns='{Ns.Mam}'/></iq>");
        var messages = new List<Element>();
        while (true)
        {
            var next = await client.ReceiveAsync(e => (e.Name == "message" && e.Child("result", Ns.Mam) is not null) || e.GetAttribute("id") == "mam");
            if (next.Name == "iq")
            {
                Assert.Equal("result", next.GetAttribute("type"));
                return messages;
            }
            messages.Add(next.Child("result", Ns.Mam)!.Child("forwarded", Ns.Forward)!.Child("message")!);
        }
    }

    /// <summary>A persistent (so archived) room: Alice owns it, Bob and Carol are participants.</summary>
    private async Task<(XmppTestClient Alice, XmppTestClient Bob, XmppTestClient Carol, string AliceId)> RoomWithThreeAsync(string room)
    {
        var alice = await OnlineAsync(_node, "alice");
        var bob = await OnlineAsync(_node, "bob");
        var carol = await OnlineAsync(_node, "carol");
        var aliceId = OccupantId(await JoinAsync(alice, room, "Alice"));
        Assert.Equal("result", (await ConfigureAsync(alice, room, ("muc#roomconfig_persistentroom", "1"))).GetAttribute("type"));
        await JoinAsync(bob, room, "Bob");
        await JoinAsync(carol, room, "Carol");
        return (alice, bob, carol, aliceId);
    }

    [Fact]
    public async Task A_moderator_retracts_a_message_from_every_occupant_the_archive_and_the_history()
    {
        var room = Room("moderated");
        var (alice, bob, carol, aliceId) = await RoomWithThreeAsync(room);
        await using var _ = alice;
        await using var __ = bob;
        await using var ___ = carol;
        await SayAsync(carol, room, "hello all", "m1");
        await GroupchatAsync(alice, "hello all");
        await SayAsync(bob, room, "buy cheap potions", "m2");
        var spam = await GroupchatAsync(alice, "buy cheap potions");
        var spamId = StanzaId(spam);

        await alice.SendAsync($"<iq type='set' id='mod1' to='{room}'>{Moderate(spamId, "Spam")}</iq>");

        foreach (var occupant in new[] { alice, bob, carol })
        {
            var retraction = await RetractionAsync(occupant);
            Assert.Equal(room, retraction.GetAttribute("from"));
            Assert.Equal("groupchat", retraction.GetAttribute("type"));
            AssertRetractsInBothForms(retraction, spamId, room + "/Alice", aliceId, "Spam");
            Assert.Equal(room, retraction.Child("stanza-id", Ns.StanzaId)!.GetAttribute("by"));
        }
        Assert.Equal("result", (await alice.ReceiveAsync(e => e.GetAttribute("id") == "mod1")).GetAttribute("type"));

        var archive = await ArchiveAsync(carol, room);
        Assert.Equal(3, archive.Count);
        Assert.Equal("hello all", archive[0].ChildText("body"));
        var tombstone = archive[1];
        Assert.Equal(room + "/Bob", tombstone.GetAttribute("from"));
        Assert.Null(tombstone.Child("body"));
        Assert.DoesNotContain("potions", tombstone.ToXml(Ns.Client), StringComparison.Ordinal);
        Assert.Equal(OccupantId(spam), OccupantId(tombstone));
        var retracted = tombstone.Child("retracted", Ns.MessageRetraction)!;
        Assert.Equal(aliceId, OccupantId(retracted.Child("moderated", Ns.MessageModeration)!));
        Assert.Equal("Spam", retracted.ChildText("reason", Ns.MessageRetraction));
        Assert.Equal(spamId, archive[2].Child("retract", Ns.MessageRetraction)!.GetAttribute("id"));
        Assert.Equal(archive[2].GetAttribute("id"), retracted.GetAttribute("id"));

        await using var dave = await OnlineAsync(_node, "dave");
        await dave.SendAsync($"<presence to='{room}/Dave'><x xmlns='{Ns.Muc}'/></presence>");
        var history = new List<string?>();
        while (true)
        {
            var message = await dave.ReceiveAsync(e => e.Name == "message");
            if (message.Child("subject") is not null)
            {
                break;
            }
            history.Add(message.ChildText("body"));
        }
        Assert.Equal(["hello all"], history);
    }

    [Fact]
    public async Task Requests_a_room_cannot_carry_out_get_a_clear_error_and_change_nothing()
    {
        var room = Room("refusals");
        var (alice, bob, carol, _) = await RoomWithThreeAsync(room);
        await using var a = alice;
        await using var b = bob;
        await using var c = carol;
        await SayAsync(bob, room, "a fine message");
        var stanzaId = StanzaId(await GroupchatAsync(alice, "a fine message"));

        var byParticipant = await IqAsync(carol, room, Moderate(stanzaId));
        Assert.Equal("forbidden", Condition(byParticipant));
        Assert.Equal("item-not-found", Condition(await IqAsync(alice, room, Moderate("ffffffffffffffff"))));
        Assert.Equal("item-not-found", Condition(await IqAsync(alice, room, Moderate("no such id"))));
        var noId = await IqAsync(alice, room, $"<moderate xmlns='{Ns.MessageModeration}'><retract xmlns='{Ns.MessageRetraction}'/></moderate>");
        Assert.Equal("bad-request", Condition(noId));
        Assert.Contains("stanza-id", noId.Child("error")!.ChildText("text", Ns.Stanzas), StringComparison.Ordinal);
        var noRetract = await IqAsync(alice, room, $"<moderate xmlns='{Ns.MessageModeration}' id='{stanzaId}'/>");
        Assert.Equal("bad-request", Condition(noRetract));

        var archive = await ArchiveAsync(carol, room);
        Assert.Equal("a fine message", Assert.Single(archive).ChildText("body"));
    }

    [Fact]
    public async Task The_rooms_own_retraction_message_cannot_be_moderated_and_retracting_twice_changes_nothing()
    {
        var room = Room("twice");
        var (alice, bob, carol, _) = await RoomWithThreeAsync(room);
        await using var a = alice;
        await using var b = bob;
        await using var c = carol;
        await SayAsync(bob, room, "oops");
        var stanzaId = StanzaId(await GroupchatAsync(alice, "oops"));
        await alice.SendAsync($"<iq type='set' id='mod1' to='{room}'>{Moderate(stanzaId)}</iq>");
        var retractionId = StanzaId(await RetractionAsync(alice));
        await alice.ReceiveAsync(e => e.GetAttribute("id") == "mod1");

        Assert.Equal("item-not-found", Condition(await IqAsync(alice, room, Moderate(retractionId))));
        Assert.Equal("result", (await IqAsync(alice, room, Moderate(stanzaId))).GetAttribute("type"));

        var archive = await ArchiveAsync(carol, room);
        Assert.Equal(2, archive.Count);
        Assert.NotNull(archive[0].Child("retracted", Ns.MessageRetraction));
        Assert.NotNull(archive[1].Child("retract", Ns.MessageRetraction));
    }

    [Fact]
    public async Task A_moderator_asking_in_the_older_fastened_form_retracts_the_message_in_the_archive_for_everyone()
    {
        var room = Room("legacy");
        var (alice, bob, carol, aliceId) = await RoomWithThreeAsync(room);
        await using var _ = alice;
        await using var __ = bob;
        await using var ___ = carol;
        await SayAsync(bob, room, "buy cheap potions", "m1");
        var spam = await GroupchatAsync(alice, "buy cheap potions");
        var spamId = StanzaId(spam);

        await alice.SendAsync($"<iq type='set' id='mod0' to='{room}'>{LegacyModerate(spamId, "Spam")}</iq>");

        foreach (var occupant in new[] { alice, bob, carol })
        {
            var retraction = await RetractionAsync(occupant);
            Assert.Equal(room, retraction.GetAttribute("from"));
            AssertRetractsInBothForms(retraction, spamId, room + "/Alice", aliceId, "Spam");
            Assert.Equal("Alice retracted a message: Spam", retraction.ChildText("body"));
        }
        Assert.Equal("result", (await alice.ReceiveAsync(e => e.GetAttribute("id") == "mod0")).GetAttribute("type"));

        var archive = await ArchiveAsync(carol, room);
        Assert.Equal(2, archive.Count);
        Assert.DoesNotContain("potions", archive[0].ToXml(Ns.Client), StringComparison.Ordinal);
        var retracted = archive[0].Child("retracted", Ns.MessageRetraction)!;
        Assert.Equal("Spam", retracted.ChildText("reason", Ns.MessageRetraction));
        Assert.Equal(spamId, archive[1].Child("apply-to", Ns.Fasten)!.GetAttribute("id"));
        Assert.Equal(archive[1].GetAttribute("id"), retracted.GetAttribute("id"));
    }

    [Fact]
    public async Task Older_form_requests_a_room_cannot_carry_out_get_the_same_clear_errors_and_change_nothing()
    {
        var room = Room("legacy-refusals");
        var (alice, bob, carol, _) = await RoomWithThreeAsync(room);
        await using var a = alice;
        await using var b = bob;
        await using var c = carol;
        await SayAsync(bob, room, "a fine message");
        var stanzaId = StanzaId(await GroupchatAsync(alice, "a fine message"));

        Assert.Equal("forbidden", Condition(await IqAsync(carol, room, LegacyModerate(stanzaId))));
        Assert.Equal("item-not-found", Condition(await IqAsync(alice, room, LegacyModerate("no such id"))));
        var noId = await IqAsync(alice, room, $"<apply-to xmlns='{Ns.Fasten}'><moderate xmlns='{Ns.MessageModerationLegacy}'><retract xmlns='{Ns.MessageRetractionLegacy}'/></moderate></apply-to>");
        Assert.Equal("bad-request", Condition(noId));
        Assert.Contains("stanza-id", noId.Child("error")!.ChildText("text", Ns.Stanzas), StringComparison.Ordinal);
        Assert.Contains(Ns.MessageModerationLegacy, noId.Child("error")!.ChildText("text", Ns.Stanzas), StringComparison.Ordinal);
        var noModerate = await IqAsync(alice, room, $"<apply-to xmlns='{Ns.Fasten}' id='{stanzaId}'/>");
        Assert.Equal("bad-request", Condition(noModerate));
        // The current form's <retract/> inside the older <moderate> mixes the two: neither client would have sent it.
        var mixed = await IqAsync(alice, room, $"<apply-to xmlns='{Ns.Fasten}' id='{stanzaId}'><moderate xmlns='{Ns.MessageModerationLegacy}'><retract xmlns='{Ns.MessageRetraction}'/></moderate></apply-to>");
        Assert.Equal("bad-request", Condition(mixed));
        var notApplyTo = await IqAsync(alice, room, $"<external xmlns='{Ns.Fasten}' id='{stanzaId}'><moderate xmlns='{Ns.MessageModerationLegacy}'><retract xmlns='{Ns.MessageRetractionLegacy}'/></moderate></external>");
        Assert.Equal("bad-request", Condition(notApplyTo));

        var archive = await ArchiveAsync(carol, room);
        Assert.Equal("a fine message", Assert.Single(archive).ChildText("body"));
    }

    [Fact]
    public async Task Rooms_advertise_both_forms_of_message_moderation()
    {
        await using var alice = await OnlineAsync(_node, "alice");
        var room = Room("features");
        await CreateAsync(alice, room, "Alice");

        var roomInfo = (await IqAsync(alice, room, $"<query xmlns='{Ns.DiscoInfo}'/>", "get")).Child("query", Ns.DiscoInfo)!;
        var features = roomInfo.Children("feature", Ns.DiscoInfo).Select(f => f.GetAttribute("var")).ToList();
        Assert.Contains(Ns.MessageModeration, features);
        Assert.Contains(Ns.MessageModerationLegacy, features);
    }
}
