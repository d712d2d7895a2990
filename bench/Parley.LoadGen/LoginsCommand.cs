using System.Diagnostics;
using System.Net;
using Parley.Protocol.Sasl;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen logins</c>: opens N authenticated sessions against a running node, holds them idle, and reports
/// logins per second, the node's CPU per login and its resident memory per idle session; then closes them all.
/// </summary>
internal static class LoginsCommand
{
    public const string Usage =
        "parley-loadgen logins --host 127.0.0.1 --port P --users N --password PW --node-pid PID\n" +
        "    [--user-prefix load] [--domain localhost] [--concurrency 100] [--warmup 100] [--direct-tls] [--tls-resume]\n" +
        "    [--node-gc-file FILE] [--hold SECONDS] [--plain]  (--plain: SASL PLAIN, as with a directory; \"{n}\" in PW is the user's number)";

    private static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--host", "--port", "--users", "--user-prefix", "--password", "--domain", "--concurrency", "--warmup", "--node-pid", "--node-gc-file", "--hold" },
            new HashSet<string> { "--direct-tls", "--tls-resume", "--plain" });
        var server = new IPEndPoint(ClientPool.LoopbackAddress(arguments.Text("--host")), arguments.Number("--port", 1, 65535));
        var users = arguments.Number("--users", 1, 1_000_000);
        var prefix = arguments.Text("--user-prefix", "load");
        var password = arguments.Text("--password");
        var domain = arguments.Text("--domain", "localhost");
        var concurrency = arguments.Number("--concurrency", 1, 10_000, fallback: 100);
        var warmup = arguments.Number("--warmup", 0, users, fallback: Math.Min(100, users));
        var node = new NodeProcess(arguments.Number("--node-pid", 1, int.MaxValue));
        var gcFile = arguments.Text("--node-gc-file", "");
        var directTls = arguments.Flag("--direct-tls");
        var hold = TimeSpan.FromSeconds(arguments.Number("--hold", 0, 3600, fallback: 0));

        var plain = arguments.Flag("--plain");
        if (!plain && password.Contains("{n}", StringComparison.Ordinal))
        {
            throw new UsageException("A password per user (\"{n}\" in --password) needs --plain: SCRAM's salted password is derived once for all.");
        }
        var target = new LoginTarget(server, domain, directTls, arguments.Flag("--tls-resume"), new SaltedPasswordCache(ScramHash.Sha256, password), plain);
        var output = Console.Out;
        output.WriteLine($"node pid {node.Pid}, {server} {(directTls ? "direct TLS" : "STARTTLS")}, TLS 1.3, {(plain ? "PLAIN" : "SCRAM-SHA-256")}, {users} users, concurrency {concurrency}");

        var initialKiB = node.ResidentKiB();
        if (warmup > 0)
        {
            // JIT, thread pool growth and first-use pools are paid once per process, not per session: keep them out of the per-session figure.
            var warm = await ClientPool.LogInAllAsync(target, prefix, password, 1, warmup, concurrency, sendInitialPresence: true, cancellationToken).ConfigureAwait(false);
            await ClientPool.CloseAllAsync(warm.Clients, concurrency, cancellationToken).ConfigureAwait(false);
            output.WriteLine($"warm-up        {warmup} logins, closed again; {warm.Failed} failed{warm.FirstErrorSuffix}");
        }

        var before = await node.SettledResidentKiBAsync(SettleDeadline, cancellationToken).ConfigureAwait(false);
        var gcBefore = ReadGcFile(gcFile);
        var generatorCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var nodeCpuBefore = node.CpuTime();
        var clock = Stopwatch.StartNew();
        var run = await ClientPool.LogInAllAsync(target, prefix, password, 1, users, concurrency, sendInitialPresence: true, cancellationToken).ConfigureAwait(false);
        var wall = clock.Elapsed;
        var nodeCpu = node.CpuTime() - nodeCpuBefore;
        var generatorCpu = Process.GetCurrentProcess().TotalProcessorTime - generatorCpuBefore;
        var loggedIn = users - run.Failed;

        output.WriteLine($"logins         {loggedIn} of {users} in {wall.TotalSeconds:0.00} s = {loggedIn / wall.TotalSeconds:0} logins/s; {run.Failed} failed{run.FirstErrorSuffix}");
        output.WriteLine($"login latency  {run.Latencies.Summary()} (connect to the echoed presence, {concurrency} in flight)");
        output.WriteLine($"node CPU       {nodeCpu.TotalSeconds:0.00} s = {nodeCpu.TotalMilliseconds / Math.Max(loggedIn, 1):0.000} ms per login");
        output.WriteLine($"generator CPU  {generatorCpu.TotalSeconds:0.00} s = {generatorCpu.TotalMilliseconds / Math.Max(loggedIn, 1):0.000} ms per login");

        var after = await node.SettledResidentKiBAsync(SettleDeadline, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"node RSS       {initialKiB / 1024.0:0.0} MiB at start, {before.KiB / 1024.0:0.0} MiB before the run{Unsettled(before)}, {after.KiB / 1024.0:0.0} MiB with {loggedIn} idle sessions{Unsettled(after)}");
        if (loggedIn > 0)
        {
            output.WriteLine($"per session    {(after.KiB - before.KiB) / (double)loggedIn:0.00} KiB resident");
        }
        var gcAfter = ReadGcFile(gcFile);
        if (gcBefore is not null && gcAfter is not null)
        {
            output.WriteLine($"node GC before {gcBefore}");
            output.WriteLine($"node GC idle   {gcAfter}");
            output.WriteLine($"node GC live   {await ReadGcFileAfterFullCollectionAsync(gcFile, cancellationToken).ConfigureAwait(false)}");
        }
        else
        {
            output.WriteLine("node GC        not measured (start the node with DOTNET_STARTUP_HOOKS=<parley-loadgen.dll> and PARLEY_LOADGEN_GC_FILE, pass --node-gc-file)");
        }

        if (hold > TimeSpan.Zero)
        {
            // Time to look at the idle node from outside (smaps, perf, dumps) before the sessions go.
            output.WriteLine($"holding        {loggedIn} idle sessions for {hold.TotalSeconds:0} s");
            await Task.Delay(hold, cancellationToken).ConfigureAwait(false);
        }

        clock.Restart();
        var closeFailures = await ClientPool.CloseAllAsync(run.Clients, concurrency, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"close          {loggedIn - closeFailures} closed cleanly in {clock.Elapsed.TotalSeconds:0.00} s; {closeFailures} did not close cleanly");
        return run.Failed == 0 && closeFailures == 0 ? 0 : 1;
    }

    private static string Unsettled(SettledResidentSize size) =>
        size.Settled ? "" : $" (still moving after {size.After.TotalSeconds:0} s)";

    /// <summary>Asks the node's startup hook for a full GC (after the RSS figures, which it would disturb) and reads what survived.</summary>
    private static async Task<string> ReadGcFileAfterFullCollectionAsync(string path, CancellationToken cancellationToken)
    {
        var request = path + ".collect";
        await File.WriteAllTextAsync(request, "", cancellationToken).ConfigureAwait(false);
        var deadline = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (File.Exists(request))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                File.Delete(request);
                return "not measured (the node's startup hook did not answer within 10 s)";
            }
            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        return ReadGcFile(path) ?? "not measured";
    }

    private static string? ReadGcFile(string path) =>
        path.Length > 0 && File.Exists(path) ? File.ReadAllText(path) : null;
}
