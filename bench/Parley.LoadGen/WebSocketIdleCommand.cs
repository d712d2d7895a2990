using System.Diagnostics;
using Parley.Protocol.Sasl;

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
        var login = await ClientPool.LogInAllAsync(users, concurrency, index => prefix + (index + 1),
            (index, token) => WebSocketLoadClient.LoginAsync(uri, domain, prefix + (index + 1), password, token), cancellationToken).ConfigureAwait(false);
        var wall = clock.Elapsed;
        var nodeCpu = node.CpuTime() - nodeCpuBefore;
        var loggedIn = users - login.Failed;
        output.WriteLine($"logins         {loggedIn} of {users} in {wall.TotalSeconds:0.00} s = {loggedIn / wall.TotalSeconds:0} logins/s; {login.Failed} failed{login.FirstErrorSuffix}");
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

        var closeFailures = await ClientPool.CloseAllAsync(login.Clients, concurrency, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"close          {loggedIn - closeFailures} closed cleanly; {closeFailures} did not");
        return login.Failed == 0 && closeFailures == 0 ? 0 : 1;
    }
}
