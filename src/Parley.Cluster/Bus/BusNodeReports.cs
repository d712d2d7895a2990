using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Parley.Cluster.Membership;
using Parley.Server.Administration;
using Parley.Server.Hosting;

namespace Parley.Cluster.Bus;

/// <summary>
/// Every node's report for every node's console: a node answers requests on <c>parley.admin.&lt;name&gt;</c> with its
/// own report (<see cref="LocalNodeReport"/>) as JSON, and asks all the others at once when its console or API wants
/// the whole cluster. A node that does not answer within <see cref="AnswerTimeout"/>, or answers with something that is
/// not a report, is shown as not answering: the page never waits longer nor fails for it. Over the administrative
/// connection (<see cref="AdminBus"/>).
/// </summary>
public sealed partial class BusNodeReports(ParleyOptions options, ClusterView view, LocalNodeReport local, AdminBus bus, ILogger<BusNodeReports> logger)
    : BackgroundService, IClusterNodeReports
{
    private static readonly TimeSpan AnswerTimeout = AdminBus.AnswerTimeout;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The bus server as the status page shows it: the configured URL without any user or password in it.</summary>
    private NodeBus Bus => new(bus.Nats.ConnectionState == NatsConnectionState.Open,
        Uri.TryCreate(options.Cluster.Bus, UriKind.Absolute, out var url) ? $"{url.Scheme}://{url.Host}:{url.Port}" : options.Cluster.Bus!);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var request in bus.Nats.SubscribeAsync<byte[]>(AdminBus.SubjectOf(view.Self), cancellationToken: stoppingToken).ConfigureAwait(false))
        {
            // Each on its own: one slow report (storage that does not answer) holds no other asker up.
            _ = AnswerAsync(request, stoppingToken);
        }
    }

    private async Task AnswerAsync(NatsMsg<byte[]> request, CancellationToken stoppingToken)
    {
        try
        {
            var after = long.TryParse(request.Data is { } data ? Encoding.UTF8.GetString(data) : "", NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;
            var report = await local.ReportAsync(after, Bus, stoppingToken).ConfigureAwait(false);
            await request.ReplyAsync(JsonSerializer.SerializeToUtf8Bytes(report, Json), cancellationToken: stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAnswerFailed(logger, e);
        }
    }

    public async Task<IReadOnlyList<NodeReport>> ReportsAsync(long samplesAfter, CancellationToken cancellationToken)
    {
        var others = new List<string>();
        foreach (var node in view.Nodes)
        {
            if (node.Name != view.Self)
            {
                others.Add(node.Name);
            }
        }
        others.Sort(StringComparer.Ordinal);
        var asked = others.Select(node => AskAsync(node, samplesAfter, cancellationToken)).ToArray();
        var self = await local.ReportAsync(samplesAfter, Bus, cancellationToken).ConfigureAwait(false);
        return [self, .. await Task.WhenAll(asked).ConfigureAwait(false)];
    }

    private async Task<NodeReport> AskAsync(string node, long samplesAfter, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AnswerTimeout);
        try
        {
            var answer = await bus.Nats.RequestAsync<byte[], byte[]>(AdminBus.SubjectOf(node), Encoding.UTF8.GetBytes(samplesAfter.ToString(CultureInfo.InvariantCulture)),
                replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (Parse(answer.Data) is { } report && report.Node == node)
            {
                return report;
            }
            LogMalformed(logger, node);
            return NodeReport.NotAnswering(node, "not answering: its answer was not a node report");
        }
        catch (NatsNoRespondersException)
        {
            return NodeReport.NotAnswering(node, view.Node(node) is { Up: true } ? "not answering: nothing listens for it on the bus" : "down");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return NodeReport.NotAnswering(node, $"not answering within {AnswerTimeout.TotalSeconds:0.#} s");
        }
        catch (NatsException e)
        {
            return NodeReport.NotAnswering(node, $"not answering: {e.Message}");
        }
    }

    /// <summary>A report as another node sent it, or null when it is not one.</summary>
    internal static NodeReport? Parse(byte[]? data)
    {
        try
        {
            return data is null ? null : JsonSerializer.Deserialize<NodeReport>(data, Json) is { Node: not null, Samples: not null, Status: { Version: not null, Domains: not null, StorageProvider: not null, StorageDescription: not null,
                    DirectorySync: not null, Readiness: not null, Certificates: not null } } report
                ? report with { Answering = true, Problem = null }
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} answered a console's request for its report with something that is not one")]
    private static partial void LogMalformed(ILogger logger, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answering a console's request for this node's report failed")]
    private static partial void LogAnswerFailed(ILogger logger, Exception exception);
}
