using System.Diagnostics;

namespace Parley.LoadGen;

/// <summary>
/// The open-loop send shared by the chat and room runs: a warm-up that is not measured, then the measured
/// messages, with the CPU of the node (of all nodes, for a cluster), the generator and the whole machine counted from
/// the first measured send.
/// </summary>
internal sealed class MeasuredRun(IReadOnlyList<NodeProcess> nodes)
{
    private readonly Process _generator = Process.GetCurrentProcess();
    private TimeSpan _nodeAtStart, _generatorAtStart, _machineAtStart;

    /// <summary>When the first measured message was planned (Stopwatch ticks).</summary>
    public long MeasuredStart { get; private set; }

    /// <summary>The largest delay of a send behind its planned time (Stopwatch ticks).</summary>
    public long MaxLag { get; private set; }

    public async Task SendAsync(int rate, int warmCount, int measuredCount, Action<int, long> send, LatencyRecorder sendLag, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 10;
        MeasuredStart = OpenLoopSchedule.PlannedAt(start, warmCount, rate);
        MaxLag = await OpenLoopSchedule.RunAsync(start, warmCount + measuredCount, rate, (index, planned) =>
        {
            if (index == warmCount)
            {
                _nodeAtStart = NodesCpuTime();
                _generatorAtStart = _generator.TotalProcessorTime;
                _machineAtStart = MachineCpu.BusyTime();
            }
            send(index, planned);
            if (index >= warmCount)
            {
                sendLag.Record(planned);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>CPU used since the first measured send: by the node, by this generator, by the machine in all.</summary>
    public (TimeSpan Node, TimeSpan Generator, TimeSpan Machine) CpuUsed()
    {
        _generator.Refresh();
        return (NodesCpuTime() - _nodeAtStart, _generator.TotalProcessorTime - _generatorAtStart, MachineCpu.BusyTime() - _machineAtStart);
    }

    private TimeSpan NodesCpuTime() => nodes.Aggregate(TimeSpan.Zero, (sum, node) => sum + node.CpuTime());
}
