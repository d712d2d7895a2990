using System.Diagnostics.Metrics;
using Parley.Cluster.Bus;
using Parley.Cluster.Membership;

namespace Parley.Cluster;

/// <summary>
/// The cluster's instruments, on the meter <see cref="MeterName"/> that /metrics and OTLP export with the node's own
/// (<see cref="Parley.Server.Diagnostics.ParleyMetrics.MeterNames"/>): how long ago this node renewed its lease, the
/// nodes up and down as it sees them, and its bus traffic. All are read when collected; nothing is counted twice.
/// </summary>
public static class ClusterMetrics
{
    public const string MeterName = "Parley.Cluster";

    public static void Register(IMeterFactory meters, ClusterView view, ClusterBus bus)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("parley.cluster.lease.age", () => (Environment.TickCount64 - view.LastRenewed) / 1000.0, "s",
            "Time since this node last renewed its lease in the database; past Cluster:LeaseMilliseconds the others see it down.");
        meter.CreateObservableGauge("parley.cluster.nodes", () => NodesByState(view), "{node}",
            "The cluster's nodes as this node sees them, by state (up, down).");
        meter.CreateObservableCounter("parley.cluster.bus.messages", () => Traffic(bus), "{message}",
            "Messages this node sent to other nodes' subjects and received on its own (a batch of stanzas counts once), by direction.");
    }

    private static Measurement<int>[] NodesByState(ClusterView view)
    {
        var up = 0;
        var down = 0;
        foreach (var node in view.Nodes)
        {
            if (node.Up)
            {
                up++;
            }
            else
            {
                down++;
            }
        }
        return [new(up, new KeyValuePair<string, object?>("state", "up")), new(down, new KeyValuePair<string, object?>("state", "down"))];
    }

    private static Measurement<long>[] Traffic(ClusterBus bus) =>
        [new(bus.Sent, new KeyValuePair<string, object?>("direction", "sent")), new(bus.Received, new KeyValuePair<string, object?>("direction", "received"))];
}
