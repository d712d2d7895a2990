using Parley.Server.Diagnostics;
using Parley.Server.Hosting;
using Parley.Server.Modules.Ldap;
using Parley.Server.Modules.Version;
using Parley.Server.Transport;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>A certificate a node serves a domain with, and when it expires.</summary>
public sealed record NodeCertificate(string Domain, string Subject, string Issuer, DateTimeOffset Expires);

/// <summary>
/// What a node says of itself on the System status page: its version, storage (and whether it answers now), its bus
/// (null on a single node), its directory sync, its data monitor and its certificates.
/// </summary>
public sealed record NodeStatus(
    string Version,
    DateTimeOffset StartedAt,
    IReadOnlyList<string> Domains,
    string StorageProvider,
    string StorageDescription,
    bool StorageReachable,
    string? StorageProblem,
    NodeBus? Bus,
    string DirectorySync,
    bool DirectorySyncFailed,
    string Readiness,
    string? ReadinessReason,
    IReadOnlyList<NodeCertificate> Certificates);

/// <summary>A clustered node's connection to the bus: whether it is connected now, and to which server.</summary>
public sealed record NodeBus(bool Connected, string Server);

/// <summary>
/// One node as the console shows it: its status and its dashboard samples, or, when it did not answer (it is down, or
/// it is up but did not answer in time, or answered with something that is not a report), why not.
/// </summary>
public sealed record NodeReport(string Node, bool Answering, string? Problem, NodeStatus? Status, IReadOnlyList<NodeSample> Samples)
{
    public static NodeReport NotAnswering(string node, string problem) => new(node, false, problem, null, []);
}

/// <summary>
/// Every node's report, for the console's dashboard and status page and for <c>GET /api/v1/nodes</c>: on a single node
/// this node's alone (<see cref="ThisNodeReports"/>); in a cluster each live node is asked over the bus, so that every
/// node's console shows the whole cluster.
/// </summary>
public interface IClusterNodeReports
{
    /// <summary>Every node's report, this node's first and the others by name; the samples taken after <paramref name="samplesAfter"/> (Unix seconds).</summary>
    Task<IReadOnlyList<NodeReport>> ReportsAsync(long samplesAfter, CancellationToken cancellationToken);
}

/// <summary>The single node's reports: its own.</summary>
public sealed class ThisNodeReports(LocalNodeReport local) : IClusterNodeReports
{
    public async Task<IReadOnlyList<NodeReport>> ReportsAsync(long samplesAfter, CancellationToken cancellationToken) =>
        [await local.ReportAsync(samplesAfter, bus: null, cancellationToken).ConfigureAwait(false)];
}

/// <summary>This node's report, read from its parts as they are now.</summary>
public sealed class LocalNodeReport(
    ParleyOptions options, IParleyStorage storage, CertificateStore certificates, NodeSamples samples, DataMonitor monitor, DirectorySyncService? directory = null)
{
    /// <summary>
    /// How long the storage may take to answer before the report says it is not reachable: less than another node
    /// waits for this report, so that it hears why rather than nothing.
    /// </summary>
    private static readonly TimeSpan StorageTimeout = TimeSpan.FromMilliseconds(500);

    private static readonly DateTimeOffset StartedAt = new(System.Diagnostics.Process.GetCurrentProcess().StartTime);

    /// <summary>The node's name in the cluster, or the machine's name on a single node.</summary>
    public string Node => options.Cluster.DisplayName;

    public async Task<NodeReport> ReportAsync(long samplesAfter, NodeBus? bus, CancellationToken cancellationToken)
    {
        var (reachable, storageProblem) = await StorageReachableAsync(cancellationToken).ConfigureAwait(false);
        var (directorySync, directoryFailed) = DirectorySync();
        var status = new NodeStatus(
            VersionModule.ProductVersion,
            StartedAt,
            options.EffectiveDomains,
            options.Storage.Provider,
            storage.Description,
            reachable,
            storageProblem,
            bus,
            directorySync,
            directoryFailed,
            monitor.State == NodeReadiness.Ready ? "ready" : "waiting",
            monitor.Reason,
            [.. options.EffectiveDomains.Select(domain =>
            {
                var certificate = certificates.CertificateFor(domain);
                return new NodeCertificate(domain, certificate.Subject, certificate.Issuer, new DateTimeOffset(certificate.NotAfter));
            })]);
        return new NodeReport(Node, true, null, status, samples.Since(samplesAfter));
    }

    /// <summary>Whether the storage answers a lookup by key within <see cref="StorageTimeout"/>, and why not.</summary>
    private async Task<(bool Reachable, string? Problem)> StorageReachableAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StorageTimeout);
        try
        {
            await storage.Accounts.ExistsAsync("reachable@storage.invalid", timeout.Token).ConfigureAwait(false);
            return (true, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, $"no answer within {StorageTimeout.TotalMilliseconds:0} ms");
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or IOException)
        {
            return (false, e.Message);
        }
    }

    /// <summary>"not configured", "not run yet", or when the last sync ended and what it did or why it failed.</summary>
    private (string Summary, bool Failed) DirectorySync() =>
        directory is { IsConfigured: true } sync
            ? sync.LastSync is { } last ? ($"{last.At:u}: {last.Summary}", last.Summary.Failure is not null) : ("not run yet", false)
            : ("not configured", false);
}
