using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Parley.LoadGen;

/// <summary>
/// Sends items 0..count-1 at fixed planned times, start + i / rate, from one dedicated thread, whether or not
/// anything came back (open loop). When the thread falls behind (a slow write, the CPU taken by the node) it sends
/// every overdue item at once instead of shifting the schedule, and receivers measure latency from the planned
/// time, not from the actual send: a stall counts against every item it delayed. That is how coordinated omission
/// is avoided. The thread sleeps in steps of about 100 µs (usleep; Task.Delay would quantize to 1 ms and more).
/// </summary>
internal static class OpenLoopSchedule
{
    private const uint SleepMicroseconds = 100;

    /// <summary>Planned Stopwatch timestamp of item <paramref name="index"/>.</summary>
    public static long PlannedAt(long start, int index, double ratePerSecond) =>
        start + (long)(index * (Stopwatch.Frequency / ratePerSecond));

    /// <summary>
    /// Runs the schedule on a new thread; <paramref name="send"/>(index, planned timestamp) must not block for long.
    /// Returns the largest lag of an actual send behind its planned time, in Stopwatch ticks.
    /// </summary>
    public static Task<long> RunAsync(long start, int count, double ratePerSecond, Action<int, long> send, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(Run(start, count, ratePerSecond, send, cancellationToken));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = "open-loop schedule" };
        thread.Start();
        return done.Task;
    }

    private static long Run(long start, int count, double ratePerSecond, Action<int, long> send, CancellationToken cancellationToken)
    {
        long maxLag = 0;
        var index = 0;
        while (index < count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = Stopwatch.GetTimestamp();
            var planned = PlannedAt(start, index, ratePerSecond);
            if (planned > now)
            {
                _ = usleep(SleepMicroseconds);
                continue;
            }
            while (index < count && (planned = PlannedAt(start, index, ratePerSecond)) <= now)
            {
                send(index, planned);
                maxLag = Math.Max(maxLag, Stopwatch.GetTimestamp() - planned);
                index++;
            }
        }
        return maxLag;
    }

    [DllImport("libc")]
    private static extern int usleep(uint microseconds);
}
