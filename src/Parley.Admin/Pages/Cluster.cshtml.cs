using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Admin.Pages;

/// <summary>
/// The cluster: every node with its state and why, the groups, and the changes <c>parley cluster</c> makes — assign,
/// balance, failover, fallback, group create — through <see cref="ClusterAdministration"/>, audited as the administrator.
/// </summary>
public sealed class ClusterModel(ClusterAdministration cluster) : ConsolePage
{
    /// <summary>Null when this node is not part of a cluster.</summary>
    public ClusterOverview? Status { get; private set; }

    public string Domain => Options.EffectiveDomains[0];

    public Task OnGetAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    public async Task OnPostBalanceAsync(CancellationToken cancellationToken)
    {
        var (result, moved) = await cluster.By(Administrator).BalanceAsync(cancellationToken);
        Report(result, $"{moved} accounts moved to another home node.", "");
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostAssignAsync(string? jid, string? node, CancellationToken cancellationToken)
    {
        if (!Jid.TryParse(jid?.Trim(), out var account) || account.Local is null || !account.IsBare)
        {
            Problem = $"'{jid}' is not an account's JID such as alice@{Domain}.";
        }
        else
        {
            Report(await cluster.By(Administrator).AssignAsync(account, node ?? "", cancellationToken),
                $"{account} is now homed on node {node}.", "");
        }
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostFailoverAsync(string? node, bool failedOver, CancellationToken cancellationToken)
    {
        Report(await cluster.By(Administrator).SetFailedOverAsync(node ?? "", failedOver, cancellationToken),
            failedOver ? $"Node {node} is failed over: its group peer serves its users." : $"Node {node} serves its users again.", "");
        await LoadAsync(cancellationToken);
    }

    public async Task OnPostCreateGroupAsync(string? name, string? first, string? second, string? mode, CancellationToken cancellationToken)
    {
        string[] nodes = [.. new[] { first, second }.Where(node => !string.IsNullOrEmpty(node)).Select(node => node!)];
        Report(await cluster.By(Administrator).CreateGroupAsync(name ?? "", nodes, mode ?? "", cancellationToken),
            $"Group {name} ({mode}) of {string.Join(", ", nodes)} was created.", "");
        await LoadAsync(cancellationToken);
    }

    private async Task LoadAsync(CancellationToken cancellationToken) => Status = await cluster.StatusAsync(cancellationToken);
}
