using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography;

namespace Parley.Server.Transport;

/// <summary>
/// Reaches the OpenSSL <c>SSL*</c> behind an authenticated <see cref="SslStream"/> on Linux for what .NET does not
/// expose: the RFC 9266 tls-exporter channel binding (SCRAM-*-PLUS), SSL_MODE_RELEASE_BUFFERS, which lets an idle
/// connection give back OpenSSL's ~34 KiB of record buffers (DESIGN.md §6), and whether a handshake resumed a session.
/// </summary>
/// <remarks>
/// The tls-server-end-point binding (RFC 5929) needs none of this. A client gets it from
/// <c>SslStream.TransportContext?.GetChannelBinding(ChannelBindingKind.Endpoint)</c> (on Linux: a 32-byte
/// SecChannelBindings header, then "tls-server-end-point:" and the hash of the server certificate). On the server side
/// .NET 10 on Linux throws there, because it hashes the peer's certificate; the server hashes its own certificate.
/// When the private field path below is missing (another .NET version, another TLS backend), <see cref="IsSupported"/>
/// is false and every member answers "unsupported" instead of throwing; the server then offers neither feature.
/// </remarks>
internal static class OpenSslConnection
{
    private const string LibSsl = "libssl.so.3";
    private const int TlsExporterLength = 32;
    private const int SslCtrlMode = 33;                 // SSL_set_mode(s, m) is the macro SSL_ctrl(s, SSL_CTRL_MODE, m, NULL)
    private const long SslModeReleaseBuffers = 0x10;

    private static ReadOnlySpan<byte> TlsExporterLabel => "EXPORTER-Channel-Binding"u8;

    // .NET 10 on Unix: SslStream._securityContext is declared as SafeDeleteSslContext and holds a
    // Microsoft.Win32.SafeHandles.SafeSslHandle (a subclass) whose handle is the SSL*.
    private static readonly Type? SafeSslHandleType = OperatingSystem.IsLinux()
        ? typeof(SslStream).Assembly.GetType("Microsoft.Win32.SafeHandles.SafeSslHandle")
        : null;

    private static readonly FieldInfo? SecurityContextField = FindSecurityContextField();

    /// <summary>True on Linux when the SSL* can be reached and .NET runs on the same libssl.so.3 this class calls.</summary>
    public static bool IsSupported { get; } = SecurityContextField is not null && LibSslMatchesDotNet();

    /// <summary>
    /// The RFC 9266 tls-exporter channel binding: 32 bytes exported with the label "EXPORTER-Channel-Binding" and no
    /// context. Null when unsupported, when the stream is not authenticated or closed, or when the connection is not
    /// TLS 1.3 (on TLS 1.2 tls-exporter is only safe with extended master secret, which .NET does not let us check).
    /// </summary>
    public static byte[]? ExportChannelBinding(SslStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.IsAuthenticated || stream.SslProtocol != SslProtocols.Tls13)
        {
            return null;
        }

        return OnSsl(stream, fallback: null, static ssl =>
        {
            var binding = new byte[TlsExporterLength];
            int exported = SSL_export_keying_material(
                ssl,
                ref binding[0], (nuint)binding.Length,
                ref MemoryMarshal.GetReference(TlsExporterLabel), (nuint)TlsExporterLabel.Length,
                context: 0, contextLength: 0, useContext: 0);
            return exported == 1 ? binding : null;
        });
    }

    /// <summary>
    /// Sets SSL_MODE_RELEASE_BUFFERS so OpenSSL frees its record buffers whenever the connection has nothing in
    /// flight. Call it once, right after authentication and before the first read or write: an SSL* is not
    /// thread-safe, and this must not race SslStream's own OpenSSL calls. False when unsupported, not
    /// authenticated or closed.
    /// </summary>
    public static bool ReleaseBuffersWhenIdle(SslStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return OnSsl(stream, fallback: false, static ssl =>
        {
            CLong mode = SSL_ctrl(ssl, SslCtrlMode, new CLong((nint)SslModeReleaseBuffers), parg: 0);
            return (mode.Value & (nint)SslModeReleaseBuffers) != 0;
        });
    }

    /// <summary>
    /// Whether the handshake resumed an earlier session (a TLS 1.3 ticket or a TLS 1.2 session id) instead of running in
    /// full. Call it once, right after authentication, for the reason <see cref="ReleaseBuffersWhenIdle"/> gives. Null when
    /// unsupported, not authenticated or closed.
    /// </summary>
    public static bool? WasResumed(SslStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return OnSsl<bool?>(stream, fallback: null, static ssl => SSL_session_reused(ssl) == 1);
    }

    /// <summary>
    /// Sets the TLS 1.2 cipher list of the SSL_CTX behind an authenticated stream, so that every later
    /// connection made from that context offers only these. .NET keeps one SSL_CTX per server certificate
    /// context and reuses it, but only while no CipherSuitesPolicy is set; with one, each connection gets
    /// an SSL_CTX of its own (about 10 KiB per idle connection, measured in docs/benchmarks.md).
    /// </summary>
    public static bool RestrictCipherList(SslStream stream, string cipherList)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return OnSsl(stream, fallback: false, ssl =>
        {
            var context = SSL_get_SSL_CTX(ssl);
            return context != IntPtr.Zero && SSL_CTX_set_cipher_list(context, cipherList) == 1;
        });
    }

    /// <summary>
    /// Calls OpenSSL with the stream's SSL*, or answers <paramref name="fallback"/> when unsupported, not authenticated or
    /// closed. The reference held meanwhile keeps SslStream.Dispose from freeing the SSL* while OpenSSL is using it.
    /// </summary>
    private static T OnSsl<T>(SslStream stream, T fallback, Func<IntPtr, T> call)
    {
        if (!IsSupported || !stream.IsAuthenticated || GetSslHandle(stream) is not { } ssl)
        {
            return fallback;
        }

        bool addedRef = false;
        try
        {
            ssl.DangerousAddRef(ref addedRef);
            return call(ssl.DangerousGetHandle());
        }
        catch (ObjectDisposedException)
        {
            return fallback;
        }
        finally
        {
            if (addedRef)
            {
                ssl.DangerousRelease();
            }
        }
    }

    private static FieldInfo? FindSecurityContextField()
    {
        if (SafeSslHandleType is null)
        {
            return null;
        }

        FieldInfo? field = typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);
        return field is not null && field.FieldType.IsAssignableFrom(SafeSslHandleType) ? field : null;
    }

    // The SSL* must only ever be handed to the libssl that .NET's own native shim loaded. .NET reports the OpenSSL
    // version it bound to; every OpenSSL 3.x has the soname libssl.so.3, which is the library this class imports.
    private static bool LibSslMatchesDotNet()
    {
        if (!OperatingSystem.IsLinux() || SafeEvpPKeyHandle.OpenSslVersion >> 28 != 3)
        {
            return false;
        }

        return NativeLibrary.TryLoad(LibSsl, out IntPtr libSsl)
            && NativeLibrary.TryGetExport(libSsl, "SSL_export_keying_material", out _)
            && NativeLibrary.TryGetExport(libSsl, "SSL_ctrl", out _);
    }

    private static SafeHandle? GetSslHandle(SslStream stream)
    {
        object? context = SecurityContextField!.GetValue(stream);
        return context is SafeHandle handle && handle.GetType() == SafeSslHandleType && !handle.IsInvalid ? handle : null;
    }

    [DllImport(LibSsl)]
    private static extern int SSL_export_keying_material(
        IntPtr ssl, ref byte output, nuint outputLength, ref byte label, nuint labelLength,
        IntPtr context, nuint contextLength, int useContext);

    [DllImport(LibSsl)]
    private static extern CLong SSL_ctrl(IntPtr ssl, int cmd, CLong larg, IntPtr parg);

    [DllImport(LibSsl)]
    private static extern IntPtr SSL_get_SSL_CTX(IntPtr ssl);

    [DllImport(LibSsl)]
    private static extern int SSL_session_reused(IntPtr ssl);

    [DllImport(LibSsl)]
    private static extern int SSL_CTX_set_cipher_list(IntPtr ctx, [MarshalAs(UnmanagedType.LPUTF8Str)] string cipherList);
}
