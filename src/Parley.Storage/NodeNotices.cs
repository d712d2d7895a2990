namespace Parley.Storage;

/// <summary>
/// Something changed in the database behind a running node's back (the <c>parley</c> CLI wrote it): its kind
/// (see <see cref="NodeNoticeKinds"/>), what it is about (a bare JID) and when it was published.
/// </summary>
public sealed record NodeNotice(long Id, string Kind, string Subject, DateTimeOffset CreatedAt);

/// <summary>The kinds of notice the CLI publishes.</summary>
public static class NodeNoticeKinds
{
    /// <summary>An account and its data were deleted; the subject is its bare JID.</summary>
    public const string AccountRemoved = "account-removed";

    /// <summary>An account was disabled; its sessions end. The subject is its bare JID.</summary>
    public const string AccountDisabled = "account-disabled";

    /// <summary>A persistent room was created, configured or destroyed; the subject is its bare JID.</summary>
    public const string RoomChanged = "room-changed";

    /// <summary>A user's roster was written in bulk (<c>parley roster import</c>); the subject is the user's bare JID.</summary>
    public const string RosterChanged = "roster-changed";

    /// <summary>A runtime setting was changed or reset; the subject is its name.</summary>
    public const string SettingChanged = "setting-changed";
}

/// <summary>
/// Notices that the CLI leaves in the database for the nodes running on it, which poll for those newer than the
/// last they saw. Ids only grow, also after old notices are deleted.
/// </summary>
public interface INodeNoticeStore
{
    /// <summary>Publishes a notice and returns its id.</summary>
    Task<long> PublishAsync(string kind, string subject, CancellationToken cancellationToken = default);

    /// <summary>The notices with an id above <paramref name="afterId"/>, oldest first, at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<NodeNotice>> ReadAfterAsync(long afterId, int max, CancellationToken cancellationToken = default);

    /// <summary>The id of the newest notice, or 0 when there is none.</summary>
    Task<long> LatestIdAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes the notices published before <paramref name="cutoff"/>; returns how many went.</summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default);
}

/// <summary>
/// A notice store that announces new notices as they are published (PostgreSQL's LISTEN/NOTIFY), so that a node acts
/// on them at once instead of polling.
/// </summary>
public interface INodeNoticeAnnouncer
{
    /// <summary>
    /// Waits until a notice may have been published since the last call (or listening had to start again, when some may
    /// have been missed), or until <paramref name="timeout"/> passes; true when announced.
    /// </summary>
    Task<bool> WaitForNoticeAsync(TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>Argument checks the notice stores share.</summary>
internal static class NodeNoticeArguments
{
    public static void CheckNotice(string kind, string subject)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(subject);
        if (kind.Length == 0)
        {
            throw new ArgumentException("The notice kind is empty.", nameof(kind));
        }
        if (subject.Length == 0)
        {
            throw new ArgumentException("The notice subject is empty.", nameof(subject));
        }
    }

    public static void CheckRead(long afterId, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
    }
}
