using Microsoft.AspNetCore.Mvc;
using Parley.Server.Administration;
using Parley.Server.Diagnostics;

namespace Parley.Admin.Pages;

/// <summary>
/// The dashboard: every node's figures now (this node's alone when it is not clustered), and, for its script, every
/// node's samples of the last hour as JSON.
/// </summary>
public sealed class DashboardModel(IClusterNodeReports reports) : ConsolePage
{
    // The page shows each node's latest figures; the script fetches the hour behind them.
    private static readonly TimeSpan Recent = NodeSamples.Interval * 5;

    public static int IntervalSeconds => (int)NodeSamples.Interval.TotalSeconds;

    public IReadOnlyList<NodeReport> Nodes { get; private set; } = [];

    /// <summary>The whole cluster's figures: the sums of the latest of each node that answered.</summary>
    public (int Sessions, double LoginsPerSecond, double MessagesPerSecond, double PresencePerSecond) Total { get; private set; }

    public static NodeSample Latest(NodeReport node) => node.Samples is { Count: > 0 } samples ? samples[^1] : default;

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Nodes = await reports.ReportsAsync(DateTimeOffset.UtcNow.Add(-Recent).ToUnixTimeSeconds(), cancellationToken);
        var latest = Nodes.Where(n => n.Answering).Select(Latest).ToArray();
        Total = (latest.Sum(s => s.Sessions), latest.Sum(s => s.LoginsPerSecond), latest.Sum(s => s.MessagesPerSecond), latest.Sum(s => s.PresencePerSecond));
    }

    /// <summary>Every node's report with its samples after <paramref name="after"/> (Unix seconds), which the page's script polls for.</summary>
    public async Task<JsonResult> OnGetSamplesAsync(long after, CancellationToken cancellationToken) =>
        new(await reports.ReportsAsync(Math.Max(after, 0), cancellationToken));
}
