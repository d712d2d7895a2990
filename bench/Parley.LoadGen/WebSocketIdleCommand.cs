using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen websocket-idle</c>: opens N XMPP over WebSocket sessions (RFC 7395) against a running node's HTTP
/// port, holds them idle, and reports the node's CPU per login and its resident memory per idle WebSocket session;
/// then closes them all. The web counterpart of <c>logins</c>.
/// </summary>
internal static class WebSocketIdleCommand
{
    public const string Usage =
        "parley-loadgen websocket-idle --host 127.0.0.1 --http-port P --users N --password PW --node-pid PID\n" +
        "    [--user-prefix load] [--domain localhost] [--concurrency 100] [--hold SECONDS]";

    private static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--host", "--http-port", "--users", "--user-prefix", "--password", "--domain", "--concurrency", "--node-pid", "--hold" },
            new HashSet<string>());
        var host = ClientPool.LoopbackAddress(arguments.Text("--host"));
        var uri = new Uri($"ws://{host}:{arguments.Number("--http-port", 1, 65535)}/xmpp-websocket");
        var users = arguments.Number("--users", 1, 1_000_000);
        var prefix = arguments.Text("--user-prefix", "load");
        var password = new SaltedPasswordCache(ScramHash.Sha256, arguments.Text("--password"));
        var domain = arguments.Text("--domain", "localhost");
        var concurrency = arguments.Number("--concurrency", 1, 10_000, fallback: 100);
        var node = new NodeProcess(arguments.Number("--node-pid", 1, int.MaxValue));
        var hold = TimeSpan.FromSeconds(arguments.Number("--hold", 0, 3600, fallback: 0));
        var output = Console.Out;
        output.WriteLine($"node pid {node.Pid}, {uri}, SCRAM-SHA-256, {users} users, concurrency {concurrency}");

        var before = await node.SettledResidentKiBAsync(SettleDeadline, cancellationToken).ConfigureAwait(false);
        var nodeCpuBefore = node.CpuTime();
        var clock = Stopwatch.StartNew();
        var sockets = new ClientWebSocket?[users];
        var failed = 0;
        string? firstError = null;
        var next = -1;
        async Task LogInSomeAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < users)
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(StepDeadline);
                try
                {
                    sockets[index] = await LogInAsync(uri, domain, prefix + (index + 1), password, deadline.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstError, $"{prefix}{index + 1}: {e.GetType().Name}: {e.Message}", null);
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Math.Min(concurrency, users)).Select(_ => Task.Run(LogInSomeAsync, cancellationToken))).ConfigureAwait(false);
        var wall = clock.Elapsed;
        var nodeCpu = node.CpuTime() - nodeCpuBefore;
        var loggedIn = users - failed;
        output.WriteLine($"logins         {loggedIn} of {users} in {wall.TotalSeconds:0.00} s = {loggedIn / wall.TotalSeconds:0} logins/s; {failed} failed{(firstError is null ? "" : $" (first: {firstError})")}");
        output.WriteLine($"node CPU       {nodeCpu.TotalSeconds:0.00} s = {nodeCpu.TotalMilliseconds / Math.Max(loggedIn, 1):0.000} ms per login");

        var after = await node.SettledResidentKiBAsync(SettleDeadline, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"node RSS       {before.KiB / 1024.0:0.0} MiB before the run, {after.KiB / 1024.0:0.0} MiB with {loggedIn} idle WebSocket sessions");
        if (loggedIn > 0)
        {
            output.WriteLine($"per session    {(after.KiB - before.KiB) / (double)loggedIn:0.00} KiB resident");
        }
        if (hold > TimeSpan.Zero)
        {
            output.WriteLine($"holding        {loggedIn} idle sessions for {hold.TotalSeconds:0} s");
            await Task.Delay(hold, cancellationToken).ConfigureAwait(false);
        }

        var closeFailures = 0;
        foreach (var socket in sockets.OfType<ClientWebSocket>())
        {
            try
            {
                using var deadline = new CancellationTokenSource(StepDeadline);
                await SendAsync(socket, $"<close xmlns='{Ns.Framing}'/>", deadline.Token).ConfigureAwait(false);
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                closeFailures++;
            }
            socket.Dispose();
        }
        output.WriteLine($"close          {loggedIn - closeFailures} closed cleanly; {closeFailures} did not");
        return failed == 0 && closeFailures == 0 ? 0 : 1;
    }

    /// <summary>Opens, signs in with SCRAM-SHA-256, opens again, binds and sends initial presence.</summary>
    private static async Task<ClientWebSocket> LogInAsync(Uri uri, string domain, string user, SaltedPasswordCache password, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("xmpp");
        await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
        var open = $"<open xmlns='{Ns.Framing}' to='{domain}' version='1.0'/>";
        await SendAsync(socket, open, cancellationToken).ConfigureAwait(false);
        await ExpectAsync(socket, "features", cancellationToken).ConfigureAwait(false);
        var scram = new ScramClient(ScramHash.Sha256, user, password.Source);
        await SendAsync(socket, $"<auth xmlns='{Ns.Sasl}' mechanism='SCRAM-SHA-256'>{Convert.ToBase64String(scram.ClientFirst())}</auth>", cancellationToken).ConfigureAwait(false);
        var challenge = await ExpectAsync(socket, "challenge", cancellationToken).ConfigureAwait(false);
        await SendAsync(socket, $"<response xmlns='{Ns.Sasl}'>{Convert.ToBase64String(scram.ClientFinal(Convert.FromBase64String(challenge.Text)))}</response>", cancellationToken).ConfigureAwait(false);
        await ExpectAsync(socket, "success", cancellationToken).ConfigureAwait(false);
        await SendAsync(socket, open, cancellationToken).ConfigureAwait(false);
        await ExpectAsync(socket, "features", cancellationToken).ConfigureAwait(false);
        await SendAsync(socket, $"<iq xmlns='{Ns.Client}' type='set' id='bind'><bind xmlns='{Ns.Bind}'><resource>load</resource></bind></iq>", cancellationToken).ConfigureAwait(false);
        await ExpectAsync(socket, "iq", cancellationToken).ConfigureAwait(false);
        await SendAsync(socket, $"<presence xmlns='{Ns.Client}'/>", cancellationToken).ConfigureAwait(false);
        await ExpectAsync(socket, "presence", cancellationToken).ConfigureAwait(false);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string xml, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(xml), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>Reads messages until one is the element <paramref name="name"/>; a failure or a stream error throws.</summary>
    private static async Task<Element> ExpectAsync(ClientWebSocket socket, string name, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            ValueWebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    throw new LoginException($"the node closed the WebSocket waiting for <{name}/>");
                }
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            var element = ElementParser.Parse(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length), Ns.Client);
            if (element.Name == name)
            {
                return element;
            }
            if (element.Name is "failure" or "error")
            {
                throw new LoginException($"<{element.Name}/> waiting for <{name}/>: {element.ToXml(Ns.Client)}");
            }
        }
    }
}
