using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Npgsql;
using Parley.Cluster.Bus;
using Parley.Server.Hosting;
using Parley.Server.Sessions;
using Parley.Storage.Postgres;

namespace Parley.Cluster.Membership;

/// <summary>A node cannot join the cluster: another running node has its name.</summary>
public sealed class ClusterJoinException(string message) : Exception(message);

/// <summary>
/// This node's membership: it claims its row of cluster_nodes at start (refused while another node of the same name
/// holds a live lease), renews the lease every heartbeat by the database's clock (so no node's own clock decides who
/// is up), reads the cluster's nodes and home assignments into the <see cref="ClusterView"/>, sends the clients of
/// accounts now served by another node there (fallback, reassignment), fences itself when it alone cannot renew, and
/// gives the lease up when it stops so that the name is free at once.
/// </summary>
public sealed partial class ClusterMembership(
    ParleyOptions options,
    NpgsqlDataSource database,
    ClusterView view,
    SessionRegistry sessions,
    ClusterBus bus,
    NodeShutdown shutdown,
    DataMonitor monitor,
    IHostApplicationLifetime lifetime,
    ILogger<ClusterMembership> logger) : BackgroundService
{
    // Assignments are read by revision at each heartbeat; every so often all of them, for those committed out of
    // revision order and for deleted accounts.
    private const int FullReadEvery = 10;

    private readonly Guid _instance = Guid.NewGuid();
    private readonly TimeSpan _lease = TimeSpan.FromMilliseconds(options.Cluster.LeaseMilliseconds);
    private readonly TimeSpan _heartbeat = TimeSpan.FromMilliseconds(options.Cluster.HeartbeatMilliseconds);
    private readonly TimeSpan _fallbackDelay = TimeSpan.FromSeconds(options.Cluster.FallbackDelaySeconds);
    private int _beats;
    private readonly Channel<Renewal> _renewals = Channel.CreateUnbounded<Renewal>(new() { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource _renewerStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _renewer;

    // When the first renewal since the last success failed (Environment.TickCount64); 0 while renewals succeed.
    private long _failingSince;

    // When the last renewal that succeeded was asked for, and when this node renewed again after half a lease or more
    // without (both Environment.TickCount64; 0: never).
    private long _lastRenewal;
    private long _backAt;

    private string Name => view.Self;

    /// <summary>The address clients are sent to for this node: the advertised host (else the bind address) and its client port.</summary>
    public static string AddressOf(ParleyOptions options) =>
        $"{options.Cluster.Advertise ?? options.Network.Bind}:{options.Network.C2sPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Claims the node's name before any listener opens, so that a refused node never serves anyone.</summary>
    /// <exception cref="ClusterJoinException">Another node of this name holds a live lease.</exception>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var claim = database.CreateCommand("""
            INSERT INTO cluster_nodes AS n (name, address, instance, started_at, renewed_at, lease_until, waiting_reason, fallback_at)
            VALUES ($1, $2, $3, NULL, now(), now() + $4, $5, NULL)
            ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, instance = EXCLUDED.instance,
                started_at = NULL, renewed_at = EXCLUDED.renewed_at, lease_until = EXCLUDED.lease_until, sessions = 0, users_served = 0,
                waiting_reason = EXCLUDED.waiting_reason, fallback_at = NULL
            WHERE n.lease_until < now()
            RETURNING true
            """))
        {
            claim.Parameters.Add(new() { Value = Name });
            claim.Parameters.Add(new() { Value = AddressOf(options) });
            claim.Parameters.Add(new() { Value = _instance });
            claim.Parameters.Add(new() { Value = _lease });
            claim.Parameters.Add(new() { Value = (object?)monitor.Reason ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            if (await claim.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                throw new ClusterJoinException(await RefusalAsync(cancellationToken).ConfigureAwait(false));
            }
            view.LastRenewed = Environment.TickCount64;
        }
        await HomeAccountsWithoutOneAsync(cancellationToken).ConfigureAwait(false);
        await ReadClusterAsync(full: true, cancellationToken).ConfigureAwait(false);
        LogJoined(logger, Name, AddressOf(options), (int)_lease.TotalMilliseconds);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> RefusalAsync(CancellationToken cancellationToken)
    {
        await using var holder = database.CreateCommand("SELECT address, extract(epoch FROM lease_until - now())::float8 FROM cluster_nodes WHERE name = $1");
        holder.Parameters.Add(new() { Value = Name });
        await using var reader = await holder.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var (address, seconds) = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetString(0), reader.GetDouble(1)) : ("?", 0.0);
        return string.Create(CultureInfo.InvariantCulture,
            $"another node named '{Name}' is running (at {address}, its lease runs {seconds:F1} s more); stop it first or give this node another --node name.");
    }

    /// <summary>
    /// Accounts created before there was a cluster have no home; the first node that takes users gets them (parley
    /// cluster balance spreads them afterwards). A standby node of an active/standby group takes none.
    /// </summary>
    private async Task HomeAccountsWithoutOneAsync(CancellationToken cancellationToken)
    {
        await using var homing = database.CreateCommand("""
            INSERT INTO cluster_assignments (jid, node)
            SELECT a.jid, $1 FROM accounts a
            WHERE NOT EXISTS (SELECT 1 FROM cluster_assignments c WHERE c.jid = a.jid)
              AND EXISTS (SELECT 1 FROM cluster_nodes n LEFT JOIN cluster_groups g ON g.name = n.group_name
                          WHERE n.name = $1 AND (g.mode IS DISTINCT FROM 'active-standby' OR n.group_position = 0))
            ON CONFLICT (jid) DO NOTHING
            """);
        homing.Parameters.Add(new() { Value = Name });
        var homed = await homing.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (homed > 0)
        {
            LogHomedExisting(logger, homed, Name);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Renewals run on a thread of their own with blocking I/O. In the thread pool they waited behind thousands of
        // sign-ins (a failover's wave): a renewal came seconds late, the other nodes saw this node down and its peer
        // took its users over while it still served them.
        _renewer = new Thread(() => RenewEachHeartbeat(stoppingToken)) { IsBackground = true, Name = "Parley cluster lease" };
        _renewer.Start();
        return ActOnRenewalsAsync(stoppingToken);
    }

    /// <summary>One renewal: when it was asked for, and whether it renewed, lost the name, or failed (and why).</summary>
    private readonly record struct Renewal(long Attempt, bool Renewed, string? Failure);

    private void RenewEachHeartbeat(CancellationToken stoppingToken)
    {
        try
        {
            var next = Environment.TickCount64;
            while (true)
            {
                // Ticks keep their pace; one that comes late is not made up for with a burst.
                next = Math.Max(next + (long)_heartbeat.TotalMilliseconds, Environment.TickCount64);
                if (stoppingToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(next - Environment.TickCount64)))
                {
                    return;
                }
                // A renewal counts from when it was asked for: what another node compares with its first failure.
                var attempt = Environment.TickCount64;
                Renewal renewal;
                try
                {
                    renewal = new Renewal(attempt, Renew(), null);
                }
                catch (Exception e)
                {
                    // Anything thrown here would end the process: every failure is a failed renewal, and fencing decides.
                    if (stoppingToken.IsCancellationRequested)
                    {
                        return;
                    }
                    renewal = new Renewal(attempt, false, e.Message);
                }
                if (renewal.Renewed)
                {
                    view.LastRenewed = attempt;
                }
                _renewals.Writer.TryWrite(renewal);
                if (renewal is { Renewed: false, Failure: null })
                {
                    return;
                }
            }
        }
        finally
        {
            _renewals.Writer.TryComplete();
            _renewerStopped.TrySetResult();
        }
    }

    private async Task ActOnRenewalsAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _renewals.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                // If this loop fell behind, the latest renewal says how things stand; a failure before it still started the clock.
                Renewal renewal = default;
                var failedSince = 0L;
                while (_renewals.Reader.TryRead(out var next))
                {
                    renewal = next;
                    failedSince = next.Failure is null ? 0 : failedSince == 0 ? next.Attempt : failedSince;
                }
                if (renewal is { Renewed: false, Failure: null })
                {
                    // Another node took this name after this node's lease ran out: two nodes must never serve as one.
                    LogLostName(logger, Name);
                    lifetime.StopApplication();
                    return;
                }
                if (renewal.Renewed)
                {
                    _failingSince = 0;
                    Renewed(renewal.Attempt);
                    await ReadClusterAndSendAwayAsync(stoppingToken).ConfigureAwait(false);
                    continue;
                }
                LogRenewalFailed(logger, Name, renewal.Failure!);
                if (_failingSince == 0)
                {
                    _failingSince = failedSince;
                }
                if (await MustFenceAsync().ConfigureAwait(false))
                {
                    // Clients first, at once: stopping the host could take longer than the lease has left.
                    await shutdown.StoppingAsync(stoppingToken).ConfigureAwait(false);
                    lifetime.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Notes a renewal. After half a lease or more without one, the database was likely lost to every node, and their
    /// leases ran out with it while they kept serving: see <see cref="IsUp"/>.
    /// </summary>
    private void Renewed(long attempt)
    {
        if (_lastRenewal != 0 && attempt - _lastRenewal >= _lease.TotalMilliseconds / 2)
        {
            _backAt = attempt;
        }
        _lastRenewal = Math.Max(_lastRenewal, attempt);
    }

    /// <summary>
    /// A node is up while its lease runs, once it has opened its listeners, unless failed over by hand. For one lease
    /// after this node is back from an outage of the database, a node that was up and whose lease ran out meanwhile
    /// still counts as up: the others come back a heartbeat or more apart, and the first one back must not take the
    /// users of a peer that kept serving them and has not renewed yet. A peer that died meanwhile is down a lease later.
    /// </summary>
    private bool IsUp(string name, bool leaseRuns, bool started, bool failedOver)
    {
        if (!started || failedOver)
        {
            return false;
        }
        return leaseRuns || (_backAt != 0 && Environment.TickCount64 - _backAt < _lease.TotalMilliseconds && view.Node(name) is { Up: true });
    }

    private async Task ReadClusterAndSendAwayAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReadClusterAsync(full: ++_beats % FullReadEvery == 0, stoppingToken).ConfigureAwait(false);
            SendAwayServedElsewhere();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            // The view stays as it was until the next heartbeat reads it; the lease was renewed.
            LogReadFailed(logger, e.Message);
        }
    }

    /// <summary>
    /// Half a lease without renewal: if the other nodes still renew theirs (the database is lost to this node alone),
    /// or the bus is lost too, this node stops serving (its clients get &lt;system-shutdown/&gt;) before its lease can run
    /// out and a peer takes its users. If no node renews, the database is down for all and every node keeps serving.
    /// </summary>
    private async Task<bool> MustFenceAsync()
    {
        var unrenewed = Environment.TickCount64 - view.LastRenewed;
        if (unrenewed < _lease.TotalMilliseconds / 2)
        {
            return false;
        }
        try
        {
            if (!await bus.OthersRenewAsync(_heartbeat / 2, TimeSpan.FromMilliseconds(Environment.TickCount64 - _failingSince)).ConfigureAwait(false))
            {
                LogDatabaseDownForAll(logger, Name);
                return false;
            }
            var attempt = Environment.TickCount64;
            if (await RenewAfreshAsync().ConfigureAwait(false))
            {
                LogRenewedAfresh(logger, Name);
                _failingSince = 0;
                Renewed(attempt);
                return false;
            }
            LogFencing(logger, Name, "the other nodes still renew theirs");
        }
        catch (NatsException e)
        {
            LogFencing(logger, Name, $"the bus is lost too ({e.Message})");
        }
        return true;
    }

    /// <summary>Sends the clients of accounts that another live node serves now (their home came back, or was changed) there.</summary>
    private void SendAwayServedElsewhere()
    {
        var sent = 0;
        foreach (var session in sessions.All.ToArray())
        {
            if (sent == options.Cluster.SendAwayPerHeartbeat)
            {
                return;
            }
            if (view.ServedElsewhere(session.Jid) is { } node)
            {
                LogSentAway(logger, session.Jid.ToString(), node.Name);
                if (options.Cluster.Redirect)
                {
                    session.SendToOtherHost(node.Address);
                }
                else
                {
                    // Served where it connects, it signs in again here and is relayed to that node.
                    session.Sink.CloseWithError("reset", $"{session.Jid.Bare} is served by node {node.Name} now; sign in again.");
                }
                sent++;
            }
        }
    }

    private bool Renew()
    {
        using var renew = RenewCommand(database);
        return renew.ExecuteNonQuery() == 1;
    }

    /// <summary>
    /// A renewal on a connection of its own, outside the pool and its memory of which hosts were down or a standby:
    /// after the database was lost to every node (a restart, a standby promoted), the nodes come back one heartbeat
    /// apart, and a node whose pool still held a broken connection or remembered the new primary as a standby would
    /// otherwise fence itself because the others already renew.
    /// </summary>
    private async Task<bool> RenewAfreshAsync()
    {
        try
        {
            var settings = PostgresConnectionSettings.Parse(options.Storage.ConnectionString!);
            settings.Pooling = false;
            // Half a lease has gone unrenewed already and fencing must still come before the lease runs out.
            using var deadline = new CancellationTokenSource(_lease / 4);
            await using var fresh = NpgsqlDataSource.Create(settings);
            await using var renew = RenewCommand(fresh);
            if (await renew.ExecuteNonQueryAsync(deadline.Token).ConfigureAwait(false) == 1)
            {
                view.LastRenewed = Environment.TickCount64;
                return true;
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            LogRenewalFailed(logger, Name, e.Message);
        }
        return false;
    }

    private NpgsqlCommand RenewCommand(NpgsqlDataSource source)
    {
        var all = sessions.All.ToArray();
        // started_at is set once the node's listeners are open: until then the others send no client here, and the
        // cluster status shows why it waits. Its users come home from its group peer once the fallback delay has passed.
        var renew = source.CreateCommand("""
            UPDATE cluster_nodes SET renewed_at = now(), lease_until = now() + $3, sessions = $4, users_served = $5,
                started_at = coalesce(started_at, CASE WHEN $6 THEN now() END),
                fallback_at = coalesce(fallback_at, CASE WHEN $6 THEN now() + $8 END),
                waiting_reason = CASE WHEN $6 THEN NULL ELSE $7 END
            WHERE name = $1 AND instance = $2
            """);
        renew.Parameters.Add(new() { Value = Name });
        renew.Parameters.Add(new() { Value = _instance });
        renew.Parameters.Add(new() { Value = _lease });
        renew.Parameters.Add(new() { Value = all.Length });
        renew.Parameters.Add(new() { Value = all.Select(session => session.Jid.Bare).Distinct().Count() });
        renew.Parameters.Add(new() { Value = lifetime.ApplicationStarted.IsCancellationRequested });
        renew.Parameters.Add(new() { Value = (object?)monitor.Reason ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        renew.Parameters.Add(new() { Value = _fallbackDelay });
        // A database that stops answering (not refusing) must still fail the renewal while fencing can come first.
        renew.CommandTimeout = Math.Max(1, (int)(_lease.TotalSeconds / 2));
        return renew;
    }

    private async Task ReadClusterAsync(bool full, CancellationToken cancellationToken)
    {
        var nodes = new List<ClusterNodeState>();
        await using (var read = database.CreateCommand("""
            SELECT name, address, lease_until > now(), started_at IS NOT NULL, group_name, failed_over, fallback_at <= now() IS TRUE
            FROM cluster_nodes
            """))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (name, failedOver) = (reader.GetString(0), reader.GetBoolean(5));
                var up = IsUp(name, leaseRuns: reader.GetBoolean(2), started: reader.GetBoolean(3), failedOver);
                nodes.Add(new(name, reader.GetString(1), up, reader.IsDBNull(4) ? null : reader.GetString(4), failedOver, reader.GetBoolean(6)));
            }
        }
        foreach (var node in nodes)
        {
            if (node.Name != Name && view.Node(node.Name) is { } before && before.Up != node.Up)
            {
                LogNodeChanged(logger, node.Name, node.Up ? "up" : "down");
            }
        }
        view.SetNodes(nodes);

        var seen = full ? new HashSet<string>(StringComparer.Ordinal) : null;
        // A periodic full read also finds what the reads since the last one missed; only what is new is logged.
        var since = view.Revision;
        var changed = 0;
        (string Account, string Node) latest = ("", "");
        await using (var read = database.CreateCommand("SELECT jid, node, revision FROM cluster_assignments WHERE revision > $1 ORDER BY revision"))
        {
            read.Parameters.Add(new() { Value = full ? 0L : since });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (account, node, revision) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2));
                view.SetHome(account, node, revision);
                seen?.Add(account);
                if (revision > since)
                {
                    latest = (account, node);
                    changed++;
                }
            }
        }
        if (seen is not null)
        {
            view.ForgetHomesExcept(seen);
        }
        if (changed > 0)
        {
            LogHomesChanged(logger, changed, latest.Account, latest.Node);
        }
    }

    /// <summary>Gives the lease up: the node is down for the others at once, and its name free for its next start.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_renewer is not null)
        {
            // No renewal may come after the lease is given up.
            await _renewerStopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await using var leave = database.CreateCommand(
                "UPDATE cluster_nodes SET lease_until = now(), sessions = 0, users_served = 0 WHERE name = $1 AND instance = $2");
            leave.Parameters.Add(new() { Value = Name });
            leave.Parameters.Add(new() { Value = _instance });
            await leave.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            // The lease runs out by itself.
            LogRenewalFailed(logger, Name, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Joined the cluster as node {Node} (clients are sent to {Address}; lease {LeaseMilliseconds} ms)")]
    private static partial void LogJoined(ILogger logger, string node, string address, int leaseMilliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} accounts created before the cluster existed are now homed on node {Node}")]
    private static partial void LogHomedExisting(ILogger logger, int count, string node);

    [LoggerMessage(Level = LogLevel.Information, Message = "Home nodes changed for {Count} accounts, the latest {Account} on node {Node}")]
    private static partial void LogHomesChanged(ILogger logger, int count, string account, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} could not renew its cluster lease: {Reason}")]
    private static partial void LogRenewalFailed(ILogger logger, string node, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster's nodes and homes could not be read (the lease was renewed; they are read again at the next heartbeat): {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster node {Node} is {State}")]
    private static partial void LogNodeChanged(ILogger logger, string node, string state);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Jid} is served by node {Node} now; its client is sent there (or, with Cluster:Redirect off, asked to sign in again)")]
    private static partial void LogSentAway(ILogger logger, string jid, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} cannot renew its lease and no other node can: the database is down for all, every node keeps serving")]
    private static partial void LogDatabaseDownForAll(ILogger logger, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} renewed its lease on a new connection once the other nodes renewed theirs; it goes on serving")]
    private static partial void LogRenewedAfresh(ILogger logger, string node);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Node {Node} cannot renew its lease and {Reason}: it stops serving before its lease runs out (fencing)")]
    private static partial void LogFencing(ILogger logger, string node, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Node {Node} lost its name to another node after its lease ran out; stopping so that two nodes never serve one user")]
    private static partial void LogLostName(ILogger logger, string node);
}
