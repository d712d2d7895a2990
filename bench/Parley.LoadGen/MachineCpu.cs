using System.Globalization;

namespace Parley.LoadGen;

/// <summary>
/// The whole machine's busy CPU time (/proc/stat, all states but idle and iowait), so that a run can say how much
/// of the cores went to processes other than the node and the generator: on a shared machine that decides latency.
/// </summary>
internal static class MachineCpu
{
    private static readonly long s_clockTicksPerSecond = NodeProcess.ClockTicksPerSecond;

    public static TimeSpan BusyTime()
    {
        using var stat = new StreamReader("/proc/stat");
        // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"; guest time is already in user.
        var fields = stat.ReadLine()!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long busy = 0;
        for (var i = 1; i <= 8; i++)
        {
            if (i is not (4 or 5))
            {
                busy += long.Parse(fields[i], CultureInfo.InvariantCulture);
            }
        }
        return TimeSpan.FromSeconds((double)busy / s_clockTicksPerSecond);
    }

    /// <summary>"others used N% of the C cores" for a window in which the node and the generator used the given CPU.</summary>
    public static string OthersShare(TimeSpan machineBusy, TimeSpan nodeCpu, TimeSpan generatorCpu, TimeSpan window)
    {
        var others = machineBusy - nodeCpu - generatorCpu;
        return string.Create(CultureInfo.InvariantCulture,
            $"machine busy {machineBusy / (window * Environment.ProcessorCount):P0} of {Environment.ProcessorCount} cores; other processes used {Math.Max(0, others / window):0.00} cores");
    }
}
