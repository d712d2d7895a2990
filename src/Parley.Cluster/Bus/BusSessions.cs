using Microsoft.Extensions.Hosting;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Cluster.Bus;

/// <summary>
/// The sessions of the other nodes for this node's console, API and XEP-0133: a node answers on
/// <c>parley.admin.&lt;name&gt;.sessions</c> (an account's bare JID, or nothing for all) with the sessions it serves,
/// and on <c>parley.admin.&lt;name&gt;.end-session</c> (a full JID) by ending that session if it serves it. Every other
/// node that is up is asked at once; one that does not answer within <see cref="AdminBus.AnswerTimeout"/> adds nothing.
/// Over the administrative connection (<see cref="AdminBus"/>).
/// </summary>
public sealed class BusSessions(ClusterView view, LocalSessions sessions, AdminBus bus) : BackgroundService, IOtherNodesSessions
{
    private static string ListSubject(string node) => AdminBus.SubjectOf(node) + ".sessions";

    private static string EndSubject(string node) => AdminBus.SubjectOf(node) + ".end-session";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            bus.AnswerAsync(ListSubject(view.Self), text => ValueTask.FromResult(Jid.TryParse(text, out var account) ? sessions.List(account) : sessions.List()), stoppingToken),
            bus.AnswerAsync(EndSubject(view.Self), text => ValueTask.FromResult(Jid.TryParse(text, out var full) ? sessions.End(full) : null), stoppingToken));

    public async Task<IReadOnlyList<SessionInfo>> ListAsync(Jid? account, CancellationToken cancellationToken)
    {
        var answers = await bus.AskOthersAsync<List<SessionInfo>>(ListSubject, account?.ToString() ?? "", cancellationToken).ConfigureAwait(false);
        return [.. answers.Where(list => list is not null).SelectMany(list => list!)];
    }

    public async Task<SessionInfo?> EndAsync(Jid fullJid, CancellationToken cancellationToken) =>
        (await bus.AskOthersAsync<SessionInfo>(EndSubject, fullJid.ToString(), cancellationToken).ConfigureAwait(false)).FirstOrDefault(ended => ended is not null);
}
