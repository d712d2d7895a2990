using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Parley.LoadGen;

/// <summary>The node under test, seen from outside through /proc: its CPU time and resident memory.</summary>
internal sealed partial class NodeProcess
{
    private const int ScClkTck = 2; // sysconf(_SC_CLK_TCK) on Linux

    private static readonly long s_clockTicksPerSecond = sysconf(ScClkTck);

    public static long ClockTicksPerSecond => s_clockTicksPerSecond;

    private readonly string _statPath;
    private readonly string _statusPath;

    public NodeProcess(int pid)
    {
        _statPath = $"/proc/{pid}/stat";
        _statusPath = $"/proc/{pid}/status";
        if (!File.Exists(_statPath))
        {
            throw new UsageException($"There is no process {pid} (no {_statPath}).");
        }
        Pid = pid;
    }

    public int Pid { get; }

    /// <summary>The processes of <c>--node-pid PID[,PID...]</c> (a cluster's nodes, whose CPU is summed).</summary>
    public static NodeProcess[] ParseList(string list) =>
        [.. list.Split(',').Select(pid => int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0
            ? new NodeProcess(number)
            : throw new UsageException($"--node-pid must be process ids separated by commas, not '{list}'."))];

    /// <summary>The CPU time of all of <paramref name="nodes"/>.</summary>
    public static TimeSpan CpuTimeOf(IEnumerable<NodeProcess> nodes) => nodes.Aggregate(TimeSpan.Zero, (sum, node) => sum + node.CpuTime());

    /// <summary>User plus system CPU time the process has used so far (utime + stime, proc(5)).</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText(_statPath);
        // The command name (field 2) may contain spaces and parentheses; the fields after its last ')' do not.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((double)ticks / s_clockTicksPerSecond);
    }

    /// <summary>VmRSS in KiB.</summary>
    public long ResidentKiB()
    {
        foreach (var line in File.ReadLines(_statusPath))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"{_statusPath} has no VmRSS line.");
    }

    /// <summary>
    /// Polls VmRSS until it has moved by less than 1% over the last 3 s (the GC and the allocator settle a little
    /// after the load stops), or until <paramref name="deadline"/>.
    /// </summary>
    public async Task<SettledResidentSize> SettledResidentKiBAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        var window = TimeSpan.FromSeconds(3);
        var samples = new List<(TimeSpan At, long KiB)>();
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (true)
        {
            var now = clock.Elapsed;
            var current = ResidentKiB();
            samples.Add((now, current));
            samples.RemoveAll(sample => now - sample.At > window);
            var windowFull = now >= window;
            long min = long.MaxValue, max = long.MinValue;
            foreach (var (_, kib) in samples)
            {
                min = Math.Min(min, kib);
                max = Math.Max(max, kib);
            }
            if (windowFull && max - min < current / 100)
            {
                return new SettledResidentSize(current, now, Settled: true);
            }
            if (now >= deadline)
            {
                return new SettledResidentSize(current, now, Settled: false);
            }
            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    [DllImport("libc")]
    private static extern long sysconf(int name);
}

internal readonly record struct SettledResidentSize(long KiB, TimeSpan After, bool Settled);
