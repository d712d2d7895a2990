using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>
/// Message Carbons (XEP-0280) and the hints that opt out of them (XEP-0334), with Romeo on several
/// devices and Juliet as his contact, over real connections.
/// </summary>
public sealed class CarbonsTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        foreach (var user in new[] { "juliet", "romeo" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<XmppTestClient> OnlineAsync(string user, string resource, int priority = 0, bool carbons = false)
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", resource);
        if (carbons)
        {
            await SetCarbonsAsync(client, "enable");
        }
        await client.AnnounceAsync($"<presence><priority>{priority}</priority></presence>");
        return client;
    }

    private static async Task SetCarbonsAsync(XmppTestClient client, string command)
    {
        await client.SendAsync($"<iq type='set' id='{command}'><{command} xmlns='urn:xmpp:carbons:2'/></iq>");
        var result = await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == command);
        Assert.Equal("result", result.GetAttribute("type"));
    }

    private static Task<Element> NextMessageAsync(XmppTestClient client) => client.ReceiveAsync(e => e.Name == "message");

    /// <summary>The message inside a carbon, after checking the wrapper a client must check (§11: from the account's bare JID).</summary>
    private static Element Unwrap(Element wrapper, string direction, XmppTestClient device)
    {
        Assert.Equal("romeo@localhost", wrapper.GetAttribute("from"));
        Assert.Equal(device.Jid, wrapper.GetAttribute("to"));
        var carbon = wrapper.Child(direction, Ns.Carbons);
        Assert.True(carbon is not null, $"expected a <{direction}/> carbon, got {wrapper}");
        var inner = carbon!.Child("forwarded", Ns.Forward)?.Child("message", Ns.Client);
        Assert.NotNull(inner);
        return inner!;
    }

    /// <summary>Pings the server; what arrived before the answer is everything the server had queued for this client.</summary>
    private static async Task<List<Element>> UntilPongAsync(XmppTestClient client)
    {
        await client.SendAsync("<iq type='get' id='barrier' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        var before = new List<Element>();
        while (true)
        {
            var element = await client.ReceiveAsync();
            if (element.Name == "iq" && element.GetAttribute("id") == "barrier")
            {
                return before;
            }
            before.Add(element);
        }
    }

    /// <summary>Once the sender's stanzas are all handled, nothing for <paramref name="device"/> came of them.</summary>
    private static async Task AssertNoMessageAsync(XmppTestClient sender, params XmppTestClient[] devices)
    {
        await UntilPongAsync(sender);
        foreach (var device in devices)
        {
            Assert.DoesNotContain(await UntilPongAsync(device), e => e.Name == "message");
        }
    }

    [Fact]
    public async Task The_server_and_accounts_advertise_carbons_and_the_copying_rules()
    {
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "phone");
        foreach (var to in new[] { "localhost", "romeo@localhost" })
        {
            await romeo.SendAsync($"<iq type='get' id='info' to='{to}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
            var info = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "info");
            var features = info.Child("query", Ns.DiscoInfo)!.Children("feature", Ns.DiscoInfo).Select(f => f.GetAttribute("var")).ToList();
            Assert.Contains("urn:xmpp:carbons:2", features);
            Assert.Contains("urn:xmpp:carbons:rules:0", features);
        }
    }

    [Theory]
    [InlineData("<iq type='get' id='bad'><enable xmlns='urn:xmpp:carbons:2'/></iq>", "bad-request", "Carbons are turned on and off with an IQ of type set.")]
    [InlineData("<iq type='set' id='bad'><sent xmlns='urn:xmpp:carbons:2'/></iq>", "bad-request", "Expected <enable/> or <disable/>.")]
    [InlineData("<iq type='set' id='bad' to='juliet@localhost'><enable xmlns='urn:xmpp:carbons:2'/></iq>", "not-allowed", "Only a client of this account can turn its own carbons on or off.")]
    public async Task A_malformed_or_foreign_carbons_request_is_refused_with_an_error_that_says_why(string request, string condition, string text)
    {
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "phone");

        await romeo.SendAsync(request);

        var error = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "bad");
        Assert.Equal("error", error.GetAttribute("type"));
        Assert.NotNull(error.Child("error")!.Child(condition, Ns.Stanzas));
        Assert.Equal(text, error.Child("error")!.ChildText("text", Ns.Stanzas));
    }

    [Fact]
    public async Task Enabling_or_disabling_twice_is_not_an_error()
    {
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "phone");
        foreach (var command in new[] { "enable", "enable", "disable", "disable" })
        {
            await SetCarbonsAsync(romeo, command);
        }
    }

    [Fact]
    public async Task A_message_to_the_bare_jid_goes_to_the_highest_priority_device_and_the_other_gets_a_received_carbon()
    {
        await using var desk = await OnlineAsync("romeo", "desk", priority: 5, carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", priority: 1, carbons: true);
        await using var juliet = await OnlineAsync("juliet", "balcony");

        await juliet.SendAsync("<message to='romeo@localhost' type='chat' id='m1'><body>Wherefore art thou?</body></message>");

        var original = await NextMessageAsync(desk);
        Assert.Equal("Wherefore art thou?", original.ChildText("body"));
        Assert.Null(original.Child("received", Ns.Carbons));

        var wrapper = await NextMessageAsync(phone);
        Assert.Equal("chat", wrapper.GetAttribute("type"));
        var copied = Unwrap(wrapper, "received", phone);
        Assert.Equal("juliet@localhost/balcony", copied.GetAttribute("from"));
        Assert.Equal("romeo@localhost", copied.GetAttribute("to"));
        Assert.Equal("m1", copied.GetAttribute("id"));
        Assert.Equal("Wherefore art thou?", copied.ChildText("body"));

        // The device that got the message itself gets no copy as well.
        await AssertNoMessageAsync(juliet, desk);
    }

    [Fact]
    public async Task A_device_with_negative_priority_gets_a_carbon_of_what_went_to_offline_storage()
    {
        await using var pager = await OnlineAsync("romeo", "pager", priority: -1, carbons: true);
        await using var juliet = await OnlineAsync("juliet", "balcony");

        await juliet.SendAsync("<message to='romeo@localhost' type='chat' id='kept'><body>for later</body></message>");

        // RFC 6121 §8.5.2.1.1: a negative priority never takes messages to the bare JID, so this one was stored.
        Assert.Equal("for later", Unwrap(await NextMessageAsync(pager), "received", pager).ChildText("body"));
        Assert.Equal(1, await _node.App.Node.Storage.Offline.CountAsync("romeo@localhost"));
    }

    [Fact]
    public async Task A_message_to_one_device_is_copied_to_the_others_that_enabled_carbons_and_to_no_one_else()
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var tablet = await OnlineAsync("romeo", "tablet");
        await using var laptop = await OnlineAsync("romeo", "laptop", carbons: true);
        await SetCarbonsAsync(laptop, "disable");
        await using var juliet = await OnlineAsync("juliet", "balcony");

        await juliet.SendAsync($"<message to='{phone.Jid}' type='chat' id='m2'><body>To your phone</body></message>");

        Assert.Equal("To your phone", (await NextMessageAsync(phone)).ChildText("body"));
        var copied = Unwrap(await NextMessageAsync(desk), "received", desk);
        Assert.Equal(phone.Jid, copied.GetAttribute("to"));
        Assert.Equal("To your phone", copied.ChildText("body"));
        await AssertNoMessageAsync(juliet, tablet, laptop, phone);
    }

    [Fact]
    public async Task What_one_device_sends_is_copied_to_the_others_that_enabled_carbons_and_not_back_to_the_sender()
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var tablet = await OnlineAsync("romeo", "tablet");
        await using var juliet = await OnlineAsync("juliet", "balcony");

        await desk.SendAsync("<message to='juliet@localhost' type='chat' id='s1'><body>It is my lady</body></message>");

        Assert.Equal("It is my lady", (await NextMessageAsync(juliet)).ChildText("body"));
        var wrapper = await NextMessageAsync(phone);
        Assert.Equal("chat", wrapper.GetAttribute("type"));
        var copied = Unwrap(wrapper, "sent", phone);
        Assert.Equal(desk.Jid, copied.GetAttribute("from"));
        Assert.Equal("juliet@localhost", copied.GetAttribute("to"));
        Assert.Equal("It is my lady", copied.ChildText("body"));
        await AssertNoMessageAsync(desk, desk, tablet);
    }

    [Fact]
    public async Task A_message_from_one_device_to_another_reaches_that_device_once_and_the_rest_as_a_sent_carbon()
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var tablet = await OnlineAsync("romeo", "tablet", carbons: true);

        await desk.SendAsync($"<message to='{phone.Jid}' type='chat'><body>note to self</body></message>");

        var original = await NextMessageAsync(phone);
        Assert.Null(original.Child("sent", Ns.Carbons));
        Assert.Equal("note to self", original.ChildText("body"));
        Assert.Equal("note to self", Unwrap(await NextMessageAsync(tablet), "sent", tablet).ChildText("body"));
        await AssertNoMessageAsync(desk, phone, desk);
    }

    [Theory]
    [InlineData("<private xmlns='urn:xmpp:carbons:2'/>")]
    [InlineData("<no-copy xmlns='urn:xmpp:hints'/>")]
    [InlineData("<private xmlns='urn:xmpp:carbons:2'/><no-copy xmlns='urn:xmpp:hints'/>")]
    public async Task A_message_marked_private_or_no_copy_is_not_copied_either_way(string marker)
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var juliet = await OnlineAsync("juliet", "balcony");

        await desk.SendAsync($"<message to='juliet@localhost' type='chat'><body>secret out</body>{marker}</message>");
        var firstOut = await NextMessageAsync(juliet);
        Assert.Equal("secret out", firstOut.ChildText("body"));
        await juliet.SendAsync($"<message to='{desk.Jid}' type='chat'><body>secret in</body>{marker}</message>");
        // Copied as usual, so the next thing the phone gets shows the secrets were not copied before it.
        await juliet.SendAsync($"<message to='{desk.Jid}' type='chat'><body>not secret</body></message>");

        var firstIn = await NextMessageAsync(desk);
        Assert.Equal("secret in", firstIn.ChildText("body"));
        Assert.Equal("not secret", Unwrap(await NextMessageAsync(phone), "received", phone).ChildText("body"));

        // XEP-0280 §9: the receiving server removes <private/>; the XEP-0334 hint is left for the recipient.
        foreach (var delivered in new[] { firstOut, firstIn })
        {
            Assert.Null(delivered.Child("private", Ns.Carbons));
            Assert.Equal(marker.Contains("no-copy"), delivered.Child("no-copy", Ns.Hints) is not null);
        }
    }

    [Theory]
    [InlineData("groupchat", "<body>in the room</body>")]
    [InlineData("headline", "<body>news</body>")]
    [InlineData("normal", "")]
    [InlineData("normal", "<thread>t1</thread>")]
    [InlineData("chat", "<body>from a room occupant</body><x xmlns='http://jabber.org/protocol/muc#user'/>")]
    public async Task Messages_that_are_not_instant_messaging_are_not_copied(string type, string content)
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var juliet = await OnlineAsync("juliet", "balcony");

        await juliet.SendAsync($"<message to='{desk.Jid}' type='{type}' id='not-im'>{content}</message>");
        await juliet.SendAsync($"<message to='{desk.Jid}' type='chat' id='im'><body>im</body></message>");

        Assert.Equal("not-im", (await NextMessageAsync(desk)).GetAttribute("id"));
        Assert.Equal("im", Unwrap(await NextMessageAsync(phone), "received", phone).GetAttribute("id"));
    }

    [Theory]
    [InlineData("chat", "<composing xmlns='http://jabber.org/protocol/chatstates'/>")]
    [InlineData("normal", "<body>a normal message</body>")]
    [InlineData("normal", "<received xmlns='urn:xmpp:receipts' id='m1'/>")]
    [InlineData("normal", "<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>")]
    [InlineData("normal", "<x xmlns='jabber:x:conference' jid='garden@conference.localhost'/>")]
    [InlineData("normal", "<x xmlns='http://jabber.org/protocol/muc#user'><invite from='mercutio@localhost'/></x>")]
    public async Task Chat_states_receipts_markers_invitations_and_normal_messages_with_a_body_are_copied(string type, string content)
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var juliet = await OnlineAsync("juliet", "balcony");

        await juliet.SendAsync($"<message to='{desk.Jid}' type='{type}' id='in'>{content}</message>");
        Assert.Equal("in", Unwrap(await NextMessageAsync(phone), "received", phone).GetAttribute("id"));

        await desk.SendAsync($"<message to='{juliet.Jid}' type='{type}' id='out'>{content}</message>");
        Assert.Equal("out", Unwrap(await NextMessageAsync(phone), "sent", phone).GetAttribute("id"));
    }

    [Fact]
    public async Task A_private_message_the_user_sends_to_a_room_occupant_is_copied()
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);

        await desk.SendAsync("<message to='garden@conference.localhost/juliet' type='chat' id='pm'><body>psst</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>");

        Assert.Equal("pm", Unwrap(await NextMessageAsync(phone), "sent", phone).GetAttribute("id"));
    }

    [Fact]
    public async Task An_error_that_answers_a_copied_message_is_copied_and_one_that_answers_nothing_copied_is_not()
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var juliet = await OnlineAsync("juliet", "balcony");
        const string error = "<error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";

        // Juliet's client refuses what Romeo's desk sent: the phone, which saw Romeo's message, sees the refusal.
        await desk.SendAsync($"<message to='{juliet.Jid}' type='chat' id='out1'><body>hello</body></message>");
        Assert.Equal("out1", Unwrap(await NextMessageAsync(phone), "sent", phone).GetAttribute("id"));
        await juliet.SendAsync($"<message to='{desk.Jid}' type='error' id='unrelated'>{error}</message>");
        await juliet.SendAsync($"<message to='{desk.Jid}' type='error' id='out1'>{error}</message>");
        var wrapper = await NextMessageAsync(phone);
        Assert.Null(wrapper.GetAttribute("type"));
        var copied = Unwrap(wrapper, "received", phone);
        Assert.Equal("out1", copied.GetAttribute("id"));
        Assert.Equal("error", copied.GetAttribute("type"));
        Assert.NotNull(copied.Child("error")!.Child("not-acceptable", Ns.Stanzas));

        // Romeo's desk refuses what Juliet sent it: the phone, which saw her message, sees the refusal too.
        await juliet.SendAsync($"<message to='{desk.Jid}' type='chat' id='in1'><body>hi</body></message>");
        Assert.Equal("in1", Unwrap(await NextMessageAsync(phone), "received", phone).GetAttribute("id"));
        await desk.SendAsync($"<message to='{juliet.Jid}' type='error' id='unrelated'>{error}</message>");
        await desk.SendAsync($"<message to='{juliet.Jid}' type='error' id='in1'>{error}</message>");
        var sentError = Unwrap(await NextMessageAsync(phone), "sent", phone);
        Assert.Equal("in1", sentError.GetAttribute("id"));
        Assert.Equal("error", sentError.GetAttribute("type"));
    }

    [Fact]
    public async Task A_device_that_turns_carbons_off_gets_no_more_copies()
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await juliet.SendAsync($"<message to='{desk.Jid}' type='chat' id='before'><body>one</body></message>");
        Assert.Equal("before", Unwrap(await NextMessageAsync(phone), "received", phone).GetAttribute("id"));

        await SetCarbonsAsync(phone, "disable");
        await juliet.SendAsync($"<message to='{desk.Jid}' type='chat' id='after'><body>two</body></message>");
        await desk.SendAsync("<message to='juliet@localhost' type='chat' id='reply'><body>three</body></message>");

        await AssertNoMessageAsync(juliet, phone);
        await AssertNoMessageAsync(desk, phone);
    }

    /// <summary>XEP-0184 receipts, XEP-0085 chat states, XEP-0308 corrections and XEP-0424 retractions travel as they were sent.</summary>
    [Theory]
    [InlineData("<body>hello</body><request xmlns='urn:xmpp:receipts'/>")]
    [InlineData("<received xmlns='urn:xmpp:receipts' id='m1'/>")]
    [InlineData("<composing xmlns='http://jabber.org/protocol/chatstates'/><thread>t1</thread>")]
    [InlineData("<body>hello, corrected</body><replace id='m1' xmlns='urn:xmpp:message-correct:0'/>")]
    [InlineData("<retract id='m1' xmlns='urn:xmpp:message-retract:1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/><body>/me retracted a message</body><store xmlns='urn:xmpp:hints'/>")]
    public async Task Receipts_chat_states_corrections_and_retractions_reach_the_contact_and_the_carbon_untouched(string payload)
    {
        await using var desk = await OnlineAsync("romeo", "desk", carbons: true);
        await using var phone = await OnlineAsync("romeo", "phone", carbons: true);
        await using var juliet = await OnlineAsync("juliet", "balcony");
        var expected = ChildrenXml(ElementParser.Parse($"<message>{payload}</message>", Ns.Client));

        await desk.SendAsync($"<message to='juliet@localhost' type='chat' id='p1'>{payload}</message>");

        Assert.Equal(expected, ChildrenXml(await NextMessageAsync(juliet)));
        Assert.Equal(expected, ChildrenXml(Unwrap(await NextMessageAsync(phone), "sent", phone)));
    }

    /// <summary>The message's children as XML, but for the stanza-id the recipient's archive adds (XEP-0359).</summary>
    private static List<string> ChildrenXml(Element message) =>
        message.Children().Where(c => c.Namespace != "urn:xmpp:sid:0").Select(c => c.ToXml(Ns.Client)).ToList();
}
