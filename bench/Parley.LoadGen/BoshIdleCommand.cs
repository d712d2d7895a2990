using System.Diagnostics;
using Parley.Protocol.Sasl;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen bosh-idle</c>: opens N XMPP over BOSH sessions (XEP-0206) against a running node's HTTP port,
/// each keeping one long poll waiting as a browser tab does, holds them for a while, and reports the node's CPU per
/// login, its CPU while it holds them, and its resident memory per session; then ends them all.
/// </summary>
internal static class BoshIdleCommand
{
    public const string Usage =
        "parley-loadgen bosh-idle --host 127.0.0.1 --http-port P --users N --password PW --node-pid PID\n" +
        "    [--user-prefix load] [--domain localhost] [--concurrency 100] [--wait 60] [--hold 120]";

    private static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan EndDeadline = TimeSpan.FromSeconds(90);

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--host", "--http-port", "--users", "--user-prefix", "--password", "--domain", "--concurrency", "--node-pid", "--wait", "--hold" },
            new HashSet<string>());
        var host = ClientPool.LoopbackAddress(arguments.Text("--host"));
        var uri = new Uri($"http://{host}:{arguments.Number("--http-port", 1, 65535)}/http-bind");
        var users = arguments.Number("--users", 1, 100_000);
        var prefix = arguments.Text("--user-prefix", "load");
        var password = new SaltedPasswordCache(ScramHash.Sha256, arguments.Text("--password"));
        var domain = arguments.Text("--domain", "localhost");
        var concurrency = arguments.Number("--concurrency", 1, 10_000, fallback: 100);
        var node = new NodeProcess(arguments.Number("--node-pid", 1, int.MaxValue));
        var wait = arguments.Number("--wait", 1, 3600, fallback: 60);
        var hold = TimeSpan.FromSeconds(arguments.Number("--hold", 1, 3600, fallback: 120));
        var output = Console.Out;
        output.WriteLine($"node pid {node.Pid}, {uri}, SCRAM-SHA-256, {users} users, wait {wait} s, hold {hold.TotalSeconds:0} s, concurrency {concurrency}");

        // One connection per waiting request, as each browser tab has its own; none is recycled while held.
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(30), MaxConnectionsPerServer = int.MaxValue })
        {
            Timeout = TimeSpan.FromSeconds(wait + 30),
        };
        var before = await node.SettledResidentKiBAsync(SettleDeadline, cancellationToken).ConfigureAwait(false);
        var nodeCpuBefore = node.CpuTime();
        var clock = Stopwatch.StartNew();
        var login = await ClientPool.LogInAllAsync(users, concurrency, index => prefix + (index + 1),
            (index, token) => BoshLoadClient.LoginAsync(http, uri, domain, wait, prefix + (index + 1), password, token), cancellationToken).ConfigureAwait(false);
        var wall = clock.Elapsed;
        var nodeCpu = node.CpuTime() - nodeCpuBefore;
        var clients = login.Clients.OfType<BoshLoadClient>().ToArray();
        output.WriteLine($"logins         {clients.Length} of {users} in {wall.TotalSeconds:0.00} s = {clients.Length / wall.TotalSeconds:0} logins/s; {login.Failed} failed{login.FirstErrorSuffix}");
        output.WriteLine($"node CPU       {nodeCpu.TotalSeconds:0.00} s = {nodeCpu.TotalMilliseconds / Math.Max(clients.Length, 1):0.000} ms per login");

        foreach (var client in clients)
        {
            client.StartPolling();
        }
        var holdCpuBefore = node.CpuTime();
        var held = Stopwatch.StartNew();
        await Task.Delay(hold, cancellationToken).ConfigureAwait(false);
        var holdCpu = node.CpuTime() - holdCpuBefore;
        var holdWall = held.Elapsed;
        var after = node.ResidentKiB();
        var emptyPolls = clients.Sum(client => client.EmptyPolls);
        output.WriteLine($"held           {clients.Length} sessions for {holdWall.TotalSeconds:0.0} s, {emptyPolls} long polls came back empty after the wait");
        output.WriteLine($"node CPU held  {holdCpu.TotalSeconds:0.000} s = {holdCpu / holdWall:P2} of one core; " +
            $"{holdCpu.TotalMicroseconds / Math.Max(emptyPolls, 1):0} µs per empty poll");
        output.WriteLine($"node RSS       {before.KiB / 1024.0:0.0} MiB before the run, {after / 1024.0:0.0} MiB with {clients.Length} held BOSH sessions");
        if (clients.Length > 0)
        {
            output.WriteLine($"per session    {(after - before.KiB) / (double)clients.Length:0.00} KiB resident");
        }

        var endFailures = 0;
        string? firstEndError = null;
        await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (client, token) =>
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
            deadline.CancelAfter(EndDeadline);
            try
            {
                await client.TerminateAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                Interlocked.Increment(ref endFailures);
                Interlocked.CompareExchange(ref firstEndError, $"{e.GetType().Name}: {e.Message}", null);
            }
        }).ConfigureAwait(false);
        output.WriteLine($"end            {clients.Length - endFailures} ended cleanly; {endFailures} did not{(firstEndError is null ? "" : $" (first: {firstEndError})")}");
        return login.Failed == 0 && endFailures == 0 ? 0 : 1;
    }
}
