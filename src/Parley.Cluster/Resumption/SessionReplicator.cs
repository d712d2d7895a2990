using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
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
/// Copies the stream-management state (XEP-0198) of this node's sessions to its redundancy-group peer as it changes,
/// so that the peer can let the clients resume there when this node dies (<see cref="PeerReplicas"/>), and, once a
/// heartbeat, the presence of the sessions without it, so that the peer can end them. Each change is
/// one small event (<see cref="ReplicaBatch"/>), queued in order and sent in batches, one bus request per batch, which
/// the peer answers once it has applied it. Whenever the peer appears, changes, or a batch is lost, the peer is told to
/// forget this node's sessions and gets each one's whole state again. Without a peer nothing is kept or sent.
/// </summary>
public sealed partial class SessionReplicator(
    ParleyOptions options, ClusterView view, SessionRegistry sessions, DataMonitor monitor, IServiceProvider services, ILogger<SessionReplicator> logger)
    : BackgroundService, ISessionReplication
{
    public const string OriginHeader = "Parley-Origin";
    public const string InstanceHeader = "Parley-Instance";

    /// <summary>Beyond this many events not yet sent (the peer is slow or the bus is down), new ones are dropped and a full copy follows.</summary>
    private const int MaxQueuedEvents = 100_000;

    private const int MaxBatchBytes = 256 * 1024;
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    private readonly NatsConnection _nats = new(NatsOpts.Default with { Url = options.Cluster.Bus!, Name = $"parley-{view.Self}-replication" });
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private readonly ConcurrentQueue<Element> _events = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _waitersLock = new();
    private readonly List<(long Through, TaskCompletionSource Done)> _waiters = [];
    private readonly TimeSpan _heartbeat = TimeSpan.FromMilliseconds(options.Cluster.HeartbeatMilliseconds);

    /// <summary>Events recorded and events that the peer holds (or never will): <see cref="ReplicatedAsync"/> waits for the one to reach the other.</summary>
    private long _recorded;
    private long _settled;
    private int _queued;

    /// <summary>
    /// Sessions without stream management, copied too — their presence and what the modules keep, nothing to resume —
    /// so that when this node dies the peer ends them where contacts and rooms see it, instead of leaving the users
    /// shown online. Compared once a heartbeat, not at each change: a change in the last heartbeat before a crash is
    /// missed, which costs a stale status at worst. Used by the replicating loop alone.
    /// </summary>
    private readonly Dictionary<ClientSession, CopyWithoutManagement> _withoutManagement = new(ReferenceEqualityComparer.Instance);
    private long _withoutManagementIds;
    private long _withoutManagementCopiedAt;

    private sealed class CopyWithoutManagement(string id)
    {
        public string Id { get; } = id;
        public Element? Presence { get; set; }
        public int KeptVersion { get; set; } = -1;
    }

    /// <summary>The peer that gets the events, or null while there is none (then nothing is recorded).</summary>
    private volatile string? _peer;
    private volatile bool _resync;

    public static string SubjectOf(string node) => "parley.replica." + node;

    /// <summary>The same connection serves <see cref="PeerReplicas"/>, which receives the peer's copies.</summary>
    internal NatsConnection Bus => _nats;

    public string? Location => ClusterMembership.AddressOf(options);

    public IManagementReplica? Start(ClientSession session, StreamManagementState management)
    {
        var copy = new SessionCopy(this, session, management.Id);
        Record(ReplicaBatch.Open(session, management));
        return copy;
    }

    public ValueTask ReplicatedAsync()
    {
        var target = Interlocked.Read(ref _recorded);
        TaskCompletionSource done;
        lock (_waitersLock)
        {
            if (_settled >= target)
            {
                return ValueTask.CompletedTask;
            }
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
        }
        _wake.Writer.TryWrite(true);
        return new ValueTask(done.Task);
    }

    // Resolved when first asked: PeerReplicas needs this node's replication (through ParleyNode) itself.
    public ValueTask TakenOverAsync(string streamId) => services.GetRequiredService<PeerReplicas>().TakenOverAsync(streamId);

    /// <summary>Queues one event; called under the session's management lock, so each session's events keep their order.</summary>
    internal void Record(Element change)
    {
        if (_peer is null)
        {
            return;
        }
        if (Interlocked.Increment(ref _queued) > MaxQueuedEvents)
        {
            Interlocked.Decrement(ref _queued);
            _resync = true;
            return;
        }
        Interlocked.Increment(ref _recorded);
        _events.Enqueue(change);
        _wake.Writer.TryWrite(true);
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await Parley.Cluster.Bus.BusConnect.WhenReachableAsync(_nats, options.Cluster.Bus!, monitor, cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Woken by events, and at least once a heartbeat to notice a peer that came, went or changed.
            using (var beat = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                beat.CancelAfter(_heartbeat);
                try
                {
                    await _wake.Reader.WaitToReadAsync(beat.Token).ConfigureAwait(false);
                    _wake.Reader.TryRead(out _);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }
            }
            try
            {
                await ReplicateAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(logger, e);
                _resync = true;
            }
        }
    }

    private async Task ReplicateAsync(CancellationToken cancellationToken)
    {
        var peer = view.GroupPeer() is { Up: true } up ? up.Name : null;
        if (peer is null)
        {
            if (_peer is { } gone)
            {
                LogNoPeer(logger, gone);
            }
            _peer = null;
            _withoutManagement.Clear();
            Settle(Drain());
            return;
        }
        if (_peer != peer || _resync)
        {
            // Set first: a change made after a session's copy is taken below is recorded behind it.
            _peer = peer;
            _resync = false;
            var discarded = Drain();
            Record(ReplicaBatch.Reset());
            var copied = 0;
            foreach (var session in sessions.All)
            {
                if (session.Management is { } management)
                {
                    lock (management.Sync)
                    {
                        if (management.Replica is SessionCopy)
                        {
                            Record(ReplicaBatch.Open(session, management));
                            copied++;
                        }
                    }
                }
            }
            _withoutManagement.Clear();
            CopySessionsWithoutManagement();
            // Callers waiting for the discarded events are released once the copies that replace them are sent.
            await SendQueuedAsync(peer, discarded, cancellationToken).ConfigureAwait(false);
            LogCopied(logger, copied, peer);
            return;
        }
        if (Environment.TickCount64 - _withoutManagementCopiedAt >= _heartbeat.TotalMilliseconds)
        {
            CopySessionsWithoutManagement();
        }
        await SendQueuedAsync(peer, 0, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records a copy of each session without stream management that is new or changed, and the end of each one gone.</summary>
    private void CopySessionsWithoutManagement()
    {
        _withoutManagementCopiedAt = Environment.TickCount64;
        var current = new HashSet<ClientSession>(ReferenceEqualityComparer.Instance);
        foreach (var session in sessions.All)
        {
            // Copied with its stream management; or relayed, and then its serving node has the session that counts.
            if (session.Management?.Replica is not null || session.Relay is not null)
            {
                continue;
            }
            current.Add(session);
            if (!_withoutManagement.TryGetValue(session, out var copy))
            {
                copy = new CopyWithoutManagement($"plain-{++_withoutManagementIds}");
                _withoutManagement[session] = copy;
            }
            var keptVersion = session.KeptVersion;
            if (ReferenceEquals(copy.Presence, session.Presence) && copy.KeptVersion == keptVersion)
            {
                continue;
            }
            copy.Presence = session.Presence;
            copy.KeptVersion = keptVersion;
            Record(ReplicaBatch.OpenWithoutManagement(copy.Id, session));
        }
        foreach (var (session, copy) in _withoutManagement)
        {
            if (!current.Contains(session))
            {
                _withoutManagement.Remove(session);
                Record(ReplicaBatch.End(copy.Id));
            }
        }
    }

    private int Drain()
    {
        var drained = 0;
        while (_events.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _queued);
            drained++;
        }
        return drained;
    }

    /// <summary>Sends everything queued, batch by batch; <paramref name="alsoSettled"/> events count as held once the first batch is.</summary>
    private async Task SendQueuedAsync(string peer, int alsoSettled, CancellationToken cancellationToken)
    {
        var headers = new NatsHeaders { [OriginHeader] = view.Self, [InstanceHeader] = _instance };
        while (!_events.IsEmpty)
        {
            var batch = new ArrayBufferWriter<byte>();
            batch.Write("<batch>"u8);
            var count = 0;
            while (batch.WrittenCount < MaxBatchBytes && _events.TryDequeue(out var change))
            {
                Interlocked.Decrement(ref _queued);
                change.WriteTo(batch, Ns.Client);
                count++;
            }
            batch.Write("</batch>"u8);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(AnswerTimeout);
                var answer = await _nats.RequestAsync<ReadOnlyMemory<byte>, byte[]>(SubjectOf(peer), batch.WrittenMemory, headers,
                    replyOpts: new NatsSubOpts { ThrowIfNoResponders = true }, cancellationToken: timeout.Token).ConfigureAwait(false);
                if (answer.HasNoResponders)
                {
                    throw new NatsNoRespondersException();
                }
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // The peer may have missed this batch: it gets everything again at the next turn.
                LogBatchLost(logger, count, peer, e.Message);
                _resync = true;
            }
            Settle(count + alsoSettled);
            alsoSettled = 0;
        }
        Settle(alsoSettled);
    }

    private void Settle(int events)
    {
        if (events == 0)
        {
            return;
        }
        lock (_waitersLock)
        {
            _settled += events;
            _waiters.RemoveAll(waiter =>
            {
                if (waiter.Through > _settled)
                {
                    return false;
                }
                waiter.Done.TrySetResult();
                return true;
            });
        }
    }

    /// <summary>Sends what the sessions ended by the node's shutdown recorded before the bus closes, so that the peer does not take them over.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_peer is { } peer)
        {
            CopySessionsWithoutManagement();
            await SendQueuedAsync(peer, 0, cancellationToken).ConfigureAwait(false);
        }
        lock (_waitersLock)
        {
            foreach (var waiter in _waiters)
            {
                waiter.Done.TrySetResult();
            }
            _waiters.Clear();
        }
        await _nats.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The copy of one session: each change becomes an event for the peer.</summary>
    private sealed class SessionCopy(SessionReplicator owner, ClientSession session, string id) : IManagementReplica
    {
        private Element? _presence = session.Presence;

        public void Queued(Element stanza, DateTimeOffset arrived) => owner.Record(ReplicaBatch.Queued(id, stanza, arrived));

        public void Acknowledged(uint h) => owner.Record(ReplicaBatch.Count("a", id, h));

        public void Handled(uint handled)
        {
            owner.Record(ReplicaBatch.Count("h", id, handled));
            // The presence module sets the session's presence while it routes the client's stanza, before it is counted.
            if (!ReferenceEquals(session.Presence, _presence))
            {
                _presence = session.Presence;
                owner.Record(ReplicaBatch.Presence(id, _presence));
            }
        }

        public void Kept(string name, Element? state) => owner.Record(ReplicaBatch.Kept(id, name, state));

        public void Ended() => owner.Record(ReplicaBatch.End(id));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stream management state of {Count} sessions copied to the group peer {Peer}")]
    private static partial void LogCopied(ILogger logger, int count, string peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The group peer {Peer} is gone: no copy of the sessions' stream management state is kept")]
    private static partial void LogNoPeer(ILogger logger, string peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} stream management changes for the group peer {Peer} were not acknowledged ({Reason}); it gets a full copy")]
    private static partial void LogBatchLost(ILogger logger, int count, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Copying stream management state to the group peer failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
