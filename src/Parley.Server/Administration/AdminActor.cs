using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// Who makes an administrative change and from where, for the audit trail: an admin's bare JID and the client's IP
/// address, or the operating-system user who ran the <c>parley</c> CLI and "cli".
/// </summary>
public sealed record AdminActor(string Name, string Origin)
{
    public const string CliOrigin = "cli";

    /// <summary>The user running this <c>parley</c> command.</summary>
    public static AdminActor Cli { get; } = new(string.IsNullOrEmpty(Environment.UserName) ? "unknown" : Environment.UserName, CliOrigin);

    /// <summary>
    /// Records <paramref name="action"/> on <paramref name="subject"/> as done by <paramref name="actor"/>; nothing when
    /// there is no actor (a user's own change, such as in-band registration, is not administration).
    /// </summary>
    /// <param name="details">What changed, for a reader of the trail; never a password.</param>
    public static async Task RecordAsync(IParleyStorage storage, AdminActor? actor, string action, string subject, string details, CancellationToken cancellationToken)
    {
        if (actor is not null)
        {
            await storage.Audit.AppendAsync(actor.Name, actor.Origin, action, subject, details, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>The actions the audit trail names.</summary>
public static class AuditActions
{
    public const string AccountCreate = "account.create";

    /// <summary>Many accounts created from a file (<c>parley user import</c>); the details say how many.</summary>
    public const string AccountImport = "account.import";
    public const string AccountPassword = "account.password";
    public const string AccountRemove = "account.remove";
    public const string AccountDisable = "account.disable";
    public const string AccountEnable = "account.enable";

    /// <summary>A display name set or cleared; the details hold the new name ("" when cleared).</summary>
    public const string AccountDisplayName = "account.display-name";
    public const string AdminGrant = "admin.grant";
    public const string AdminRevoke = "admin.revoke";
    public const string RoomCreate = "room.create";
    public const string RoomConfigure = "room.configure";
    public const string RoomDestroy = "room.destroy";
    public const string RosterImport = "roster.import";
    public const string ArchiveDelete = "archive.delete";
    public const string BannerSet = "banner.set";
    public const string BannerClear = "banner.clear";
    public const string Announcement = "announcement.send";
    public const string SessionEnd = "session.end";
    public const string SettingSet = "setting.set";
    public const string SettingReset = "setting.reset";
    public const string TokenCreate = "token.create";
    public const string TokenRevoke = "token.revoke";
    public const string ClusterAssign = "cluster.assign";
    public const string ClusterBalance = "cluster.balance";
    public const string ClusterFailover = "cluster.failover";
    public const string ClusterFallback = "cluster.fallback";

    /// <summary>A presence redundancy group created; the subject is its name, the details its mode and nodes.</summary>
    public const string ClusterGroupCreate = "cluster.group-create";
}
