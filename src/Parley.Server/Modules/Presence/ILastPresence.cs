using Parley.Protocol;

namespace Parley.Server.Modules.Presence;

/// <summary>When an account's last resource went offline, and the status it left (empty when it gave none).</summary>
public sealed record LastUnavailable(DateTimeOffset At, string? Status);

/// <summary>
/// What the presence module tells other modules about an account's availability (last activity, XEP-0012),
/// so that none of them reads its sessions or its stored last presence.
/// </summary>
public interface ILastPresence
{
    /// <summary>True while any resource of the account on this node is available.</summary>
    bool IsAvailable(Jid account);

    /// <summary>The account's last unavailable presence, or null when it has never been online.</summary>
    ValueTask<LastUnavailable?> LastUnavailableAsync(Jid account);
}
