using Parley.Protocol;

namespace Parley.Server.Administration;

/// <summary>
/// What a running node must hear of an administrative action. In the node's own process the module registry's
/// events are raised (<see cref="RunningNodeEvents"/>); in a process without a node (the CLI) a node notice is
/// written for the nodes on the same database (<see cref="NodeNoticeWriter"/>), and each of them raises the same
/// event when it reads it.
/// </summary>
public interface IAdministrationEvents
{
    /// <summary>Before an account is deleted, while its roster is still there; only the node's own process can hear it.</summary>
    ValueTask AccountRemovingAsync(Jid account, CancellationToken cancellationToken);

    /// <summary>
    /// The account and its data were deleted: modules forget it, then its sessions end.
    /// <paramref name="beforeSessionsEnd"/> runs in between (the in-band requester's answer goes out first).
    /// </summary>
    ValueTask AccountRemovedAsync(Jid account, Action? beforeSessionsEnd, CancellationToken cancellationToken);

    /// <summary>The account was disabled: its sessions end.</summary>
    ValueTask AccountDisabledAsync(Jid account, CancellationToken cancellationToken);

    /// <summary>A persistent room was created, configured or destroyed in storage.</summary>
    ValueTask RoomChangedAsync(Jid room, CancellationToken cancellationToken);

    /// <summary>A user's roster was written in bulk.</summary>
    ValueTask RosterImportedAsync(Jid user, CancellationToken cancellationToken);

    /// <summary>A runtime setting was changed or reset.</summary>
    ValueTask SettingChangedAsync(string name, CancellationToken cancellationToken);
}
