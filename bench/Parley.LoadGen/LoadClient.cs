using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>Where and how the clients log in; shared by every client of a run.</summary>
internal sealed class LoginTarget(IPEndPoint server, string domain, bool directTls, bool allowTlsResume, SaltedPasswordCache saltedPasswords, bool plain = false)
{
    /// <summary>SASL PLAIN instead of SCRAM-SHA-256: what a node offers while a directory checks the passwords.</summary>
    public bool Plain { get; } = plain;
    public IPEndPoint Server { get; } = server;
    public string Domain { get; } = domain;
    public bool DirectTls { get; } = directTls;
    public SaltedPasswordCache SaltedPasswords { get; } = saltedPasswords;

    public byte[] StreamHeader { get; } = Encoding.UTF8.GetBytes(
        $"<?xml version='1.0'?><stream:stream xmlns='{Ns.Client}' xmlns:stream='{Ns.Streams}' to='{domain}' version='1.0'>");

    /// <summary>TLS 1.3 only, any certificate (the node's is self-signed). Resumption off unless asked: every login pays a full handshake.</summary>
    public SslClientAuthenticationOptions TlsOptions { get; } = new()
    {
        TargetHost = domain,
        EnabledSslProtocols = SslProtocols.Tls13,
        AllowTlsResume = allowTlsResume,
        RemoteCertificateValidationCallback = static (_, _, _, _) => true,
    };
}

/// <summary>
/// One client connection of the load generator: TCP, STARTTLS or direct TLS, SCRAM-SHA-256, bind, initial
/// presence (unless the caller sends its own); then it stays idle, reading nothing, until <see cref="CloseAsync"/>, or
/// hands every element it receives to the handler given to <see cref="StartReceiving"/>.
/// </summary>
internal sealed class LoadClient : IChatClient
{
    private static readonly byte[] StartTls = Encoding.UTF8.GetBytes($"<starttls xmlns='{Ns.Tls}'/>");
    private static readonly byte[] Bind = Encoding.UTF8.GetBytes($"<iq type='set' id='bind'><bind xmlns='{Ns.Bind}'><resource>load</resource></bind></iq>");
    private static readonly byte[] InitialPresence = "<presence/>"u8.ToArray();
    private static readonly byte[] StreamClose = "</stream:stream>"u8.ToArray();
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true);

    private readonly Socket _socket;
    private readonly XmlStreamReader _reader = new();
    private Stream _stream;
    private PipeReader _input;
    private Task? _receiving;

    private LoadClient(Socket socket, IPEndPoint server)
    {
        _socket = socket;
        Server = server;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream, ReaderOptions);
    }

    /// <summary>The full JID the server bound.</summary>
    public string BoundJid { get; private set; } = "";

    /// <summary>The node this client is connected to (after any &lt;see-other-host/&gt;).</summary>
    public IPEndPoint Server { get; }

    /// <summary>The background reading of <see cref="StartReceiving"/>: ends at the server's end of the stream, fails when the connection is lost.</summary>
    public Task Receiving => _receiving ?? throw new InvalidOperationException("This client is not receiving.");

    /// <summary>
    /// Logs in as <paramref name="user"/> and returns once the server has echoed the initial presence, or right after
    /// bind when <paramref name="sendInitialPresence"/> is false (the caller then sends it and reads what follows).
    /// A node of a cluster that does not serve the user answers the bind with &lt;see-other-host/&gt;: the client
    /// signs in again at the address it names, at most <see cref="MaxRedirects"/> times.
    /// </summary>
    /// <exception cref="LoginException">The server refused or answered something unexpected.</exception>
    public static Task<LoadClient> LoginAsync(LoginTarget target, string user, string password, bool sendInitialPresence, CancellationToken cancellationToken) =>
        LoginAsync(target, target.Server, user, password, sendInitialPresence, cancellationToken);

    /// <summary>As <see cref="LoginAsync(LoginTarget, string, string, bool, CancellationToken)"/>, starting at <paramref name="server"/>.</summary>
    public static async Task<LoadClient> LoginAsync(LoginTarget target, IPEndPoint server, string user, string password, bool sendInitialPresence, CancellationToken cancellationToken)
    {
        for (var redirects = 0; ; redirects++)
        {
            try
            {
                return await LoginOnceAsync(target, server, user, password, sendInitialPresence, cancellationToken).ConfigureAwait(false);
            }
            catch (SeeOtherHostException e) when (redirects < MaxRedirects)
            {
                server = e.OtherHost;
            }
        }
    }

    /// <summary>Redirects followed per sign-in: one is the rule (the node names the serving node); more only while nodes' views differ for a heartbeat.</summary>
    public const int MaxRedirects = 3;

    private static async Task<LoadClient> LoginOnceAsync(LoginTarget target, IPEndPoint server, string user, string password, bool sendInitialPresence, CancellationToken cancellationToken)
    {
        var client = await ConnectAuthenticatedAsync(target, server, user, password, cancellationToken).ConfigureAwait(false);
        try
        {
            await client.SendAsync(Bind, cancellationToken).ConfigureAwait(false);
            var bound = await client.ExpectAsync("iq", cancellationToken).ConfigureAwait(false);
            if (bound.GetAttribute("type") != "result")
            {
                throw new LoginException($"bind failed: {bound.ToXml(Ns.Client)}");
            }
            client.BoundJid = bound.Child("bind", Ns.Bind)?.ChildText("jid", Ns.Bind) ?? throw new LoginException($"the bind result has no JID: {bound.ToXml(Ns.Client)}");
            if (sendInitialPresence)
            {
                await client.SendAsync(InitialPresence, cancellationToken).ConfigureAwait(false);
                await client.ExpectAsync("presence", cancellationToken).ConfigureAwait(false);
            }
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Connects, secures and authenticates as <paramref name="user"/> and reads the features of the authenticated stream;
    /// binds nothing, so the caller may bind or resume a session (XEP-0198).
    /// </summary>
    /// <exception cref="LoginException">The server refused or answered something unexpected.</exception>
    public static Task<LoadClient> ConnectAuthenticatedAsync(LoginTarget target, string user, string password, CancellationToken cancellationToken) =>
        ConnectAuthenticatedAsync(target, target.Server, user, password, cancellationToken);

    /// <summary>As <see cref="ConnectAuthenticatedAsync(LoginTarget, string, string, CancellationToken)"/>, at <paramref name="server"/> (a node of a cluster).</summary>
    /// <exception cref="SocketException">Nothing listens there (a node that died).</exception>
    public static async Task<LoadClient> ConnectAuthenticatedAsync(LoginTarget target, IPEndPoint server, string user, string password, CancellationToken cancellationToken)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var client = new LoadClient(socket, server);
        try
        {
            if (target.DirectTls)
            {
                await client.StartTlsAsync(target, cancellationToken).ConfigureAwait(false);
                await client.OpenStreamAsync(target, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await client.OpenStreamAsync(target, cancellationToken).ConfigureAwait(false);
                await client.SendAsync(StartTls, cancellationToken).ConfigureAwait(false);
                await client.ExpectAsync("proceed", cancellationToken).ConfigureAwait(false);
                await client.StartTlsAsync(target, cancellationToken).ConfigureAwait(false);
                await client.OpenStreamAsync(target, cancellationToken).ConfigureAwait(false);
            }
            await client.AuthenticateAsync(target, user, password, cancellationToken).ConfigureAwait(false);
            client._reader.Reset();
            await client.OpenStreamAsync(target, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Reads from now on in the background and hands each top-level element to <paramref name="onElement"/> (on a
    /// thread-pool thread, one element at a time per client), until the server ends the stream.
    /// </summary>
    public void StartReceiving(Action<Element> onElement)
    {
        if (_receiving is not null)
        {
            throw new InvalidOperationException("This client is receiving already.");
        }
        _receiving = Task.Run(async () =>
        {
            while (true)
            {
                var ev = await NextEventAsync(CancellationToken.None).ConfigureAwait(false);
                if (ev.Kind == XmlStreamEventKind.StreamEnd)
                {
                    return;
                }
                if (ev.Kind == XmlStreamEventKind.Element)
                {
                    onElement(ev.Element!);
                }
            }
        });
    }

    /// <summary>
    /// Sends bytes from a synchronous caller (the open-loop schedulers, which must not wait for a thread-pool
    /// continuation per send). One sender at a time per client; it may run beside the receive loop.
    /// </summary>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        _stream.Flush();
    }

    /// <summary>Closes the stream as RFC 6120 §4.4 asks: our &lt;/stream:stream&gt;, the server's, then TLS close_notify.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        await SendAsync(StreamClose, cancellationToken).ConfigureAwait(false);
        if (_receiving is not null)
        {
            // The receive loop owns the reader; it ends at the server's </stream:stream>.
            await _receiving.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            while (true)
            {
                var ev = await NextEventAsync(cancellationToken).ConfigureAwait(false);
                if (ev.Kind == XmlStreamEventKind.StreamEnd)
                {
                    break;
                }
            }
        }
        if (_stream is SslStream tls)
        {
            await tls.ShutdownAsync().ConfigureAwait(false);
        }
        _socket.Shutdown(SocketShutdown.Send);
    }

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }

    private async Task StartTlsAsync(LoginTarget target, CancellationToken cancellationToken)
    {
        // The server sends nothing between <proceed/> and the handshake, so the plain reader holds no bytes to carry over.
        await _input.CompleteAsync().ConfigureAwait(false);
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        _stream = tls;
        await tls.AuthenticateAsClientAsync(target.TlsOptions, cancellationToken).ConfigureAwait(false);
        _input = PipeReader.Create(tls, ReaderOptions);
        _reader.Reset();
    }

    private async Task OpenStreamAsync(LoginTarget target, CancellationToken cancellationToken)
    {
        await SendAsync(target.StreamHeader, cancellationToken).ConfigureAwait(false);
        var header = await NextEventAsync(cancellationToken).ConfigureAwait(false);
        if (header.Kind != XmlStreamEventKind.StreamStart)
        {
            throw new LoginException("the server did not open a stream.");
        }
        await ExpectAsync("features", cancellationToken).ConfigureAwait(false);
    }

    private async Task AuthenticateAsync(LoginTarget target, string user, string password, CancellationToken cancellationToken)
    {
        if (target.Plain)
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
            await SendAsync(Encoding.UTF8.GetBytes($"<auth xmlns='{Ns.Sasl}' mechanism='PLAIN'>{credentials}</auth>"), cancellationToken).ConfigureAwait(false);
            await ExpectAsync("success", cancellationToken).ConfigureAwait(false);
            return;
        }
        var scram = new ScramClient(ScramHash.Sha256, user, target.SaltedPasswords.Source);
        await SendAsync(
            Encoding.UTF8.GetBytes($"<auth xmlns='{Ns.Sasl}' mechanism='SCRAM-SHA-256'>{Convert.ToBase64String(scram.ClientFirst())}</auth>"),
            cancellationToken).ConfigureAwait(false);
        var challenge = await ExpectAsync("challenge", cancellationToken).ConfigureAwait(false);
        var clientFinal = scram.ClientFinal(Convert.FromBase64String(challenge.Text));
        await SendAsync(
            Encoding.UTF8.GetBytes($"<response xmlns='{Ns.Sasl}'>{Convert.ToBase64String(clientFinal)}</response>"),
            cancellationToken).ConfigureAwait(false);
        var success = await ExpectAsync("success", cancellationToken).ConfigureAwait(false);
        if (!scram.VerifyServerFinal(Convert.FromBase64String(success.Text)))
        {
            throw new LoginException($"the server's SCRAM signature for {user} does not verify.");
        }
    }

    public async Task SendAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The next top-level element, which must be named <paramref name="name"/>. Not while receiving in the background.</summary>
    public async Task<Element> ExpectAsync(string name, CancellationToken cancellationToken)
    {
        var element = await NextElementAsync(cancellationToken).ConfigureAwait(false);
        if (element.Name == name)
        {
            return element;
        }
        if (SeeOtherHostException.OtherHostIn(element) is { } otherHost)
        {
            throw new SeeOtherHostException(otherHost);
        }
        throw new LoginException($"expected <{name}/>, the server sent {element.ToXml(Ns.Client)}");
    }

    /// <summary>The next top-level element, whatever it is. Not while receiving in the background.</summary>
    public async Task<Element> NextElementAsync(CancellationToken cancellationToken)
    {
        var ev = await NextEventAsync(cancellationToken).ConfigureAwait(false);
        return ev.Kind == XmlStreamEventKind.Element
            ? ev.Element!
            : throw new LoginException("the server closed the stream while this client expected more.");
    }

    private async Task<XmlStreamEvent> NextEventAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var found = _reader.TryRead(ref buffer, out var ev);
            // Consumed up to the event only, and no further bytes marked as examined: the next read sees the rest at once.
            _input.AdvanceTo(buffer.Start);
            if (found)
            {
                return ev;
            }
            if (result.IsCompleted)
            {
                throw new LoginException("the server closed the connection.");
            }
        }
    }
}

internal class LoginException(string message) : Exception(message);

/// <summary>The node ended the stream with RFC 6120 &lt;see-other-host/&gt;: another node of the cluster serves the user.</summary>
internal sealed class SeeOtherHostException(IPEndPoint otherHost) : LoginException($"sent to the node at {otherHost}")
{
    public IPEndPoint OtherHost { get; } = otherHost;

    /// <summary>
    /// The address in a stream error &lt;see-other-host&gt;HOST:PORT&lt;/see-other-host&gt;, or null when
    /// <paramref name="element"/> is something else.
    /// </summary>
    /// <exception cref="LoginException">The address is not one of this machine's: the generator connects to loopback only.</exception>
    public static IPEndPoint? OtherHostIn(Element element)
    {
        return element.Name == "error" && element.Namespace == Ns.Streams && element.ChildText("see-other-host", Ns.StreamErrors) is { } address
            ? ParseAddress(address)
            : null;
    }

    /// <summary>HOST:PORT as a node gives it (see-other-host, XEP-0198 location), on this machine.</summary>
    /// <exception cref="LoginException">Not HOST:PORT, or not a loopback address: the generator connects to loopback only.</exception>
    public static IPEndPoint ParseAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new LoginException($"the node gave the address '{address}', which is not HOST:PORT");
        }
        try
        {
            return new IPEndPoint(ClientPool.LoopbackAddress(address[..colon].Trim('[', ']')), port);
        }
        catch (UsageException)
        {
            throw new LoginException($"the node gave the address '{address}', which is not on this machine (the generator connects to loopback only)");
        }
    }
}
