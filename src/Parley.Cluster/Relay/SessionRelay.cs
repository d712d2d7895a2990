using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Parley.Cluster.Bus;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Cluster.Relay;

/// <summary>
/// Cluster:Redirect off: a client is served on whichever node it connected to. That node (the front) keeps the
/// connection; the node that serves the account (the home) holds a stand-in session for it in its own registry, so
/// that RFC 6121 delivery, presence, carbons and roster pushes run there over all of the account's sessions, wherever
/// their clients are connected. Both sides talk on <c>parley.relay.&lt;node&gt;</c>: the front binds (a request), passes
/// the client's stanzas on and says when the session ended; the home passes on what the stand-in is sent and asks the
/// front to close it. A stand-in lives only as long as its front's lease, and a fronted session only as long as its
/// home serves the account: each side checks the other at every heartbeat.
/// </summary>
public sealed partial class SessionRelay(ParleyOptions options, ClusterView view, SessionRegistry sessions, IServiceProvider services, ILogger<SessionRelay> logger)
    : BackgroundService, ISessionRelay
{
    private const string OpHeader = "Parley-Op";
    private const string FrontHeader = "Parley-Front";
    private const string SessionHeader = "Parley-Session";
    private const string JidHeader = "Parley-Jid";
    private const string ToHeader = "Parley-To";
    private const string RemoteHeader = "Parley-Remote";
    private const string ConditionHeader = "Parley-Condition";
    private const string TextHeader = "Parley-Text";
    private const string ContentHeader = "Parley-Content";

    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(5);

    private readonly NatsConnection _nats = new(NatsOpts.Default with { Url = options.Cluster.Bus!, Name = $"parley-relay-{view.Self}" });

    // One writer to the bus, so that what one session sends or is sent keeps its order. While the bus is down it holds
    // what waits, as the bus buffer does: at most Cluster:BusBufferStanzas, each at most Cluster:BusBufferSeconds.
    private readonly Channel<Outgoing> _outbox = Channel.CreateBounded<Outgoing>(
        new BoundedChannelOptions(Math.Max(1, options.Cluster.BusBufferStanzas)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly TimeSpan _holdLimit = TimeSpan.FromSeconds(options.Cluster.BusBufferSeconds);

    /// <summary>Front side: the sessions whose clients are connected here, by session id, with the node serving each.</summary>
    private readonly ConcurrentDictionary<long, (ClientSession Session, string Home)> _fronted = new();

    /// <summary>Home side: the stand-ins of sessions connected to other nodes, by front node and session id.</summary>
    private readonly ConcurrentDictionary<(string Front, long Id), ClientSession> _standIns = new();

    private Router Router => services.GetRequiredService<Router>();
    private SessionCloser Closer => services.GetRequiredService<SessionCloser>();

    public static string SubjectOf(string node) => "parley.relay." + node;

    /// <summary>Sessions whose clients are connected to this node and served by another.</summary>
    public int Fronted => _fronted.Count;

    /// <summary>Stand-ins here for sessions whose clients are connected to other nodes.</summary>
    public int StandIns => _standIns.Count;

    /// <summary>What goes on the bus; <paramref name="Sender"/> is the client's session here for a stanza it sent, to answer if it cannot go.</summary>
    private readonly record struct Outgoing(string Node, NatsHeaders Headers, Element? Stanza, ClientSession? Sender = null)
    {
        public long Queued { get; } = Stopwatch.GetTimestamp();
    }

    private bool Connected => _nats.ConnectionState == NatsConnectionState.Open;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await _nats.ConnectAsync().ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ReceiveAsync(stoppingToken), SendAsync(stoppingToken), WatchAsync(stoppingToken));

    // ---- Front side: the client is connected here.

    public async ValueTask<StanzaError?> BindAsync(ClientSession session)
    {
        if (view.ServedElsewhere(session.Jid) is not { } home)
        {
            return StanzaError.RemoteServerTimeout("The node serving this account changed; sign in again.");
        }
        _fronted[session.Id] = (session, home.Name);
        var headers = Headers("bind", view.Self, session.Id);
        headers[JidHeader] = session.Jid.ToString();
        headers[RemoteHeader] = session.RemoteAddress;
        using var timeout = new CancellationTokenSource(AnswerTimeout);
        StanzaError? refused;
        try
        {
            var answer = await _nats.RequestAsync<byte[], byte[]>(SubjectOf(home.Name), [], headers,
                replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
            refused = answer.Headers is { } reply && reply.TryGetValue(ConditionHeader, out var condition)
                ? Refusal(condition.ToString(), reply.TryGetValue(TextHeader, out var text) ? text.ToString() : null)
                : null;
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            LogBindFailed(logger, session.Jid.ToString(), home.Name, e.Message);
            refused = StanzaError.RemoteServerTimeout($"The cluster node serving {session.Jid.Bare} did not answer.");
        }
        if (refused is not null)
        {
            _fronted.TryRemove(session.Id, out _);
        }
        return refused;
    }

    private static StanzaError Refusal(string condition, string? text) => condition switch
    {
        "conflict" => StanzaError.Conflict(text),
        "resource-constraint" => StanzaError.ResourceConstraint(text),
        _ => StanzaError.RemoteServerTimeout(text),
    };

    public ValueTask FromClientAsync(ClientSession session, Element stanza, Jid? to)
    {
        if (_fronted.TryGetValue(session.Id, out var fronted))
        {
            var headers = Headers("stanza", view.Self, session.Id);
            if (to is not null)
            {
                headers[ToHeader] = to.ToString();
            }
            if (!_outbox.Writer.TryWrite(new(fronted.Home, headers, stanza, session)))
            {
                NotSent(session, stanza, "The cluster bus is down and this node holds as many stanzas for other nodes as it may.");
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Answers the client's stanza that could not reach the node serving its account.</summary>
    private void NotSent(ClientSession session, Element stanza, string why)
    {
        LogNotSent(logger, stanza.Name, session.Jid.ToString(), why);
        if (!Stanzas.IsError(stanza))
        {
            session.Send(Stanzas.ErrorReply(stanza, StanzaError.RemoteServerTimeout(why)));
        }
    }

    public async ValueTask EndedAsync(ClientSession session)
    {
        if (_fronted.TryRemove(session.Id, out var fronted))
        {
            // Waits for room rather than lose it: a stand-in whose end never came would outlive its session.
            await _outbox.Writer.WriteAsync(new(fronted.Home, Headers("end", view.Self, session.Id), null)).ConfigureAwait(false);
        }
    }

    // ---- Home side: the stand-in of a session whose client is connected to another node.

    private (string? Condition, string? Text) BindStandIn(string front, long id, Jid full, string remote)
    {
        if (view.ServedElsewhere(full) is not null)
        {
            return ("remote-server-timeout", "The node serving this account changed; sign in again.");
        }
        var standIn = new ClientSession(full, new StandInSink(this, front, id), remote, $"relayed by node {front}") { ConnectedAt = front };
        if (options.Sessions.ResourceConflict == "reject" && sessions.Find(full) is not null)
        {
            return ("conflict", "That resource is in use.");
        }
        ClientSession? replaced;
        try
        {
            replaced = sessions.Add(standIn, options.Limits.MaxResourcesPerAccount);
        }
        catch (ResourceLimitException e)
        {
            return ("resource-constraint", e.Message);
        }
        replaced?.Sink.CloseWithError("conflict", "Replaced by a new connection with the same resource.");
        _standIns[(front, id)] = standIn;
        LogStandIn(logger, full.ToString(), front);
        return (null, null);
    }

    private async ValueTask EndStandInAsync(string front, long id)
    {
        if (_standIns.TryRemove((front, id), out var standIn))
        {
            await Closer.EndAsync(standIn).ConfigureAwait(false);
        }
    }

    /// <summary>What the stand-in is sent goes to the front node's client; closing it closes the client there.</summary>
    private sealed class StandInSink(SessionRelay relay, string front, long id) : IStanzaSink
    {
        private volatile bool _closed;

        public bool Send(Element stanza) =>
            !_closed && relay._outbox.Writer.TryWrite(new(front, Headers("deliver", front, id), stanza));

        public void CloseWithError(string condition, string? text = null, string? conditionContent = null)
        {
            _closed = true;
            var headers = Headers("close", front, id);
            headers[ConditionHeader] = condition;
            if (text is not null)
            {
                headers[TextHeader] = text;
            }
            if (conditionContent is not null)
            {
                headers[ContentHeader] = conditionContent;
            }
            relay._outbox.Writer.TryWrite(new(front, headers, null));
        }
    }

    // ---- The bus.

    private static NatsHeaders Headers(string op, string front, long id) =>
        new() { [OpHeader] = op, [FrontHeader] = front, [SessionHeader] = id.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private async Task SendAsync(CancellationToken stoppingToken)
    {
        var xml = new ArrayBufferWriter<byte>();
        await foreach (var outgoing in _outbox.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            xml.ResetWrittenCount();
            outgoing.Stanza?.WriteTo(xml, Ns.Client);
            if (await DeliverAsync(outgoing, xml.WrittenMemory, stoppingToken).ConfigureAwait(false) is { } failure)
            {
                if (outgoing is { Sender: { } sender, Stanza: { } stanza })
                {
                    NotSent(sender, stanza, failure);
                }
                else
                {
                    LogSendFailed(logger, SubjectOf(outgoing.Node), failure);
                }
            }
        }
    }

    /// <summary>
    /// Sends one message and waits for the other node's acknowledgement. While the bus is down, or the node is up but not
    /// listening yet (subscribing again after the bus came back), it tries again, up to the hold limit. Null when sent, else why not.
    /// </summary>
    private async Task<string?> DeliverAsync(Outgoing outgoing, ReadOnlyMemory<byte> data, CancellationToken stoppingToken)
    {
        while (true)
        {
            if (Connected)
            {
                using var timeout = new CancellationTokenSource(AnswerTimeout);
                try
                {
                    await _nats.RequestAsync<ReadOnlyMemory<byte>, byte[]>(SubjectOf(outgoing.Node), data, outgoing.Headers,
                        replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
                    return null;
                }
                catch (NatsNoRespondersException) when (view.Node(outgoing.Node) is { Up: true })
                {
                }
                catch (NatsNoRespondersException)
                {
                    return $"node {outgoing.Node} is not running.";
                }
                catch (Exception e) when (e is NatsException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    return $"node {outgoing.Node} did not answer ({e.Message}).";
                }
            }
            if (Stopwatch.GetElapsedTime(outgoing.Queued) >= _holdLimit)
            {
                return $"The cluster bus was down for longer than {options.Cluster.BusBufferSeconds} s; the stanza was not sent.";
            }
            // What is queued waits for the bus, in order, up to its limit.
            await Task.Delay(100, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Handled one at a time in the order they came, so that a session's stanzas keep their order.</summary>
    private async Task ReceiveAsync(CancellationToken stoppingToken)
    {
        await foreach (var message in _nats.SubscribeAsync<byte[]>(SubjectOf(view.Self), cancellationToken: stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await HandleAsync(message, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogHandleFailed(logger, message.Subject, e);
            }
        }
    }

    private async ValueTask HandleAsync(NatsMsg<byte[]> message, CancellationToken stoppingToken)
    {
        if (message.ReplyTo is not null && !(message.Headers?.TryGetValue(OpHeader, out var requested) is true && requested == "bind"))
        {
            // Acknowledged on arrival, before it is handled: the sender's queue waits for nothing else.
            await message.ReplyAsync<byte[]>([], cancellationToken: stoppingToken).ConfigureAwait(false);
        }
        if (message.Headers is not { } headers
            || !headers.TryGetValue(OpHeader, out var op)
            || !headers.TryGetValue(FrontHeader, out var front)
            || !headers.TryGetValue(SessionHeader, out var idText) || !long.TryParse(idText.ToString(), System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            LogMalformed(logger, message.Subject);
            return;
        }
        switch (op.ToString())
        {
            case "bind" when headers.TryGetValue(JidHeader, out var jidText) && Jid.TryParse(jidText, out var full) && full.Resource is not null:
                var (condition, text) = BindStandIn(front.ToString(), id, full, headers.TryGetValue(RemoteHeader, out var remote) ? remote.ToString() : front.ToString());
                var reply = new NatsHeaders();
                if (condition is not null)
                {
                    reply[ConditionHeader] = condition;
                    reply[TextHeader] = text ?? "";
                }
                await message.ReplyAsync<byte[]>([], reply, cancellationToken: stoppingToken).ConfigureAwait(false);
                if (condition is null && _standIns.TryGetValue((front.ToString(), id), out var started))
                {
                    await services.GetRequiredService<ModuleRegistry>().SessionStarted.RaiseAsync(started).ConfigureAwait(false);
                }
                return;
            case "stanza" when _standIns.TryGetValue((front.ToString(), id), out var standIn) && Stanza(message) is { } stanza:
                var to = headers.TryGetValue(ToHeader, out var toText) && Jid.TryParse(toText, out var parsed) ? parsed : null;
                await Router.RouteFromClientAsync(stanza, standIn, to).ConfigureAwait(false);
                return;
            case "end":
                await EndStandInAsync(front.ToString(), id).ConfigureAwait(false);
                return;
            case "deliver" when _fronted.TryGetValue(id, out var fronted) && Stanza(message) is { } delivered:
                fronted.Session.Send(delivered);
                return;
            case "close" when _fronted.TryGetValue(id, out var closing):
                closing.Session.Sink.CloseWithError(headers.TryGetValue(ConditionHeader, out var c) ? c.ToString() : "reset",
                    headers.TryGetValue(TextHeader, out var t) ? t.ToString() : null,
                    headers.TryGetValue(ContentHeader, out var content) ? content.ToString() : null);
                return;
            case "stanza" or "deliver" or "close":
                // The session ended meanwhile on the other side.
                return;
            default:
                LogMalformed(logger, message.Subject);
                return;
        }
    }

    private static Element? Stanza(NatsMsg<byte[]> message) =>
        message.Data is { Length: > 0 } data ? ClusterBus.ParseStanza(data) : null;

    // ---- Each side checks the other at every heartbeat.

    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Cluster.HeartbeatMilliseconds));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            foreach (var (key, standIn) in _standIns)
            {
                // A front whose lease ran out has lost its clients: their stand-ins go, and their contacts see them go.
                if (view.Node(key.Front) is not ({ Up: true } or { FailedOver: true }))
                {
                    LogFrontGone(logger, standIn.Jid.ToString(), key.Front);
                    await EndStandInAsync(key.Front, key.Id).ConfigureAwait(false);
                }
            }
            foreach (var (session, home) in _fronted.Values)
            {
                if (view.ServedElsewhere(session.Jid)?.Name != home)
                {
                    LogHomeChanged(logger, session.Jid.ToString(), home);
                    session.Sink.CloseWithError("reset", $"The node serving {session.Jid.Bare} changed; sign in again.");
                }
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await _nats.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Jid} is connected to node {Front} and served here")]
    private static partial void LogStandIn(ILogger logger, string jid, string front);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Binding {Jid} at node {Home} failed: {Reason}")]
    private static partial void LogBindFailed(ILogger logger, string jid, string home, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relaying on {Subject} failed: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string subject, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A {Stanza} from {Jid} could not be relayed: {Reason}")]
    private static partial void LogNotSent(ILogger logger, string stanza, string jid, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling a relayed message on {Subject} failed")]
    private static partial void LogHandleFailed(ILogger logger, string subject, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A message on {Subject} is not a relay message with its headers; dropped")]
    private static partial void LogMalformed(ILogger logger, string subject);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Front} is down: the session of {Jid} connected there ends")]
    private static partial void LogFrontGone(ILogger logger, string jid, string front);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Home} no longer serves {Jid}: its client here is asked to sign in again")]
    private static partial void LogHomeChanged(ILogger logger, string jid, string home);
}
