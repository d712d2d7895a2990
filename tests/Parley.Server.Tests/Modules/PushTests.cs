using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>Push notifications (XEP-0357), with a logged-in account playing the push service.</summary>
public sealed class PushTests : IAsyncLifetime
{
    private const string Service = "pushsvc@localhost/app-server";
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o => o.Sessions.ResumeTimeoutSeconds = 60);
        foreach (var user in new[] { "juliet", "romeo", "pushsvc" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<XmppTestClient> OnlineAsync(string user, string resource)
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", resource);
        await client.AnnounceAsync();
        return client;
    }

    private static async Task<Element> EnableAsync(XmppTestClient client, string jid, string? node, string form = "")
    {
        var nodeAttribute = node is null ? "" : $" node='{node}'";
        await client.SendAsync($"<iq type='set' id='push'><enable xmlns='urn:xmpp:push:0' jid='{System.Security.SecurityElement.Escape(jid)}'{nodeAttribute}>{form}</enable></iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "push");
    }

    /// <summary>The summary form of a notification (also for <c>Cluster.ClusterPushTests</c>).</summary>
    internal static Element Summary(Element notification) =>
        notification.Child("pubsub", "http://jabber.org/protocol/pubsub")!.Child("publish")!.Child("item")!
            .Child("notification", "urn:xmpp:push:0")!.Child("x", Ns.DataForms)!;

    internal static string? Field(Element form, string name) =>
        form.Children("field").FirstOrDefault(f => f.GetAttribute("var") == name)?.ChildText("value");

    [Fact]
    public async Task A_message_for_a_hibernated_session_wakes_the_push_service()
    {
        await using var service = await OnlineAsync("pushsvc", "app-server");
        await using var romeo = await OnlineAsync("romeo", "garden");
        var juliet = await OnlineAsync("juliet", "phone");
        const string Secret = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='secret'><value>s3cr3t</value></field></x>";
        Assert.Equal("result", (await EnableAsync(juliet, Service, "phone-node", Secret)).GetAttribute("type"));
        await juliet.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        await juliet.ReceiveAsync(e => e.Name == "enabled");
        await juliet.DisposeAsync();

        await romeo.SendAsync("<message to='juliet@localhost/phone' type='chat'><body>wake up</body></message>");

        var notification = await service.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set");
        Assert.Equal("juliet@localhost", notification.GetAttribute("from"));
        var publish = notification.Child("pubsub", "http://jabber.org/protocol/pubsub")!.Child("publish")!;
        Assert.Equal("phone-node", publish.GetAttribute("node"));
        var summary = Summary(notification);
        Assert.Equal("urn:xmpp:push:summary", Field(summary, "FORM_TYPE"));
        Assert.Equal("romeo@localhost/garden", Field(summary, "last-message-sender"));
        Assert.Null(Field(summary, "last-message-body"));
        var options = notification.Child("pubsub", "http://jabber.org/protocol/pubsub")!.Child("publish-options")!.Child("x", Ns.DataForms)!;
        Assert.Equal("s3cr3t", Field(options, "secret"));
    }

    [Fact]
    public async Task Messages_the_client_never_acknowledged_wake_the_push_service_when_its_connection_dies()
    {
        await using var service = await OnlineAsync("pushsvc", "app-server");
        await using var romeo = await OnlineAsync("romeo", "garden");
        var juliet = await OnlineAsync("juliet", "phone");
        await EnableAsync(juliet, Service, "phone-node");
        await juliet.SendAsync("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        await juliet.ReceiveAsync(e => e.Name == "enabled");

        // Both reach the phone's live connection, which dies before it acknowledges them.
        await romeo.SendAsync("<message to='juliet@localhost/phone' type='chat'><body>one</body></message>");
        await romeo.SendAsync("<message to='juliet@localhost/phone' type='chat'><body>two</body></message>");
        await juliet.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == "two");
        await juliet.DisposeAsync();

        var summary = Summary(await service.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set"));
        Assert.Equal("2", Field(summary, "message-count"));
        Assert.Equal("romeo@localhost/garden", Field(summary, "last-message-sender"));
    }

    [Fact]
    public async Task A_message_stored_offline_also_wakes_the_push_service_and_disable_stops_it()
    {
        await using var service = await OnlineAsync("pushsvc", "app-server");
        await using var romeo = await OnlineAsync("romeo", "garden");
        await using (var juliet = await OnlineAsync("juliet", "phone"))
        {
            await EnableAsync(juliet, Service, "n1");
        }

        await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>first</body></message>");
        await service.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set");

        await using (var juliet = await OnlineAsync("juliet", "laptop"))
        {
            await juliet.SendAsync($"<iq type='set' id='off'><disable xmlns='urn:xmpp:push:0' jid='{Service}'/></iq>");
            Assert.Equal("result", (await juliet.ReceiveAsync(e => e.GetAttribute("id") == "off")).GetAttribute("type"));
        }
        await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>second</body></message>");
        await service.SendAsync("<iq to='localhost' type='get' id='fence'><ping xmlns='urn:xmpp:ping'/></iq>");

        // The next thing the service sees is its own ping's answer: no second notification.
        var next = await service.ReceiveAsync(e => e.Name == "iq");
        Assert.Equal("fence", next.GetAttribute("id"));
    }

    [Fact]
    public async Task A_connected_session_needs_no_push()
    {
        await using var service = await OnlineAsync("pushsvc", "app-server");
        await using var romeo = await OnlineAsync("romeo", "garden");
        await using var juliet = await OnlineAsync("juliet", "phone");
        await EnableAsync(juliet, Service, "n1");

        await romeo.SendAsync("<message to='juliet@localhost' type='chat'><body>here?</body></message>");
        await juliet.ReceiveAsync(e => e.Name == "message");
        await service.SendAsync("<iq to='localhost' type='get' id='fence'><ping xmlns='urn:xmpp:ping'/></iq>");

        Assert.Equal("fence", (await service.ReceiveAsync(e => e.Name == "iq")).GetAttribute("id"));
    }

    [Theory]
    [InlineData("not@@valid", "n1", "jid-malformed")]
    [InlineData("", "n1", "jid-malformed")]
    [InlineData("pushsvc@localhost", null, "bad-request")]
    public async Task A_push_enable_with_a_bad_service_or_no_node_is_refused(string jid, string? node, string condition)
    {
        await using var juliet = await OnlineAsync("juliet", "phone");

        var answer = await EnableAsync(juliet, jid, node);

        Assert.NotNull(answer.Child("error")!.Child(condition, Ns.Stanzas));
    }
}
