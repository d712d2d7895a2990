using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;

namespace Parley.Server.Transport;

/// <summary>
/// The certificate for each served domain: the operator's PEM or PFX files when configured, else a
/// self-signed one made on first start and kept under DataDir/certs. Files are re-read when they
/// change (checked every few seconds), so replacing a certificate needs no restart.
/// </summary>
public sealed class CertificateStore : BackgroundService
{
    private static readonly TimeSpan ReloadCheckInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Mozilla's "intermediate" set without DHE, for every TLS port: TLS 1.3 as is, TLS 1.2 only ECDHE with
    /// AES-GCM or ChaCha20-Poly1305 (no CBC: LUCKY13). OpenSSL's default would offer CBC on TLS 1.2.
    /// Set on the certificate's shared SSL_CTX where Parley can reach it (<see cref="ModernTls12CipherList"/>),
    /// else as this policy, which costs each connection an SSL_CTX of its own.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static readonly CipherSuitesPolicy ModernCipherSuites = new(
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]);

    /// <summary>The TLS 1.2 part of the same set, in OpenSSL's words.</summary>
    private const string ModernTls12CipherList = "ECDHE+AESGCM:ECDHE+CHACHA20";

    private readonly ParleyOptions _options;
    private readonly ILogger<CertificateStore> _logger;
    private readonly ConcurrentDictionary<string, LoadedCertificate> _byDomain = new(StringComparer.OrdinalIgnoreCase);

    public CertificateStore(ParleyOptions options, ILogger<CertificateStore> logger)
    {
        _options = options;
        _logger = logger;
    }

    /// <summary>Loads or creates every domain's certificate; called once at start-up so that problems show at once.</summary>
    public async Task LoadAllAsync()
    {
        foreach (var domain in _options.EffectiveDomains)
        {
            _byDomain[domain] = await LoadModernAsync(domain).ConfigureAwait(false);
        }
    }

    /// <summary>TLS options for a connection that asked for <paramref name="serverName"/> (SNI or the stream's 'to').</summary>
    public SslServerAuthenticationOptions ServerOptionsFor(string? serverName)
    {
        var domain = serverName is not null && _byDomain.ContainsKey(serverName) ? serverName : _options.EffectiveDomains[0];
        return _byDomain.GetOrAdd(domain, Load).ServerOptions;
    }

    /// <summary>Re-reads the certificate files of every domain whose files changed.</summary>
    public async Task ReloadChangedAsync()
    {
        foreach (var (domain, loaded) in _byDomain)
        {
            await ReloadIfChangedAsync(domain, loaded).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReloadCheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await ReloadChangedAsync().ConfigureAwait(false);
        }
    }

    public X509Certificate2 CertificateFor(string domain) => _byDomain.GetOrAdd(domain, Load).Certificate;

    private async Task ReloadIfChangedAsync(string domain, LoadedCertificate loaded)
    {
        var stamp = SourceStamp(domain);
        if (stamp == loaded.SourceStamp)
        {
            return;
        }
        try
        {
            var fresh = await LoadModernAsync(domain).ConfigureAwait(false);
            _byDomain[domain] = fresh;
            _logger.LogInformation("Reloaded the TLS certificate for {Domain} ({Subject}, expires {Expiry:u})", domain, fresh.Certificate.Subject, fresh.Certificate.NotAfter);
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException)
        {
            // A half-written or broken file must not take TLS down: keep serving the old certificate,
            // and remember the stamp so the same broken file is reported once.
            _logger.LogWarning("The new TLS certificate for {Domain} could not be loaded, keeping the current one: {Reason}", domain, e.Message);
            _byDomain[domain] = loaded with { SourceStamp = stamp };
        }
    }

    /// <summary>
    /// Loads the certificate and gives its shared SSL_CTX the modern cipher list: one handshake with
    /// itself, in memory, makes .NET create and cache the context, which is then restricted before any
    /// client uses it. Where that cannot be done, the certificate is served with the cipher policy instead.
    /// </summary>
    private async Task<LoadedCertificate> LoadModernAsync(string domain)
    {
        var loaded = Load(domain);
        if (!OpenSslConnection.IsSupported)
        {
            return loaded;
        }
        var shared = CloneWithoutCipherPolicy(loaded.ServerOptions);
        return await RestrictSharedContextAsync(shared, domain).ConfigureAwait(false) ? loaded with { ServerOptions = shared } : loaded;
    }

    private static async Task<bool> RestrictSharedContextAsync(SslServerAuthenticationOptions options, string domain)
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        await using var server = new SslStream(new DuplexPipeStream(new PipeEnds(toServer.Reader, toClient.Writer)));
        await using var client = new SslStream(new DuplexPipeStream(new PipeEnds(toClient.Reader, toServer.Writer)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            var accepted = server.AuthenticateAsServerAsync(options, timeout.Token);
            var connected = client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = domain,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, timeout.Token);
            await Task.WhenAll(accepted, connected).ConfigureAwait(false);
            return OpenSslConnection.RestrictCipherList(server, ModernTls12CipherList);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            // The policy still keeps CBC out; only the memory saving is lost.
            return false;
        }
    }

    private static SslServerAuthenticationOptions CloneWithoutCipherPolicy(SslServerAuthenticationOptions options) => new()
    {
        ServerCertificateContext = options.ServerCertificateContext,
        EnabledSslProtocols = options.EnabledSslProtocols,
        ClientCertificateRequired = options.ClientCertificateRequired,
        CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
        ApplicationProtocols = options.ApplicationProtocols,
    };

    private sealed record PipeEnds(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    private LoadedCertificate Load(string domain)
    {
        var configured = _options.Tls.Certificates.FirstOrDefault(c => string.Equals(c.Domain, domain, StringComparison.OrdinalIgnoreCase));
        X509Certificate2 certificate;
        if (configured?.PfxPath is { } pfx)
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(pfx, configured.PfxPassword);
        }
        else if (configured?.CertificatePath is { } pem)
        {
            var key = configured.KeyPath ?? throw new InvalidOperationException($"Parley:Tls:Certificates for {domain} names CertificatePath but no KeyPath.");
            using var fromPem = X509Certificate2.CreateFromPemFile(pem, key);
            // Re-import so that the private key is usable by OpenSSL for the life of the process.
            certificate = X509CertificateLoader.LoadPkcs12(fromPem.Export(X509ContentType.Pkcs12), null);
        }
        else
        {
            certificate = LoadOrCreateSelfSigned(domain);
        }

        var context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        var serverOptions = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = context,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ApplicationProtocols = null,
        };
        if (OperatingSystem.IsLinux())
        {
            serverOptions.CipherSuitesPolicy = ModernCipherSuites;
        }
        return new LoadedCertificate(certificate, serverOptions, SourceStamp(domain));
    }

    private X509Certificate2 LoadOrCreateSelfSigned(string domain)
    {
        var path = SelfSignedPath(domain);
        if (File.Exists(path))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, null);
        }

        // ECDSA P-256: a TLS handshake signs with the key, and P-256 costs a fraction of RSA-2048.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={domain}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(domain);
        names.AddDnsName("*." + domain);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(5));

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var pfx = created.Export(X509ContentType.Pkcs12);
        File.WriteAllBytes(path, pfx);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        _logger.LogWarning("Created a self-signed TLS certificate for {Domain} at {Path}. Clients will not trust it; configure Parley:Tls:Certificates with your own.", domain, path);
        return X509CertificateLoader.LoadPkcs12(pfx, null);
    }

    private string SelfSignedPath(string domain) => Path.Combine(_options.DataDir, "certs", domain + ".pfx");

    /// <summary>What identifies the current version of a domain's certificate files.</summary>
    private string SourceStamp(string domain)
    {
        var configured = _options.Tls.Certificates.FirstOrDefault(c => string.Equals(c.Domain, domain, StringComparison.OrdinalIgnoreCase));
        string[] files = configured switch
        {
            { PfxPath: { } pfx } => [pfx],
            { CertificatePath: { } pem } => [pem, configured.KeyPath ?? ""],
            _ => [SelfSignedPath(domain)],
        };
        return string.Join("|", files.Select(f => File.Exists(f) ? $"{f}@{File.GetLastWriteTimeUtc(f).Ticks}" : f));
    }

    private sealed record LoadedCertificate(X509Certificate2 Certificate, SslServerAuthenticationOptions ServerOptions, string SourceStamp);
}
