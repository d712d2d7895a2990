using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Hosting;

namespace Parley.Cluster.Bus;

/// <summary>
/// The sessions of the other nodes for this node's console, API and XEP-0133: a node answers on
/// <c>parley.admin.&lt;name&gt;.sessions</c> (an account's bare JID, or nothing for all) with the sessions it serves, and
/// on <c>parley.admin.&lt;name&gt;.end-session</c> (a full JID) by ending that session if it serves it. Every other node
/// that is up is asked at once; one that does not answer within <see cref="BusNodeReports.AnswerTimeout"/> adds nothing.
/// Over a bus connection of its own, like the reports.
/// </summary>
public sealed partial class BusSessions(ParleyOptions options, ClusterView view, LocalSessions sessions, DataMonitor monitor, ILogger<BusSessions> logger)
    : BackgroundService, IOtherNodesSessions
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly NatsConnection _nats = new(NatsOpts.Default with { Url = options.Cluster.Bus!, Name = $"parley-sessions-{view.Self}" });

    private static string ListSubject(string node) => BusNodeReports.SubjectOf(node) + ".sessions";

    private static string EndSubject(string node) => BusNodeReports.SubjectOf(node) + ".end-session";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await BusConnect.WhenReachableAsync(_nats, options.Cluster.Bus!, monitor, cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(AnswerAsync(ListSubject(view.Self), text => Jid.TryParse(text, out var account) ? sessions.List(account) : sessions.List(), stoppingToken),
            AnswerAsync(EndSubject(view.Self), text => Jid.TryParse(text, out var full) ? sessions.End(full) : null, stoppingToken));

    private async Task AnswerAsync<T>(string subject, Func<string, T> answer, CancellationToken stoppingToken)
    {
        await foreach (var request in _nats.SubscribeAsync<byte[]>(subject, cancellationToken: stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var value = answer(request.Data is { } data ? Encoding.UTF8.GetString(data) : "");
                await request.ReplyAsync(JsonSerializer.SerializeToUtf8Bytes(value, Json), cancellationToken: stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogAnswerFailed(logger, subject, e);
            }
        }
    }

    public async Task<IReadOnlyList<SessionInfo>> ListAsync(Jid? account, CancellationToken cancellationToken)
    {
        var answers = await AskOthersAsync<List<SessionInfo>>(ListSubject, account?.ToString() ?? "", cancellationToken).ConfigureAwait(false);
        return [.. answers.Where(list => list is not null).SelectMany(list => list!)];
    }

    public async Task<SessionInfo?> EndAsync(Jid fullJid, CancellationToken cancellationToken) =>
        (await AskOthersAsync<SessionInfo>(EndSubject, fullJid.ToString(), cancellationToken).ConfigureAwait(false)).FirstOrDefault(ended => ended is not null);

    private async Task<T?[]> AskOthersAsync<T>(Func<string, string> subject, string text, CancellationToken cancellationToken) where T : class
    {
        var others = view.Nodes.ToArray().Where(node => node.Up && node.Name != view.Self).Select(node => node.Name);
        return await Task.WhenAll(others.Select(node => AskAsync<T>(subject(node), text, cancellationToken))).ConfigureAwait(false);
    }

    private async Task<T?> AskAsync<T>(string subject, string text, CancellationToken cancellationToken) where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(BusNodeReports.AnswerTimeout);
        try
        {
            var answer = await _nats.RequestAsync<byte[], byte[]>(subject, Encoding.UTF8.GetBytes(text),
                replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
            return answer.Data is { } data ? JsonSerializer.Deserialize<T>(data, Json) : null;
        }
        catch (Exception e) when (e is NatsException or JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogNotAnswered(logger, subject, e.Message);
            return null;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await _nats.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answering a request on {Subject} failed")]
    private static partial void LogAnswerFailed(ILogger logger, string subject, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No usable answer on {Subject}: {Problem}; that node's sessions are left out")]
    private static partial void LogNotAnswered(ILogger logger, string subject, string problem);
}
