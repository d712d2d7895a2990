using System.Diagnostics;
using Parley.Storage;

namespace Parley.Benchmarks;

/// <summary>
/// <c>archive-writes</c>: the archive's writer under a chat load, without the network. Each chat message is archived
/// twice, as MamModule does (in its sender's archive and in its recipient's), for <c>--users</c> users talking in
/// pairs, with <c>--in-flight</c> messages waiting for their commit at any time, or <c>--rate</c> messages a second
/// started on time. A fresh SQLite database (or, with <c>--postgres</c>, the empty PostgreSQL database it names) is first
/// filled with <c>--warm</c> messages through the same path, then <c>--messages</c> are measured: messages per second,
/// this process's CPU (user and kernel) per message, and how long a message waited for both its appends (p50, p99, max).
/// With <c>--server-pid</c> (PostgreSQL's postmaster), the database server's CPU per message too: the postmaster's and
/// its children's, the backends, WAL writer and checkpointer among them. Wall-clock figures: run it on a quiet machine.
/// </summary>
internal static class ArchiveWrites
{
    private const string Domain = "localhost";

    public static async Task RunAsync(string[] args)
    {
        var users = Option(args, "--users", 1_000);
        var inFlight = Option(args, "--in-flight", 1_000);
        var rate = Option(args, "--rate", 0);
        var warm = Option(args, "--warm", 100_000);
        var messages = Option(args, "--messages", 200_000);
        var postgres = TextOption(args, "--postgres");
        var serverPid = Option(args, "--server-pid", 0);
        var directory = Path.Combine(Path.GetTempPath(), $"parley-archive-writes-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);
        try
        {
            await using var storage = postgres is null
                ? await StorageFactory.OpenAsync("sqlite", Path.Combine(directory, "parley.db"))
                : await StorageFactory.OpenAsync("postgres", postgres);
            var jids = Enumerable.Range(0, users).Select(i => $"load{i}@{Domain}").ToArray();
            await ChatAsync(storage, jids, inFlight, rate, 0, warm, new long[warm]);
            var process = Process.GetCurrentProcess();
            process.Refresh();
            var (cpuBefore, kernelBefore) = (process.TotalProcessorTime, process.PrivilegedProcessorTime);
            var serverBefore = serverPid > 0 ? ProcessTreeCpu(serverPid) : TimeSpan.Zero;
            var stopwatch = Stopwatch.StartNew();
            var waits = new long[messages];
            await ChatAsync(storage, jids, inFlight, rate, warm, messages, waits);
            var elapsed = stopwatch.Elapsed;
            process.Refresh();
            var cpu = process.TotalProcessorTime - cpuBefore;
            var kernel = process.PrivilegedProcessorTime - kernelBefore;
            if (serverPid > 0)
            {
                var server = ProcessTreeCpu(serverPid) - serverBefore;
                Console.WriteLine($"database server: {server.TotalMicroseconds / messages:N1} µs CPU per message");
            }
            Console.WriteLine(
                $"archive-writes: {users:N0} users, {(rate > 0 ? $"{rate:N0} offered/s" : $"{inFlight:N0} in flight")}, {warm:N0} warm-up + {messages:N0} messages: " +
                $"{messages / elapsed.TotalSeconds:N0} messages/s, {cpu.TotalMicroseconds / messages:N1} µs CPU per message " +
                $"({kernel.TotalMicroseconds / messages:N1} of it in the kernel), " +
                $"{messages * 2 / elapsed.TotalSeconds:N0} rows/s; waited p50 {Percentile(waits, 0.50):N1} ms, " +
                $"p99 {Percentile(waits, 0.99):N1} ms, max {Percentile(waits, 1):N1} ms");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Messages <paramref name="first"/>.. from user 2k to 2k+1 and back, each archived in both archives: as fast as
    /// <paramref name="inFlight"/> at a time allow, or, with a <paramref name="rate"/>, each started on time whether or not
    /// the ones before it are done (as chat arrives).
    /// </summary>
    private static async Task ChatAsync(IParleyStorage storage, string[] jids, int inFlight, int rate, int first, int count, long[] waits)
    {
        if (rate > 0)
        {
            var messages = new Task[count];
            var start = Stopwatch.GetTimestamp();
            for (var k = 0; k < count; k++)
            {
                while (Stopwatch.GetTimestamp() < start + k * Stopwatch.Frequency / rate)
                {
                    await Task.Delay(1);
                }
                messages[k] = MessageAsync(storage, jids, first + k, waits, k);
            }
            await Task.WhenAll(messages);
            return;
        }

        var next = first - 1;
        var end = first + count;
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < end)
            {
                await MessageAsync(storage, jids, i, waits, i - first);
            }
        }));
    }

    private static async Task MessageAsync(IParleyStorage storage, string[] jids, int i, long[] waits, int slot)
    {
        var pair = i % (jids.Length / 2) * 2;
        var (from, to) = i / (jids.Length / 2) % 2 == 0 ? (jids[pair], jids[pair + 1]) : (jids[pair + 1], jids[pair]);
        var xml = $"<message xmlns='jabber:client' from='{from}/loadgen' to='{to}/loadgen' type='chat' id='m{i}'>" +
            $"<body>{ArchiveBenchmarks.Body(i, i)}</body></message>";
        var stamp = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(
            storage.Archive.AppendAsync(from, to + "/loadgen", stamp, xml),
            storage.Archive.AppendAsync(to, from + "/loadgen", stamp, xml));
        waits[slot] = Stopwatch.GetTimestamp() - started;
    }

    private static double Percentile(long[] waits, double fraction)
    {
        var sorted = waits.Order().ToArray();
        var at = Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length));
        return sorted[at] * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>User and kernel CPU of a process and of its children, grandchildren and so on, from /proc.</summary>
    private static TimeSpan ProcessTreeCpu(int pid)
    {
        var ticks = 0L;
        var pending = new Stack<int>([pid]);
        while (pending.TryPop(out var next))
        {
            try
            {
                // Fields 14 and 15 (utime, stime) follow the command, which is in parentheses and may hold spaces.
                var stat = File.ReadAllText($"/proc/{next}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11]) + long.Parse(fields[12]);
                foreach (var task in Directory.GetDirectories($"/proc/{next}/task"))
                {
                    foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        pending.Push(int.Parse(child));
                    }
                }
            }
            catch (IOException)
            {
                // The process ended between the listing and the read: its CPU is gone with it.
            }
        }

        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    private static string? TextOption(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    internal static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1]) : fallback;
    }
}
