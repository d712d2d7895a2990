using NATS.Client.Core;
using Parley.Server.Hosting;

namespace Parley.Cluster.Bus;

/// <summary>A node's first connection to the bus, which it waits for as long as it takes.</summary>
public static class BusConnect
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Connects; while the bus cannot be reached (nats-server still starting, or down) the node waits with the reason
    /// (<see cref="DataMonitor"/>) and tries again with a growing delay: a node without its bus never takes clients.
    /// </summary>
    public static async Task WhenReachableAsync(NatsConnection nats, string url, DataMonitor monitor, CancellationToken cancellationToken)
    {
        var delay = FirstDelay;
        while (true)
        {
            try
            {
                await nats.ConnectAsync().ConfigureAwait(false);
                return;
            }
            catch (NatsException e)
            {
                monitor.Waiting($"the cluster bus at {url} cannot be reached: {e.Message}");
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }
}
