using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Server.Auth;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Streams;

/// <summary>Sign-in is a backend the negotiator asks: a backend of the test's own replaces the local accounts.</summary>
public sealed class AuthenticationBackendTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() =>
        _node = await TestNode.StartAsync(services: s => s.Replace(ServiceDescriptor.Singleton<IAuthenticationBackend>(new TokenBackend("juliet", "balcony-token"))));

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    [Fact]
    public async Task The_stream_offers_the_backends_mechanisms_only()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.OpenStreamAsync();
        var features = await client.StartTlsAsync();

        var mechanisms = features.Child("mechanisms", Ns.Sasl)!.Children().Select(m => m.Text).ToArray();
        Assert.Equal(["X-TEST-TOKEN"], mechanisms);
    }

    [Fact]
    public async Task A_user_the_backend_knows_signs_in_binds_and_is_served()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.OpenStreamAsync();
        await client.StartTlsAsync();

        await client.SendAsync($"<auth xmlns='{Ns.Sasl}' mechanism='X-TEST-TOKEN'>{Token("juliet", "balcony-token")}</auth>");
        Assert.Equal("success", (await client.ReceiveAsync()).Name);
        await client.RestartStreamAsync();
        Assert.Equal("juliet@localhost/phone", await client.BindAsync("phone"));

        await client.SendAsync("<iq to='localhost' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", (await client.ReceiveAsync(e => e.GetAttribute("id") == "p1")).GetAttribute("type"));
    }

    [Fact]
    public async Task A_wrong_token_is_not_authorized_and_the_account_store_is_not_asked()
    {
        await _node.CreateUserAsync("juliet", "a stored password");
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.OpenStreamAsync();
        await client.StartTlsAsync();

        await client.SendAsync($"<auth xmlns='{Ns.Sasl}' mechanism='X-TEST-TOKEN'>{Token("juliet", "a stored password")}</auth>");
        var failure = await client.ReceiveAsync();
        Assert.Equal("failure", failure.Name);
        Assert.NotNull(failure.Child("not-authorized", Ns.Sasl));

        await client.SendAsync("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>=</auth>");
        Assert.NotNull((await client.ReceiveAsync()).Child("invalid-mechanism", Ns.Sasl));
    }

    private static string Token(string user, string token) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}\0{token}"));

    /// <summary>A backend of one user and one token: "user NUL token" in a single step.</summary>
    private sealed class TokenBackend(string user, string token) : IAuthenticationBackend
    {
        public IReadOnlyList<string> Mechanisms(AuthenticationContext context) => ["X-TEST-TOKEN"];

        public ISaslServerMechanism Start(string mechanism, AuthenticationContext context) => new TokenMechanism(user, token, context);
    }

    private sealed class TokenMechanism(string user, string token, AuthenticationContext context) : ISaslServerMechanism
    {
        public string Name => "X-TEST-TOKEN";
        public string? AuthenticatedUser { get; private set; }
        public string? AuthorizationId => null;

        public ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte> clientResponse, CancellationToken cancellationToken)
        {
            var parts = Encoding.UTF8.GetString(clientResponse.Span).Split('\0');
            context.AttemptedAccount = $"{parts[0]}@{context.Domain}";
            if (parts.Length == 2 && parts[0] == user && parts[1] == token)
            {
                AuthenticatedUser = user;
                return ValueTask.FromResult(new SaslStep(SaslOutcome.Success, null, null, null));
            }
            return ValueTask.FromResult(new SaslStep(SaslOutcome.Failure, null, SaslCondition.NotAuthorized, null));
        }
    }
}
