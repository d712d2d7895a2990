using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests;

public sealed class StreamNegotiationTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("juliet", "r0m30myr0m30");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Before_tls_only_required_starttls_is_offered()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        var features = await client.OpenStreamAsync();

        var starttls = features.Child("starttls", Ns.Tls);
        Assert.NotNull(starttls);
        Assert.NotNull(starttls.Child("required"));
        Assert.Null(features.Child("mechanisms", Ns.Sasl));
    }

    [Fact]
    public async Task After_starttls_scram_and_plain_are_offered_and_plus_variants_when_channel_binding_works()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.OpenStreamAsync();
        var features = await client.StartTlsAsync();

        var mechanisms = features.Child("mechanisms", Ns.Sasl)!.Children("mechanism").Select(m => m.Text).ToList();
        Assert.Contains("SCRAM-SHA-256", mechanisms);
        Assert.Contains("SCRAM-SHA-1", mechanisms);
        Assert.Contains("PLAIN", mechanisms);
        Assert.Contains("SCRAM-SHA-256-PLUS", mechanisms);
        var bindings = features.Child("sasl-channel-binding", "urn:xmpp:sasl-cb:0")!.Children("channel-binding").Select(b => b.GetAttribute("type")).ToList();
        Assert.Contains("tls-server-end-point", bindings);
    }

    [Theory]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-1")]
    public async Task A_user_logs_in_with_scram_over_starttls(string mechanism)
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.OpenStreamAsync();
        await client.StartTlsAsync();
        await client.AuthenticateAsync("juliet", "r0m30myr0m30", mechanism);
        var jid = await client.BindAsync("balcony");

        Assert.Equal("juliet@localhost/balcony", jid);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Whitespace_between_any_two_negotiation_steps_is_allowed_as_go_xmpp_sends_it(bool directTls)
    {
        await using var client = await XmppTestClient.ConnectAsync(directTls ? _node.C2sTlsPort : _node.C2sPort, directTls);
        await client.SendAsync("\n");
        await client.OpenStreamAsync();
        await client.SendAsync(" ");
        if (!directTls)
        {
            await client.StartTlsAsync(trailing: "\n");
            await client.SendAsync("\n");
        }

        var scram = new ScramClient(ScramHash.Sha256, "juliet", "r0m30myr0m30");
        await client.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{Convert.ToBase64String(scram.ClientFirst())}</auth>\n");
        var challenge = await client.ReceiveAsync();
        Assert.Equal("challenge", challenge.Name);
        await client.SendAsync(" \n");
        await client.SendAsync($"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{Convert.ToBase64String(scram.ClientFinal(Convert.FromBase64String(challenge.Text)))}</response>\n");
        Assert.Equal("success", (await client.ReceiveAsync()).Name);
        await client.SendAsync("\n");
        await client.RestartStreamAsync();
        await client.SendAsync(" ");

        Assert.Equal("juliet@localhost/balcony", await client.BindAsync("balcony"));
    }

    [Fact]
    public async Task A_user_logs_in_over_direct_tls()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        var features = await client.OpenStreamAsync();
        Assert.Null(features.Child("starttls", Ns.Tls));
        await client.AuthenticateAsync("juliet", "r0m30myr0m30");
        Assert.StartsWith("juliet@localhost/", await client.BindAsync());
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, client.Tls!.SslProtocol);
    }

    [Fact]
    public async Task Plain_works_inside_tls()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        var plain = Convert.ToBase64String("\0juliet\0r0m30myr0m30"u8.ToArray());
        await client.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>");

        Assert.Equal("success", (await client.ReceiveAsync()).Name);
    }

    [Fact]
    public async Task The_server_makes_a_resource_when_the_client_sends_none()
    {
        await using var client = await XmppTestClient.LoginAsync(_node, "juliet", "r0m30myr0m30");

        var jid = Jid.Parse(client.Jid!);
        Assert.Equal("juliet", jid.Local);
        Assert.False(string.IsNullOrEmpty(jid.Resource));
    }

    [Fact]
    public async Task The_legacy_session_iq_is_advertised_optional_and_answered()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        await client.AuthenticateAsync("juliet", "r0m30myr0m30");
        await client.BindAsync("r1");
        await client.SendAsync("<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");

        var result = await client.ReceiveAsync();
        Assert.Equal("result", result.GetAttribute("type"));
        Assert.Equal("s1", result.GetAttribute("id"));
    }

    [Fact]
    public async Task A_second_bind_of_the_same_resource_replaces_the_first_session()
    {
        await using var first = await XmppTestClient.LoginAsync(_node, "juliet", "r0m30myr0m30", "phone");
        await using var second = await XmppTestClient.LoginAsync(_node, "juliet", "r0m30myr0m30", "phone");

        Assert.Equal("conflict", await first.ExpectStreamErrorAsync());
        await second.SendAsync("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", (await second.ReceiveAsync()).GetAttribute("type"));
    }

    [Fact]
    public async Task A_stream_that_never_authenticates_is_dropped_after_the_negotiation_timeout()
    {
        await using var node = await TestNode.StartAsync(o => o.Sessions.NegotiationTimeoutSeconds = 1);
        await using var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        await client.OpenStreamAsync();

        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_silent_session_is_closed_with_connection_timeout()
    {
        await using var node = await TestNode.StartAsync(o => o.Sessions.IdleTimeoutSeconds = 1);
        await node.CreateUserAsync("romeo", "secret-password");
        await using var client = await XmppTestClient.LoginAsync(node, "romeo", "secret-password");

        Assert.Equal("connection-timeout", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task The_server_sends_whitespace_keepalives_to_an_idle_session()
    {
        await using var node = await TestNode.StartAsync(o => o.Sessions.KeepaliveSeconds = 1);
        await node.CreateUserAsync("romeo", "secret-password");
        await using var client = await XmppTestClient.LoginAsync(node, "romeo", "secret-password");
        var tls = client.Tls!;

        var buffer = new byte[16];
        using var deadline = new CancellationTokenSource(XmppTestClient.Deadline);
        var read = await tls.ReadAsync(buffer, deadline.Token);
        Assert.Equal(" ", System.Text.Encoding.UTF8.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task The_101st_resource_of_one_account_gets_resource_constraint()
    {
        await using var node = await TestNode.StartAsync(o => o.Limits.MaxResourcesPerAccount = 100);
        await node.CreateUserAsync("busy", "busy-password");
        var clients = new List<XmppTestClient>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                clients.Add(await XmppTestClient.LoginAsync(node, "busy", "busy-password", $"r{i}"));
            }
            var extra = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
            clients.Add(extra);
            await extra.OpenStreamAsync();
            await extra.AuthenticateAsync("busy", "busy-password");

            await extra.SendAsync("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r100</resource></bind></iq>");

            var error = await extra.ReceiveAsync();
            Assert.NotNull(error.Child("error")!.Child("resource-constraint", Ns.Stanzas));
            Assert.Equal(100, node.App.Node.Sessions.SessionsOf(Jid.Parse("busy@localhost")).Length);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
