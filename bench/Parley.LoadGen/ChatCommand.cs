using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen chat</c>: P pairs of logged-in users exchange chat messages at a fixed total offered rate
/// (open loop, <see cref="OpenLoopSchedule"/>). Each message's id carries its sequence number and planned send
/// time, so the receiver measures delivery latency and spots losses and duplicates. Reports offered and delivered
/// messages per second, lost messages, latency percentiles and the node's CPU per delivered message.
/// </summary>
internal static class ChatCommand
{
    public const string Usage =
        "parley-loadgen chat --host 127.0.0.1 --port P --pairs P --rate MSG_PER_S --duration S --password PW --node-pid PID[,PID...]\n" +
        "    [--warmup 5] [--user-prefix load] [--domain localhost] [--concurrency 100] [--direct-tls] [--tls-resume]\n" +
        "    [--transport tcp|websocket|mixed --http-port P]  (mixed: the first user of each pair on WebSocket, the second on TCP)\n" +
        "    [--pairing numbered|same-node|cross-node --users U]  (a cluster: U users sign in, following see-other-host, and\n" +
        "    P pairs are made of users served by one node, or by two; CPU is the sum of the --node-pid processes)\n" +
        "    [--node-gc-file FILE]  (the node's startup hook file, as for logins: bytes the node allocates per message)";

    // Stragglers: messages still in flight when the schedule ends are waited for this long before the count.
    private static readonly TimeSpan StragglerDeadline = TimeSpan.FromSeconds(10);

    // A chat message of about 300 bytes as the generator sends it (the node adds 'from').
    private const int MessageBytes = 300;

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--host", "--port", "--pairs", "--rate", "--duration", "--warmup", "--user-prefix", "--password", "--domain", "--concurrency", "--node-pid", "--transport", "--http-port", "--pairing", "--users", "--node-gc-file" },
            new HashSet<string> { "--direct-tls", "--tls-resume" });
        var server = new IPEndPoint(ClientPool.LoopbackAddress(arguments.Text("--host")), arguments.Number("--port", 1, 65535));
        var pairs = arguments.Number("--pairs", 1, 100_000);
        var rate = arguments.Number("--rate", 1, 1_000_000);
        var duration = arguments.Number("--duration", 1, 3600);
        var warmup = arguments.Number("--warmup", 0, 600, fallback: 5);
        var prefix = arguments.Text("--user-prefix", "load");
        var password = arguments.Text("--password");
        var domain = arguments.Text("--domain", "localhost");
        var concurrency = arguments.Number("--concurrency", 1, 10_000, fallback: 100);
        var nodes = NodeProcess.ParseList(arguments.Text("--node-pid"));
        var directTls = arguments.Flag("--direct-tls");
        var transport = arguments.Text("--transport", "tcp");
        if (transport is not ("tcp" or "websocket" or "mixed"))
        {
            throw new UsageException($"--transport must be tcp, websocket or mixed, not '{transport}'.");
        }
        var pairing = arguments.Text("--pairing", "numbered");
        if (pairing is not ("numbered" or "same-node" or "cross-node"))
        {
            throw new UsageException($"--pairing must be numbered, same-node or cross-node, not '{pairing}'.");
        }
        if (pairing != "numbered" && transport != "tcp")
        {
            throw new UsageException("--pairing same-node or cross-node needs --transport tcp.");
        }
        var signIns = pairing == "numbered" ? 2 * pairs : arguments.Number("--users", 2 * pairs, 1_000_000, fallback: 2 * pairs);
        var webSocket = transport == "tcp" ? null : new Uri($"ws://{server.Address}:{arguments.Number("--http-port", 1, 65535)}/xmpp-websocket");
        var warmCount = checked(rate * warmup);
        var measuredCount = checked(rate * duration);

        var output = Console.Out;
        var carriedBy = transport switch
        {
            "websocket" => $"{webSocket}",
            "mixed" => $"{webSocket} and {server} {(directTls ? "direct TLS" : "STARTTLS")}",
            _ => $"{server} {(directTls ? "direct TLS" : "STARTTLS")}",
        };
        output.WriteLine($"node pid {string.Join(", ", nodes.Select(node => node.Pid))}, {carriedBy}, {pairs} pairs " +
            (pairing == "numbered" ? $"({prefix}1..{prefix}{2 * pairs})" : $"{pairing} from {prefix}1..{prefix}{signIns}") + ", " +
            $"{rate} msg/s offered, {warmup} s warm-up + {duration} s measured, {MessageBytes}-byte messages");

        var saltedPassword = new SaltedPasswordCache(ScramHash.Sha256, password);
        var target = new LoginTarget(server, domain, directTls, arguments.Flag("--tls-resume"), saltedPassword);
        // User i (from 0) is the first of its pair when i is even.
        bool OnWebSocket(int index) => transport == "websocket" || (transport == "mixed" && index % 2 == 0);
        var login = await ClientPool.LogInAllAsync<IChatClient>(signIns, concurrency, index => prefix + (index + 1),
            async (index, token) => OnWebSocket(index)
                ? await WebSocketLoadClient.LoginAsync(webSocket!, domain, prefix + (index + 1), saltedPassword, token).ConfigureAwait(false)
                : await LoadClient.LoginAsync(target, prefix + (index + 1), password, sendInitialPresence: true, token).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        if (login.Failed > 0)
        {
            output.WriteLine($"logins         {login.Failed} of {signIns} failed{login.FirstErrorSuffix}");
            await ClientPool.CloseAllAsync(login.Clients, concurrency, cancellationToken).ConfigureAwait(false);
            return 1;
        }
        var clients = pairing == "numbered" ? login.Clients.Select(client => client!).ToArray() : Paired(login.Clients, pairing == "same-node", pairs);
        if (clients.Length < 2 * pairs)
        {
            output.WriteLine($"logins         {signIns} logged in make only {clients.Length / 2} {pairing} pairs; sign more in with --users");
            await ClientPool.CloseAllAsync(login.Clients, concurrency, cancellationToken).ConfigureAwait(false);
            return 1;
        }
        // Those left out of the pairs close now: only the pairs are measured.
        var unpaired = login.Clients.Except(clients).ToArray();
        await ClientPool.CloseAllAsync(unpaired, concurrency, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"logins         {clients.Length} logged in" +
            (pairing == "numbered" ? "" : $" in pairs ({unpaired.Length} more closed), served by {string.Join(", ", clients.GroupBy(client => ((LoadClient)client).Server).Select(node => $"{node.Key} ×{node.Count()}"))}"));

        var tally = new ChatTally(warmCount, measuredCount);
        // How late the generator itself sent each measured message: the part of the latency that is not the node's.
        var sendLag = new LatencyRecorder(measuredCount);
        foreach (var client in clients)
        {
            client.StartReceiving(tally.OnElement);
        }

        var messages = new ChatMessages(clients, pairs);
        var run = new MeasuredRun(nodes);
        var gcFile = arguments.Text("--node-gc-file", "");
        var allocation = gcFile.Length > 0 && duration > 2 ? NodeAllocation.MeasureAsync(gcFile, warmup + 1, duration - 2, cancellationToken) : null;
        await run.SendAsync(rate, warmCount, measuredCount, messages.Send, sendLag, cancellationToken).ConfigureAwait(false);

        var allArrived = await tally.WaitForAllAsync(StragglerDeadline, cancellationToken).ConfigureAwait(false);
        var (nodeCpu, generatorCpu, machineBusy) = run.CpuUsed();
        var window = Stopwatch.GetElapsedTime(run.MeasuredStart, tally.LastArrival);
        var delivered = tally.MeasuredReceived;

        output.WriteLine($"offered        {measuredCount} messages in {duration} s = {rate} msg/s (schedule lag max {Stopwatch.GetElapsedTime(0, run.MaxLag).TotalMilliseconds:0.0} ms)");
        output.WriteLine($"delivered      {delivered} in {window.TotalSeconds:0.000} s = {delivered / window.TotalSeconds:0} msg/s");
        output.WriteLine($"lost           {measuredCount - delivered} (sent − received{(allArrived ? "" : $", after waiting {StragglerDeadline.TotalSeconds:0} s for stragglers")}); " +
            $"duplicates {tally.Duplicates}, errors {tally.Errors}, warm-up {tally.WarmReceived} of {warmCount}");
        output.WriteLine($"latency        {tally.Latencies.Summary()} (from the planned send time)");
        output.WriteLine($"send lag       {sendLag.Summary()} (actual send after the planned time: the generator's share)");
        output.WriteLine($"node CPU       {nodeCpu.TotalSeconds:0.000} s = {nodeCpu.TotalMicroseconds / Math.Max(delivered, 1):0.0} µs per delivered message");
        output.WriteLine($"generator CPU  {generatorCpu.TotalSeconds:0.000} s = {generatorCpu.TotalMicroseconds / Math.Max(delivered, 1):0.0} µs per message ({generatorCpu / window:P0} of one core)");

        output.WriteLine($"machine        {MachineCpu.OthersShare(machineBusy, nodeCpu, generatorCpu, window)}");
        if (allocation is not null)
        {
            output.WriteLine($"node allocated {NodeAllocation.Summary(await allocation.ConfigureAwait(false), rate)}");
        }

        var closeFailures = await ClientPool.CloseAllAsync(clients, concurrency, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"close          {clients.Length - closeFailures} closed cleanly; {closeFailures} did not");
        return delivered == measuredCount && tally.Duplicates == 0 && tally.Errors == 0 && closeFailures == 0 ? 0 : 1;
    }

    /// <summary>
    /// Up to <paramref name="pairs"/> pairs (users 2i and 2i+1) of TCP clients served by the same node, or by two
    /// different nodes (taken from the two nodes with the most users left, so that every node carries its share).
    /// </summary>
    private static IChatClient[] Paired(IChatClient?[] clients, bool sameNode, int pairs)
    {
        var byNode = clients.Cast<LoadClient>().GroupBy(client => client.Server).Select(node => new Queue<LoadClient>(node)).ToList();
        var paired = new List<IChatClient>();
        while (paired.Count < 2 * pairs)
        {
            var fullest = byNode.Where(node => node.Count > 0).OrderByDescending(node => node.Count).ToList();
            if (sameNode ? fullest.Count == 0 || fullest[0].Count < 2 : fullest.Count < 2)
            {
                break;
            }
            paired.Add(fullest[0].Dequeue());
            paired.Add((sameNode ? fullest[0] : fullest[1]).Dequeue());
        }
        return [.. paired];
    }

    /// <summary>
    /// Message i goes over pair i mod P, alternately from its first and its second user, so that both directions
    /// carry the same load; its id is "i:planned-timestamp", its body padding up to <see cref="MessageBytes"/>.
    /// </summary>
    private sealed class ChatMessages(IChatClient[] clients, int pairs)
    {
        // RFC 7395 §3.4: a stanza in a WebSocket frame carries its namespace.
        private readonly byte[][] _prefixes = [.. clients.Select((client, i) => Encoding.UTF8.GetBytes(
            $"<message{(client is WebSocketLoadClient ? $" xmlns='{Ns.Client}'" : "")} type='chat' to='{clients[i ^ 1].BoundJid}' id='"))];
        private readonly byte[] _buffer = new byte[1024];

        /// <summary>Called by the schedule's single thread only: the buffer is reused.</summary>
        public void Send(int index, long planned)
        {
            var pair = index % pairs;
            var sender = 2 * pair + (index / pairs & 1);
            var prefix = _prefixes[sender];
            prefix.CopyTo(_buffer, 0);
            var length = prefix.Length;
            Utf8Formatter.TryFormat(index, _buffer.AsSpan(length), out var written);
            length += written;
            _buffer[length++] = (byte)':';
            Utf8Formatter.TryFormat(planned, _buffer.AsSpan(length), out written);
            length += written;
            length += Copy("'><body>"u8, length);
            var tail = "</body></message>"u8;
            var padding = Math.Max(0, MessageBytes - length - tail.Length);
            _buffer.AsSpan(length, padding).Fill((byte)'x');
            length += padding;
            length += Copy(tail, length);
            clients[sender].Send(_buffer.AsSpan(0, length));
        }

        private int Copy(ReadOnlySpan<byte> bytes, int at)
        {
            bytes.CopyTo(_buffer.AsSpan(at));
            return bytes.Length;
        }
    }

    /// <summary>What the receivers saw; updated from every client's receive loop.</summary>
    private sealed class ChatTally(int warmCount, int measuredCount)
    {
        private readonly int[] _seen = new int[measuredCount];
        private int _measuredReceived;
        private int _warmReceived;
        private int _duplicates;
        private int _errors;
        private long _lastArrival;

        public LatencyRecorder Latencies { get; } = new(measuredCount);
        public int MeasuredReceived => Volatile.Read(ref _measuredReceived);
        public int WarmReceived => Volatile.Read(ref _warmReceived);
        public int Duplicates => Volatile.Read(ref _duplicates);
        public int Errors => Volatile.Read(ref _errors);
        public long LastArrival => Interlocked.Read(ref _lastArrival);

        public void OnElement(Element element)
        {
            if (element.Name != "message")
            {
                return;
            }
            if (element.GetAttribute("type") == "error" || !TryParseId(element.GetAttribute("id"), out var index, out var planned))
            {
                Interlocked.Increment(ref _errors);
                return;
            }
            if (index < warmCount)
            {
                Interlocked.Increment(ref _warmReceived);
                return;
            }
            if (Interlocked.Exchange(ref _seen[index - warmCount], 1) == 1)
            {
                Interlocked.Increment(ref _duplicates);
                return;
            }
            Latencies.Record(planned);
            Interlocked.Increment(ref _measuredReceived);
            // Receipts race; keep the latest.
            var now = Stopwatch.GetTimestamp();
            long last;
            while ((last = Interlocked.Read(ref _lastArrival)) < now && Interlocked.CompareExchange(ref _lastArrival, now, last) != last)
            {
            }
        }

        /// <summary>Waits until every measured message (and every warm-up one) has arrived, or the deadline; true when all did.</summary>
        public async Task<bool> WaitForAllAsync(TimeSpan deadline, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            while (MeasuredReceived < measuredCount || WarmReceived < warmCount)
            {
                if (clock.Elapsed > deadline)
                {
                    return false;
                }
                await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
            return true;
        }

        private bool TryParseId(string? id, out int index, out long planned)
        {
            index = 0;
            planned = 0;
            var colon = id?.IndexOf(':') ?? -1;
            return id is not null && colon > 0
                && int.TryParse(id.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index)
                && long.TryParse(id.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out planned)
                && index < warmCount + measuredCount;
        }
    }
}
