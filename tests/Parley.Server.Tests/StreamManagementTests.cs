using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests;

/// <summary>Stream management (XEP-0198): acks, resumption with nothing lost, and what happens when no resumption comes.</summary>
public sealed class StreamManagementTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o => o.Sessions.ResumeTimeoutSeconds = 2);
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.CreateUserAsync("romeo", "romeo-password");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<XmppTestClient> OnlineAsync(string user, string resource)
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", resource);
        await client.AnnounceAsync();
        return client;
    }

    private static async Task<string> EnableAsync(XmppTestClient client)
    {
        await client.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        var enabled = await client.ReceiveAsync(e => e.Name == "enabled");
        Assert.Equal("true", enabled.GetAttribute("resume"));
        return enabled.GetAttribute("id")!;
    }

    /// <summary>A new connection that authenticates and then resumes instead of binding.</summary>
    private async Task<(XmppTestClient Client, Element Answer)> ResumeAsync(string user, string previd, uint h)
    {
        var client = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        var features = await client.AuthenticateAsync(user, user + "-password");
        Assert.NotNull(features.Child("sm", Ns.StreamManagement));
        await client.SendAsync($"<resume xmlns='urn:xmpp:sm:3' previd='{previd}' h='{h}'/>");
        return (client, await client.ReceiveAsync());
    }

    private static bool IsChat(Element e, string body) => e.Name == "message" && e.ChildText("body") == body;

    [Fact]
    public async Task The_server_counts_what_the_client_sent_and_asks_for_acks()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");
        await EnableAsync(juliet);

        for (var i = 0; i < 3; i++)
        {
            await juliet.SendAsync($"<message to='romeo@localhost/garden' type='chat'><body>{i}</body></message>");
        }
        await juliet.SendAsync("<r xmlns='urn:xmpp:sm:3'/>");
        var a = await juliet.ReceiveAsync(e => e.Name == "a");
        Assert.Equal("3", a.GetAttribute("h"));

        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>hello</body></message>");
        await juliet.ReceiveAsync(e => IsChat(e, "hello"));
        var request = await juliet.ReceiveAsync(e => e.Namespace == Ns.StreamManagement);
        Assert.Equal("r", request.Name);
    }

    [Fact]
    public async Task A_dropped_connection_is_resumed_and_nothing_is_lost()
    {
        await using var romeo = await OnlineAsync("romeo", "garden");
        var juliet = await OnlineAsync("juliet", "balcony");
        var id = await EnableAsync(juliet);

        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>before the drop</body></message>");
        await juliet.ReceiveAsync(e => IsChat(e, "before the drop"));
        // The TCP connection goes without a closing tag; Juliet never acknowledged anything.
        await juliet.DisposeAsync();
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>while you were gone</body></message>");
        await romeo.SendAsync("<iq to='localhost' type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>");
        await romeo.ReceiveAsync(e => e.GetAttribute("id") == "sync");

        var (resumed, answer) = await ResumeAsync("juliet", id, 0);
        await using (resumed)
        {
            Assert.Equal("resumed", answer.Name);
            Assert.Equal(id, answer.GetAttribute("previd"));
            await resumed.ReceiveAsync(e => IsChat(e, "before the drop"));
            await resumed.ReceiveAsync(e => IsChat(e, "while you were gone"));

            // Still the same session: Romeo's messages to the same full JID arrive here.
            await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>welcome back</body></message>");
            await resumed.ReceiveAsync(e => IsChat(e, "welcome back"));
        }
    }

    [Fact]
    public async Task Acknowledged_stanzas_are_not_sent_again_after_resumption()
    {
        await using var romeo = await OnlineAsync("romeo", "garden");
        var juliet = await OnlineAsync("juliet", "balcony");
        var id = await EnableAsync(juliet);
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>one</body></message>");
        await juliet.ReceiveAsync(e => IsChat(e, "one"));
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>two</body></message>");
        await juliet.ReceiveAsync(e => IsChat(e, "two"));
        await juliet.DisposeAsync();

        var (resumed, answer) = await ResumeAsync("juliet", id, 1);
        await using (resumed)
        {
            Assert.Equal("resumed", answer.Name);
            var first = await resumed.ReceiveAsync(e => e.Name == "message");
            Assert.Equal("two", first.ChildText("body"));
        }
    }

    [Fact]
    public async Task A_resume_that_reports_less_than_was_acknowledged_resumes_without_repeating_anything()
    {
        await using var romeo = await OnlineAsync("romeo", "garden");
        var juliet = await OnlineAsync("juliet", "balcony");
        var id = await EnableAsync(juliet);
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>one</body></message>");
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>two</body></message>");
        await juliet.ReceiveAsync(e => IsChat(e, "two"));
        await juliet.SendAsync("<a xmlns='urn:xmpp:sm:3' h='2'/>");
        await juliet.SendAsync("<a xmlns='urn:xmpp:sm:3' h='1'/>");
        await juliet.SendAsync("<iq to='localhost' type='get' id='still-here'><ping xmlns='urn:xmpp:ping'/></iq>");
        await juliet.ReceiveAsync(e => e.GetAttribute("id") == "still-here");
        await juliet.DisposeAsync();

        var (resumed, answer) = await ResumeAsync("juliet", id, 1);
        await using (resumed)
        {
            Assert.Equal("resumed", answer.Name);
            await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>three</body></message>");
            var first = await resumed.ReceiveAsync(e => e.Name == "message");
            Assert.Equal("three", first.ChildText("body"));
        }
    }

    [Fact]
    public async Task Without_resumption_the_missed_messages_wait_in_offline_storage()
    {
        await using var romeo = await OnlineAsync("romeo", "garden");
        var juliet = await OnlineAsync("juliet", "balcony");
        await juliet.SendAsync("<presence to='romeo@localhost/garden'/>");
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/balcony");
        await EnableAsync(juliet);
        await juliet.DisposeAsync();
        var sentAt = DateTimeOffset.UtcNow;
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>are you there?</body></message>");

        // After the resume timeout (2 s here) the session ends: Romeo sees her go, the message is kept.
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "unavailable" && e.GetAttribute("from") == "juliet@localhost/balcony");
        await using var again = await OnlineAsync("juliet", "phone");
        var delivered = await again.ReceiveAsync(e => IsChat(e, "are you there?"));
        var delays = delivered.Children("delay", Ns.Delay).ToList();
        Assert.Single(delays);
        // Stamped with when it arrived, not when the session gave up waiting (2 s later).
        var stamp = DateTimeOffset.Parse(delays[0].GetAttribute("stamp")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(stamp, sentAt.AddSeconds(-1), sentAt.AddSeconds(1));
    }

    [Fact]
    public async Task A_gracefully_closed_stream_is_not_kept_for_resumption()
    {
        var juliet = await OnlineAsync("juliet", "balcony");
        var id = await EnableAsync(juliet);
        await juliet.SendAsync("</stream:stream>");
        Assert.True(await juliet.IsClosedAsync());
        await juliet.DisposeAsync();

        var (client, answer) = await ResumeAsync("juliet", id, 0);
        await using (client)
        {
            Assert.Equal("failed", answer.Name);
            Assert.NotNull(answer.Child("item-not-found", Ns.Stanzas));
        }
    }

    [Fact]
    public async Task A_wrong_previd_fails_and_the_client_can_bind_instead()
    {
        var (client, answer) = await ResumeAsync("juliet", "no-such-session", 0);
        await using (client)
        {
            Assert.Equal("failed", answer.Name);
            Assert.NotNull(answer.Child("item-not-found", Ns.Stanzas));
            Assert.StartsWith("juliet@localhost/", await client.BindAsync());
        }
    }

    [Fact]
    public async Task Another_account_cannot_resume_a_session()
    {
        var juliet = await OnlineAsync("juliet", "balcony");
        var id = await EnableAsync(juliet);
        await juliet.DisposeAsync();

        var (client, answer) = await ResumeAsync("romeo", id, 0);
        await using (client)
        {
            Assert.Equal("failed", answer.Name);
        }
    }

    [Fact]
    public async Task Resuming_with_an_h_larger_than_what_was_sent_fails_and_closes_the_stream()
    {
        var juliet = await OnlineAsync("juliet", "balcony");
        var id = await EnableAsync(juliet);
        await juliet.DisposeAsync();

        var (client, answer) = await ResumeAsync("juliet", id, 99);
        await using (client)
        {
            Assert.Equal("failed", answer.Name);
            Assert.NotNull(answer.Child("handled-count-too-high", Ns.StreamManagement));
            Assert.Equal("undefined-condition", await client.ExpectStreamErrorAsync());
        }
    }

    [Fact]
    public async Task Acknowledging_more_than_was_sent_ends_the_stream()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await EnableAsync(juliet);

        await juliet.SendAsync("<a xmlns='urn:xmpp:sm:3' h='1000'/>");

        Assert.Equal("undefined-condition", await juliet.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task An_ack_storm_is_answered_and_the_session_stays_usable()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await EnableAsync(juliet);

        await juliet.SendAsync(string.Concat(Enumerable.Repeat("<r xmlns='urn:xmpp:sm:3'/>", 2_000)));
        await juliet.SendAsync("<iq to='localhost' type='get' id='after'><ping xmlns='urn:xmpp:ping'/></iq>");

        var answers = 0;
        while (true)
        {
            var element = await juliet.ReceiveAsync();
            if (element.Name == "a")
            {
                answers++;
            }
            else if (element.GetAttribute("id") == "after")
            {
                break;
            }
        }
        Assert.Equal(2_000, answers);
    }

    [Fact]
    public async Task An_early_enable_is_refused()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        await client.AuthenticateAsync("juliet", "juliet-password");

        await client.SendAsync("<enable xmlns='urn:xmpp:sm:3'/>");

        var failed = await client.ReceiveAsync();
        Assert.Equal("failed", failed.Name);
        Assert.NotNull(failed.Child("unexpected-request", Ns.Stanzas));
    }

    [Fact]
    public async Task An_inactive_client_gets_messages_at_once_and_only_the_latest_presence_later()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");
        await juliet.SendAsync("<presence to='romeo@localhost/garden'/>");
        await romeo.SendAsync("<presence to='juliet@localhost/balcony'/>");
        await juliet.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "romeo@localhost/garden");

        await juliet.SendAsync("<inactive xmlns='urn:xmpp:csi:0'/>");
        await juliet.SendAsync("<iq to='localhost' type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>");
        await juliet.ReceiveAsync(e => e.GetAttribute("id") == "sync");
        await romeo.SendAsync("<presence to='juliet@localhost/balcony'><status>one</status></presence>");
        await romeo.SendAsync("<presence to='juliet@localhost/balcony'><status>two</status></presence>");
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><body>urgent</body></message>");

        // The message flushes what was held first: only the latest presence, then the message.
        var first = await juliet.ReceiveAsync();
        Assert.Equal("presence", first.Name);
        Assert.Equal("two", first.ChildText("status"));
        Assert.Equal("urgent", (await juliet.ReceiveAsync()).ChildText("body"));

        await romeo.SendAsync("<presence to='juliet@localhost/balcony'><status>three</status></presence>");
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
        await juliet.SendAsync("<active xmlns='urn:xmpp:csi:0'/>");
        Assert.Equal("three", (await juliet.ReceiveAsync()).ChildText("status"));
        Assert.NotNull((await juliet.ReceiveAsync()).Child("composing", "http://jabber.org/protocol/chatstates"));
    }
}
