using Parley.Protocol;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>One node of the cluster as administrators see it (<c>parley cluster status</c>).</summary>
public sealed record ClusterNodeInfo(
    string Name, string State, string? Group, string? Mode, bool TakesUsers, string Address, double? LeaseAgeSeconds,
    int UsersAssigned, int UsersServed, int Sessions, string? Reason);

/// <summary>A presence redundancy group: its mode and its one or two nodes.</summary>
public sealed record ClusterGroupInfo(string Name, string Mode, IReadOnlyList<string> Nodes);

/// <summary>The cluster's nodes and groups.</summary>
public sealed record ClusterOverview(IReadOnlyList<ClusterNodeInfo> Nodes, IReadOnlyList<ClusterGroupInfo> Groups);

/// <summary>A change to the cluster's topology was refused; the message says why.</summary>
public sealed class ClusterChangeRefusedException(string message) : Exception(message);

/// <summary>
/// The cluster's topology, read and changed as <c>parley cluster</c> does; Parley.Cluster provides it on a clustered node
/// (this project cannot reference that one). Refusals are <see cref="ClusterChangeRefusedException"/>s.
/// </summary>
public interface IClusterTopologyAccess
{
    Task<ClusterOverview> StatusAsync(CancellationToken cancellationToken);

    Task AssignAsync(string account, string node, CancellationToken cancellationToken);

    /// <returns>How many accounts got another home node.</returns>
    Task<int> BalanceAsync(CancellationToken cancellationToken);

    Task SetFailedOverAsync(string node, bool failedOver, CancellationToken cancellationToken);

    /// <summary>A presence redundancy group of one or two nodes in no other group; <paramref name="mode"/> is balanced or active-standby.</summary>
    Task CreateGroupAsync(string name, IReadOnlyList<string> nodes, string mode, CancellationToken cancellationToken);
}

/// <summary>
/// The cluster page's and the REST API's actions — status, assign, balance, failover, fallback, group create — on the same topology
/// the CLI changes, each change audited. On a node that is not clustered there is no topology: status is null.
/// </summary>
public sealed class ClusterAdministration(IParleyStorage storage, IClusterTopologyAccess? topology, AdminActor? actor = null)
{
    public bool Clustered => topology is not null;

    public ClusterAdministration By(AdminActor by) => new(storage, topology, by);

    public async Task<ClusterOverview?> StatusAsync(CancellationToken cancellationToken = default) =>
        topology is null ? null : await topology.StatusAsync(cancellationToken).ConfigureAwait(false);

    public Task<AdministrationResult> AssignAsync(Jid account, string node, CancellationToken cancellationToken = default) =>
        ChangeAsync(t => t.AssignAsync(account.Bare.ToString(), node, cancellationToken), AuditActions.ClusterAssign, account.Bare.ToString(), $"home node {node}", cancellationToken);

    /// <returns>The outcome, and how many accounts got another home node.</returns>
    public async Task<(AdministrationResult Result, int Moved)> BalanceAsync(CancellationToken cancellationToken = default)
    {
        var moved = 0;
        var result = await ChangeAsync(async t => moved = await t.BalanceAsync(cancellationToken).ConfigureAwait(false),
            AuditActions.ClusterBalance, "cluster", "", cancellationToken).ConfigureAwait(false);
        return (result, moved);
    }

    public Task<AdministrationResult> SetFailedOverAsync(string node, bool failedOver, CancellationToken cancellationToken = default) =>
        ChangeAsync(t => t.SetFailedOverAsync(node, failedOver, cancellationToken), failedOver ? AuditActions.ClusterFailover : AuditActions.ClusterFallback,
            node, "", cancellationToken);

    public Task<AdministrationResult> CreateGroupAsync(string name, IReadOnlyList<string> nodes, string mode, CancellationToken cancellationToken = default) =>
        ChangeAsync(t => t.CreateGroupAsync(name, nodes, mode, cancellationToken), AuditActions.ClusterGroupCreate, name,
            $"{mode}: {string.Join(", ", nodes)}", cancellationToken);

    private async Task<AdministrationResult> ChangeAsync(Func<IClusterTopologyAccess, Task> change, string action, string subject, string details, CancellationToken cancellationToken)
    {
        if (topology is null)
        {
            return AdministrationResult.Refused("This node is not part of a cluster.");
        }
        try
        {
            await change(topology).ConfigureAwait(false);
        }
        catch (ClusterChangeRefusedException e)
        {
            return AdministrationResult.Refused(e.Message);
        }
        await AdminActor.RecordAsync(storage, actor, action, subject, details, cancellationToken).ConfigureAwait(false);
        return AdministrationResult.Done;
    }
}
