using System.Security.Cryptography;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Server.Tests.Support;
using Parley.Server.Transport;

namespace Parley.Server.Tests;

/// <summary>SCRAM-*-PLUS logins bound to the TLS connection (RFC 5802, RFC 5929, RFC 9266).</summary>
public sealed class ChannelBindingTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("juliet", "r0m30myr0m30");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<XmppTestClient> SecuredAsync()
    {
        var client = await XmppTestClient.ConnectAsync(_node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        return client;
    }

    private static byte[] ServerEndPoint(XmppTestClient client) => SHA256.HashData(client.Tls!.RemoteCertificate!.GetRawCertData());

    [Fact]
    public async Task Scram_sha_256_plus_with_tls_exporter_logs_in()
    {
        await using var client = await SecuredAsync();
        var exporter = OpenSslConnection.ExportChannelBinding(client.Tls!);
        Assert.NotNull(exporter);

        var outcome = await client.TryAuthenticateAsync(new ScramClient(ScramHash.Sha256, "juliet", "r0m30myr0m30", "tls-exporter", exporter, serverOffersPlus: true), "SCRAM-SHA-256-PLUS");

        Assert.Equal("success", outcome.Name);
    }

    [Fact]
    public async Task Scram_sha_1_plus_with_tls_server_end_point_logs_in()
    {
        await using var client = await SecuredAsync();

        var outcome = await client.TryAuthenticateAsync(new ScramClient(ScramHash.Sha1, "juliet", "r0m30myr0m30", "tls-server-end-point", ServerEndPoint(client), serverOffersPlus: true), "SCRAM-SHA-1-PLUS");

        Assert.Equal("success", outcome.Name);
    }

    [Fact]
    public async Task Binding_data_of_another_connection_is_refused()
    {
        await using var other = await SecuredAsync();
        await using var client = await SecuredAsync();
        var othersExporter = OpenSslConnection.ExportChannelBinding(other.Tls!);

        var outcome = await client.TryAuthenticateAsync(new ScramClient(ScramHash.Sha256, "juliet", "r0m30myr0m30", "tls-exporter", othersExporter, serverOffersPlus: true), "SCRAM-SHA-256-PLUS");

        Assert.NotNull(outcome.Child("not-authorized", Ns.Sasl));
    }

    [Fact]
    public async Task A_binding_type_the_server_does_not_know_is_refused()
    {
        await using var client = await SecuredAsync();

        var outcome = await client.TryAuthenticateAsync(new ScramClient(ScramHash.Sha256, "juliet", "r0m30myr0m30", "tls-unique", new byte[12], serverOffersPlus: true), "SCRAM-SHA-256-PLUS");

        Assert.Equal("failure", outcome.Name);
    }

    [Fact]
    public async Task A_client_that_says_y_is_accepted_by_default_and_refused_when_strict()
    {
        await using (var client = await SecuredAsync())
        {
            // "y": the client supports binding but believes the server does not.
            var lenient = await client.TryAuthenticateAsync(new ScramClient(ScramHash.Sha256, "juliet", "r0m30myr0m30", "tls-unique", new byte[12], serverOffersPlus: false), "SCRAM-SHA-256");
            Assert.Equal("success", lenient.Name);
        }

        await using var strictNode = await TestNode.StartAsync(o => o.Auth.StrictChannelBindingDowngrade = true);
        await strictNode.CreateUserAsync("juliet", "r0m30myr0m30");
        await using var strictClient = await XmppTestClient.ConnectAsync(strictNode.C2sTlsPort, directTls: true);
        await strictClient.OpenStreamAsync();
        var strict = await strictClient.TryAuthenticateAsync(new ScramClient(ScramHash.Sha256, "juliet", "r0m30myr0m30", "tls-unique", new byte[12], serverOffersPlus: false), "SCRAM-SHA-256");
        Assert.NotNull(strict.Child("not-authorized", Ns.Sasl));
    }
}
