using System.Text;
using Parley.Protocol;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests;

/// <summary>
/// Each bad input of RFC 6120 gets its answer, and the node goes on serving a bystander who is
/// logged in throughout.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private TestNode _node = null!;
    private XmppTestClient _bystander = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(o =>
        {
            o.Limits.MaxStanzaBytes = 64 * 1024;
            o.Limits.MaxSendQueueBytes = 256 * 1024;
        });
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.CreateUserAsync("romeo", "romeo-password");
        _bystander = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
    }

    public async Task DisposeAsync()
    {
        // Whatever the bad client did, the bystander is still served.
        await _bystander.SendAsync("<iq to='localhost' type='get' id='still-there'><ping xmlns='urn:xmpp:ping'/></iq>");
        var pong = await _bystander.ReceiveAsync(e => e.Name == "iq");
        Assert.Equal("result", pong.GetAttribute("type"));
        await _bystander.DisposeAsync();
        await _node.DisposeAsync();
    }

    private async Task<XmppTestClient> OpenAsync()
    {
        var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.OpenStreamAsync();
        return client;
    }

    private async Task<XmppTestClient> BoundAsync() => await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "balcony");

    [Theory]
    [InlineData("<message><body>unclosed</message>")]
    [InlineData("<message to='a@b'' />")]
    [InlineData("<1message/>")]
    [InlineData("<message xmlns:x='urn:x'><y:body/></message>")]
    public async Task Malformed_xml_is_not_well_formed(string xml)
    {
        await using var client = await OpenAsync();
        await client.SendAsync(xml);

        Assert.Equal("not-well-formed", await client.ExpectStreamErrorAsync());
    }

    [Theory]
    [InlineData("<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]><message>&lol2;</message>")]
    [InlineData("<message><body>&xxe;</body></message>")]
    [InlineData("<!-- a comment --><message/>")]
    [InlineData("<?php echo 1; ?><message/>")]
    public async Task Dtds_entities_comments_and_processing_instructions_are_restricted_xml(string xml)
    {
        await using var client = await OpenAsync();
        await client.SendAsync(xml);

        Assert.Equal("restricted-xml", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task A_wrong_stream_namespace_is_invalid_namespace()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.SendAsync("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>");

        Assert.Equal("invalid-namespace", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task A_wrong_streams_namespace_is_invalid_namespace()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.SendAsync("<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' to='localhost' version='1.0'>");

        Assert.Equal("invalid-namespace", await client.ExpectStreamErrorAsync());
    }

    [Theory]
    [InlineData("version='2.0'")]
    [InlineData("")]
    public async Task A_stream_version_other_than_1_is_unsupported_version(string version)
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.SendAsync($"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' {version}>");

        Assert.Equal("unsupported-version", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task A_domain_this_server_does_not_serve_is_host_unknown()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.SendAsync("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>");

        Assert.Equal("host-unknown", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task An_oversized_stanza_is_a_policy_violation()
    {
        await using var client = await BoundAsync();
        await client.SendAsync("<message to='romeo@localhost'><body>" + new string('a', 70 * 1024) + "</body></message>");

        Assert.Equal("policy-violation", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task Ten_thousand_deep_nesting_is_a_policy_violation()
    {
        await using var client = await BoundAsync();
        var deep = new StringBuilder("<message>");
        for (var i = 0; i < 10_000; i++)
        {
            deep.Append("<a>");
        }
        await client.SendAsync(deep.ToString());

        Assert.Equal("policy-violation", await client.ExpectStreamErrorAsync());
    }

    [Theory]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xFF })]
    public async Task Invalid_utf8_is_unsupported_encoding(byte[] invalid)
    {
        await using var client = await OpenAsync();
        await client.SendAsync([.. "<message><body>"u8, .. invalid, .. "</body></message>"u8]);

        Assert.Equal("unsupported-encoding", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task A_from_of_another_user_is_invalid_from()
    {
        await using var client = await BoundAsync();
        await client.SendAsync("<message from='romeo@localhost/garden' to='romeo@localhost'><body>spoofed</body></message>");

        Assert.Equal("invalid-from", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task A_from_of_the_own_bare_jid_is_accepted_and_stamped_with_the_full_jid()
    {
        await using var client = await BoundAsync();
        await client.SendAsync("<presence/>");
        await client.SendAsync("<message from='juliet@localhost' to='romeo@localhost/garden' type='chat'><body>me</body></message>");

        var message = await _bystander.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("juliet@localhost/balcony", message.GetAttribute("from"));
    }

    [Theory]
    [InlineData("romeo@@localhost")]
    [InlineData("@localhost")]
    [InlineData("romeo@localhost/")]
    [InlineData("rom\u0001eo@localhost")]
    public async Task An_invalid_to_gets_jid_malformed_and_the_stream_stays_open(string to)
    {
        await using var client = await BoundAsync();
        await client.SendAsync($"<message to='{System.Security.SecurityElement.Escape(to)}' id='bad' type='chat'><body>x</body></message>".Replace("\u0001", "&#1;", StringComparison.Ordinal));

        if (to.Contains('\u0001', StringComparison.Ordinal))
        {
            // &#1; is not an XML character at all, so the stream itself is broken.
            Assert.Equal("not-well-formed", await client.ExpectStreamErrorAsync());
            return;
        }
        var error = await client.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("error", error.GetAttribute("type"));
        Assert.NotNull(error.Child("error")!.Child("jid-malformed", Ns.Stanzas));
        await client.SendAsync("<iq to='localhost' type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", (await client.ReceiveAsync(e => e.Name == "iq")).GetAttribute("type"));
    }

    [Theory]
    [InlineData("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")]
    [InlineData("<iq type='get' id='x' to='localhost'/>")]
    [InlineData("<iq type='fetch' id='x' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")]
    [InlineData("<iq type='get' id='x' to='localhost'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>")]
    public async Task An_iq_without_id_without_payload_with_two_payloads_or_an_unknown_type_is_bad_request(string iq)
    {
        await using var client = await BoundAsync();
        await client.SendAsync(iq);

        var error = await client.ReceiveAsync(e => e.Name == "iq");
        Assert.NotNull(error.Child("error")!.Child("bad-request", Ns.Stanzas));
    }

    [Fact]
    public async Task An_unknown_top_level_element_is_unsupported_stanza_type()
    {
        await using var client = await BoundAsync();
        await client.SendAsync("<foo xmlns='urn:example'/>");

        Assert.Equal("unsupported-stanza-type", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task A_presence_priority_out_of_range_is_bad_request()
    {
        await using var client = await BoundAsync();
        await client.SendAsync("<presence><priority>500</priority></presence>");

        var error = await client.ReceiveAsync(e => e.Name == "presence");
        Assert.NotNull(error.Child("error")!.Child("bad-request", Ns.Stanzas));
    }

    [Fact]
    public async Task Data_pipelined_after_starttls_is_refused()
    {
        await using var client = await OpenAsync();
        await client.SendAsync("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldABqdWxpZXQtcGFzc3dvcmQ=</auth>");

        Assert.Equal("proceed", (await client.ReceiveAsync()).Name);
        Assert.Equal("policy-violation", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task A_client_that_never_reads_is_disconnected_and_nobody_else_suffers()
    {
        // Log in by hand, then stop reading: the socket's buffers fill, the server's queue passes its bound.
        await using var other = await BoundAsync();
        await using var silent = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "silent");
        await silent.SendAsync("<presence/>");

        var big = new string('x', 8 * 1024);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var sessions = _node.App.Node.Sessions;
        while (sessions.Find(Jid.Parse("juliet@localhost/silent")) is not null)
        {
            deadline.Token.ThrowIfCancellationRequested();
            for (var i = 0; i < 50; i++)
            {
                await _bystander.SendAsync($"<message to='juliet@localhost/silent' type='chat'><body>{big}</body></message>");
            }
            await _bystander.SendAsync("<iq to='localhost' type='get' id='pace'><ping xmlns='urn:xmpp:ping'/></iq>");
            await _bystander.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "pace");
        }

        Assert.Null(sessions.Find(Jid.Parse("juliet@localhost/silent")));
        Assert.NotNull(sessions.Find(Jid.Parse("juliet@localhost/balcony")));
    }
}
