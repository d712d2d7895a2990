using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen failover</c>: failover and fallback times of a cluster started by scripts/cluster.sh. N users
/// homed on one node (made by <c>failover-setup</c>) sign in there, each with a watcher on another node that has it as
/// a contact; the node is SIGKILLed; every user reconnects as a client would — resuming its stream (XEP-0198, with
/// --resume) at the <c>location</c> the node gave, then at the other nodes in turn, else signing in again, following
/// &lt;see-other-host/&gt; in both — and sends a new presence. Failover time: from the SIGKILL until its watcher has seen that
/// presence, for the last user (and per user). Then the node is started again with its own command line, the peer
/// sends the users home with &lt;see-other-host/&gt;, they sign in there and send presence again: the fallback time.
/// </summary>
internal static class FailoverCommand
{
    public const string Usage =
        "parley-loadgen failover --cluster DIR --kill NODE --users N --password PW\n" +
        "    [--watchers 50] [--resume] [--deadline 120] [--user-prefix fo] [--domain localhost] [--concurrency 100]";

    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(250);

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--cluster", "--kill", "--users", "--watchers", "--password", "--deadline", "--user-prefix", "--domain", "--concurrency" },
            new HashSet<string> { "--resume" });
        var directory = arguments.Text("--cluster");
        var nodes = ClusterNode.FromDirectory(directory);
        var killName = arguments.Text("--kill");
        var killed = nodes.FirstOrDefault(node => node.Name == killName)
            ?? throw new UsageException($"--kill names no node of the cluster in {directory} (it has {string.Join(", ", nodes.Select(node => node.Name))}).");
        if (nodes.Count < 2)
        {
            throw new UsageException("A failover needs two nodes at least.");
        }
        var users = arguments.Number("--users", 1, 100_000);
        var watchers = arguments.Number("--watchers", 1, 100_000, fallback: 50);
        var password = arguments.Text("--password");
        var deadline = TimeSpan.FromSeconds(arguments.Number("--deadline", 1, 3600, fallback: 120));
        var prefix = arguments.Text("--user-prefix", "fo");
        var domain = arguments.Text("--domain", "localhost");
        var concurrency = arguments.Number("--concurrency", 1, 10_000, fallback: 100);
        var resume = arguments.Flag("--resume");

        var output = Console.Out;
        output.WriteLine($"cluster        {string.Join(", ", nodes.Select(node => $"{node.Name} {node.Clients} pid {node.Pid}"))}");
        output.WriteLine($"run            {users} users ({prefix}1..{prefix}{users}) on {killed.Name}, watched by w{prefix}1..w{prefix}{watchers}; " +
            $"{(resume ? "stream management with resumption" : "no stream management: they sign in again")}; deadline {deadline.TotalSeconds:0} s a phase");

        var target = new LoginTarget(killed.Clients, domain, directTls: false, allowTlsResume: false, new SaltedPasswordCache(ScramHash.Sha256, password));
        var run = new Run(target, nodes, prefix, password, resume, users);

        var watcherLogin = await ClientPool.LogInAllAsync(watchers, concurrency, index => $"w{prefix}{index + 1}",
            (index, token) => LoadClient.LoginAsync(target, nodes[index % nodes.Count].Clients, $"w{prefix}{index + 1}", password, sendInitialPresence: true, token),
            cancellationToken).ConfigureAwait(false);
        var watcherClients = watcherLogin.Clients;
        using var stopReconnecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reconnecting = new List<Task>();
        var userLogin = await ClientPool.LogInAllAsync(users, concurrency, index => $"{prefix}{index + 1}",
            (index, token) => run.Users[index].SignInAsync(killed.Clients, Phase.Initial, token), cancellationToken).ConfigureAwait(false);
        try
        {
            if (watcherLogin.Failed + userLogin.Failed > 0)
            {
                output.WriteLine($"logins         {watcherLogin.Failed} of {watchers} watchers failed{watcherLogin.FirstErrorSuffix}; {userLogin.Failed} of {users} users failed{userLogin.FirstErrorSuffix}");
                return 1;
            }
            var watchersOnKilled = watcherClients.Count(client => client!.Server.Equals(killed.Clients));
            var usersElsewhere = run.Users.Count(user => !user.Client!.Server.Equals(killed.Clients));
            if (watchersOnKilled + usersElsewhere > 0)
            {
                output.WriteLine($"homes          {usersElsewhere} users are not served by {killed.Name} and {watchersOnKilled} watchers are: " +
                    $"run `parley-loadgen failover-setup --home {killed.Name}` with the same --users, --watchers and --user-prefix first");
                return 1;
            }
            foreach (var watcher in watcherClients)
            {
                watcher!.StartReceiving(run.OnWatcherElement);
            }
            foreach (var user in run.Users)
            {
                user.StartReceiving();
                reconnecting.Add(user.StayConnectedAsync(run, deadline, stopReconnecting.Token));
            }
            output.WriteLine($"logins         {watchers} watchers on {string.Join(", ", watcherClients.Select(client => NameOf(client!.Server)).Distinct())}, {users} users on {killed.Name}");

            // The users' presence reached their watchers (the rosters are right) and, with --resume, each stream is
            // resumable: only then does killing the node test the failover.
            if (!await run.UntilAsync(() => run.Seen[(int)Phase.Initial].Count == users && run.Users.All(user => !resume || user.Location is not null), deadline, cancellationToken).ConfigureAwait(false))
            {
                output.WriteLine($"initial        only {run.Seen[(int)Phase.Initial].Count} of {users} users' presence reached their watchers, {run.Users.Count(user => user.Location is not null)} streams resumable, after {deadline.TotalSeconds:0} s");
                return 1;
            }

            run.Current = Phase.Failover;
            var killedAt = Stopwatch.GetTimestamp();
            var killedPid = killed.Pid;
            killed.Kill();
            output.WriteLine($"kill           SIGKILL {killed.Name} (pid {killedPid})");
            var failedOver = await run.UntilAsync(() => run.Seen[(int)Phase.Failover].Count == users, deadline, cancellationToken).ConfigureAwait(false);
            run.Report(output, Phase.Failover, killedAt, failedOver, deadline);

            run.Current = Phase.Fallback;
            var restartedAt = Stopwatch.GetTimestamp();
            killed.Restart(directory);
            output.WriteLine($"restart        {killed.Name} started again (pid {killed.Pid}, written to {Path.Combine(directory, "pids")})");
            var fellBack = await run.UntilAsync(() => run.Seen[(int)Phase.Fallback].Count == users, deadline, cancellationToken).ConfigureAwait(false);
            run.Report(output, Phase.Fallback, restartedAt, fellBack, deadline);
            var home = run.Users.Count(user => user.Client?.Server.Equals(killed.Clients) == true);
            output.WriteLine($"               {home} of {users} users are connected to {killed.Name} again");
            return failedOver && fellBack && home == users && run.Failures == 0 ? 0 : 1;
        }
        finally
        {
            run.Stopping = true;
            await stopReconnecting.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(reconnecting).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Users still reconnecting at the deadline stop here; the report counted them.
            }
            var closeFailures = await ClientPool.CloseAllAsync(watcherClients, concurrency, cancellationToken).ConfigureAwait(false)
                + await ClientPool.CloseAllAsync(run.Users.Select(user => user.Client).ToArray(), concurrency, cancellationToken).ConfigureAwait(false);
            output.WriteLine($"close          {closeFailures} sessions did not close cleanly; {run.Failures} reconnections gave up{run.FirstFailureSuffix}");
        }

        string NameOf(IPEndPoint server) => nodes.FirstOrDefault(node => node.Clients.Equals(server))?.Name ?? server.ToString();
    }

    /// <summary>What a user's presence status says: which phase it was sent in.</summary>
    private enum Phase
    {
        Initial,
        Failover,
        Fallback,
    }

    private sealed class Run(LoginTarget target, IReadOnlyList<ClusterNode> nodes, string prefix, string password, bool resume, int count)
    {
        private int _failures;
        private string? _firstFailure;

        public ClusterUser[] Users { get; } = [.. Enumerable.Range(1, count).Select(number => new ClusterUser(target, nodes, prefix, number, password, resume))];

        /// <summary>When a watcher first saw each user's presence of each phase, since the phase began.</summary>
        public LatencyRecorder[] Seen { get; } = [new(count), new(count), new(count)];

        /// <summary>When each user was connected again (resumed or bound) in each phase, since the phase began.</summary>
        public LatencyRecorder[] Back { get; } = [new(count), new(count), new(count)];

        private readonly int[][] _seenFlags = [new int[count], new int[count], new int[count]];
        private long _phaseStart = Stopwatch.GetTimestamp();
        private Phase _current;

        public Phase Current
        {
            get => _current;
            set
            {
                _phaseStart = Stopwatch.GetTimestamp();
                _current = value;
                foreach (var user in Users)
                {
                    user.Phase = value;
                }
            }
        }

        public volatile bool Stopping;

        public int Failures => Volatile.Read(ref _failures);
        public string FirstFailureSuffix => _firstFailure is null ? "" : $" (first: {_firstFailure})";

        /// <summary>A watcher's stanza: a user's presence whose status names the phase and the user's number.</summary>
        public void OnWatcherElement(Element element)
        {
            if (element.Name != "presence" || element.GetAttribute("type") is not null
                || element.GetAttribute("from") is not { } from || !from.StartsWith(prefix, StringComparison.Ordinal)
                || element.ChildText("status", Ns.Client) is not { } status)
            {
                return;
            }
            var space = status.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0 || !Enum.TryParse<Phase>(status.AsSpan(0, space), out var phase)
                || !int.TryParse(status.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1 || number > count)
            {
                return;
            }
            if (Interlocked.Exchange(ref _seenFlags[(int)phase][number - 1], 1) == 0)
            {
                Seen[(int)phase].Record(PhaseStart);
            }
        }

        private long PhaseStart => Interlocked.Read(ref _phaseStart);

        public async Task<bool> UntilAsync(Func<bool> condition, TimeSpan deadline, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            while (!condition())
            {
                if (clock.Elapsed > deadline)
                {
                    return false;
                }
                await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
            return true;
        }

        public void Report(TextWriter output, Phase phase, long start, bool complete, TimeSpan deadline)
        {
            var seen = Seen[(int)phase];
            var name = phase.ToString().ToLowerInvariant();
            output.WriteLine($"{name,-15}{seen.Count} of {count} users back with their presence seen by their watcher{(complete ? "" : $" within {deadline.TotalSeconds:0} s")}; " +
                $"the last after {Stopwatch.GetElapsedTime(start).TotalSeconds:0.000} s");
            output.WriteLine($"  seen         {seen.Summary()} from the {(phase == Phase.Failover ? "SIGKILL" : "restart")}");
            output.WriteLine($"  connected    {Back[(int)phase].Summary()} (resumed or bound)");
            output.WriteLine($"  how          {Users.Count(user => user.ResumedIn == phase)} resumed, {Users.Count(user => user.BoundIn == phase)} signed in again; " +
                $"{Users.Sum(user => user.Attempts[(int)phase])} connection attempts in all");
        }

        public void Failed(ClusterUser user, Exception error)
        {
            Interlocked.Increment(ref _failures);
            Interlocked.CompareExchange(ref _firstFailure, $"{user.Name}: {error.GetType().Name}: {error.Message}", null);
        }

        /// <summary>Records the user connected again in the current phase.</summary>
        public void Connected() => Back[(int)Current].Record(PhaseStart);
    }

    /// <summary>
    /// One user as a client of the cluster: connected to one node, counting what it handles (XEP-0198), and when its
    /// connection ends, back again as soon as it can be.
    /// </summary>
    private sealed class ClusterUser(LoginTarget target, IReadOnlyList<ClusterNode> nodes, string prefix, int number, string password, bool resume)
    {
        private static readonly byte[] EnableResumption = Encoding.UTF8.GetBytes($"<enable xmlns='{Ns.StreamManagement}' resume='true'/>");

        private readonly Lock _sendLock = new();
        private uint _handled;
        private bool _counting;
        private IPEndPoint? _sentTo;

        public string Name { get; } = $"{prefix}{number}";
        public LoadClient? Client { get; private set; }
        public volatile Phase Phase;
        public Phase? ResumedIn { get; private set; }
        public Phase? BoundIn { get; private set; }
        public int[] Attempts { get; } = new int[3];

        /// <summary>Where the node said the stream can be resumed (XEP-0198 location), once it is resumable.</summary>
        public IPEndPoint? Location { get; private set; }

        private string? _previd;

        /// <summary>Signs in starting at <paramref name="server"/> (following see-other-host), enables resumption if asked, sends presence.</summary>
        public async Task<LoadClient> SignInAsync(IPEndPoint server, Phase phase, CancellationToken cancellationToken)
        {
            Attempts[(int)phase]++;
            var client = await LoadClient.LoginAsync(target, server, Name, password, sendInitialPresence: false, cancellationToken).ConfigureAwait(false);
            _handled = 0;
            _counting = false;
            _previd = null;
            Location = null;
            if (resume)
            {
                await client.SendAsync(EnableResumption, cancellationToken).ConfigureAwait(false);
            }
            await client.SendAsync(Presence(phase), cancellationToken).ConfigureAwait(false);
            BoundIn = phase == Phase.Initial ? null : phase;
            Client = client;
            return client;
        }

        public void StartReceiving() => Client!.StartReceiving(OnElement);

        /// <summary>Waits for the connection to end, then comes back, until the run stops.</summary>
        public async Task StayConnectedAsync(Run run, TimeSpan deadline, CancellationToken cancellationToken)
        {
            while (true)
            {
                var client = Client!;
                try
                {
                    await client.Receiving.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // The connection is gone (the node died): the same as its end.
                }
                if (run.Stopping)
                {
                    return;
                }
                Client = null;
                await client.DisposeAsync().ConfigureAwait(false);
                try
                {
                    await ReconnectAsync(deadline, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    run.Failed(this, e);
                    return;
                }
                run.Connected();
                StartReceiving();
            }
        }

        /// <summary>
        /// Sent elsewhere: signs in there. Connection lost: resumes at the location, then at the other nodes in turn,
        /// else signs in at them in turn; rounds a moment apart until the deadline (the nodes may still send it to
        /// the dead node until its lease has run out).
        /// </summary>
        private async Task ReconnectAsync(TimeSpan deadline, CancellationToken cancellationToken)
        {
            var phase = Phase;
            if (Interlocked.Exchange(ref _sentTo, null) is { } sentTo)
            {
                await SignInAsync(sentTo, phase, cancellationToken).ConfigureAwait(false);
                return;
            }
            var lastNode = Location;
            var clock = Stopwatch.StartNew();
            while (true)
            {
                foreach (var server in InTurn(lastNode))
                {
                    // A node that does not hold the stream sends the client where its account is served: at most 3 hops.
                    var at = server;
                    for (var hop = 0; resume && _previd is not null && at is not null && hop <= 3; hop++)
                    {
                        (var resumed, at) = await TryResumeAsync(at, phase, cancellationToken).ConfigureAwait(false);
                        if (resumed)
                        {
                            return;
                        }
                    }
                }
                foreach (var server in InTurn(lastNode))
                {
                    try
                    {
                        await SignInAsync(server, phase, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                    catch (Exception e) when (e is SocketException or LoginException or IOException && clock.Elapsed < deadline)
                    {
                        // Dead, or it sent this client to the dead node: the next one.
                    }
                }
                await Task.Delay(RetryPause, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>The location first, then the nodes after the one the client was on, in the cluster's order.</summary>
        private IEnumerable<IPEndPoint> InTurn(IPEndPoint? location)
        {
            var at = location is null ? -1 : nodes.ToList().FindIndex(node => node.Clients.Equals(location));
            if (location is not null)
            {
                yield return location;
            }
            for (var step = 1; step <= nodes.Count; step++)
            {
                var node = nodes[(at + step + nodes.Count) % nodes.Count].Clients;
                if (!node.Equals(location))
                {
                    yield return node;
                }
            }
        }

        /// <summary>Resumed, or not and perhaps sent elsewhere (see-other-host).</summary>
        private async Task<(bool Resumed, IPEndPoint? SentTo)> TryResumeAsync(IPEndPoint server, Phase phase, CancellationToken cancellationToken)
        {
            Attempts[(int)phase]++;
            LoadClient client;
            try
            {
                client = await LoadClient.ConnectAuthenticatedAsync(target, server, Name, password, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or LoginException or IOException)
            {
                return (false, null);
            }
            try
            {
                await client.SendAsync(Encoding.UTF8.GetBytes($"<resume xmlns='{Ns.StreamManagement}' previd='{_previd}' h='{_handled}'/>"), cancellationToken).ConfigureAwait(false);
                var answer = await client.NextElementAsync(cancellationToken).ConfigureAwait(false);
                if (answer.Name != "resumed")
                {
                    await client.DisposeAsync().ConfigureAwait(false);
                    return (false, SeeOtherHostException.OtherHostIn(answer));
                }
                Location = server;
                await client.SendAsync(Presence(phase), cancellationToken).ConfigureAwait(false);
                ResumedIn = phase;
                Client = client;
                return (true, null);
            }
            catch (Exception e) when (e is SocketException or LoginException or IOException)
            {
                await client.DisposeAsync().ConfigureAwait(false);
                return (false, null);
            }
        }

        private byte[] Presence(Phase phase) => Encoding.UTF8.GetBytes($"<presence><status>{phase} {number}</status></presence>");

        /// <summary>XEP-0198 on the receiving side: counts stanzas once enabled, answers requests, remembers where to resume and where it was sent.</summary>
        private void OnElement(Element element)
        {
            if (element.Namespace == Ns.StreamManagement)
            {
                switch (element.Name)
                {
                    case "enabled":
                        _previd = element.GetAttribute("id");
                        _counting = true;
                        Location = element.GetAttribute("location") is { } location ? SeeOtherHostException.ParseAddress(location) : Client!.Server;
                        break;
                    case "r":
                        lock (_sendLock)
                        {
                            Client!.Send(Encoding.UTF8.GetBytes($"<a xmlns='{Ns.StreamManagement}' h='{_handled}'/>"));
                        }
                        break;
                }
                return;
            }
            if (element.Name is "message" or "presence" or "iq")
            {
                if (_counting)
                {
                    _handled++;
                }
                return;
            }
            if (SeeOtherHostException.OtherHostIn(element) is { } otherHost)
            {
                _sentTo = otherHost;
            }
        }
    }
}
