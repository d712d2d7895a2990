using Parley.Protocol;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests;

public sealed class ServerInfoModuleTests : IAsyncLifetime
{
    private TestNode _node = null!;
    private XmppTestClient _client = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("juliet", "r0m30myr0m30");
        _client = await XmppTestClient.LoginAsync(_node, "juliet", "r0m30myr0m30", "balcony");
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _node.DisposeAsync();
    }

    private async Task<Parley.Xml.Element> AskServerAsync(string payload)
    {
        await _client.SendAsync($"<iq to='localhost' type='get' id='q1'>{payload}</iq>");
        var reply = await _client.ReceiveAsync(e => e.Name == "iq");
        Assert.Equal("q1", reply.GetAttribute("id"));
        Assert.Equal("localhost", reply.GetAttribute("from"));
        Assert.Equal("juliet@localhost/balcony", reply.GetAttribute("to"));
        return reply;
    }

    [Fact]
    public async Task Disco_info_names_a_server_identity_and_the_enabled_features()
    {
        var reply = await AskServerAsync("<query xmlns='http://jabber.org/protocol/disco#info'/>");

        var query = reply.Child("query", Ns.DiscoInfo)!;
        var identity = query.Child("identity")!;
        Assert.Equal("server", identity.GetAttribute("category"));
        Assert.Equal("im", identity.GetAttribute("type"));
        var features = query.Children("feature").Select(f => f.GetAttribute("var")).ToList();
        Assert.Contains(Ns.DiscoInfo, features);
        Assert.Contains(Ns.Ping, features);
        Assert.Contains(Ns.Version, features);
        Assert.Contains(Ns.Time, features);
    }

    [Fact]
    public async Task An_accounts_disco_info_names_it_registered_and_a_pep_service()
    {
        await _client.SendAsync("<iq to='juliet@localhost' type='get' id='a1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");

        var query = (await _client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "a1")).Child("query", Ns.DiscoInfo)!;
        var identities = query.Children("identity").Select(i => $"{i.GetAttribute("category")}/{i.GetAttribute("type")}").ToList();
        Assert.Contains("account/registered", identities);
        Assert.Contains("pubsub/pep", identities);
    }

    [Fact]
    public async Task Disco_info_for_an_unknown_node_is_item_not_found()
    {
        var reply = await AskServerAsync("<query xmlns='http://jabber.org/protocol/disco#info' node='nope'/>");

        Assert.NotNull(reply.Child("error")!.Child("item-not-found", Ns.Stanzas));
    }

    [Fact]
    public async Task Disco_items_of_the_server_answer()
    {
        var reply = await AskServerAsync("<query xmlns='http://jabber.org/protocol/disco#items'/>");

        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.NotNull(reply.Child("query", Ns.DiscoItems));
    }

    [Fact]
    public async Task Ping_to_the_server_is_answered()
    {
        var reply = await AskServerAsync("<ping xmlns='urn:xmpp:ping'/>");

        Assert.Equal("result", reply.GetAttribute("type"));
    }

    [Fact]
    public async Task Version_names_parley_without_the_operating_system_by_default()
    {
        var reply = await AskServerAsync("<query xmlns='jabber:iq:version'/>");

        var query = reply.Child("query", Ns.Version)!;
        Assert.Equal("Parley", query.ChildText("name"));
        Assert.False(string.IsNullOrEmpty(query.ChildText("version")));
        Assert.Null(query.Child("os"));
    }

    [Fact]
    public async Task Time_is_utc_and_close_to_now()
    {
        var reply = await AskServerAsync("<time xmlns='urn:xmpp:time'/>");

        var time = reply.Child("time", Ns.Time)!;
        Assert.Equal("+00:00", time.ChildText("tzo"));
        var utc = DateTimeOffset.Parse(time.ChildText("utc")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(utc, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task A_set_where_only_get_makes_sense_is_bad_request()
    {
        await _client.SendAsync("<iq to='localhost' type='set' id='s1'><ping xmlns='urn:xmpp:ping'/></iq>");

        var reply = await _client.ReceiveAsync(e => e.Name == "iq");
        Assert.NotNull(reply.Child("error")!.Child("bad-request", Ns.Stanzas));
    }
}

public sealed class EntityCapabilitiesTests
{
    [Fact]
    public void The_verification_string_matches_xep_0115_example()
    {
        // XEP-0115 §5.2 simple example: client/pc//Exodus 0.9.1< with four features.
        var ver = Parley.Server.Modules.Disco.EntityCapabilities.Ver("client", "pc", "Exodus 0.9.1",
            ["http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#items"]);

        Assert.Equal("QgayPKawpkPSDYmwT/WM94uAlu0=", ver);
    }

    [Fact]
    public async Task The_server_advertises_its_caps_and_answers_disco_info_on_the_caps_node()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("juliet", "r0m30myr0m30");
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        var features = await client.AuthenticateAsync("juliet", "r0m30myr0m30");
        var caps = features.Child("c", Ns.Caps)!;
        await client.BindAsync("r");

        await client.SendAsync($"<iq to='localhost' type='get' id='c1'><query xmlns='{Ns.DiscoInfo}' node='{caps.GetAttribute("node")}#{caps.GetAttribute("ver")}'/></iq>");

        var info = (await client.ReceiveAsync(e => e.Name == "iq")).Child("query", Ns.DiscoInfo)!;
        var features2 = info.Children("feature").Select(f => f.GetAttribute("var")!).ToList();
        Assert.Equal(caps.GetAttribute("ver"), Parley.Server.Modules.Disco.EntityCapabilities.Ver("server", "im", "Parley", features2));
    }
}
