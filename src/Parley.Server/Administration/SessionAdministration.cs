using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Sessions;
using Parley.Storage;

namespace Parley.Server.Administration;

/// <summary>
/// One signed-in resource as administrators see it: its full JID and resource; the client software as far as it is
/// known (the XEP-0115 node its presence names, such as https://conversejs.org; empty before it sends one); the node
/// serving it; how and from where it is connected, and since when.
/// </summary>
public sealed record SessionInfo(
    string Jid, string Resource, string Client, string Node, string Transport, string RemoteAddress, DateTimeOffset Since, bool Available, bool Resumable);

/// <summary>
/// The sessions served by this node: listed for the console, the REST API and XEP-0133, and ended one at a time
/// (a kick, audited). Only the running node has sessions, so this service exists only there.
/// </summary>
public sealed class SessionAdministration(SessionRegistry sessions, IParleyStorage storage, ParleyOptions options, AdminActor? actor = null)
{
    public SessionAdministration By(AdminActor by) => new(sessions, storage, options, by);

    /// <summary>The sessions of <paramref name="account"/>, or all of them, ordered by JID.</summary>
    public IReadOnlyList<SessionInfo> List(Jid? account = null)
    {
        var found = account is { } bare ? sessions.SessionsOf(bare.Bare) : sessions.All;
        return [.. found.Select(Describe).OrderBy(s => s.Jid, StringComparer.Ordinal)];
    }

    /// <summary>Ends the session bound to <paramref name="fullJid"/> with &lt;policy-violation/&gt;.</summary>
    /// <returns>False when no such session is served here.</returns>
    public async Task<bool> EndAsync(Jid fullJid, CancellationToken cancellationToken = default)
    {
        if (sessions.Find(fullJid) is not { } session)
        {
            return false;
        }
        await AdminActor.RecordAsync(storage, actor, AuditActions.SessionEnd, fullJid.ToString(), $"from {session.RemoteAddress}", cancellationToken).ConfigureAwait(false);
        session.EndByAdministrator();
        return true;
    }

    private SessionInfo Describe(ClientSession session) =>
        new(session.Jid.ToString(), session.Jid.Resource ?? "", session.Presence?.Child("c", Ns.Caps)?.GetAttribute("node") ?? "", options.Cluster.DisplayName,
            session.Transport, session.RemoteAddress, session.Since, session.IsAvailable, session.Management is not null);
}
