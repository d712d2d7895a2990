using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Cluster.Bus;

/// <summary>
/// The sessions of the other nodes for this node's console, API and XEP-0133: a node answers on
/// <c>parley.admin.&lt;name&gt;.sessions</c> (an account's bare JID, or nothing for all) with the sessions it serves,
/// on <c>parley.admin.&lt;name&gt;.end-session</c> (a full JID) by ending that session if it serves it, and on
/// <c>parley.admin.&lt;name&gt;.announce</c> (an <see cref="Announcement"/>) by sending it to its sessions, with how
/// many. Every other node that is up is asked at once; one that does not answer within
/// <see cref="AdminBus.AnswerTimeout"/> adds nothing. Over the administrative connection (<see cref="AdminBus"/>).
/// </summary>
public sealed class BusSessions(ClusterView view, LocalSessions sessions, AdminBus bus) : BackgroundService, IOtherNodesSessions
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static string ListSubject(string node) => AdminBus.SubjectOf(node) + ".sessions";

    private static string EndSubject(string node) => AdminBus.SubjectOf(node) + ".end-session";

    private static string AnnounceSubject(string node) => AdminBus.SubjectOf(node) + ".announce";

    /// <summary>How many sessions a node sent an announcement to, as it answers; a class, so that a missing answer is null.</summary>
    private sealed record Sent(int Sessions);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            bus.AnswerAsync(ListSubject(view.Self), text => ValueTask.FromResult(Jid.TryParse(text, out var account) ? sessions.List(account) : sessions.List()), stoppingToken),
            bus.AnswerAsync(EndSubject(view.Self), text => ValueTask.FromResult(Jid.TryParse(text, out var full) ? sessions.End(full) : null), stoppingToken),
            bus.AnswerAsync(AnnounceSubject(view.Self), text => ValueTask.FromResult(
                JsonSerializer.Deserialize<Announcement>(text, Json) is { Domain: not null, Body: not null } announcement ? new Sent(sessions.Announce(announcement)) : null), stoppingToken));

    public async Task<IReadOnlyList<SessionInfo>> ListAsync(Jid? account, CancellationToken cancellationToken)
    {
        var answers = await bus.AskOthersAsync<List<SessionInfo>>(ListSubject, account?.ToString() ?? "", cancellationToken).ConfigureAwait(false);
        return [.. answers.Where(list => list is not null).SelectMany(list => list!)];
    }

    public async Task<SessionInfo?> EndAsync(Jid fullJid, CancellationToken cancellationToken) =>
        (await bus.AskOthersAsync<SessionInfo>(EndSubject, fullJid.ToString(), cancellationToken).ConfigureAwait(false)).FirstOrDefault(ended => ended is not null);

    public async Task<int> AnnounceAsync(Announcement announcement, CancellationToken cancellationToken) =>
        (await bus.AskOthersAsync<Sent>(AnnounceSubject, JsonSerializer.Serialize(announcement, Json), cancellationToken).ConfigureAwait(false))
            .Sum(sent => sent?.Sessions ?? 0);
}
