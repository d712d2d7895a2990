using System.Buffers;
using System.Data.Common;
using System.Diagnostics.Metrics;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Cluster.Bus;

/// <summary>
/// The NATS bus between the nodes: each node listens on its own subject, <c>parley.node.&lt;name&gt;</c>, for stanzas
/// to the users it serves (the stanza's XML, with its routing 'from' and 'to' in headers). Arrivals are routed in
/// lanes, one per sender's bare JID hash: a sender's stanzas are routed one at a time in the order they came, as its
/// own stream would route them, while other senders' stanzas go on beside them (routing waits for the archive's
/// commit, and one loop for every sender would commit one message at a time). Each is acknowledged once it is routed
/// and what routing queued for a session is held by the group peer too (<see cref="ISessionReplication"/>), so that
/// a stanza the sending node counts as handled survives this node. The next arrival does not wait for that.
/// </summary>
public sealed partial class ClusterBus(
    ParleyOptions options, ClusterView view, DataMonitor monitor, IServiceProvider services, IMeterFactory meters, ILogger<ClusterBus> logger)
    : BackgroundService
{
    private const string FromHeader = "Parley-From";
    private const string ToHeader = "Parley-To";
    // Set on a stanza a node passed on because its view of who serves the user differed from the sender's.
    private const string ForwardedHeader = "Parley-Forwarded";
    private const string AskerHeader = "Parley-Node";
    // Set on a message that carries several stanzas from one sender (a presence broadcast, probes): its data is a
    // <batch/> of them, and each has its own Parley-To header, in the same order.
    private const string BatchHeader = "Parley-Batch";
    private const string BatchElement = "batch";
    // How long ago the asker's first failed renewal was, in milliseconds.
    private const string FailingHeader = "Parley-Failing-Ms";

    /// <summary>The cluster-wide subject on which a node that cannot renew its lease asks whether the others can.</summary>
    private const string RenewingSubject = "parley.cluster.renewing";

    /// <summary>How long a node waits for another to acknowledge a stanza before the sender gets remote-server-timeout.</summary>
    private static readonly TimeSpan AcknowledgeTimeout = TimeSpan.FromSeconds(5);

    // Far longer than a request waits and a lease lasts, so a message taken just before a node died is found.
    private static readonly TimeSpan UnacknowledgedLookBack = TimeSpan.FromMinutes(5);

    private readonly NatsConnection _nats = new(NatsOpts.Default with { Url = options.Cluster.Bus!, Name = $"parley-{view.Self}" });
    // Enough lanes that a busy node's archive commits gather many senders' messages; each lane is one idle task.
    private const int ArrivalLanes = 32;
    private readonly Channel<Arrived>[] _arrivals = [.. Enumerable.Range(0, ArrivalLanes)
        .Select(_ => Channel.CreateUnbounded<Arrived>(new() { SingleReader = true, SingleWriter = true }))];
    private long _sent;
    private long _received;
    // Set while the arrivals loop routes a stanza: what that sends to another node (a probe's answer, an error) goes
    // through that node's outbox instead of being awaited there, or two nodes' loops could wait on each other's
    // acknowledgements and every arrival behind them with them.
    private static readonly AsyncLocal<bool> s_routingArrival = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Channel<(Element Stanza, Jid From, Jid To)>> _outboxes = new(StringComparer.Ordinal);
    private readonly BusBuffer _buffer = new(options.Cluster.BusBufferStanzas, TimeSpan.FromSeconds(options.Cluster.BusBufferSeconds), TimeProvider.System);
    private Router? _router;
    private ISessionReplication? _replication;

    private Router Router => _router ??= services.GetRequiredService<Router>();

    private ISessionReplication Replication => _replication ??= services.GetRequiredService<ISessionReplication>();

    public static string SubjectOf(string node) => "parley.node." + node;

    /// <summary>Whether the node is connected to the bus now (the client reconnects by itself after a loss).</summary>
    public bool Connected => _nats.ConnectionState == NatsConnectionState.Open;

    /// <summary>Connects and subscribes before any listener opens, so that a node without its bus never takes clients.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        ClusterMetrics.Register(meters, view, this);
        await BusConnect.WhenReachableAsync(_nats, options.Cluster.Bus!, monitor, cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll([ReceiveAsync(stoppingToken), AnswerRenewingAsync(stoppingToken), FlushHeldAsync(stoppingToken),
            .. _arrivals.Select(lane => RouteArrivalsAsync(lane.Reader, stoppingToken))]);

    /// <summary>Stanzas held while the bus was down: sent once it is back, answered once they waited too long.</summary>
    public int Held => _buffer.Count;

    /// <summary>Messages this node has sent to other nodes' subjects (a batch of stanzas counts once).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Messages that arrived on this node's subject.</summary>
    public long Received => Interlocked.Read(ref _received);

    private async Task FlushHeldAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await _buffer.FlushAsync(() => Connected, held => RequestAsync(held.Node, held.Stanza, held.From, held.To),
                held => Router.BounceAsync(held.Stanza, held.From, StanzaError.RemoteServerTimeout(
                    $"The cluster bus was down for longer than {options.Cluster.BusBufferSeconds} s; the stanza for {held.To.Bare} was not sent."))).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Says "I can" to another node's question when this node renewed its lease after the asker's first renewal failed
    /// (the database still answers, so the asker alone lost it); else stays silent. A renewal from before that failure
    /// proves nothing: the database may have gone for every node between the two.
    /// </summary>
    private async Task AnswerRenewingAsync(CancellationToken stoppingToken)
    {
        var lease = options.Cluster.LeaseMilliseconds;
        await foreach (var question in _nats.SubscribeAsync<byte[]>(RenewingSubject, cancellationToken: stoppingToken).ConfigureAwait(false))
        {
            var headers = question.Headers;
            var fromSelf = headers is not null && headers.TryGetValue(AskerHeader, out var asker) && asker == view.Self;
            var failingFor = headers is not null && headers.TryGetValue(FailingHeader, out var failing)
                && long.TryParse(failing, System.Globalization.CultureInfo.InvariantCulture, out var milliseconds) ? Math.Min(milliseconds, lease) : lease;
            if (!fromSelf && view.LastRenewed > 0 && Environment.TickCount64 - view.LastRenewed < failingFor)
            {
                await question.ReplyAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Asked by a node that cannot renew its lease: true when another node still renews its own (the database is
    /// lost to this node alone, so it must stop serving), false when none answers (the database is down for every
    /// node: all keep serving what they serve).
    /// </summary>
    /// <param name="failingFor">How long ago this node's first failed renewal was: only a renewal since counts.</param>
    /// <exception cref="NatsException">The bus is lost too.</exception>
    public async Task<bool> OthersRenewAsync(TimeSpan wait, TimeSpan failingFor)
    {
        using var timeout = new CancellationTokenSource(wait);
        var question = new NatsHeaders
        {
            [AskerHeader] = view.Self,
            [FailingHeader] = ((long)failingFor.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        try
        {
            var answer = await _nats.RequestAsync<byte[], byte[]>(RenewingSubject, [], question,
                replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
            return !answer.HasNoResponders;
        }
        catch (NatsNoRespondersException)
        {
            return false;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            if (!Connected)
            {
                throw new NatsException("the bus is not connected");
            }
            return false;
        }
    }

    private async Task ReceiveAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var message in _nats.SubscribeAsync<byte[]>(SubjectOf(view.Self), cancellationToken: stoppingToken).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _received);
                if (Arrival(message) is { } arrival)
                {
                    _arrivals[LaneOf(arrival.From)].Writer.TryWrite(new Arrived(arrival.Stanzas, arrival.From, message.Headers!.ContainsKey(ForwardedHeader), message));
                }
                else
                {
                    LogMalformed(logger, message.Subject);
                    await message.ReplyAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            foreach (var lane in _arrivals)
            {
                lane.Writer.TryComplete();
            }
        }
    }

    /// <summary>
    /// The stanzas (one, or a batch) with their routing addresses, or null for a message that is not that (nothing else
    /// sends here).
    /// </summary>
    private static (IReadOnlyList<(Element Stanza, Jid To)> Stanzas, Jid From)? Arrival(NatsMsg<byte[]> message)
    {
        if (message.Data is not { } data
            || message.Headers is not { } headers
            || !headers.TryGetValue(FromHeader, out var from) || !Jid.TryParse(from, out var fromJid)
            || !headers.TryGetValue(ToHeader, out var to)
            || ParseStanza(data) is not { } parsed)
        {
            return null;
        }
        var batched = headers.ContainsKey(BatchHeader);
        if (batched != (parsed.Name == BatchElement))
        {
            return null;
        }
        var stanzas = batched ? parsed.Children().ToArray() : [parsed];
        if (stanzas.Length != to.Count)
        {
            return null;
        }
        var arrivals = new (Element, Jid)[stanzas.Length];
        for (var i = 0; i < stanzas.Length; i++)
        {
            if (!Jid.TryParse(to[i], out var toJid))
            {
                return null;
            }
            arrivals[i] = (stanzas[i], toJid);
        }
        return (arrivals, fromJid);
    }

    /// <summary>A stanza's XML as another node sent it, or null when it is not well-formed.</summary>
    internal static Element? ParseStanza(byte[] data)
    {
        try
        {
            return ElementParser.Parse(Encoding.UTF8.GetString(data), Ns.Client);
        }
        catch (Exception e) when (e is XmlStreamException or DecoderFallbackException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The arrivals lane of a sender: the same for all its resources.</summary>
    internal static int LaneOf(Jid sender) => (int)((uint)HashCode.Combine(sender.Local, sender.Domain) % ArrivalLanes);

    private readonly record struct Arrived(IReadOnlyList<(Element Stanza, Jid To)> Stanzas, Jid From, bool Forwarded, NatsMsg<byte[]> Message);

    private async Task RouteArrivalsAsync(ChannelReader<Arrived> lane, CancellationToken stoppingToken)
    {
        await foreach (var (stanzas, from, forwarded, message) in lane.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            List<Task>? forwards = null;
            foreach (var (stanza, to) in stanzas)
            {
                // The sender's view of who serves the user was a heartbeat older or newer than this node's (a node just
                // came or went): the stanza goes on once to where this node sees the user, and never back. Off the
                // loop, so that two nodes passing stanzas to each other do not wait on each other.
                if (!forwarded && view.ServedElsewhere(to) is { } serving)
                {
                    (forwards ??= []).Add(ForwardAsync(serving.Name, stanza, from, to));
                    continue;
                }
                s_routingArrival.Value = true;
                try
                {
                    await Router.RouteArrivedAsync(stanza, from, to).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogArrivalFailed(logger, stanza.Name, to.ToString(), e);
                }
                finally
                {
                    s_routingArrival.Value = false;
                }
            }
            _ = forwards is null ? AcknowledgeWhenHeldAsync(message, stoppingToken) : AcknowledgeAfterAsync(forwards, message, stoppingToken);
        }
    }

    private async Task ForwardAsync(string node, Element stanza, Jid from, Jid to)
    {
        LogForwarded(logger, stanza.Name, to.ToString(), node);
        try
        {
            await SendAsync(node, stanza, from, to, forwarded: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogArrivalFailed(logger, stanza.Name, to.ToString(), e);
        }
    }

    private async Task AcknowledgeAfterAsync(List<Task> forwards, NatsMsg<byte[]> message, CancellationToken stoppingToken)
    {
        await Task.WhenAll(forwards).ConfigureAwait(false);
        await AcknowledgeWhenHeldAsync(message, stoppingToken).ConfigureAwait(false);
    }

    private async Task AcknowledgeWhenHeldAsync(NatsMsg<byte[]> message, CancellationToken stoppingToken)
    {
        try
        {
            await Replication.ReplicatedAsync().ConfigureAwait(false);
            await message.ReplyAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            // The sender gets remote-server-timeout: it did not hear that this node has the stanza.
        }
    }

    /// <summary>
    /// Sends a stanza to the node that serves <paramref name="to"/>; while the bus is down it waits in a bounded buffer
    /// (<see cref="BusBuffer"/>). A node that is not running (no one listens on its
    /// subject) cannot serve it: this node handles it from the shared database (offline storage, stored subscriptions);
    /// a node that does not acknowledge in time, or a bus lost during the request, gets the sender remote-server-timeout.
    /// </summary>
    /// <param name="forwarded">The stanza came from another node that saw the user served here: the receiver routes it as it is.</param>
    public async ValueTask SendAsync(string node, Element stanza, Jid from, Jid to, bool forwarded = false)
    {
        if (s_routingArrival.Value && !forwarded)
        {
            Outbox(node).Writer.TryWrite((stanza, from, to));
            return;
        }
        // The bus is down, or stanzas held while it was are still going out, or the node is not listening yet: this
        // one waits its turn.
        if ((!Connected || _buffer.Holding || !await RequestAsync(node, stanza, from, to, forwarded).ConfigureAwait(false))
            && !_buffer.TryHold(node, stanza, from, to))
        {
            LogBufferFull(logger, stanza.Name, to.ToString(), options.Cluster.BusBufferStanzas);
            await Router.BounceAsync(stanza, from, StanzaError.RemoteServerTimeout(
                $"The cluster bus is down and this node holds as many stanzas for other nodes as it may; {to.Bare} was not reached.")).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends stanzas from one sender to users that <paramref name="node"/> serves in one message, acknowledged once
    /// all are routed there. One at a time (<see cref="SendAsync"/>) instead when there is one, when they would wait
    /// for the bus anyway, or when the node did not take them: each then meets the failure its own way.
    /// </summary>
    public async ValueTask SendEachAsync(string node, IReadOnlyList<(Element Stanza, Jid To)> stanzas, Jid from)
    {
        if (stanzas.Count > 1 && !s_routingArrival.Value && Connected && !_buffer.Holding && await RequestEachAsync(node, stanzas, from).ConfigureAwait(false))
        {
            return;
        }
        foreach (var (stanza, to) in stanzas)
        {
            await SendAsync(node, stanza, from, to).ConfigureAwait(false);
        }
    }

    /// <returns>True once <paramref name="node"/> acknowledged the batch; false when it must go one stanza at a time.</returns>
    private async ValueTask<bool> RequestEachAsync(string node, IReadOnlyList<(Element Stanza, Jid To)> stanzas, Jid from)
    {
        var xml = new ArrayBufferWriter<byte>();
        var recipients = new string[stanzas.Count];
        xml.Write("<batch xmlns='jabber:client'>"u8);
        for (var i = 0; i < stanzas.Count; i++)
        {
            stanzas[i].Stanza.WriteTo(xml, Ns.Client);
            recipients[i] = stanzas[i].To.ToString();
        }
        xml.Write("</batch>"u8);
        var headers = new NatsHeaders { [FromHeader] = from.ToString(), [ToHeader] = recipients, [BatchHeader] = "1" };
        using var timeout = new CancellationTokenSource(AcknowledgeTimeout);
        try
        {
            Interlocked.Increment(ref _sent);
            var acknowledgement = await _nats.RequestAsync<ReadOnlyMemory<byte>, byte[]>(SubjectOf(node), xml.WrittenMemory, headers,
                replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
            return !acknowledgement.HasNoResponders;
        }
        catch (NatsNoRespondersException)
        {
            return false;
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            if (view.Node(node) is not { Up: true })
            {
                return false;
            }
            // The node may have routed some of them: sending them again could deliver twice, as a single stanza's
            // sender would not; the sender hears of each instead.
            LogNotAcknowledged(logger, BatchElement, string.Join(", ", recipients), node, e.Message);
            foreach (var (stanza, to) in stanzas)
            {
                await Router.BounceAsync(stanza, from, StanzaError.RemoteServerTimeout($"The cluster node serving {to.Bare} did not answer.")).ConfigureAwait(false);
            }
            return true;
        }
    }

    /// <summary>What routing arrivals sends to <paramref name="node"/>, sent in order by a task of its own.</summary>
    private Channel<(Element Stanza, Jid From, Jid To)> Outbox(string node) =>
        _outboxes.GetOrAdd(node, name =>
        {
            var outbox = Channel.CreateUnbounded<(Element, Jid, Jid)>(new() { SingleReader = true });
            _ = SendOutboxAsync(name, outbox.Reader);
            return outbox;
        });

    private async Task SendOutboxAsync(string node, ChannelReader<(Element Stanza, Jid From, Jid To)> outbox)
    {
        // Started from the arrivals loop, this task inherited its flag; it is the one that waits.
        s_routingArrival.Value = false;
        await foreach (var (stanza, from, to) in outbox.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await SendAsync(node, stanza, from, to).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogArrivalFailed(logger, stanza.Name, to.ToString(), e);
            }
        }
    }

    /// <returns>
    /// False when no one listens for a node that is up (it is subscribing again after the bus came back, or it died
    /// within its lease): the stanza is to be held and tried again.
    /// </returns>
    private async ValueTask<bool> RequestAsync(string node, Element stanza, Jid from, Jid to, bool forwarded = false)
    {
        var xml = new ArrayBufferWriter<byte>();
        stanza.WriteTo(xml, Ns.Client);
        var headers = new NatsHeaders { [FromHeader] = from.ToString(), [ToHeader] = to.ToString() };
        if (forwarded)
        {
            headers[ForwardedHeader] = "1";
        }
        using var timeout = new CancellationTokenSource(AcknowledgeTimeout);
        try
        {
            Interlocked.Increment(ref _sent);
            var acknowledgement = await _nats.RequestAsync<ReadOnlyMemory<byte>, byte[]>(SubjectOf(node), xml.WrittenMemory, headers,
                replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (!acknowledgement.HasNoResponders)
            {
                return true;
            }
        }
        catch (NatsNoRespondersException)
        {
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            LogNotAcknowledged(logger, stanza.Name, to.ToString(), node, e.Message);
            // The answer can be lost while the node took the stanza: it died just after, or the bus server that carried
            // the answer stopped. A message in its recipient's archive was taken, and the sender is not told otherwise.
            if (await ArchivedAlreadyAsync(stanza, from, to).ConfigureAwait(false))
            {
                LogTakenUnacknowledged(logger, stanza.Name, to.ToString(), node);
                return true;
            }
            if (view.Node(node) is { Up: true })
            {
                await Router.BounceAsync(stanza, from, StanzaError.RemoteServerTimeout($"The cluster node serving {to.Bare} did not answer.")).ConfigureAwait(false);
                return true;
            }
            // A node killed just as the stanza left was still subscribed; its lease has run out by now, so the stanza
            // goes where its user is served now instead of back to the sender.
        }
        if (view.Node(node) is { Up: true })
        {
            return false;
        }
        if (!forwarded && view.ServedElsewhere(to) is { } serving && serving.Name != node)
        {
            // The node asked for is down and this node already sees the user served by another (the group peer).
            return await RequestAsync(serving.Name, stanza, from, to, forwarded: true).ConfigureAwait(false);
        }
        LogNodeNotRunning(logger, node, to.ToString());
        await Router.RouteArrivedAsync(stanza, from, to).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Whether a message is in its recipient's archive already: a node archives a message before it delivers or stores
    /// it, so one found there was handled by the node that died without answering, and handing it over again would
    /// deliver it twice. Messages the recipient does not archive cannot be told apart and go on.
    /// </summary>
    private async Task<bool> ArchivedAlreadyAsync(Element stanza, Jid from, Jid to)
    {
        if (stanza.Name != "message" || stanza.GetAttribute("id") is not { Length: > 0 } id || to.Local is null)
        {
            return false;
        }
        try
        {
            var archive = services.GetRequiredService<IParleyStorage>().Archive;
            var recent = await archive.QueryAsync(new ArchiveQuery(to.Bare.ToString(), With: from.ToString(),
                Start: DateTimeOffset.UtcNow - UnacknowledgedLookBack, Max: 100, FromEnd: true)).ConfigureAwait(false);
            return recent.Messages.Any(message => ElementParser.Parse(message.Xml, Ns.Client).GetAttribute("id") == id);
        }
        catch (Exception e) when (e is DbException or StorageUnavailableException)
        {
            return false;
        }
    }

    /// <summary>Routes a stanza as one that arrived for a user this node serves.</summary>
    public ValueTask RouteHereAsync(Element stanza, Jid from, Jid to) => Router.RouteArrivedAsync(stanza, from, to);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await _nats.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A message on {Subject} is not a stanza with its routing headers; dropped")]
    private static partial void LogMalformed(ILogger logger, string subject);

    [LoggerMessage(Level = LogLevel.Error, Message = "Routing a {Stanza} for {To} that came over the bus failed")]
    private static partial void LogArrivalFailed(ILogger logger, string stanza, string to, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} archived a {Stanza} for {To} without its answer reaching this node: taken, not sent again")]
    private static partial void LogTakenUnacknowledged(ILogger logger, string stanza, string to, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} did not acknowledge a {Stanza} for {To}: {Reason}")]
    private static partial void LogNotAcknowledged(ILogger logger, string stanza, string to, string node, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster bus is down and {Limit} stanzas wait for it already; a {Stanza} for {To} is answered with remote-server-timeout")]
    private static partial void LogBufferFull(ILogger logger, string stanza, string to, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "A {Stanza} for {To} came to this node, which sees the user served by node {Node}: passed on there")]
    private static partial void LogForwarded(ILogger logger, string stanza, string to, string node);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} is not running; a stanza for {To} is handled here")]
    private static partial void LogNodeNotRunning(ILogger logger, string node, string to);
}
