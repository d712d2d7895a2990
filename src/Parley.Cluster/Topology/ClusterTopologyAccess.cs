using Npgsql;
using Parley.Server.Administration;

namespace Parley.Cluster.Topology;

/// <summary>
/// <see cref="ClusterTopology"/> — what <c>parley cluster</c> calls — for the console and the REST API of a clustered
/// node and for the CLI, through the application service <see cref="ClusterAdministration"/>, which audits.
/// </summary>
public sealed class ClusterTopologyAccess(NpgsqlDataSource database) : IClusterTopologyAccess
{
    private readonly ClusterTopology _topology = new(database);

    public async Task<ClusterOverview> StatusAsync(CancellationToken cancellationToken)
    {
        var status = await _topology.StatusAsync(cancellationToken).ConfigureAwait(false);
        return new ClusterOverview(
            [.. status.Nodes.Select(n => new ClusterNodeInfo(n.Name, n.State, n.Group, n.Mode, n.TakesUsers, n.Address, n.LeaseAgeSeconds,
                n.UsersAssigned, n.UsersServed, n.Sessions, n.Reason))],
            [.. status.Groups.Select(g => new ClusterGroupInfo(g.Name, g.Mode, g.Nodes))]);
    }

    public Task AssignAsync(string account, string node, CancellationToken cancellationToken) =>
        RefusedAsAdministrationAsync(() => _topology.AssignAsync(account, node, cancellationToken));

    public async Task<int> BalanceAsync(CancellationToken cancellationToken)
    {
        var moved = 0;
        await RefusedAsAdministrationAsync(async () => moved = await _topology.BalanceAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        return moved;
    }

    public Task SetFailedOverAsync(string node, bool failedOver, CancellationToken cancellationToken) =>
        RefusedAsAdministrationAsync(() => _topology.SetFailedOverAsync(node, failedOver, cancellationToken));

    public Task CreateGroupAsync(string name, IReadOnlyList<string> nodes, string mode, CancellationToken cancellationToken) =>
        RefusedAsAdministrationAsync(() => _topology.CreateGroupAsync(name, nodes, mode, cancellationToken));

    private static async Task RefusedAsAdministrationAsync(Func<Task> change)
    {
        try
        {
            await change().ConfigureAwait(false);
        }
        catch (ClusterTopologyException e)
        {
            throw new ClusterChangeRefusedException(e.Message);
        }
    }
}
