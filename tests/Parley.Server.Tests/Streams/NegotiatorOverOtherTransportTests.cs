using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Server.Streams;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Streams;

/// <summary>
/// The stream negotiator and the client stream run over a transport the server has never seen (one
/// that carries elements, not bytes): a new transport needs no change to either.
/// </summary>
public sealed class NegotiatorOverOtherTransportTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("juliet", "juliet-password");
        await _node.CreateUserAsync("romeo", "romeo-password");
    }

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    [Fact]
    public async Task A_client_signs_in_binds_chats_with_a_tcp_client_and_closes()
    {
        var transport = new ElementTransport();
        var stream = new ClientStream(transport, _node.App.Node);
        var running = stream.RunAsync();

        transport.Open();
        Assert.Equal("open", (await transport.ReceiveAsync()).Name);
        var features = await transport.ReceiveAsync();
        Assert.Null(features.Child("starttls", Ns.Tls));
        var mechanisms = features.Child("mechanisms", Ns.Sasl)!.Children().Select(m => m.Text).ToArray();
        Assert.Contains("SCRAM-SHA-256", mechanisms);
        Assert.DoesNotContain("SCRAM-SHA-256-PLUS", mechanisms);

        var scram = new ScramClient(ScramHash.Sha256, "juliet", "juliet-password");
        transport.Send($"<auth xmlns='{Ns.Sasl}' mechanism='SCRAM-SHA-256'>{Convert.ToBase64String(scram.ClientFirst())}</auth>");
        var challenge = await transport.ReceiveAsync();
        transport.Send($"<response xmlns='{Ns.Sasl}'>{Convert.ToBase64String(scram.ClientFinal(Convert.FromBase64String(challenge.Text)))}</response>");
        var success = await transport.ReceiveAsync();
        Assert.Equal("success", success.Name);
        Assert.True(scram.VerifyServerFinal(Convert.FromBase64String(success.Text)));

        transport.Open();
        Assert.Equal("open", (await transport.ReceiveAsync()).Name);
        features = await transport.ReceiveAsync();
        Assert.Equal(1, transport.Restarts);
        Assert.NotNull(features.Child("bind", Ns.Bind));
        Assert.NotNull(features.Child("sm", Ns.StreamManagement));
        transport.Send($"<iq type='set' id='b1'><bind xmlns='{Ns.Bind}'><resource>tablet</resource></bind></iq>");
        var bound = await transport.ReceiveAsync(e => e.GetAttribute("id") == "b1");
        Assert.Equal("juliet@localhost/tablet", bound.Child("bind", Ns.Bind)!.ChildText("jid", Ns.Bind));

        // Stanzas both ways between this transport and TCP, and a stream-management nonza through the writer.
        transport.Send($"<enable xmlns='{Ns.StreamManagement}'/>");
        Assert.Equal("enabled", (await transport.ReceiveAsync(e => e.Namespace == Ns.StreamManagement)).Name);
        await using var romeo = await XmppTestClient.LoginAsync(_node, "romeo", "romeo-password", "garden");
        transport.Send("<message to='romeo@localhost/garden' type='chat' id='m1'><body>Wherefore art thou?</body></message>");
        var atRomeo = await romeo.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("juliet@localhost/tablet", atRomeo.GetAttribute("from"));
        await romeo.SendAsync("<message to='juliet@localhost/tablet' type='chat' id='m2'><body>Here.</body></message>");
        var atJuliet = await transport.ReceiveAsync(e => e.Name == "message");
        Assert.Equal("Here.", atJuliet.ChildText("body"));
        Assert.Equal("romeo@localhost/garden", atJuliet.GetAttribute("from"));

        transport.Close();
        Assert.Equal("close", (await transport.ReceiveAsync(e => e.Name == "close")).Name);
        await running.WaitAsync(XmppTestClient.Deadline);
        Assert.Null(_node.App.Node.Sessions.Find(Jid.Parse("juliet@localhost/tablet")));
    }

    [Fact]
    public async Task Opening_the_stream_again_once_bound_is_a_policy_violation_and_ends_the_session()
    {
        var transport = new ElementTransport();
        var running = new ClientStream(transport, _node.App.Node).RunAsync();
        transport.Open();
        await transport.ReceiveAsync(e => e.Name == "features");
        var scram = new ScramClient(ScramHash.Sha256, "juliet", "juliet-password");
        transport.Send($"<auth xmlns='{Ns.Sasl}' mechanism='SCRAM-SHA-256'>{Convert.ToBase64String(scram.ClientFirst())}</auth>");
        var challenge = await transport.ReceiveAsync();
        transport.Send($"<response xmlns='{Ns.Sasl}'>{Convert.ToBase64String(scram.ClientFinal(Convert.FromBase64String(challenge.Text)))}</response>");
        Assert.Equal("success", (await transport.ReceiveAsync()).Name);
        transport.Open();
        await transport.ReceiveAsync(e => e.Name == "features");
        transport.Send($"<iq type='set' id='b1'><bind xmlns='{Ns.Bind}'><resource>tablet</resource></bind></iq>");
        await transport.ReceiveAsync(e => e.GetAttribute("id") == "b1");

        transport.Open();

        var error = await transport.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.NotNull(error.Child("policy-violation", Ns.StreamErrors));
        transport.Close();
        await running.WaitAsync(XmppTestClient.Deadline);
        Assert.Null(_node.App.Node.Sessions.Find(Jid.Parse("juliet@localhost/tablet")));
    }
}
