using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen muc</c>: N logged-in users join one room (XEP-0045). The first creates it as an instant room and
/// configures it to send H messages of history on join; N − 2 more join; H messages are posted; then the Nth joins
/// asking for the history, and the time until it has its self-presence, the H messages and the subject (the end of a
/// join, §7.2.15) is its join time, measured several times (leave, join again). Last, a few senders post groupchat
/// messages at a fixed offered rate (open loop, <see cref="OpenLoopSchedule"/>) and every occupant's copies are
/// counted: delivered copies per second, latency from the planned send time, lost copies and the node's CPU per copy.
/// </summary>
internal static class MucCommand
{
    public const string Usage =
        "parley-loadgen muc --host 127.0.0.1 --port P --occupants N --rate MSG_PER_S --duration S --password PW --node-pid PID\n" +
        "    [--senders 4] [--history 100] [--join-samples 5] [--warmup 5] [--room bench] [--persistent] [--user-prefix load]\n" +
        "    [--domain localhost] [--concurrency 100] [--direct-tls] [--tls-resume]\n" +
        "    (the node must keep H messages per room: Parley:Muc:HistoryMessages ≥ H)";

    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StragglerDeadline = TimeSpan.FromSeconds(30);

    // A groupchat message of about 300 bytes as the generator sends it (the room adds 'from' and drops 'to').
    private const int MessageBytes = 300;

    // Latencies are kept one per delivered copy; this bounds the recorder's memory (8 bytes each).
    private const long MaxMeasuredCopies = 50_000_000;

    // History messages are posted one after another by the owner; one buffer serves them all.
    private static readonly byte[] s_historyBuffer = new byte[512];

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string>
            {
                "--host", "--port", "--occupants", "--rate", "--duration", "--password", "--node-pid", "--senders", "--history",
                "--join-samples", "--warmup", "--room", "--user-prefix", "--domain", "--concurrency",
            },
            new HashSet<string> { "--persistent", "--direct-tls", "--tls-resume" });
        var server = new IPEndPoint(ClientPool.LoopbackAddress(arguments.Text("--host")), arguments.Number("--port", 1, 65535));
        var occupants = arguments.Number("--occupants", 3, 100_000);
        var rate = arguments.Number("--rate", 1, 100_000);
        var duration = arguments.Number("--duration", 1, 3600);
        var password = arguments.Text("--password");
        var node = new NodeProcess(arguments.Number("--node-pid", 1, int.MaxValue));
        var senders = arguments.Number("--senders", 1, occupants, fallback: 4);
        var history = arguments.Number("--history", 0, 10_000, fallback: 100);
        var joinSamples = arguments.Number("--join-samples", 1, 100, fallback: 5);
        var warmup = arguments.Number("--warmup", 0, 600, fallback: 5);
        var prefix = arguments.Text("--user-prefix", "load");
        var domain = arguments.Text("--domain", "localhost");
        var room = $"{arguments.Text("--room", "bench")}@conference.{domain}";
        var concurrency = arguments.Number("--concurrency", 1, 10_000, fallback: 100);
        var persistent = arguments.Flag("--persistent");
        var directTls = arguments.Flag("--direct-tls");
        var warmCount = checked(rate * warmup);
        var measuredCount = checked(rate * duration);
        if ((long)measuredCount * occupants > MaxMeasuredCopies)
        {
            throw new UsageException($"--rate × --duration × --occupants must be at most {MaxMeasuredCopies:N0} copies (one latency sample each).");
        }

        var output = Console.Out;
        output.WriteLine($"node pid {node.Pid}, {server} {(directTls ? "direct TLS" : "STARTTLS")}, {occupants} occupants ({prefix}1..{prefix}{occupants}) in " +
            $"{(persistent ? "persistent" : "temporary")} room {room}, {history} messages of history, {senders} senders, {rate} msg/s offered, " +
            $"{warmup} s warm-up + {duration} s measured, {MessageBytes}-byte messages");

        var target = new LoginTarget(server, domain, directTls, arguments.Flag("--tls-resume"), new SaltedPasswordCache(ScramHash.Sha256, password));
        var clock = Stopwatch.StartNew();
        var login = await ClientPool.LogInAllAsync(target, prefix, password, 1, occupants, concurrency, sendInitialPresence: true, cancellationToken).ConfigureAwait(false);
        if (login.Failed > 0)
        {
            output.WriteLine($"logins         {login.Failed} of {occupants} failed{login.FirstErrorSuffix}");
            await ClientPool.CloseAllAsync(login.Clients, concurrency, cancellationToken).ConfigureAwait(false);
            return 1;
        }
        var clients = login.Clients.Select(client => client!).ToArray();
        output.WriteLine($"logins         {clients.Length} logged in ({clock.Elapsed.TotalSeconds:0.0} s)");

        var tally = new FanOutTally(occupants, warmCount, measuredCount);
        var views = new OccupantView[occupants];
        for (var i = 0; i < occupants; i++)
        {
            var view = views[i] = new OccupantView($"{room}/{prefix}{i + 1}", tally);
            clients[i].StartReceiving(view.OnElement);
        }

        var ok = await FillRoomAsync(clients, views, room, history, persistent, concurrency, output, cancellationToken).ConfigureAwait(false)
            && await MeasureLastJoinAsync(clients[^1], views, history, joinSamples, output, cancellationToken).ConfigureAwait(false);
        if (ok)
        {
            ok = await FanOutAsync(clients, senders, room, rate, warmCount, measuredCount, tally, node, output, cancellationToken).ConfigureAwait(false);
        }

        var closeFailures = await ClientPool.CloseAllAsync(login.Clients, concurrency, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"close          {clients.Length - closeFailures} closed cleanly; {closeFailures} did not");
        return ok && closeFailures == 0 ? 0 : 1;
    }

    /// <summary>The first occupant creates and configures the room, all but the last join, the history is posted.</summary>
    private static async Task<bool> FillRoomAsync(
        LoadClient[] clients, OccupantView[] views, string room, int history, bool persistent, int concurrency, TextWriter output, CancellationToken cancellationToken)
    {
        // No <x xmlns='…muc'/>: an instant room, open at once (§10.1.2), then configured like any owner would.
        var owner = views[0];
        owner.ResetJoin();
        await clients[0].SendAsync(Encoding.UTF8.GetBytes($"<presence to='{owner.OccupantJid}'/>"), cancellationToken).ConfigureAwait(false);
        if (!await WaitUntilAsync(() => owner.SubjectAt != 0, cancellationToken).ConfigureAwait(false))
        {
            output.WriteLine($"room           {owner.OccupantJid} did not get into the room{owner.ErrorSuffix}");
            return false;
        }
        var form = new StringBuilder($"<iq type='set' id='configure' to='{room}'><query xmlns='{Ns.MucOwner}'><x xmlns='{Ns.DataForms}' type='submit'>")
            .Append($"<field var='FORM_TYPE'><value>{Ns.MucRoomConfig}</value></field>")
            .Append(CultureInfo.InvariantCulture, $"<field var='muc#maxhistoryfetch'><value>{history}</value></field>")
            .Append($"<field var='muc#roomconfig_persistentroom'><value>{(persistent ? 1 : 0)}</value></field>")
            .Append("</x></query></iq>");
        await clients[0].SendAsync(Encoding.UTF8.GetBytes(form.ToString()), cancellationToken).ConfigureAwait(false);
        if (!await WaitUntilAsync(() => owner.ConfigurationAnswer is not null, cancellationToken).ConfigureAwait(false) || owner.ConfigurationAnswer != "result")
        {
            output.WriteLine($"room           the configuration was not accepted: {owner.ConfigurationAnswer ?? "no answer"}");
            return false;
        }

        var clock = Stopwatch.StartNew();
        var joiners = views.Length - 2;
        var next = 0;
        var failed = 0;
        async Task JoinSomeAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) <= joiners)
            {
                var view = views[index];
                view.ResetJoin();
                await clients[index].SendAsync(
                    Encoding.UTF8.GetBytes($"<presence to='{view.OccupantJid}'><x xmlns='{Ns.Muc}'><history maxstanzas='0'/></x></presence>"),
                    cancellationToken).ConfigureAwait(false);
                if (!await WaitUntilAsync(() => view.SubjectAt != 0, cancellationToken).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }
        var workers = new Task[Math.Max(1, Math.Min(concurrency, joiners))];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(JoinSomeAsync, cancellationToken);
        }
        await Task.WhenAll(workers).ConfigureAwait(false);
        if (failed > 0)
        {
            output.WriteLine($"joins          {failed} of {joiners} did not complete within {StepDeadline.TotalSeconds:0} s{FirstError(views)}");
            return false;
        }
        output.WriteLine($"joins          {joiners + 1} occupants in the room ({joiners} joined {concurrency} at a time in {clock.Elapsed.TotalSeconds:0.0} s = " +
            $"{joiners / clock.Elapsed.TotalSeconds:0} joins/s; each join's presence goes to everyone already there)");

        for (var k = 0; k < history; k++)
        {
            var length = Encoding.UTF8.GetBytes(
                string.Create(CultureInfo.InvariantCulture, $"<message type='groupchat' to='{room}' id='h{k}'><body>history message {k} of {history}</body></message>"),
                s_historyBuffer);
            clients[0].Send(s_historyBuffer.AsSpan(0, length));
        }
        var present = views[..^1];
        if (!await WaitUntilAsync(() => Array.TrueForAll(present, view => view.LiveHistory == history), cancellationToken).ConfigureAwait(false))
        {
            output.WriteLine($"history        not every occupant got the {history} messages{FirstError(views)}");
            return false;
        }
        output.WriteLine($"history        {history} messages posted and received by all {present.Length} occupants");
        return true;
    }

    /// <summary>
    /// The last user joins the full room asking for the history, <paramref name="samples"/> times (leaving between
    /// them); each time, the self-presence, the history and the subject must arrive, in that order.
    /// </summary>
    private static async Task<bool> MeasureLastJoinAsync(LoadClient client, OccupantView[] views, int history, int samples, TextWriter output, CancellationToken cancellationToken)
    {
        var joiner = views[^1];
        var join = Encoding.UTF8.GetBytes($"<presence to='{joiner.OccupantJid}'><x xmlns='{Ns.Muc}'><history maxstanzas='{history}'/></x></presence>");
        var leave = Encoding.UTF8.GetBytes($"<presence type='unavailable' to='{joiner.OccupantJid}'/>");
        var others = views.Length - 1;
        var subjectTimes = new List<double>(samples);
        for (var sample = 1; sample <= samples; sample++)
        {
            joiner.ResetJoin();
            joiner.Tally.ResetJoinBroadcast(joiner.OccupantJid);
            var sent = Stopwatch.GetTimestamp();
            await client.SendAsync(join, cancellationToken).ConfigureAwait(false);
            var complete = await WaitUntilAsync(() => joiner.SubjectAt != 0 && joiner.Tally.JoinBroadcastSeen == others, cancellationToken).ConfigureAwait(false);
            if (!complete || joiner.SelfPresenceAt == 0 || joiner.OtherPresences != others || joiner.DelayedHistory != history || joiner.SelfPresenceAt > joiner.FirstHistoryAt || joiner.LastHistoryAt > joiner.SubjectAt)
            {
                output.WriteLine($"join {views.Length,-9} sample {sample}: incomplete or out of order: self-presence {(joiner.SelfPresenceAt != 0 ? "yes" : "no")}, " +
                    $"occupant presences {joiner.OtherPresences} of {others}, " +
                    $"history {joiner.DelayedHistory} of {history}, subject {(joiner.SubjectAt != 0 ? "yes" : "no")}, " +
                    $"presence seen by {joiner.Tally.JoinBroadcastSeen} of {others}{FirstError(views)}" +
                    (joiner.DelayedHistory < history ? " (does the node keep that much history? Parley:Muc:HistoryMessages)" : ""));
                return false;
            }
            subjectTimes.Add(Ms(sent, joiner.SubjectAt));
            output.WriteLine($"join {views.Length,-9} sample {sample}: self-presence after {Ms(sent, joiner.SelfPresenceAt):0.0} ms (occupant list: {joiner.OtherPresences} presences), " +
                $"{history} history messages after {Ms(sent, joiner.LastHistoryAt):0.0} ms, subject (join complete) after {Ms(sent, joiner.SubjectAt):0.0} ms; " +
                $"its presence reached all {others} others after {Ms(sent, joiner.Tally.JoinBroadcastLastAt):0.0} ms");
            if (sample < samples)
            {
                await client.SendAsync(leave, cancellationToken).ConfigureAwait(false);
                if (!await WaitUntilAsync(() => joiner.LeftAt != 0, cancellationToken).ConfigureAwait(false))
                {
                    output.WriteLine($"join           the last occupant's leave was not confirmed{FirstError(views)}");
                    return false;
                }
            }
        }
        subjectTimes.Sort();
        output.WriteLine($"join time      median {subjectTimes[subjectTimes.Count / 2]:0.0} ms, max {subjectTimes[^1]:0.0} ms over {samples} joins");
        return true;

        static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
    }

    private static async Task<bool> FanOutAsync(
        LoadClient[] clients, int senders, string room, int rate, int warmCount, int measuredCount, FanOutTally tally, NodeProcess node, TextWriter output,
        CancellationToken cancellationToken)
    {
        var messages = new GroupchatMessages(clients, senders, room);
        var sendLag = new LatencyRecorder(measuredCount);
        var run = new MeasuredRun([node]);
        await run.SendAsync(rate, warmCount, measuredCount, messages.Send, sendLag, cancellationToken).ConfigureAwait(false);

        var allArrived = await tally.WaitForAllAsync(StragglerDeadline, cancellationToken).ConfigureAwait(false);
        var (nodeCpu, generatorCpu, machineBusy) = run.CpuUsed();
        var window = Stopwatch.GetElapsedTime(run.MeasuredStart, tally.LastArrival);
        var delivered = tally.MeasuredReceived;
        var expected = (long)measuredCount * clients.Length;

        output.WriteLine($"offered        {measuredCount} messages in {measuredCount / rate} s = {rate} msg/s from {senders} senders = {(long)rate * clients.Length} copies/s " +
            $"to {clients.Length} occupants (schedule lag max {Stopwatch.GetElapsedTime(0, run.MaxLag).TotalMilliseconds:0.0} ms)");
        output.WriteLine($"delivered      {delivered} copies in {window.TotalSeconds:0.000} s = {delivered / window.TotalSeconds:0} copies/s");
        output.WriteLine($"lost           {expected - delivered} copies (sent × occupants − received{(allArrived ? "" : $", after waiting {StragglerDeadline.TotalSeconds:0} s for stragglers")}); " +
            $"duplicates {tally.Duplicates}, errors {tally.Errors}{(tally.FirstError is { } error ? $" (first: {error})" : "")}, warm-up {tally.WarmReceived} of {(long)warmCount * clients.Length}");
        output.WriteLine($"latency        {tally.Latencies.Summary()} (per copy, from the planned send time)");
        output.WriteLine($"send lag       {sendLag.Summary()} (actual send after the planned time: the generator's share)");
        output.WriteLine($"node CPU       {nodeCpu.TotalSeconds:0.000} s = {nodeCpu.TotalMicroseconds / Math.Max(delivered, 1):0.00} µs per delivered copy, " +
            $"{nodeCpu.TotalMicroseconds / measuredCount:0} µs per message");
        output.WriteLine($"generator CPU  {generatorCpu.TotalSeconds:0.000} s = {generatorCpu.TotalMicroseconds / Math.Max(delivered, 1):0.00} µs per copy ({generatorCpu / window:P0} of one core)");
        output.WriteLine($"machine        {MachineCpu.OthersShare(machineBusy, nodeCpu, generatorCpu, window)}");
        return delivered == expected && tally.Duplicates == 0 && tally.Errors == 0;
    }

    /// <summary>Waits for a condition that the receive loops make true, checked every 5 ms, until <see cref="StepDeadline"/>.</summary>
    private static async Task<bool> WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (!condition())
        {
            if (clock.Elapsed > StepDeadline)
            {
                return false;
            }
            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    private static string FirstError(OccupantView[] views) => views[0].Tally.FirstError is { } error ? $" (first error: {error})" : "";

    /// <summary>
    /// Message i comes from sender i mod S; its id is "i:planned-timestamp", its body padding up to
    /// <see cref="MessageBytes"/>. Called by the schedule's single thread only: the buffer is reused.
    /// </summary>
    private sealed class GroupchatMessages(LoadClient[] clients, int senders, string room)
    {
        private readonly byte[] _prefix = Encoding.UTF8.GetBytes($"<message type='groupchat' to='{room}' id='");
        private readonly byte[] _buffer = new byte[1024];

        public void Send(int index, long planned)
        {
            _prefix.CopyTo(_buffer, 0);
            var length = _prefix.Length;
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
            clients[index % senders].Send(_buffer.AsSpan(0, length));
        }

        private int Copy(ReadOnlySpan<byte> bytes, int at)
        {
            bytes.CopyTo(_buffer.AsSpan(at));
            return bytes.Length;
        }
    }

    /// <summary>
    /// What one occupant's client saw. Written only by that client's receive loop (one element at a time), read by the
    /// coordinating code; the join fields are reset by the coordinator only while nothing is on its way to this client.
    /// </summary>
    private sealed class OccupantView(string occupantJid, FanOutTally tally)
    {
        private long _selfPresenceAt;
        private long _firstHistoryAt;
        private long _lastHistoryAt;
        private long _subjectAt;
        private long _leftAt;
        private int _delayedHistory;
        private int _liveHistory;
        private int _otherPresences;
        private string? _configurationAnswer;

        public string OccupantJid { get; } = occupantJid;
        public FanOutTally Tally { get; } = tally;
        public long SelfPresenceAt => Volatile.Read(ref _selfPresenceAt);
        public long FirstHistoryAt => Volatile.Read(ref _firstHistoryAt);
        public long LastHistoryAt => Volatile.Read(ref _lastHistoryAt);
        public long SubjectAt => Volatile.Read(ref _subjectAt);
        public long LeftAt => Volatile.Read(ref _leftAt);
        public int DelayedHistory => Volatile.Read(ref _delayedHistory);
        public int LiveHistory => Volatile.Read(ref _liveHistory);

        /// <summary>Available presences of other occupants since the last <see cref="ResetJoin"/>: the occupant list a join gets.</summary>
        public int OtherPresences => Volatile.Read(ref _otherPresences);
        public string? ConfigurationAnswer => Volatile.Read(ref _configurationAnswer);

        /// <summary>Measured copies this occupant has seen (indexed by message − warm-up count); touched by its receive loop only.</summary>
        public bool[]? Seen { get; set; }
        public string ErrorSuffix => Tally.FirstError is { } error ? $" ({error})" : "";

        public void ResetJoin()
        {
            Volatile.Write(ref _selfPresenceAt, 0);
            Volatile.Write(ref _firstHistoryAt, 0);
            Volatile.Write(ref _lastHistoryAt, 0);
            Volatile.Write(ref _subjectAt, 0);
            Volatile.Write(ref _leftAt, 0);
            Volatile.Write(ref _delayedHistory, 0);
            Volatile.Write(ref _otherPresences, 0);
        }

        public void OnElement(Element element)
        {
            var now = Stopwatch.GetTimestamp();
            if (element.Name == "iq" && element.GetAttribute("id") == "configure")
            {
                Volatile.Write(ref _configurationAnswer, element.GetAttribute("type") == "result" ? "result" : element.ToXml(Ns.Client));
                return;
            }
            if (element.GetAttribute("type") == "error")
            {
                Tally.OnError(element);
                return;
            }
            switch (element.Name)
            {
                case "presence":
                    OnPresence(element, now);
                    break;
                case "message" when element.Child("subject") is not null:
                    Volatile.Write(ref _subjectAt, now);
                    break;
                case "message" when element.Child("body") is null:
                    // A room notice, such as status 104 after the configuration changed.
                    break;
                case "message" when element.GetAttribute("id") is ['h', ..]:
                    if (element.Child("delay", Ns.Delay) is null)
                    {
                        Volatile.Write(ref _liveHistory, _liveHistory + 1);
                    }
                    else
                    {
                        if (_firstHistoryAt == 0)
                        {
                            Volatile.Write(ref _firstHistoryAt, now);
                        }
                        Volatile.Write(ref _lastHistoryAt, now);
                        Volatile.Write(ref _delayedHistory, _delayedHistory + 1);
                    }
                    break;
                case "message":
                    Tally.OnGroupchat(this, element);
                    break;
            }
        }

        private void OnPresence(Element presence, long now)
        {
            var from = presence.GetAttribute("from");
            if (from != OccupantJid)
            {
                if (presence.GetAttribute("type") is null)
                {
                    Volatile.Write(ref _otherPresences, _otherPresences + 1);
                }
                Tally.OnOtherPresence(from, presence.GetAttribute("type"), now);
                return;
            }
            foreach (var status in presence.Child("x", Ns.MucUser)?.Children("status", Ns.MucUser) ?? [])
            {
                if (status.GetAttribute("code") != "110")
                {
                    continue;
                }
                if (presence.GetAttribute("type") == "unavailable")
                {
                    Volatile.Write(ref _leftAt, now);
                }
                else
                {
                    Volatile.Write(ref _selfPresenceAt, now);
                }
            }
        }
    }

    /// <summary>Counts over all occupants: the fan-out copies, errors, and how far the last joiner's presence got.</summary>
    private sealed class FanOutTally(int occupants, int warmCount, int measuredCount)
    {
        private long _measuredReceived;
        private long _warmReceived;
        private int _duplicates;
        private int _errors;
        private long _lastArrival;
        private string? _firstError;
        private string? _joiner;
        private int _joinBroadcastSeen;
        private long _joinBroadcastLastAt;

        public LatencyRecorder Latencies { get; } = new(checked(measuredCount * occupants));
        public long MeasuredReceived => Interlocked.Read(ref _measuredReceived);
        public long WarmReceived => Interlocked.Read(ref _warmReceived);
        public int Duplicates => Volatile.Read(ref _duplicates);
        public int Errors => Volatile.Read(ref _errors);
        public long LastArrival => Interlocked.Read(ref _lastArrival);
        public string? FirstError => Volatile.Read(ref _firstError);
        public int JoinBroadcastSeen => Volatile.Read(ref _joinBroadcastSeen);
        public long JoinBroadcastLastAt => Interlocked.Read(ref _joinBroadcastLastAt);

        public void ResetJoinBroadcast(string joiner)
        {
            Volatile.Write(ref _joinBroadcastSeen, 0);
            Interlocked.Exchange(ref _joinBroadcastLastAt, 0);
            Volatile.Write(ref _joiner, joiner);
        }

        public void OnOtherPresence(string? from, string? type, long now)
        {
            if (type is null && from == Volatile.Read(ref _joiner))
            {
                Interlocked.Increment(ref _joinBroadcastSeen);
                Latest(ref _joinBroadcastLastAt, now);
            }
        }

        public void OnError(Element element)
        {
            Interlocked.Increment(ref _errors);
            Interlocked.CompareExchange(ref _firstError, element.ToXml(Ns.Client), null);
        }

        public void OnGroupchat(OccupantView view, Element message)
        {
            if (!TryParseId(message.GetAttribute("id"), out var index, out var planned))
            {
                OnError(message);
                return;
            }
            if (index < warmCount)
            {
                Interlocked.Increment(ref _warmReceived);
                return;
            }
            var seen = view.Seen ??= new bool[measuredCount];
            if (seen[index - warmCount])
            {
                Interlocked.Increment(ref _duplicates);
                return;
            }
            seen[index - warmCount] = true;
            Latencies.Record(planned);
            Interlocked.Increment(ref _measuredReceived);
            Latest(ref _lastArrival, Stopwatch.GetTimestamp());
        }

        /// <summary>Waits until every measured and warm-up copy has arrived, or the deadline; true when all did.</summary>
        public async Task<bool> WaitForAllAsync(TimeSpan deadline, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            while (MeasuredReceived < (long)measuredCount * occupants || WarmReceived < (long)warmCount * occupants)
            {
                if (clock.Elapsed > deadline)
                {
                    return false;
                }
                await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
            return true;
        }

        private static void Latest(ref long field, long now)
        {
            // Receipts race; keep the latest.
            long last;
            while ((last = Interlocked.Read(ref field)) < now && Interlocked.CompareExchange(ref field, now, last) != last)
            {
            }
        }

        private bool TryParseId(string? id, out int index, out long planned)
        {
            index = 0;
            planned = 0;
            var colon = id?.IndexOf(':') ?? -1;
            return id is not null && colon > 0
                && int.TryParse(id.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out index)
                && long.TryParse(id.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out planned)
                && index < warmCount + measuredCount;
        }
    }
}
