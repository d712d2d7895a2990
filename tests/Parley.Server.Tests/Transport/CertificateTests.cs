using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Transport;

public sealed class CertificateTests
{
    /// <summary>The certificate a TLS port serves: direct TLS for XMPP, or the HTTPS port.</summary>
    private static async Task<X509Certificate2> ServerCertificateAsync(int directTlsPort)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", directTlsPort);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TestNode.Domain,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return new X509Certificate2(tls.RemoteCertificate!);
    }

    private static (string CertPath, string KeyPath, string Thumbprint) WritePem(string folder, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certPath = Path.Combine(folder, "cert.pem");
        var keyPath = Path.Combine(folder, "key.pem");
        // Key first: the certificate file's change is what the node notices.
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        return (certPath, keyPath, certificate.Thumbprint);
    }

    [Fact]
    public async Task The_first_start_makes_a_self_signed_certificate_for_the_domain_and_later_starts_reuse_it()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "parley-cert-" + Guid.NewGuid().ToString("N"));
        string firstThumbprint;
        await using (var node = await TestNode.StartAsync(o => o.DataDir = dataDir))
        {
            using var certificate = await ServerCertificateAsync(node.C2sTlsPort);
            Assert.Equal("CN=localhost", certificate.Subject);
            using (var key = certificate.GetECDsaPublicKey())
            {
                Assert.Equal(256, key!.KeySize);
            }
            Assert.True(File.Exists(Path.Combine(dataDir, "certs", "localhost.pfx")));
            firstThumbprint = certificate.Thumbprint;
            Directory.CreateDirectory(dataDir + "-keep");
            File.Copy(Path.Combine(dataDir, "certs", "localhost.pfx"), Path.Combine(dataDir + "-keep", "localhost.pfx"));
        }

        var reuseDir = Path.Combine(Path.GetTempPath(), "parley-cert-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(reuseDir, "certs"));
        File.Copy(Path.Combine(dataDir + "-keep", "localhost.pfx"), Path.Combine(reuseDir, "certs", "localhost.pfx"));
        Directory.Delete(dataDir + "-keep", recursive: true);
        await using (var node = await TestNode.StartAsync(o => o.DataDir = reuseDir))
        {
            using var certificate = await ServerCertificateAsync(node.C2sTlsPort);
            Assert.Equal(firstThumbprint, certificate.Thumbprint);
        }
    }

    [Fact]
    public async Task A_configured_pem_certificate_is_served_and_a_replaced_one_is_picked_up_without_restart()
    {
        var folder = Directory.CreateTempSubdirectory("parley-pem-").FullName;
        var first = WritePem(folder, "first.localhost");
        await using var node = await TestNode.StartAsync(o => o.Tls.Certificates.Add(new CertificateOptions
        {
            Domain = TestNode.Domain,
            CertificatePath = first.CertPath,
            KeyPath = first.KeyPath,
        }));
        using (var served = await ServerCertificateAsync(node.C2sTlsPort))
        {
            Assert.Equal(first.Thumbprint, served.Thumbprint);
        }
        using (var served = await ServerCertificateAsync(node.HttpsPort))
        {
            Assert.Equal(first.Thumbprint, served.Thumbprint);
        }

        var second = WritePem(folder, "second.localhost");
        File.SetLastWriteTimeUtc(second.CertPath, DateTime.UtcNow.AddSeconds(1));
        await node.App.Node.Certificates.ReloadChangedAsync();

        using (var served = await ServerCertificateAsync(node.C2sTlsPort))
        {
            Assert.Equal(second.Thumbprint, served.Thumbprint);
        }
        using (var served = await ServerCertificateAsync(node.HttpsPort))
        {
            Assert.Equal(second.Thumbprint, served.Thumbprint);
        }
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task A_broken_replacement_keeps_the_current_certificate_in_service()
    {
        var folder = Directory.CreateTempSubdirectory("parley-pem-").FullName;
        var first = WritePem(folder, "first.localhost");
        await using var node = await TestNode.StartAsync(o => o.Tls.Certificates.Add(new CertificateOptions
        {
            Domain = TestNode.Domain,
            CertificatePath = first.CertPath,
            KeyPath = first.KeyPath,
        }));

        File.WriteAllText(first.CertPath, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        File.SetLastWriteTimeUtc(first.CertPath, DateTime.UtcNow.AddSeconds(1));
        await node.App.Node.Certificates.ReloadChangedAsync();

        using var served = await ServerCertificateAsync(node.C2sTlsPort);
        Assert.Equal(first.Thumbprint, served.Thumbprint);
        Directory.Delete(folder, recursive: true);
    }
}
