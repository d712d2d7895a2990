using Parley.Protocol;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// The administrative events of a process that is not the node (the CLI): each becomes a node notice in the
/// database, which the nodes running on it read and turn into the same event (<see cref="RunningNodeEvents"/>).
/// </summary>
public sealed class NodeNoticeWriter(INodeNoticeStore notices) : IAdministrationEvents
{
    /// <summary>No node runs here to tell before the deletion; nodes hear of it afterwards.</summary>
    public ValueTask AccountRemovingAsync(Jid account, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask AccountRemovedAsync(Jid account, Action? beforeSessionsEnd, CancellationToken cancellationToken)
    {
        beforeSessionsEnd?.Invoke();
        await notices.PublishAsync(NodeNoticeKinds.AccountRemoved, account.ToString(), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask AccountDisabledAsync(Jid account, CancellationToken cancellationToken) =>
        await notices.PublishAsync(NodeNoticeKinds.AccountDisabled, account.ToString(), cancellationToken).ConfigureAwait(false);

    public async ValueTask RoomChangedAsync(Jid room, CancellationToken cancellationToken) =>
        await notices.PublishAsync(NodeNoticeKinds.RoomChanged, room.ToString(), cancellationToken).ConfigureAwait(false);

    public async ValueTask RosterImportedAsync(Jid user, CancellationToken cancellationToken) =>
        await notices.PublishAsync(NodeNoticeKinds.RosterChanged, user.ToString(), cancellationToken).ConfigureAwait(false);

    public async ValueTask SettingChangedAsync(string name, CancellationToken cancellationToken) =>
        await notices.PublishAsync(NodeNoticeKinds.SettingChanged, name, cancellationToken).ConfigureAwait(false);
}
