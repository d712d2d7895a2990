using System.Diagnostics;

namespace Parley.LoadGen;

/// <summary>Latencies recorded from many threads into a preallocated array, summarized exactly (sorted) at the end.</summary>
internal sealed class LatencyRecorder(int capacity)
{
    private readonly long[] _ticks = new long[capacity];
    private int _count;

    public int Count => Math.Min(Volatile.Read(ref _count), _ticks.Length);

    /// <summary>Records now − <paramref name="plannedAt"/> (Stopwatch timestamps); beyond the capacity, nothing.</summary>
    public void Record(long plannedAt)
    {
        var slot = Interlocked.Increment(ref _count) - 1;
        if (slot < _ticks.Length)
        {
            _ticks[slot] = Stopwatch.GetTimestamp() - plannedAt;
        }
    }

    /// <summary>"p50 … p90 … p99 … max …" in milliseconds; call once recording has stopped.</summary>
    public string Summary()
    {
        var count = Count;
        if (count == 0)
        {
            return "no samples";
        }
        Array.Sort(_ticks, 0, count);
        return $"p50 {Ms(At(0.50))} ms, p90 {Ms(At(0.90))} ms, p99 {Ms(At(0.99))} ms, p99.9 {Ms(At(0.999))} ms, max {Ms(_ticks[count - 1])} ms ({count} samples)";

        long At(double quantile) => _ticks[Math.Min(count - 1, (int)Math.Ceiling(quantile * count) - 1)];
        static string Ms(long ticks) => (ticks * 1000.0 / Stopwatch.Frequency).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
    }
}
