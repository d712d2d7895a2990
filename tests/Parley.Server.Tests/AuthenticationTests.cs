using System.Diagnostics;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests;

public sealed class AuthenticationTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("juliet", "r0m30myr0m30");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<XmppTestClient> SecuredClientAsync()
    {
        var client = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        return client;
    }

    [Fact]
    public async Task A_wrong_password_fails_with_not_authorized_and_changes_nothing_stored()
    {
        var before = await _node.Accounts.GetCredentialsAsync("juliet@localhost");
        await using var client = await SecuredClientAsync();

        var outcome = await client.TryAuthenticateAsync("juliet", "wrong");

        Assert.Equal("failure", outcome.Name);
        Assert.NotNull(outcome.Child("not-authorized", Ns.Sasl));
        var after = await _node.Accounts.GetCredentialsAsync("juliet@localhost");
        Assert.Equal(before!.Sha256.StoredKey, after!.Sha256.StoredKey);
        Assert.Equal(1, await _node.Accounts.CountAsync(null));
    }

    [Fact]
    public async Task An_unknown_user_fails_like_a_wrong_password_and_creates_no_account()
    {
        await using var client = await SecuredClientAsync();

        var outcome = await client.TryAuthenticateAsync("nobody", "whatever");

        Assert.NotNull(outcome.Child("not-authorized", Ns.Sasl));
        Assert.False(await _node.Accounts.ExistsAsync("nobody@localhost"));
    }

    [Fact]
    public async Task Each_failed_attempt_on_an_account_is_answered_more_slowly()
    {
        await using var client = await SecuredClientAsync();

        var first = Stopwatch.StartNew();
        await client.TryAuthenticateAsync("juliet", "wrong-1");
        first.Stop();
        var second = Stopwatch.StartNew();
        await client.TryAuthenticateAsync("juliet", "wrong-2");
        second.Stop();
        var third = Stopwatch.StartNew();
        await client.TryAuthenticateAsync("juliet", "wrong-3");
        third.Stop();

        // The configured delays are 50, 100 and 200 ms (AuthThrottleTests checks them exactly); each
        // answer waits about that long, less a timer's early-firing margin.
        Assert.True(first.ElapsedMilliseconds >= 45, $"first failure after {first.ElapsedMilliseconds} ms");
        Assert.True(second.ElapsedMilliseconds >= 90, $"second failure after {second.ElapsedMilliseconds} ms");
        Assert.True(third.ElapsedMilliseconds >= 180, $"third failure after {third.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task A_refused_channel_binding_type_is_answered_at_once_and_does_not_slow_later_logins()
    {
        // slixmpp 1.8 first tries -PLUS with tls-unique, which TLS 1.3 does not have, then falls back.
        var delay = TimeSpan.FromSeconds(5);
        await using var node = await TestNode.StartAsync(o =>
        {
            o.Auth.FailureDelayMilliseconds = (int)delay.TotalMilliseconds;
            o.Auth.MaxFailureDelayMilliseconds = (int)delay.TotalMilliseconds;
            o.Auth.IpFailuresBeforeDelay = 0;
        });
        await node.CreateUserAsync("juliet", "r0m30myr0m30");

        for (var login = 0; login < 3; login++)
        {
            await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
            await client.OpenStreamAsync();
            var elapsed = Stopwatch.StartNew();

            var refused = await client.TryAuthenticateAsync(new ScramClient(ScramHash.Sha256, "juliet", "r0m30myr0m30", "tls-unique", new byte[12], serverOffersPlus: true), "SCRAM-SHA-256-PLUS");
            var accepted = await client.TryAuthenticateAsync("juliet", "r0m30myr0m30");

            Assert.Equal("failure", refused.Name);
            Assert.Equal("success", accepted.Name);
            Assert.True(elapsed.Elapsed < delay / 2, $"login {login + 1} took {elapsed.ElapsedMilliseconds} ms; a failed-password delay is {delay.TotalMilliseconds} ms");
        }
    }

    [Fact]
    public async Task The_stream_is_closed_after_five_failed_attempts()
    {
        await using var client = await SecuredClientAsync();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("failure", (await client.TryAuthenticateAsync("juliet", "wrong")).Name);
        }
        await client.TryAuthenticateAsync("juliet", "wrong");

        Assert.Equal("policy-violation", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task An_unknown_mechanism_is_refused_with_invalid_mechanism()
    {
        await using var client = await SecuredClientAsync();
        await client.SendAsync("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>");

        var failure = await client.ReceiveAsync();
        Assert.Equal("failure", failure.Name);
        Assert.NotNull(failure.Child("invalid-mechanism", Ns.Sasl));
    }

    [Fact]
    public async Task Sasl_data_that_is_not_base64_is_refused_with_incorrect_encoding()
    {
        await using var client = await SecuredClientAsync();
        await client.SendAsync("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>not*base64!</auth>");

        Assert.NotNull((await client.ReceiveAsync()).Child("incorrect-encoding", Ns.Sasl));
    }

    [Fact]
    public async Task Authentication_before_tls_is_refused_with_encryption_required()
    {
        await using var client = await XmppTestClient.ConnectAsync(_node.C2sPort);
        await client.OpenStreamAsync();

        var outcome = await client.TryAuthenticateAsync("juliet", "r0m30myr0m30");

        Assert.NotNull(outcome.Child("encryption-required", Ns.Sasl));
    }

    [Fact]
    public async Task Plain_is_never_offered_without_tls_even_when_tls_is_optional()
    {
        await using var node = await TestNode.StartAsync(o => o.Tls.RequireStartTls = false);
        await using var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        var features = await client.OpenStreamAsync();

        var mechanisms = features.Child("mechanisms", Ns.Sasl)!.Children("mechanism").Select(m => m.Text).ToList();
        Assert.Contains("SCRAM-SHA-256", mechanisms);
        Assert.DoesNotContain("PLAIN", mechanisms);
        Assert.DoesNotContain("SCRAM-SHA-256-PLUS", mechanisms);
    }

    [Fact]
    public async Task Stanzas_before_authentication_end_the_stream_with_not_authorized()
    {
        await using var client = await SecuredClientAsync();
        await client.SendAsync("<message to='juliet@localhost'><body>hi</body></message>");

        Assert.Equal("not-authorized", await client.ExpectStreamErrorAsync());
    }

    [Fact]
    public async Task When_storage_fails_the_login_gets_temporary_auth_failure_and_the_node_keeps_running()
    {
        await using var node = await TestNode.StartAsync();
        await node.App.Node.Storage.DisposeAsync();
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();

        var outcome = await client.TryAuthenticateAsync("juliet", "r0m30myr0m30");

        Assert.NotNull(outcome.Child("temporary-auth-failure", Ns.Sasl));
        await using var another = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        Assert.NotNull((await another.OpenStreamAsync()).Child("mechanisms", Ns.Sasl));
    }
}
