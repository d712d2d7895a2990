using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests;

public sealed class RoutingTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.CreateUserAsync("romeo", "romeo-password");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<XmppTestClient> OnlineAsync(string user, string resource, int priority = 0)
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", resource);
        await client.SendAsync($"<presence><priority>{priority}</priority></presence>");
        // The server reflects the broadcast presence to the sender: once it is back, the session is available.
        await client.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == client.Jid);
        return client;
    }

    [Fact]
    public async Task A_message_to_a_full_jid_arrives_with_the_senders_full_jid()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");

        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat' id='m1'><body>Hello, fair one</body></message>");

        var message = await juliet.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("romeo@localhost/garden", message.GetAttribute("from"));
        Assert.Equal("Hello, fair one", message.ChildText("body"));
    }

    [Fact]
    public async Task A_stanza_without_xml_lang_arrives_with_the_senders_stream_language_and_one_with_its_own_keeps_it()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await XmppTestClient.ConnectAsync(_node.C2sPort);
        romeo.StreamLang = "it";
        await romeo.OpenStreamAsync();
        await romeo.StartTlsAsync();
        await romeo.AuthenticateAsync("romeo", "romeo-password");
        await romeo.BindAsync("garden");

        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat' id='l1'><body>Buongiorno</body></message>");
        await romeo.SendAsync("<message to='juliet@localhost/balcony' type='chat' id='l2' xml:lang='en'><body>Good morrow</body></message>");

        var first = await juliet.ReceiveAsync(e => e.Name == "message");
        var second = await juliet.ReceiveAsync(e => e.Name == "message");
        Assert.Equal(("l1", "it"), (first.GetAttribute("id"), first.GetAttribute("xml:lang")));
        Assert.Equal(("l2", "en"), (second.GetAttribute("id"), second.GetAttribute("xml:lang")));
    }

    [Fact]
    public async Task A_chat_message_to_a_bare_jid_reaches_every_resource_of_highest_priority_only()
    {
        await using var phone = await OnlineAsync("juliet", "phone", priority: 5);
        await using var desktop = await OnlineAsync("juliet", "desktop", priority: 5);
        await using var tablet = await OnlineAsync("juliet", "tablet", priority: 1);
        await using var romeo = await OnlineAsync("romeo", "garden");

        await romeo.SendAsync("<message to='juliet@localhost' type='chat' id='m2'><body>to all of you</body></message>");
        await romeo.SendAsync("<iq to='juliet@localhost/tablet' type='get' id='fence'><ping xmlns='urn:xmpp:ping'/></iq>");

        Assert.Equal("to all of you", (await phone.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        Assert.Equal("to all of you", (await desktop.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
        // The tablet gets the ping sent after the message, and never the message itself.
        var next = await tablet.ReceiveAsync(e => e.Name is "message" or "iq");
        Assert.Equal("iq", next.Name);
    }

    [Fact]
    public async Task A_message_to_a_missing_resource_falls_back_to_the_bare_jid()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");

        await romeo.SendAsync("<message to='juliet@localhost/gone' type='chat'><body>still here?</body></message>");

        Assert.Equal("still here?", (await juliet.ReceiveAsync(e => e.Name == "message")).ChildText("body"));
    }

    [Fact]
    public async Task A_message_to_an_account_that_does_not_exist_gets_service_unavailable()
    {
        // An existing account without sessions keeps the message offline instead (OfflineTests).
        await using var romeo = await OnlineAsync("romeo", "garden");

        await romeo.SendAsync("<message to='nobody@localhost' type='chat' id='m3'><body>anyone?</body></message>");

        var error = await romeo.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("error", error.GetAttribute("type"));
        Assert.Equal("m3", error.GetAttribute("id"));
        Assert.NotNull(error.Child("error")!.Child("service-unavailable", Ns.Stanzas));
    }

    [Fact]
    public async Task An_iq_to_another_users_resource_is_delivered_and_the_result_comes_back()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");

        await romeo.SendAsync("<iq to='juliet@localhost/balcony' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>");
        var request = await juliet.ReceiveAsync(e => e.Name == "iq");
        Assert.Equal("romeo@localhost/garden", request.GetAttribute("from"));
        await juliet.SendAsync("<iq to='romeo@localhost/garden' type='result' id='v1'><query xmlns='jabber:iq:version'><name>test</name></query></iq>");

        var result = await romeo.ReceiveAsync(e => e.Name == "iq");
        Assert.Equal("result", result.GetAttribute("type"));
        Assert.Equal("juliet@localhost/balcony", result.GetAttribute("from"));
    }

    [Fact]
    public async Task An_iq_in_an_unknown_namespace_to_the_server_gets_service_unavailable()
    {
        await using var romeo = await OnlineAsync("romeo", "garden");

        await romeo.SendAsync("<iq to='localhost' type='get' id='u1'><query xmlns='urn:example:unknown'/></iq>");

        var error = await romeo.ReceiveAsync(e => e.Name == "iq");
        Assert.Equal("error", error.GetAttribute("type"));
        Assert.NotNull(error.Child("error")!.Child("service-unavailable", Ns.Stanzas));
    }

    [Fact]
    public async Task Presence_is_shared_among_the_sessions_of_one_account_and_unavailable_is_sent_when_one_leaves()
    {
        await using var phone = await OnlineAsync("juliet", "phone");
        var desktop = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "desktop");
        await desktop.SendAsync("<presence><show>dnd</show></presence>");

        var seen = await phone.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/desktop");
        Assert.Equal("dnd", seen.ChildText("show"));

        await desktop.DisposeAsync();
        var gone = await phone.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/desktop");
        Assert.Equal("unavailable", gone.GetAttribute("type"));
    }

    [Fact]
    public async Task A_message_to_another_domain_gets_remote_server_not_found()
    {
        await using var romeo = await OnlineAsync("romeo", "garden");

        await romeo.SendAsync("<message to='someone@example.org' type='chat' id='r1'><body>hi</body></message>");

        var error = await romeo.ReceiveAsync(e => e.Name == "message");
        Assert.NotNull(error.Child("error")!.Child("remote-server-not-found", Ns.Stanzas));
    }

    [Fact]
    public async Task Error_stanzas_are_never_answered_with_errors()
    {
        await using var romeo = await OnlineAsync("romeo", "garden");

        await romeo.SendAsync("<message to='nobody@localhost' type='error' id='e1'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        await romeo.SendAsync("<iq to='localhost' type='get' id='after'><ping xmlns='urn:xmpp:ping'/></iq>");

        // The first thing back is the ping's result: nothing answered the error.
        var next = await romeo.ReceiveAsync(e => e.Name is "message" or "iq");
        Assert.Equal("after", next.GetAttribute("id"));
    }

    [Fact]
    public async Task A_message_of_an_unknown_type_is_delivered_as_normal()
    {
        await using var juliet = await OnlineAsync("juliet", "balcony");
        await using var romeo = await OnlineAsync("romeo", "garden");

        // RFC 6121 §5.2.2: an unknown type is handled as 'normal', so the bare JID rules for normal apply.
        await romeo.SendAsync("<message to='juliet@localhost' type='telegram' id='u1'><body>stop</body></message>");

        var message = await juliet.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("stop", message.ChildText("body"));
    }
}
