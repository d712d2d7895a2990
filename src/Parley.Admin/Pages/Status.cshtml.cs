using Parley.Server.Administration;

namespace Parley.Admin.Pages;

/// <summary>
/// What every node runs, as each says of itself (<see cref="IClusterNodeReports"/>): version, uptime, storage, bus,
/// directory sync, data monitor and the certificates it serves with their expiry; and every node's data monitor state
/// as the cluster's database records it, which shows a node that cannot answer too.
/// </summary>
public sealed class StatusModel(IClusterNodeReports reports, ClusterAdministration cluster) : ConsolePage
{
    /// <summary>A node's data monitor: "ready", or "waiting"/"down" with the reason its cluster state gives.</summary>
    public sealed record ReadinessRow(string Node, string State, string? Reason);

    /// <summary>Certificates that expire within this are shown as to be renewed.</summary>
    public static readonly TimeSpan RenewWithin = TimeSpan.FromDays(30);

    public IReadOnlyList<string> Domains => Options.EffectiveDomains;

    /// <summary>Every node's report, this node's first.</summary>
    public IReadOnlyList<NodeReport> Nodes { get; private set; } = [];

    /// <summary>Every node of the cluster, or this node alone, which serves once it runs.</summary>
    public IReadOnlyList<ReadinessRow> Readiness { get; private set; } = [];

    public static string Uptime(DateTimeOffset startedAt) => (DateTimeOffset.Now - startedAt).ToString(@"d\d\ hh\h\ mm\m");

    public static bool ExpiresSoon(NodeCertificate certificate) => certificate.Expires - DateTimeOffset.Now < RenewWithin;

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var asked = reports.ReportsAsync(long.MaxValue, cancellationToken);
        Readiness = await cluster.StatusAsync(cancellationToken) is { } status
            ? [.. status.Nodes.Select(n => new ReadinessRow(n.Name, n.State == "up" ? "ready" : n.State, n.Reason))]
            : [new ReadinessRow(Options.Cluster.DisplayName, "ready", null)];
        Nodes = await asked;
    }
}
