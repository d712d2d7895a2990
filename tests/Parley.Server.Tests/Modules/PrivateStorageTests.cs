using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>Private XML storage (XEP-0049): fragments only their owner can read and write.</summary>
public sealed class PrivateStorageTests : IAsyncLifetime
{
    private const string Bookmarks = "<storage xmlns='storage:bookmarks'><conference jid='council@conference.localhost' name='Council'/></storage>";

    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.CreateUserAsync("romeo", "romeo-password");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static Task<XmppTestClient> LoginAsync(TestNode node, string user) =>
        XmppTestClient.LoginAsync(node, user, user + "-password", "home");

    private static async Task<Element> PrivateAsync(XmppTestClient client, string type, string content, string to = "")
    {
        await client.SendAsync($"<iq type='{type}' id='priv'{to}><query xmlns='jabber:iq:private'>{content}</query></iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "priv");
    }

    /// <summary>The stored element of a get's result.</summary>
    private static Element Stored(Element result)
    {
        Assert.Equal("result", result.GetAttribute("type"));
        return Assert.Single(result.Child("query", Ns.Private)!.Children());
    }

    [Fact]
    public async Task Stored_xml_comes_back_as_it_was_stored()
    {
        await using var juliet = await LoginAsync(_node, "juliet");

        Assert.Equal("result", (await PrivateAsync(juliet, "set", Bookmarks)).GetAttribute("type"));

        var storage = Stored(await PrivateAsync(juliet, "get", "<storage xmlns='storage:bookmarks'/>"));
        Assert.Equal("storage", storage.Name);
        Assert.Equal("storage:bookmarks", storage.Namespace);
        var conference = storage.Child("conference", "storage:bookmarks")!;
        Assert.Equal("council@conference.localhost", conference.GetAttribute("jid"));
        Assert.Equal("Council", conference.GetAttribute("name"));
    }

    [Fact]
    public async Task Elements_of_the_same_name_in_two_namespaces_are_kept_apart_and_an_unset_one_comes_back_empty()
    {
        await using var juliet = await LoginAsync(_node, "juliet");
        await PrivateAsync(juliet, "set", "<prefs xmlns='gajim:prefs'><theme>dark</theme></prefs>");
        await PrivateAsync(juliet, "set", "<prefs xmlns='psi:prefs'><theme>light</theme></prefs>");

        Assert.Equal("dark", Stored(await PrivateAsync(juliet, "get", "<prefs xmlns='gajim:prefs'/>")).ChildText("theme", "gajim:prefs"));
        Assert.Equal("light", Stored(await PrivateAsync(juliet, "get", "<prefs xmlns='psi:prefs'/>")).ChildText("theme", "psi:prefs"));

        var unset = Stored(await PrivateAsync(juliet, "get", "<prefs xmlns='other:prefs'/>"));
        Assert.Equal("other:prefs", unset.Namespace);
        Assert.Empty(unset.Nodes);
    }

    [Theory]
    [InlineData("get")]
    [InlineData("set")]
    public async Task Another_users_private_xml_is_forbidden(string type)
    {
        await using (var juliet = await LoginAsync(_node, "juliet"))
        {
            await PrivateAsync(juliet, "set", Bookmarks);
        }
        await using var romeo = await LoginAsync(_node, "romeo");

        var reply = await PrivateAsync(romeo, type, "<storage xmlns='storage:bookmarks'/>", " to='juliet@localhost'");

        Assert.NotNull(reply.Child("error")!.Child("forbidden", Ns.Stanzas));
        Assert.Null(reply.Child("query", Ns.Private)?.Child("storage", "storage:bookmarks")?.Child("conference", "storage:bookmarks"));
    }

    [Theory]
    [InlineData("get", "", "bad-request")]
    [InlineData("set", "", "bad-request")]
    [InlineData("get", "<a xmlns='x:a'/><b xmlns='x:b'/>", "bad-request")]
    [InlineData("set", "<a xmlns='x:a'/><b xmlns='x:b'/>", "bad-request")]
    [InlineData("set", "<prefs/>", "not-acceptable")]
    [InlineData("get", "<prefs xmlns='jabber:client'/>", "not-acceptable")]
    [InlineData("set", "<vCard xmlns='vcard-temp'><FN>Juliet</FN></vCard>", "not-acceptable")]
    public async Task A_malformed_request_gets_its_error_and_stores_nothing(string type, string content, string condition)
    {
        await using var juliet = await LoginAsync(_node, "juliet");

        var reply = await PrivateAsync(juliet, type, content);

        var error = reply.Child("error")!;
        Assert.NotNull(error.Child(condition, Ns.Stanzas));
        Assert.False(string.IsNullOrEmpty(error.ChildText("text", Ns.Stanzas)));
        Assert.Empty(Stored(await PrivateAsync(juliet, "get", "<a xmlns='x:a'/>")).Nodes);
    }

    [Fact]
    public async Task Private_xml_survives_a_restart()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "parley-private-" + Guid.NewGuid().ToString("N"));
        var first = await TestNode.StartAsync(o => o.DataDir = dataDir);
        try
        {
            await first.CreateUserAsync("juliet", "juliet-password");
            await using var juliet = await LoginAsync(first, "juliet");
            Assert.Equal("result", (await PrivateAsync(juliet, "set", Bookmarks)).GetAttribute("type"));
        }
        finally
        {
            // Not first.DisposeAsync(): that deletes the data directory the second node needs.
            await first.App.StopAsync();
            await first.App.DisposeAsync();
        }

        await using var second = await TestNode.StartAsync(o => o.DataDir = dataDir);
        await using var juliet2 = await LoginAsync(second, "juliet");
        var storage = Stored(await PrivateAsync(juliet2, "get", "<storage xmlns='storage:bookmarks'/>"));
        Assert.Equal("Council", storage.Child("conference", "storage:bookmarks")!.GetAttribute("name"));
    }
}
