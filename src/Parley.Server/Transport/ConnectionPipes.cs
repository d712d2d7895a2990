using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;

namespace Parley.Server.Transport;

/// <summary>
/// The byte pipes one XMPP connection reads and writes: Kestrel's own until TLS starts, then pipes
/// over an <see cref="SslStream"/>. Both STARTTLS (5222) and direct TLS (5223) upgrade here, so the
/// TLS settings, channel binding and idle-buffer release are the same for both.
/// </summary>
public sealed class ConnectionPipes : IAsyncDisposable
{
    private static readonly MemoryPool<byte> Pool = MemoryPool<byte>.Shared;

    private readonly ConnectionContext _connection;

    public ConnectionPipes(ConnectionContext connection)
    {
        _connection = connection;
        Input = connection.Transport.Input;
        Output = connection.Transport.Output;
    }

    public PipeReader Input { get; private set; }
    public PipeWriter Output { get; private set; }
    public SslStream? Tls { get; private set; }
    public bool IsSecure => Tls is not null;

    /// <summary>Whether the TLS handshake resumed an earlier session; null before TLS, or when OpenSSL cannot be asked.</summary>
    public bool? TlsResumed { get; private set; }

    /// <summary>Runs the TLS handshake as server; the certificate is chosen by SNI, else by <paramref name="streamDomain"/>.</summary>
    public async Task StartTlsAsync(CertificateStore certificates, string? streamDomain, CancellationToken cancellationToken)
    {
        var tls = new SslStream(new DuplexPipeStream(_connection.Transport), leaveInnerStreamOpen: false);
        await tls.AuthenticateAsServerAsync(
            (_, hello, _, _) => ValueTask.FromResult(certificates.ServerOptionsFor(string.IsNullOrEmpty(hello.ServerName) ? streamDomain : hello.ServerName)),
            null,
            cancellationToken).ConfigureAwait(false);
        OpenSslConnection.ReleaseBuffersWhenIdle(tls);
        TlsResumed = OpenSslConnection.WasResumed(tls);
        Tls = tls;
        Input = PipeReader.Create(tls, new StreamPipeReaderOptions(Pool, bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        Output = PipeWriter.Create(tls, new StreamPipeWriterOptions(Pool, minimumBufferSize: 4096, leaveOpen: true));
    }

    /// <summary>Channel-binding data of the given type for SCRAM-*-PLUS, or null if this connection cannot provide it.</summary>
    public byte[]? ChannelBinding(string type)
    {
        if (Tls is null)
        {
            return null;
        }
        return type switch
        {
            "tls-exporter" => OpenSslConnection.ExportChannelBinding(Tls),
            "tls-server-end-point" => EndpointBinding(Tls),
            _ => null,
        };
    }

    /// <summary>Which channel-binding types this connection supports, best first.</summary>
    public IReadOnlyList<string> ChannelBindingTypes()
    {
        if (Tls is null)
        {
            return [];
        }
        return ChannelBinding("tls-exporter") is null ? ["tls-server-end-point"] : ["tls-exporter", "tls-server-end-point"];
    }

    /// <summary>
    /// RFC 5929 §4.1: the hash of the server's own certificate, with the hash function of its
    /// signature (SHA-256 for MD5 and SHA-1). .NET's own endpoint binding hashes the peer's
    /// certificate, which a server without client certificates does not have.
    /// </summary>
    private static byte[]? EndpointBinding(SslStream tls)
    {
        if (tls.LocalCertificate is not { } local)
        {
            return null;
        }
        using var certificate = X509CertificateLoader.LoadCertificate(local.GetRawCertData());
        var raw = certificate.RawData;
        return certificate.SignatureAlgorithm.Value switch
        {
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => SHA384.HashData(raw),
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => SHA512.HashData(raw),
            _ => SHA256.HashData(raw),
        };
    }

    /// <summary>Ends the sending side: TLS close_notify if TLS is up, then TCP FIN. Reading may go on.</summary>
    public async ValueTask CloseOutputAsync()
    {
        if (Tls is not null)
        {
            await Output.FlushAsync().ConfigureAwait(false);
            await Tls.ShutdownAsync().ConfigureAwait(false);
        }
        await _connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Tls is not null)
        {
            await Input.CompleteAsync().ConfigureAwait(false);
            await Output.CompleteAsync().ConfigureAwait(false);
            await Tls.DisposeAsync().ConfigureAwait(false);
        }
    }
}
