using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen presence</c>: N users whose rosters are a <see cref="ContactCircle"/> of R mutual contacts
/// (made beforehand with <c>roster-csv</c> and <c>parley roster import</c>) log in without presence; then, in two
/// measured phases at a controlled rate (open loop), each sends its initial presence (broadcast to the online
/// contacts, and their presence back) and then changes its presence C times. Every presence stanza every client
/// receives is counted against the exact expectation, and the node's CPU is divided by the stanzas delivered.
/// A separate circle of warm-up users runs the same phases first, so JIT and first-use costs stay out.
/// </summary>
internal static class PresenceCommand
{
    public const string Usage =
        "parley-loadgen presence --host 127.0.0.1 --port P --users N --contacts R --changes C --password PW --node-pid PID[,PID...]\n" +
        "    [--rate 500 (presences sent per second)] [--warmup-users 100] [--user-prefix pres] [--domain localhost] [--concurrency 100]\n" +
        "    [--direct-tls] [--tls-resume]  (a cluster: users follow see-other-host to their nodes, so presence crosses nodes; CPU is the sum of the --node-pid processes)";

    private static readonly TimeSpan ArrivalDeadline = TimeSpan.FromSeconds(30);
    private static readonly string[] Shows = ["away", "dnd", "xa", "chat"];

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--host", "--port", "--users", "--contacts", "--changes", "--rate", "--warmup-users", "--user-prefix", "--password", "--domain", "--concurrency", "--node-pid" },
            new HashSet<string> { "--direct-tls", "--tls-resume" });
        var server = new IPEndPoint(ClientPool.LoopbackAddress(arguments.Text("--host")), arguments.Number("--port", 1, 65535));
        var users = arguments.Number("--users", 3, 100_000);
        var contacts = arguments.Number("--contacts", 2, 10_000);
        var changes = arguments.Number("--changes", 1, 10_000);
        var rate = arguments.Number("--rate", 1, 1_000_000, fallback: 500);
        var warmupUsers = arguments.Number("--warmup-users", 0, 100_000, fallback: 100);
        var prefix = arguments.Text("--user-prefix", "pres");
        var password = arguments.Text("--password");
        var domain = arguments.Text("--domain", "localhost");
        var concurrency = arguments.Number("--concurrency", 1, 10_000, fallback: 100);
        var nodes = NodeProcess.ParseList(arguments.Text("--node-pid"));
        var directTls = arguments.Flag("--direct-tls");
        var measured = new ContactCircle(1, users, contacts);
        var warm = warmupUsers > 0 ? new ContactCircle(users + 1, warmupUsers, contacts) : null;
        _ = checked(users * changes * (contacts + 1));

        var target = new LoginTarget(server, domain, directTls, arguments.Flag("--tls-resume"), new SaltedPasswordCache(ScramHash.Sha256, password));
        var run = new Run(target, prefix, password, rate, changes, concurrency, nodes, Console.Out);
        Console.Out.WriteLine($"node pid {string.Join(", ", nodes.Select(node => node.Pid))}, {server} {(directTls ? "direct TLS" : "STARTTLS")}, {users} users ({prefix}1..{prefix}{users}) " +
            $"with {contacts} mutual contacts each, {changes} changes per user, {rate} presences/s sent");
        var ok = true;
        if (warm is not null)
        {
            Console.Out.WriteLine($"-- warm-up: {prefix}{warm.First}..{prefix}{warm.First + warm.Count - 1}");
            ok &= await run.CircleAsync(warm, cancellationToken).ConfigureAwait(false);
        }
        Console.Out.WriteLine("-- measured");
        ok &= await run.CircleAsync(measured, cancellationToken).ConfigureAwait(false);
        return ok ? 0 : 1;
    }

    private sealed class Run(LoginTarget target, string prefix, string password, int rate, int changes, int concurrency, NodeProcess[] nodes, TextWriter output)
    {
        public async Task<bool> CircleAsync(ContactCircle circle, CancellationToken cancellationToken)
        {
            var login = await ClientPool.LogInAllAsync(target, prefix, password, circle.First, circle.Count, concurrency, sendInitialPresence: false, cancellationToken).ConfigureAwait(false);
            if (login.Failed > 0)
            {
                output.WriteLine($"logins         {login.Failed} of {circle.Count} failed{login.FirstErrorSuffix}");
                await ClientPool.CloseAllAsync(login.Clients, concurrency, cancellationToken).ConfigureAwait(false);
                return false;
            }
            var clients = login.Clients.Select(client => client!).ToArray();
            var tally = new PresenceTally(circle, prefix, changes);
            for (var i = 0; i < clients.Length; i++)
            {
                var receiver = i;
                clients[i].StartReceiving(element => tally.OnElement(receiver, element));
            }
            output.WriteLine($"logins         {clients.Length} logged in and bound, no presence yet");

            var initial = await PhaseAsync("initial", circle.Count, (index, _) => clients[index].Send("<presence/>"u8), tally.InitialComplete, tally, cancellationToken).ConfigureAwait(false);
            output.WriteLine($"               expected {circle.Count} × ({circle.Contacts} contacts + own echo) = {(long)circle.Count * (circle.Contacts + 1)} distinct; " +
                $"got {tally.InitialDistinct} distinct + {tally.InitialDuplicates} duplicates (both sides of a pair coming online at once), " +
                $"{tally.Unavailable} stored unavailable presences of offline contacts, {tally.Other} other");

            var buffer = new byte[256];
            var change = await PhaseAsync("change", circle.Count * changes, (index, planned) =>
            {
                var length = Encoding.UTF8.GetBytes(
                    string.Create(CultureInfo.InvariantCulture, $"<presence><show>{Shows[index / circle.Count % Shows.Length]}</show><status>c {index}:{planned}</status></presence>"),
                    buffer);
                clients[index % circle.Count].Send(buffer.AsSpan(0, length));
            }, tally.ChangesComplete, tally, cancellationToken).ConfigureAwait(false);
            output.WriteLine($"               expected {circle.Count} × {changes} × ({circle.Contacts} + 1) = {(long)circle.Count * changes * (circle.Contacts + 1)}; " +
                $"got {tally.ChangesReceived}, {tally.ChangeExcess} beyond the expectation");
            output.WriteLine($"latency        {tally.ChangeLatencies.Summary()} (change phase, from the planned send time)");

            var closeFailures = await ClientPool.CloseAllAsync(login.Clients, concurrency, cancellationToken).ConfigureAwait(false);
            output.WriteLine($"close          {clients.Length - closeFailures} closed cleanly; {closeFailures} did not");
            return initial && change && tally.ChangeExcess == 0 && tally.Other == 0 && closeFailures == 0;
        }

        /// <summary>Sends <paramref name="count"/> presences on the open-loop schedule, waits for what they cause, reports rate and CPU.</summary>
        private async Task<bool> PhaseAsync(string name, int count, Action<int, long> send, Func<bool> complete, PresenceTally tally, CancellationToken cancellationToken)
        {
            var generator = Process.GetCurrentProcess();
            var receivedBefore = tally.Received;
            var nodeCpuBefore = NodeProcess.CpuTimeOf(nodes);
            var generatorCpuBefore = generator.TotalProcessorTime;
            var machineBefore = MachineCpu.BusyTime();
            var start = Stopwatch.GetTimestamp();
            var maxLag = await OpenLoopSchedule.RunAsync(start, count, rate, send, cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            while (!complete() && clock.Elapsed < ArrivalDeadline)
            {
                await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
            generator.Refresh();
            var nodeCpu = NodeProcess.CpuTimeOf(nodes) - nodeCpuBefore;
            var generatorCpu = generator.TotalProcessorTime - generatorCpuBefore;
            var machineBusy = MachineCpu.BusyTime() - machineBefore;
            var delivered = tally.Received - receivedBefore;
            var window = Stopwatch.GetElapsedTime(start, tally.LastArrival);
            var allArrived = complete();
            output.WriteLine($"{name,-14} {count} presences sent in {Stopwatch.GetElapsedTime(0, OpenLoopSchedule.PlannedAt(0, count, rate)).TotalSeconds:0.00} s " +
                $"(schedule lag max {Stopwatch.GetElapsedTime(0, maxLag).TotalMilliseconds:0.0} ms); {delivered} presence stanzas delivered in {window.TotalSeconds:0.00} s " +
                $"= {delivered / window.TotalSeconds:0} stanzas/s{(allArrived ? "" : $"; NOT ALL EXPECTED STANZAS ARRIVED within {ArrivalDeadline.TotalSeconds:0} s")}");
            output.WriteLine($"               node CPU {nodeCpu.TotalSeconds:0.000} s = {nodeCpu.TotalMicroseconds / Math.Max(delivered, 1):0.0} µs per delivered stanza; " +
                $"generator CPU {generatorCpu.TotalSeconds:0.000} s ({generatorCpu / window:P0} of one core)");
            output.WriteLine($"               {MachineCpu.OthersShare(machineBusy, nodeCpu, generatorCpu, window)}");
            return allArrived;
        }
    }

    /// <summary>
    /// Presence stanzas as the clients receive them, per receiver and contact: each receiver must see its own echo
    /// and each contact's initial presence at least once, then its own and each contact's C changes exactly.
    /// </summary>
    private sealed class PresenceTally(ContactCircle circle, string prefix, int changes)
    {
        private readonly int[] _initialSeen = new int[circle.Count * (circle.Contacts + 1)];
        private readonly int[] _changesSeen = new int[circle.Count * (circle.Contacts + 1)];
        private long _received;
        private long _initialDistinct;
        private long _initialDuplicates;
        private long _changesReceived;
        private long _changeExcess;
        private long _unavailable;
        private long _other;
        private long _lastArrival;

        public LatencyRecorder ChangeLatencies { get; } = new(checked(circle.Count * changes * (circle.Contacts + 1)));
        public long Received => Interlocked.Read(ref _received);
        public long InitialDistinct => Interlocked.Read(ref _initialDistinct);
        public long InitialDuplicates => Interlocked.Read(ref _initialDuplicates);
        public long ChangesReceived => Interlocked.Read(ref _changesReceived);
        public long ChangeExcess => Interlocked.Read(ref _changeExcess);
        public long Unavailable => Interlocked.Read(ref _unavailable);
        public long Other => Interlocked.Read(ref _other);
        public long LastArrival => Interlocked.Read(ref _lastArrival);

        public bool InitialComplete() => InitialDistinct == (long)circle.Count * (circle.Contacts + 1);

        public bool ChangesComplete() => ChangesReceived == (long)circle.Count * changes * (circle.Contacts + 1);

        public void OnElement(int receiver, Element element)
        {
            if (element.Name != "presence")
            {
                Interlocked.Increment(ref _other);
                return;
            }
            Interlocked.Increment(ref _received);
            var now = Stopwatch.GetTimestamp();
            long last;
            while ((last = Interlocked.Read(ref _lastArrival)) < now && Interlocked.CompareExchange(ref _lastArrival, now, last) != last)
            {
            }

            var type = element.GetAttribute("type");
            if (type == "unavailable")
            {
                // An offline contact's last presence (kept when it logged out), sent at login with a delay stamp.
                Interlocked.Increment(ref _unavailable);
                return;
            }
            var slot = type is null ? SlotOf(receiver, element.GetAttribute("from")) : -1;
            if (slot < 0)
            {
                Interlocked.Increment(ref _other);
                return;
            }
            var at = receiver * (circle.Contacts + 1) + slot;
            var status = element.ChildText("status", Ns.Client);
            if (status is null)
            {
                if (Interlocked.Increment(ref _initialSeen[at]) == 1)
                {
                    Interlocked.Increment(ref _initialDistinct);
                }
                else
                {
                    Interlocked.Increment(ref _initialDuplicates);
                }
                return;
            }
            var colon = status.IndexOf(':');
            if (colon > 0 && long.TryParse(status.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var planned))
            {
                ChangeLatencies.Record(planned);
            }
            if (Interlocked.Increment(ref _changesSeen[at]) > changes)
            {
                Interlocked.Increment(ref _changeExcess);
            }
            else
            {
                Interlocked.Increment(ref _changesReceived);
            }
        }

        /// <summary>The receiver's own echo is slot Contacts; a contact is 0..Contacts-1; anyone else −1.</summary>
        private int SlotOf(int receiver, string? from)
        {
            // from = prefix{number}@domain/resource
            var at = from?.IndexOf('@') ?? -1;
            if (from is null || at <= prefix.Length || !from.StartsWith(prefix, StringComparison.Ordinal)
                || !int.TryParse(from.AsSpan(prefix.Length, at - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                return -1;
            }
            var sender = number - circle.First;
            if (sender < 0 || sender >= circle.Count)
            {
                return -1;
            }
            return sender == receiver ? circle.Contacts : circle.Slot(receiver, sender);
        }
    }
}
