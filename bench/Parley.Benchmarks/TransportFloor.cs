using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Parley.Benchmarks;

/// <summary>
/// <c>transport-floor</c>: what it costs at the least to hand one stanza to one client over TLS on this machine, the
/// floor under the node's CPU per delivered stanza. One thread writes a record of <c>--bytes</c> bytes to each of
/// <c>--connections</c> loopback connections in turn, <c>--rate</c> records a second for <c>--seconds</c>, with a
/// synchronous <see cref="SslStream.Write(byte[])"/> straight on the socket (TLS 1.3, AES-128-GCM, as the node
/// negotiates with its clients): one encryption and one <c>send</c> per stanza, no pipes, no queue, no other thread.
/// The readers are in this process on the thread pool; what is reported is the writing thread's own CPU (user and
/// kernel, from <c>getrusage(RUSAGE_THREAD)</c>), which includes the kernel's loopback delivery into the reader's
/// socket, as a node's sends do; and the rest of the process's CPU meanwhile, which is what receiving the records costs
/// with async reads on the thread pool (a node's read side). <c>--plain</c> leaves TLS out, to split the kernel's part
/// from the encryption's. <c>--handshakes N</c> measures instead what a TLS 1.3 handshake costs the server at the
/// least: N connections one after the other, each accepted and taken through a full handshake (X25519, an ECDSA P-256
/// certificate, as the node's own) and closed on one thread, whose CPU is reported, while another thread is the client.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class TransportFloor
{
    public static async Task RunAsync(string[] args)
    {
        var connections = Option(args, "--connections", 1_000);
        var bytes = Option(args, "--bytes", 250);
        var rate = Option(args, "--rate", 10_000);
        var seconds = Option(args, "--seconds", 20);
        var plain = args.Contains("--plain");
        if (Option(args, "--handshakes", 0) is > 0 and var handshakes)
        {
            Handshakes(handshakes);
            return;
        }

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(connections);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        using var certificate = SelfSigned();

        var senders = new Stream[connections];
        var received = new long[connections];
        var readers = new List<Task>();
        for (var i = 0; i < connections; i++)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var connecting = client.ConnectAsync(endpoint);
            var server = await listener.AcceptAsync();
            server.NoDelay = true;
            await connecting;
            Stream serverSide = new NetworkStream(server, ownsSocket: true);
            Stream clientSide = new NetworkStream(client, ownsSocket: true);
            if (!plain)
            {
                var serverTls = new SslStream(serverSide);
                var clientTls = new SslStream(clientSide, false, (_, _, _, _) => true);
                await Task.WhenAll(
                    serverTls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = certificate,
                        EnabledSslProtocols = SslProtocols.Tls13,
                        CipherSuitesPolicy = new CipherSuitesPolicy([TlsCipherSuite.TLS_AES_128_GCM_SHA256]),
                    }),
                    clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }));
                (serverSide, clientSide) = (serverTls, clientTls);
            }
            senders[i] = serverSide;
            var slot = i;
            readers.Add(ReadAllAsync(clientSide, received, slot));
        }

        var record = new byte[bytes];
        Array.Fill(record, (byte)'x');
        var total = rate * seconds;
        var process = Process.GetCurrentProcess();
        var processBefore = process.TotalProcessorTime;
        var writerCpu = (Total: 0.0, Kernel: 0.0);
        var writer = new Thread(() => writerCpu = Write(senders, record, rate, total)) { Name = "transport-floor writer" };
        writer.Start();
        writer.Join();

        var expected = (long)total * bytes;
        var deadline = Stopwatch.StartNew();
        while (received.Sum() < expected && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }
        process.Refresh();
        var readersMicroseconds = (process.TotalProcessorTime - processBefore).TotalMicroseconds - writerCpu.Total;
        foreach (var sender in senders)
        {
            sender.Dispose();
        }
        await Task.WhenAll(readers);
        Console.WriteLine($"transport-floor: {(plain ? "plain TCP" : "TLS 1.3 AES-128-GCM")}, {connections:N0} connections, " +
            $"{bytes:N0}-byte stanzas, {rate:N0}/s for {seconds} s: {received.Sum() / bytes:N0} of {total:N0} received; " +
            $"writer thread {writerCpu.Total / total:N2} µs CPU per stanza ({writerCpu.Kernel / total:N2} of it in the kernel); " +
            $"the rest of the process (the readers' async reads) {readersMicroseconds / total:N2} µs per stanza");
    }

    /// <summary>
    /// Open loop: every millisecond, the records that are due by then, each to the next connection. Returns this
    /// thread's CPU meanwhile, in microseconds.
    /// </summary>
    private static (double Total, double Kernel) Write(Stream[] senders, byte[] record, int rate, int total)
    {
        var (userBefore, kernelBefore) = ThreadCpu();
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        while (sent < total)
        {
            var due = Math.Min(total, (int)(Stopwatch.GetElapsedTime(started).TotalSeconds * rate));
            for (; sent < due; sent++)
            {
                senders[sent % senders.Length].Write(record);
            }
            Thread.Sleep(1);
        }
        var (userAfter, kernelAfter) = ThreadCpu();
        return (userAfter - userBefore + kernelAfter - kernelBefore, kernelAfter - kernelBefore);
    }

    private static void Handshakes(int count)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        using var certificate = SelfSigned();
        var serverOptions = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, null),
            // No CipherSuitesPolicy: with one, .NET makes each connection an SSL_CTX of its own (the node restricts the shared one).
            EnabledSslProtocols = SslProtocols.Tls13,
        };
        var client = new Thread(() =>
        {
            for (var i = 0; i < count; i++)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                socket.Connect(endpoint);
                using var tls = new SslStream(new NetworkStream(socket), false, (_, _, _, _) => true);
                tls.AuthenticateAsClient(new SslClientAuthenticationOptions { TargetHost = "localhost" });
                // The server closes first; reading its end keeps the two in step.
                tls.ReadExactly(new byte[1]);
            }
        }) { Name = "transport-floor client" };
        var warm = Math.Min(100, count / 10);
        var (userBefore, kernelBefore) = (0.0, 0.0);
        client.Start();
        for (var i = 0; i < count; i++)
        {
            if (i == warm)
            {
                (userBefore, kernelBefore) = ThreadCpu();
            }
            using var socket = listener.Accept();
            socket.NoDelay = true;
            using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
            tls.AuthenticateAsServer(serverOptions);
            tls.Write([(byte)'x']);
        }
        var (userAfter, kernelAfter) = ThreadCpu();
        client.Join();
        var measured = count - warm;
        Console.WriteLine($"transport-floor: {measured:N0} TLS 1.3 handshakes after {warm} to warm up, one at a time: server thread " +
            $"{(userAfter - userBefore + kernelAfter - kernelBefore) / measured:N0} µs CPU per handshake " +
            $"({(kernelAfter - kernelBefore) / measured:N0} of it in the kernel)");
    }

    private static async Task ReadAllAsync(Stream stream, long[] received, int slot)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                Interlocked.Add(ref received[slot], read);
            }
        }
        catch (IOException)
        {
            // The writer's side closed without a close_notify.
        }
        await stream.DisposeAsync();
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>This thread's user and kernel CPU so far, in microseconds.</summary>
    private static (double User, double Kernel) ThreadCpu()
    {
        const int RusageThread = 1;
        if (GetRusage(RusageThread, out var usage) != 0)
        {
            throw new InvalidOperationException($"getrusage failed: errno {Marshal.GetLastPInvokeError()}");
        }
        return (usage.UserSeconds * 1e6 + usage.UserMicroseconds, usage.SystemSeconds * 1e6 + usage.SystemMicroseconds);
    }

    [DllImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static extern int GetRusage(int who, out Rusage usage);

    /// <summary>struct rusage on 64-bit Linux: two timevals, then fourteen longs this benchmark does not read (144 bytes).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 144)]
    private struct Rusage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1]) : fallback;
    }
}
