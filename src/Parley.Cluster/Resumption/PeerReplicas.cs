using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Parley.Cluster.Membership;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Sessions;
using Parley.Xml;

namespace Parley.Cluster.Resumption;

/// <summary>
/// This node's copies of its group peer's sessions (sent by the peer's <see cref="SessionReplicator"/>), and the
/// takeover when that peer dies: once its lease has run out (or a new instance of it starts), each copied session
/// becomes a hibernated session here, bound to the same full JID with its presence, which the client resumes with
/// its <c>previd</c> and gets every stanza it had not acknowledged; a session that cannot be resumed (no resumption
/// asked, the resource already back, too many stanzas) has them delivered to the account's other sessions or stored offline,
/// and unless its resource is back it ends here as it would have on its node: its contacts, and everyone it sent
/// directed presence to (its rooms), get its unavailable presence.
/// </summary>
public sealed partial class PeerReplicas(ParleyOptions options, ClusterView view, SessionReplicator replicator, ParleyNode node, ILogger<PeerReplicas> logger)
    : BackgroundService
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, (string Instance, Dictionary<string, SessionReplica> Sessions)> _origins = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _takeovers = new(StringComparer.Ordinal);

    /// <summary>The origin node of each copied stream between the moment its node is found dead and its takeover here.</summary>
    private readonly Dictionary<string, string> _takingOver = new(StringComparer.Ordinal);

    /// <summary>How long a client's resumption waits for the takeover: until the dead node's lease has run out and a few heartbeats more.</summary>
    private readonly TimeSpan _takeoverWait = TimeSpan.FromMilliseconds(options.Cluster.LeaseMilliseconds + 5 * options.Cluster.HeartbeatMilliseconds);
    /// <summary>Sessions announced at once after a takeover: each reads the roster and routes presence, so a few keep the storage busy without crowding out sign-ins.</summary>
    private const int TakeOverParallelism = 8;

    private readonly XmlLimits _limits = new() { MaxStanzaBytes = int.MaxValue, MaxDepth = node.Options.Limits.MaxDepth + 3 };

    /// <summary>Sessions copied here now, for every peer (for tests and status).</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _origins.Values.Sum(origin => origin.Sessions.Count);
            }
        }
    }

    /// <summary>The copies held here of <paramref name="account"/>'s sessions (for tests).</summary>
    internal IReadOnlyList<SessionReplica> CopiesOf(string account)
    {
        lock (_sync)
        {
            return [.. _origins.Values.SelectMany(origin => origin.Sessions.Values).Where(copy => copy.Jid.Bare.ToString() == account)];
        }
    }

    /// <summary>Waits until the copy of stream <paramref name="streamId"/>, if this node holds one, has been taken over; bounded.</summary>
    public async ValueTask TakenOverAsync(string streamId)
    {
        Task takeover;
        lock (_sync)
        {
            var origin = _origins.FirstOrDefault(entry => entry.Value.Sessions.ContainsKey(streamId)).Key ?? _takingOver.GetValueOrDefault(streamId);
            if (origin is null)
            {
                return;
            }
            if (!_takeovers.TryGetValue(origin, out var pending))
            {
                pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _takeovers[origin] = pending;
            }
            takeover = pending.Task;
        }
        try
        {
            await takeover.WaitAsync(_takeoverWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The node is alive after all (the client came to the wrong node): it resumes there, or binds.
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ReceiveAsync(stoppingToken), WatchPeersAsync(stoppingToken));

    private async Task ReceiveAsync(CancellationToken stoppingToken)
    {
        await foreach (var message in replicator.Bus.SubscribeAsync<byte[]>(SessionReplicator.SubjectOf(view.Self), cancellationToken: stoppingToken).ConfigureAwait(false))
        {
            List<SessionReplica>? orphaned = null;
            if (message.Headers is { } headers
                && headers.TryGetValue(SessionReplicator.OriginHeader, out var origin)
                && headers.TryGetValue(SessionReplicator.InstanceHeader, out var instance)
                && Parse(message.Data) is { } batch)
            {
                orphaned = Apply(origin!, instance!, batch);
            }
            else
            {
                LogMalformed(logger, message.Subject);
            }
            await message.ReplyAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
            if (orphaned is { Count: > 0 })
            {
                // A new instance of the peer started: the old one is dead, whatever this node's view says yet.
                await TakeOverAsync(message.Headers![SessionReplicator.OriginHeader]!, orphaned).ConfigureAwait(false);
            }
        }
    }

    private Element? Parse(byte[]? data)
    {
        if (data is null)
        {
            return null;
        }
        try
        {
            return ElementParser.Parse(Encoding.UTF8.GetString(data), Ns.Client, _limits);
        }
        catch (Exception e) when (e is XmlStreamException or DecoderFallbackException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Applies a batch; returns the sessions of an earlier instance of the origin, which are to be taken over now.</summary>
    private List<SessionReplica>? Apply(string origin, string instance, Element batch)
    {
        var max = node.Options.Limits.MaxSendQueueStanzas;
        lock (_sync)
        {
            List<SessionReplica>? orphaned = null;
            if (!_origins.TryGetValue(origin, out var copies) || copies.Instance != instance)
            {
                orphaned = copies.Sessions is { } old ? BeginTakeover(origin, old) : null;
                copies = (instance, new Dictionary<string, SessionReplica>(StringComparer.Ordinal));
                _origins[origin] = copies;
            }
            var sessions = copies.Sessions;
            foreach (var change in batch.Children())
            {
                var id = change.GetAttribute("id") ?? "";
                switch (change.Name)
                {
                    case "reset":
                        sessions.Clear();
                        break;
                    case "open" when Jid.TryParse(change.GetAttribute("jid"), out var jid):
                        var replica = new SessionReplica(id, jid, change.GetAttribute("resumable") == "true",
                            ReplicaBatch.CountOf(change, "handled"), ReplicaBatch.CountOf(change, "sent") - (uint)change.Children("q").Count());
                        foreach (var item in change.Children())
                        {
                            if (item.Name == "presence")
                            {
                                replica.Presence = item;
                            }
                            else if (item.Name == "k")
                            {
                                replica.Keep(item);
                            }
                            else if (item.Name == "q" && ReplicaBatch.StanzaIn(item) is { } stanza)
                            {
                                replica.Queue(stanza, ReplicaBatch.ArrivedOf(item), max);
                            }
                        }
                        sessions[id] = replica;
                        break;
                    case "q" when sessions.TryGetValue(id, out var queued) && ReplicaBatch.StanzaIn(change) is { } stanza:
                        queued.Queue(stanza, ReplicaBatch.ArrivedOf(change), max);
                        break;
                    case "a" when sessions.TryGetValue(id, out var acknowledged):
                        acknowledged.Acknowledge(ReplicaBatch.CountOf(change, "h"));
                        break;
                    case "h" when sessions.TryGetValue(id, out var handled):
                        handled.Handled = ReplicaBatch.CountOf(change, "h");
                        break;
                    case "k" when sessions.TryGetValue(id, out var keeping):
                        keeping.Keep(change);
                        break;
                    case "p" when sessions.TryGetValue(id, out var present):
                        present.Presence = ReplicaBatch.StanzaIn(change);
                        break;
                    case "end":
                        sessions.Remove(id);
                        break;
                }
            }
            return orphaned;
        }
    }

    /// <summary>At every heartbeat: the sessions of a peer whose lease ran out (not one failed over by hand, which ends its own) are taken over.</summary>
    private async Task WatchPeersAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Cluster.HeartbeatMilliseconds));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            List<(string Origin, List<SessionReplica> Sessions)> dead = [];
            lock (_sync)
            {
                foreach (var (origin, copies) in _origins)
                {
                    if (view.Node(origin) is { Up: false, FailedOver: false })
                    {
                        dead.Add((origin, BeginTakeover(origin, copies.Sessions)));
                    }
                }
                foreach (var (origin, _) in dead)
                {
                    _origins.Remove(origin);
                }
            }
            foreach (var (origin, sessions) in dead)
            {
                await TakeOverAsync(origin, sessions).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Called under the lock as the copies of a dead node leave <see cref="_origins"/>: resumptions still find whose they were.</summary>
    private List<SessionReplica> BeginTakeover(string origin, Dictionary<string, SessionReplica> copies)
    {
        foreach (var id in copies.Keys)
        {
            _takingOver[id] = origin;
        }
        return [.. copies.Values];
    }

    /// <summary>
    /// First every resumable copy becomes a hibernated session here, at once and without I/O, and the clients waiting to
    /// resume are let go; only then are the sessions announced (their presence routed, the login noted) and what the
    /// others had not acknowledged delivered, a few at a time. Announcing them one by one first held every resumption
    /// until the last of thousands was announced, and the clients gave up and signed in again.
    /// </summary>
    private async Task TakeOverAsync(string origin, List<SessionReplica> replicas)
    {
        List<(ClientSession Session, Element? Presence)> hibernated = [];
        List<SessionReplica> notResumable = [];
        foreach (var replica in replicas)
        {
            if (replica is { Resumable: true, Complete: true } && node.Sessions.Find(replica.Jid) is null)
            {
                hibernated.Add((Hibernate(origin, replica), replica.Presence));
            }
            else
            {
                // The client cannot resume this one (or is back under the same resource): what it had not acknowledged goes elsewhere now.
                notResumable.Add(replica);
            }
        }
        lock (_sync)
        {
            foreach (var replica in replicas)
            {
                _takingOver.Remove(replica.Id);
            }
            if (_takeovers.Remove(origin, out var waiting))
            {
                waiting.TrySetResult();
            }
        }
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = TakeOverParallelism };
        await Parallel.ForEachAsync(hibernated, parallel, async (taken, _) =>
        {
            try
            {
                await AnnounceAsync(taken.Session, taken.Presence).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                LogTakeOverFailed(logger, e, taken.Session.Jid.ToString(), origin);
            }
        }).ConfigureAwait(false);
        var redelivered = 0;
        await Parallel.ForEachAsync(notResumable, parallel, async (replica, _) =>
        {
            try
            {
                Interlocked.Add(ref redelivered, await EndAsync(origin, replica).ConfigureAwait(false));
            }
            catch (Exception e)
            {
                LogTakeOverFailed(logger, e, replica.Jid.ToString(), origin);
            }
        }).ConfigureAwait(false);
        LogTookOver(logger, origin, hibernated.Count, redelivered);
    }

    /// <summary>The copied session becomes one of this node's, hibernated as if its connection had just been lost here.</summary>
    private ClientSession Hibernate(string origin, SessionReplica replica)
    {
        // The sink is replaced at once: a hibernated sink needs the session it belongs to.
        var session = new ClientSession(replica.Jid, null!, $"node {origin}", "resumable after failover");
        var management = StreamManagementState.Restore(replica.Id, replica.Resumable, replica.Handled, replica.Sent, replica.Unacked);
        lock (management.Sync)
        {
            management.HibernatedUntil = Environment.TickCount64 + node.Options.Sessions.ResumeTimeoutSeconds * 1000L;
            management.Replica = node.Replication.Start(session, management);
        }
        session.Management = management;
        session.Sink = new HibernatedSink(session, node.Options.Limits.MaxSendQueueStanzas, node.SessionCloser);
        // Before the client can resume: it finds its rooms, its directed presence and its client state as they were.
        node.Modules.Restore(session, replica.Kept);
        var replaced = node.Sessions.Add(session, 0);
        replaced?.Sink.CloseWithError("conflict", "Replaced by a new connection with the same resource.");
        node.Resumable.Add(session);
        return session;
    }

    /// <summary>
    /// Ends a copied session the client cannot resume, as its node would have when its connection broke: what it had not
    /// acknowledged is delivered elsewhere or stored, and then, unless the client is back under that resource, the modules
    /// see it end (presence unavailable to its contacts and to everyone it sent directed presence, so no room keeps a
    /// ghost occupant). Returns how many stanzas went elsewhere.
    /// </summary>
    private async Task<int> EndAsync(string origin, SessionReplica replica)
    {
        var redelivered = await node.Router.RedeliverAsync([.. replica.Unacked], replica.Jid).ConfigureAwait(false);
        if (node.Sessions.Find(replica.Jid) is not null)
        {
            return redelivered;
        }
        // Never in the registry: nothing is routed to it while its end is told.
        var session = new ClientSession(replica.Jid, null!, $"node {origin}", "not resumable after failover");
        session.Management = StreamManagementState.Restore(replica.Id, resumable: false, replica.Handled, replica.Sent, []);
        session.Sink = new HibernatedSink(session, node.Options.Limits.MaxSendQueueStanzas, node.SessionCloser);
        node.Modules.Restore(session, replica.Kept);
        session.Presence = replica.Presence;
        await node.Modules.SessionEnded.RaiseAsync(session).ConfigureAwait(false);
        return redelivered;
    }

    private async Task AnnounceAsync(ClientSession session, Element? presence)
    {
        await node.Modules.SessionStarted.RaiseAsync(session).ConfigureAwait(false);
        // A client that resumed and sent presence of its own since, or ended the session, is not contradicted.
        if (presence is not null && session.Presence is null && ReferenceEquals(node.Sessions.Find(session.Jid), session))
        {
            // As the client sent it: contacts see the user available here, and stored messages come to the session.
            await node.Router.RouteFromClientAsync(presence.Clone(), session, null).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A message on {Subject} is not a batch of stream management changes; dropped")]
    private static partial void LogMalformed(ILogger logger, string subject);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Took over the sessions of node {Node}: {Resumable} wait to be resumed here, {Redelivered} unacknowledged messages delivered or stored offline")]
    private static partial void LogTookOver(ILogger logger, string node, int resumable, int redelivered);

    [LoggerMessage(Level = LogLevel.Error, Message = "Taking over the session of {Jid} from node {Node} failed")]
    private static partial void LogTakeOverFailed(ILogger logger, Exception exception, string jid, string node);
}
