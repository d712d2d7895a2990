using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Parley.Cluster.Membership;
using Parley.Server.Hosting;

namespace Parley.Cluster.Bus;

/// <summary>
/// The one bus connection that a node's administrative requests share (node reports, sessions, announcements, room
/// occupants), on subjects under <c>parley.admin.&lt;name&gt;</c>: apart from the stanzas' connection, so that an hour
/// of samples never queues behind or ahead of stanzas. Registered before those that use it, so it is connected before
/// they start and closed after they stop. A node that does not answer within <see cref="AnswerTimeout"/> adds nothing:
/// a console page never waits longer nor fails for it.
/// </summary>
public sealed partial class AdminBus(ParleyOptions options, ClusterView view, DataMonitor monitor, ILogger<AdminBus> logger) : IHostedService
{
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(1);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public NatsConnection Nats { get; } = new(NatsOpts.Default with { Url = options.Cluster.Bus!, Name = $"parley-admin-{view.Self}" });

    public static string SubjectOf(string node) => "parley.admin." + node;

    public Task StartAsync(CancellationToken cancellationToken) => BusConnect.WhenReachableAsync(Nats, options.Cluster.Bus!, monitor, cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken) => await Nats.DisposeAsync().ConfigureAwait(false);

    /// <summary>Answers each request on <paramref name="subject"/> (its text) with what <paramref name="answer"/> makes of it, as JSON, one at a time.</summary>
    public async Task AnswerAsync<T>(string subject, Func<string, ValueTask<T>> answer, CancellationToken stoppingToken)
    {
        await foreach (var request in Nats.SubscribeAsync<byte[]>(subject, cancellationToken: stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var value = await answer(request.Data is { } data ? Encoding.UTF8.GetString(data) : "").ConfigureAwait(false);
                await request.ReplyAsync(JsonSerializer.SerializeToUtf8Bytes(value, Json), cancellationToken: stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogAnswerFailed(logger, subject, e);
            }
        }
    }

    /// <summary>Asks every other node that is up at once, on the subject <paramref name="subject"/> makes of its name; null for each that gave no usable answer.</summary>
    public async Task<T?[]> AskOthersAsync<T>(Func<string, string> subject, string text, CancellationToken cancellationToken) where T : class
    {
        var others = view.Nodes.ToArray().Where(node => node.Up && node.Name != view.Self).Select(node => node.Name);
        return await Task.WhenAll(others.Select(node => AskAsync<T>(subject(node), text, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>The answer on <paramref name="subject"/>, or null when none came in time or it was not a <typeparamref name="T"/> (logged).</summary>
    public async Task<T?> AskAsync<T>(string subject, string text, CancellationToken cancellationToken) where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AnswerTimeout);
        try
        {
            var answer = await Nats.RequestAsync<byte[], byte[]>(subject, Encoding.UTF8.GetBytes(text),
                replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
            return answer.Data is { } data ? JsonSerializer.Deserialize<T>(data, Json) : null;
        }
        catch (Exception e) when (e is NatsException or JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogNotAnswered(logger, subject, e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answering a request on {Subject} failed")]
    private static partial void LogAnswerFailed(ILogger logger, string subject, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No usable answer on {Subject}: {Problem}; that node's part is left out")]
    private static partial void LogNotAnswered(ILogger logger, string subject, string problem);
}
