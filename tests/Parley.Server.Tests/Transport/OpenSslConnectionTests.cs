using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Authentication.ExtendedProtection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Parley.Server.Transport;

namespace Parley.Server.Tests.Transport;

public sealed class OpenSslConnectionTests : IDisposable
{
    private readonly X509Certificate2 _certificate = CreateEcdsaP256Certificate();

    public void Dispose() => _certificate.Dispose();

    [Fact]
    public void IsSupported_OnThisLinux_FindsTheSslHandleAndLibssl()
    {
        // If a .NET update moves SslStream's private field, this is the test that says so.
        Assert.True(OpenSslConnection.IsSupported);
    }

    [Fact]
    public async Task ExportChannelBinding_Tls13_BothEndsExportTheSame32Bytes()
    {
        await using TlsPair pair = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls13);

        byte[]? server = OpenSslConnection.ExportChannelBinding(pair.Server);
        byte[]? client = OpenSslConnection.ExportChannelBinding(pair.Client);

        Assert.NotNull(server);
        Assert.Equal(32, server.Length);
        Assert.Equal(server, client);
        Assert.Contains(server, b => b != 0);
    }

    [Fact]
    public async Task ExportChannelBinding_Tls13_MatchesWhatTheOpensslCommandLineClientExports()
    {
        // Both ends above run this class, so they would agree even on a wrong label; the openssl CLI is independent.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using Process opensslClient = Process.Start(new ProcessStartInfo("openssl")
        {
            ArgumentList =
            {
                "s_client", "-connect", $"127.0.0.1:{port}", "-tls1_3", "-servername", "parley.test",
                "-keymatexport", "EXPORTER-Channel-Binding", "-keymatexportlen", "32",
            },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            using Socket socket = await listener.AcceptSocketAsync(timeout.Token);
            await using var server = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await server.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions { ServerCertificate = _certificate, EnabledSslProtocols = SslProtocols.Tls13 },
                timeout.Token);

            string? exportedByOpenssl = null;
            while (exportedByOpenssl is null && await opensslClient.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                const string Marker = "Keying material: ";
                int at = line.IndexOf(Marker, StringComparison.Ordinal);
                exportedByOpenssl = at >= 0 ? line[(at + Marker.Length)..].Trim() : null;
            }

            Assert.Equal(exportedByOpenssl, Convert.ToHexString(OpenSslConnection.ExportChannelBinding(server)!));
        }
        finally
        {
            opensslClient.StandardInput.Close();
            if (!opensslClient.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                opensslClient.Kill();
            }
        }
    }

    [Fact]
    public async Task ExportChannelBinding_TwoConnections_GiveDifferentValues()
    {
        await using TlsPair first = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls13);
        await using TlsPair second = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls13);

        byte[]? firstBinding = OpenSslConnection.ExportChannelBinding(first.Server);
        byte[]? secondBinding = OpenSslConnection.ExportChannelBinding(second.Server);

        Assert.NotNull(firstBinding);
        Assert.NotNull(secondBinding);
        Assert.NotEqual(firstBinding, secondBinding);
    }

    [Fact]
    public async Task ExportChannelBinding_Tls12_ReturnsNull()
    {
        await using TlsPair pair = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls12);

        Assert.Equal(SslProtocols.Tls12, pair.Server.SslProtocol);
        Assert.Null(OpenSslConnection.ExportChannelBinding(pair.Server));
        Assert.Null(OpenSslConnection.ExportChannelBinding(pair.Client));
    }

    [Fact]
    public void ExportChannelBinding_StreamNotAuthenticated_ReturnsNull()
    {
        using var stream = new SslStream(new MemoryStream());

        Assert.Null(OpenSslConnection.ExportChannelBinding(stream));
    }

    [Fact]
    public async Task ExportChannelBinding_StreamDisposed_ReturnsNull()
    {
        TlsPair pair = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls13);
        await pair.DisposeAsync();

        Assert.Null(OpenSslConnection.ExportChannelBinding(pair.Server));
    }

    [Fact]
    public void ExportChannelBinding_NullStream_Throws()
    {
        Assert.Throws<ArgumentNullException>("stream", () => OpenSslConnection.ExportChannelBinding(null!));
    }

    [Fact]
    public async Task ReleaseBuffersWhenIdle_ConnectionStillExchangesDataBothWays()
    {
        await using TlsPair pair = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls13);

        Assert.True(OpenSslConnection.ReleaseBuffersWhenIdle(pair.Server));
        Assert.True(OpenSslConnection.ReleaseBuffersWhenIdle(pair.Client));

        for (int round = 0; round < 5; round++)
        {
            // Small messages and one larger than a TLS record (16 KiB), so buffers are freed and reallocated mid-message.
            int size = round == 2 ? 100_000 : 64 + round;
            byte[] toServer = RandomNumberGenerator.GetBytes(size);
            byte[] toClient = RandomNumberGenerator.GetBytes(size);

            Assert.Equal(toServer, await pair.SendAsync(pair.Client, pair.Server, toServer));
            Assert.Equal(toClient, await pair.SendAsync(pair.Server, pair.Client, toClient));
        }
    }

    [Fact]
    public async Task ReleaseBuffersWhenIdle_Tls12_AlsoWorks()
    {
        await using TlsPair pair = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls12);

        Assert.True(OpenSslConnection.ReleaseBuffersWhenIdle(pair.Server));

        byte[] message = RandomNumberGenerator.GetBytes(1000);
        Assert.Equal(message, await pair.SendAsync(pair.Client, pair.Server, message));
        Assert.Equal(message, await pair.SendAsync(pair.Server, pair.Client, message));
    }

    [Fact]
    public void ReleaseBuffersWhenIdle_StreamNotAuthenticated_ReturnsFalse()
    {
        using var stream = new SslStream(new MemoryStream());

        Assert.False(OpenSslConnection.ReleaseBuffersWhenIdle(stream));
    }

    [Fact]
    public async Task ReleaseBuffersWhenIdle_StreamDisposed_ReturnsFalse()
    {
        TlsPair pair = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls13);
        await pair.DisposeAsync();

        Assert.False(OpenSslConnection.ReleaseBuffersWhenIdle(pair.Server));
    }

    // tls-server-end-point (RFC 5929) is what SCRAM-*-PLUS falls back to when tls-exporter is unavailable. These two
    // tests pin down what .NET 10 on Linux gives for it, because the server cannot use it as-is.

    [Fact]
    public async Task EndpointChannelBinding_ClientSide_IsHeaderPrefixAndSha256OfServerCertificate()
    {
        await using TlsPair pair = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls13);

        using ChannelBinding? binding = pair.Client.TransportContext?.GetChannelBinding(ChannelBindingKind.Endpoint);

        Assert.NotNull(binding);
        byte[] bytes = new byte[binding.Size];
        Marshal.Copy(binding.DangerousGetHandle(), bytes, 0, bytes.Length);

        // A 32-byte SecChannelBindings header (eight little-endian uint32s): all zero except
        // cbApplicationDataLength at 24 and dwApplicationDataOffset at 28; then the application data.
        byte[] prefix = Encoding.ASCII.GetBytes("tls-server-end-point:");
        byte[] certificateHash = SHA256.HashData(_certificate.RawData);
        Assert.Equal(32 + prefix.Length + certificateHash.Length, bytes.Length);
        Assert.All(bytes[..24], b => Assert.Equal(0, b));
        Assert.Equal(prefix.Length + certificateHash.Length, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(24)));
        Assert.Equal(32, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(28)));
        Assert.Equal(prefix, bytes[32..(32 + prefix.Length)]);
        Assert.Equal(certificateHash, bytes[(32 + prefix.Length)..]);
    }

    [Fact]
    public async Task EndpointChannelBinding_ServerSide_ThrowsBecauseDotNetHashesThePeerCertificate()
    {
        await using TlsPair pair = await TlsPair.ConnectAsync(_certificate, SslProtocols.Tls13);

        // .NET asks OpenSSL for the peer's certificate, which a server without client authentication does not have;
        // the server must hash its own certificate instead. If this starts to fail, .NET has changed.
        Exception error = Assert.ThrowsAny<Exception>(
            () => pair.Server.TransportContext?.GetChannelBinding(ChannelBindingKind.Endpoint));
        Assert.Contains("certificate", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    private static X509Certificate2 CreateEcdsaP256Certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=parley.test", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>An authenticated SslStream server and client over a loopback TCP connection.</summary>
    private sealed class TlsPair : IAsyncDisposable
    {
        private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

        private TlsPair(SslStream server, SslStream client)
        {
            Server = server;
            Client = client;
        }

        public SslStream Server { get; }

        public SslStream Client { get; }

        public static async Task<TlsPair> ConnectAsync(X509Certificate2 certificate, SslProtocols protocol)
        {
            using var timeout = new CancellationTokenSource(Deadline);
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await clientSocket.ConnectAsync((IPEndPoint)listener.LocalEndpoint, timeout.Token);
            Socket serverSocket = await listener.AcceptSocketAsync(timeout.Token);

            var server = new SslStream(new NetworkStream(serverSocket, ownsSocket: true));
            var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: true));
            await Task.WhenAll(
                server.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions { ServerCertificate = certificate, EnabledSslProtocols = protocol },
                    timeout.Token),
                client.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = "parley.test",
                        EnabledSslProtocols = protocol,
                        RemoteCertificateValidationCallback = (_, presented, _, _) =>
                            presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
                    },
                    timeout.Token));
            return new TlsPair(server, client);
        }

        public async Task<byte[]> SendAsync(SslStream from, SslStream to, byte[] message)
        {
            using var timeout = new CancellationTokenSource(Deadline);
            await from.WriteAsync(message, timeout.Token);
            await from.FlushAsync(timeout.Token);
            byte[] received = new byte[message.Length];
            await to.ReadExactlyAsync(received, timeout.Token);
            return received;
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Client.DisposeAsync();
        }
    }
}
