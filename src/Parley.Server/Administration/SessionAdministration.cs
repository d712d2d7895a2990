using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Sessions;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// One signed-in resource as administrators see it: its full JID and resource; the client software as far as it is
/// known (the XEP-0115 node its presence names, such as https://conversejs.org; empty before it sends one); the node
/// its client is connected to (with Cluster:Redirect off not always the node serving the account, which holds a
/// stand-in of the session: the stand-in is listed, once, under the client's node); how and from where it is
/// connected, and since when.
/// </summary>
public sealed record SessionInfo(
    string Jid, string Resource, string Client, string Node, string Transport, string RemoteAddress, DateTimeOffset Since, bool Available, bool Resumable)
{
    public static SessionInfo Of(ClientSession session, string node) =>
        new(session.Jid.ToString(), session.Jid.Resource ?? "", session.Presence?.Child("c", Ns.Caps)?.GetAttribute("node") ?? "", session.ConnectedAt ?? node,
            session.Transport, session.RemoteAddress, session.Since, session.IsAvailable, session.Management is not null);
}

/// <summary>An announcement (XEP-0133) to every online user of <paramref name="Domain"/>: a headline from the server.</summary>
public sealed record Announcement(string Domain, string? Subject, string Body);

/// <summary>
/// The sessions the other nodes of a cluster serve, as they answer over the bus (Parley.Cluster); none on a node that
/// runs alone. A node that does not answer in time adds none.
/// </summary>
public interface IOtherNodesSessions
{
    /// <summary>The sessions of <paramref name="account"/>, or all, that the other nodes serve.</summary>
    Task<IReadOnlyList<SessionInfo>> ListAsync(Jid? account, CancellationToken cancellationToken);

    /// <summary>Asks the other nodes to end the session bound to <paramref name="fullJid"/>.</summary>
    /// <returns>The session as it was when a node ended it; null when no other node serves it.</returns>
    Task<SessionInfo?> EndAsync(Jid fullJid, CancellationToken cancellationToken);

    /// <summary>Has the other nodes send <paramref name="announcement"/> to the sessions they serve.</summary>
    /// <returns>How many sessions it was sent to, as the nodes that answered in time counted them.</returns>
    Task<int> AnnounceAsync(Announcement announcement, CancellationToken cancellationToken);
}

/// <summary>A node that runs alone: no other node serves anything.</summary>
public sealed class NoOtherNodes : IOtherNodesSessions
{
    public Task<IReadOnlyList<SessionInfo>> ListAsync(Jid? account, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<SessionInfo>>([]);

    public Task<SessionInfo?> EndAsync(Jid fullJid, CancellationToken cancellationToken) => Task.FromResult<SessionInfo?>(null);

    public Task<int> AnnounceAsync(Announcement announcement, CancellationToken cancellationToken) => Task.FromResult(0);
}

/// <summary>The sessions this node serves, as administrators see them; what the other nodes answer over the bus from.</summary>
public sealed class LocalSessions(SessionRegistry sessions, ParleyOptions options)
{
    /// <summary>The sessions of <paramref name="account"/>, or all of them, ordered by JID.</summary>
    public IReadOnlyList<SessionInfo> List(Jid? account = null)
    {
        var found = account is { } bare ? sessions.SessionsOf(bare.Bare) : sessions.All;
        return [.. found.Select(session => SessionInfo.Of(session, options.Cluster.DisplayName)).OrderBy(s => s.Jid, StringComparer.Ordinal)];
    }

    /// <summary>Ends the session bound to <paramref name="fullJid"/> with &lt;policy-violation/&gt; if this node serves it (the caller audits it).</summary>
    /// <returns>The session as it was, or null.</returns>
    public SessionInfo? End(Jid fullJid)
    {
        if (sessions.Find(fullJid) is not { } session)
        {
            return null;
        }
        var ended = SessionInfo.Of(session, options.Cluster.DisplayName);
        session.EndByAdministrator();
        return ended;
    }

    /// <summary>Sends <paramref name="announcement"/> to every session of its domain this node serves; how many took it.</summary>
    public int Announce(Announcement announcement)
    {
        var sent = 0;
        foreach (var session in sessions.All)
        {
            if (session.Jid.Domain == announcement.Domain && session.Send(Stanzas.Headline(announcement.Domain, session.Jid, announcement.Subject, announcement.Body)))
            {
                sent++;
            }
        }
        return sent;
    }
}

/// <summary>
/// The sessions of the cluster (this node's, and the others' asked over the bus): listed for the console and the REST
/// API and XEP-0133, ended one at a time (a kick, audited here, wherever the session is served), and sent announcements.
/// </summary>
public sealed class SessionAdministration(LocalSessions here, IOtherNodesSessions others, IParleyStorage storage, AdminActor? actor = null)
{
    public SessionAdministration By(AdminActor by) => new(here, others, storage, by);

    /// <summary>The sessions every node serves, of <paramref name="account"/> or all of them, ordered by JID and node.</summary>
    public async Task<IReadOnlyList<SessionInfo>> ListAsync(Jid? account = null, CancellationToken cancellationToken = default)
    {
        var elsewhere = await others.ListAsync(account?.Bare, cancellationToken).ConfigureAwait(false);
        return [.. here.List(account).Concat(elsewhere).OrderBy(s => s.Jid, StringComparer.Ordinal).ThenBy(s => s.Node, StringComparer.Ordinal)];
    }

    /// <summary>Ends the session bound to <paramref name="fullJid"/> with &lt;policy-violation/&gt;, on this node or the one serving it.</summary>
    /// <returns>False when no node serves such a session.</returns>
    public async Task<bool> EndAsync(Jid fullJid, CancellationToken cancellationToken = default)
    {
        var ended = here.End(fullJid) ?? await others.EndAsync(fullJid, cancellationToken).ConfigureAwait(false);
        if (ended is null)
        {
            return false;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.SessionEnd, fullJid.ToString(), $"from {ended.RemoteAddress}", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Sends <paramref name="announcement"/> to every session of its domain on every node, audited once.</summary>
    /// <returns>How many sessions it was sent to.</returns>
    public async Task<int> AnnounceAsync(Announcement announcement, CancellationToken cancellationToken = default)
    {
        var sent = here.Announce(announcement) + await others.AnnounceAsync(announcement, cancellationToken).ConfigureAwait(false);
        await AdminActor.RecordAsync(storage, actor, AuditActions.Announcement, announcement.Domain, $"sent to {sent} sessions: {announcement.Body}", cancellationToken)
            .ConfigureAwait(false);
        return sent;
    }
}
