using System.Globalization;
using System.Text.Json.Serialization;
using Npgsql;

namespace Parley.Cluster.Topology;

/// <summary>A change to the cluster's topology was refused; the message says why.</summary>
public sealed class ClusterTopologyException(string message) : Exception(message);

/// <summary>One node as <c>parley cluster status</c> shows it.</summary>
public sealed record ClusterNodeStatus(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("group")] string? Group,
    [property: JsonPropertyName("mode")] string? Mode,
    [property: JsonPropertyName("takesUsers")] bool TakesUsers,
    [property: JsonPropertyName("address")] string Address,
    [property: JsonPropertyName("leaseAgeSeconds")] double? LeaseAgeSeconds,
    [property: JsonPropertyName("usersAssigned")] int UsersAssigned,
    [property: JsonPropertyName("usersServed")] int UsersServed,
    [property: JsonPropertyName("sessions")] int Sessions,
    [property: JsonPropertyName("reason")] string? Reason);

/// <summary>A presence redundancy group as <c>parley cluster status</c> shows it.</summary>
public sealed record ClusterGroupStatus(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("nodes")] IReadOnlyList<string> Nodes);

public sealed record ClusterStatus(
    [property: JsonPropertyName("nodes")] IReadOnlyList<ClusterNodeStatus> Nodes,
    [property: JsonPropertyName("groups")] IReadOnlyList<ClusterGroupStatus> Groups);

/// <summary>
/// The cluster's topology in the shared database, for the CLI: what every node is doing, redundancy groups, and which
/// node is each account's home. It needs no bus; running nodes see a change at their next heartbeat.
/// </summary>
public sealed class ClusterTopology(NpgsqlDataSource database)
{
    public const string Balanced = "balanced";
    public const string ActiveStandby = "active-standby";

    // A node takes users unless it is the second node of an active/standby group.
    private const string TakesUsers = "(g.mode IS DISTINCT FROM 'active-standby' OR n.group_position = 0)";

    public async Task<ClusterStatus> StatusAsync(CancellationToken cancellationToken)
    {
        var nodes = new List<ClusterNodeStatus>();
        await using (var read = database.CreateCommand($"""
            SELECT n.name, n.lease_until > now(), n.group_name, g.mode, {TakesUsers}, n.address,
                   extract(epoch FROM now() - n.renewed_at)::float8, n.users_assigned, n.users_served, n.sessions,
                   extract(epoch FROM now() - n.lease_until)::float8, n.started_at IS NOT NULL, n.failed_over,
                   n.waiting_reason, extract(epoch FROM n.fallback_at - now())::float8
            FROM cluster_nodes n LEFT JOIN cluster_groups g ON g.name = n.group_name
            ORDER BY n.name
            """))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var live = reader.GetBoolean(1);
                var up = live && reader.GetBoolean(11);
                var leaseAge = reader.IsDBNull(6) ? (double?)null : Math.Round(reader.GetDouble(6), 1);
                nodes.Add(new(
                    reader.GetString(0),
                    up ? "up" : live ? "waiting" : "down",
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetBoolean(4),
                    reader.GetString(5),
                    leaseAge,
                    reader.GetInt32(7),
                    up ? reader.GetInt32(8) : 0,
                    up ? reader.GetInt32(9) : 0,
                    reader.GetBoolean(12) ? "failed over by hand: its group peer serves its users"
                        : up ? FallbackPending(reader.IsDBNull(14) ? null : reader.GetDouble(14))
                        : live ? (reader.IsDBNull(13) ? "starting: its listeners are not open yet" : reader.GetString(13))
                        : leaseAge is null ? "has never run"
                        : string.Create(CultureInfo.InvariantCulture, $"its lease ran out {reader.GetDouble(10):F1} s ago")));
            }
        }
        var groups = new List<ClusterGroupStatus>();
        await using (var read = database.CreateCommand("""
            SELECT g.name, g.mode, coalesce(array_agg(n.name ORDER BY n.group_position) FILTER (WHERE n.name IS NOT NULL), '{}')
            FROM cluster_groups g LEFT JOIN cluster_nodes n ON n.group_name = g.name
            GROUP BY g.name, g.mode ORDER BY g.name
            """))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                groups.Add(new(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<string[]>(2)));
            }
        }
        return new(nodes, groups);
    }

    /// <summary>An up node's reason while its fallback delay runs: its group peer keeps its users (if it serves them) until then.</summary>
    private static string? FallbackPending(double? secondsLeft) => secondsLeft > 0
        ? string.Create(CultureInfo.InvariantCulture, $"its users come back from its group peer in {secondsLeft:F0} s (Cluster:FallbackDelaySeconds)")
        : null;

    /// <summary>Makes <paramref name="node"/> the home of <paramref name="account"/>.</summary>
    /// <exception cref="ClusterTopologyException">No such node, or no such account.</exception>
    public async Task AssignAsync(string account, string node, CancellationToken cancellationToken)
    {
        await ThrowIfUnknownNodesAsync([node], cancellationToken).ConfigureAwait(false);
        await using var assign = database.CreateCommand("""
            INSERT INTO cluster_assignments (jid, node) SELECT jid, $2 FROM accounts WHERE jid = $1
            ON CONFLICT (jid) DO UPDATE SET node = EXCLUDED.node, revision = nextval('cluster_assignment_revisions')
            """);
        assign.Parameters.Add(new() { Value = account });
        assign.Parameters.Add(new() { Value = node });
        if (await assign.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw new ClusterTopologyException($"there is no account {account}.");
        }
    }

    /// <summary>
    /// Spreads the accounts evenly over the nodes that take users, moving as few as it can: accounts without a home
    /// and those on a node that takes none (a standby) move first. Returns how many accounts moved.
    /// </summary>
    /// <exception cref="ClusterTopologyException">No node takes users.</exception>
    public async Task<int> BalanceAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockAssignments = new NpgsqlCommand("LOCK TABLE cluster_assignments IN EXCLUSIVE MODE", connection, transaction))
        {
            await lockAssignments.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var takers = new List<string>();
        await using (var read = new NpgsqlCommand($"SELECT n.name FROM cluster_nodes n LEFT JOIN cluster_groups g ON g.name = n.group_name WHERE {TakesUsers} ORDER BY n.name", connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                takers.Add(reader.GetString(0));
            }
        }
        if (takers.Count == 0)
        {
            throw new ClusterTopologyException("no node of the cluster takes users: start a node, or make one the active node of its group.");
        }

        var homes = takers.ToDictionary(node => node, _ => new List<string>(), StringComparer.Ordinal);
        var toMove = new List<string>();
        await using (var read = new NpgsqlCommand("SELECT a.jid, c.node FROM accounts a LEFT JOIN cluster_assignments c ON c.jid = a.jid ORDER BY a.jid", connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var account = reader.GetString(0);
                if (!reader.IsDBNull(1) && homes.TryGetValue(reader.GetString(1), out var accounts))
                {
                    accounts.Add(account);
                }
                else
                {
                    toMove.Add(account);
                }
            }
        }

        // The fullest nodes keep the remainder's extra account each, so that fewer accounts move.
        var total = homes.Values.Sum(accounts => accounts.Count) + toMove.Count;
        var byLoad = homes.OrderByDescending(pair => pair.Value.Count).ThenBy(pair => pair.Key, StringComparer.Ordinal).ToArray();
        var targets = byLoad.Select((pair, index) => (Node: pair.Key, Accounts: pair.Value, Target: total / takers.Count + (index < total % takers.Count ? 1 : 0))).ToArray();
        foreach (var (_, accounts, target) in targets)
        {
            if (accounts.Count > target)
            {
                toMove.AddRange(accounts.Skip(target));
            }
        }
        var moves = new List<(string Account, string Node)>();
        var next = 0;
        foreach (var (node, accounts, target) in targets)
        {
            for (var count = Math.Min(accounts.Count, target); count < target; count++)
            {
                moves.Add((toMove[next++], node));
            }
        }

        await using (var move = new NpgsqlCommand("""
            INSERT INTO cluster_assignments (jid, node) SELECT * FROM unnest($1::text[], $2::text[])
            ON CONFLICT (jid) DO UPDATE SET node = EXCLUDED.node, revision = nextval('cluster_assignment_revisions')
            """, connection, transaction))
        {
            move.Parameters.Add(new() { Value = moves.Select(m => m.Account).ToArray() });
            move.Parameters.Add(new() { Value = moves.Select(m => m.Node).ToArray() });
            await move.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return moves.Count;
    }

    /// <summary>
    /// For maintenance: the node keeps running but its users are served by its live group peer (their clients are sent
    /// there at the next heartbeats), or, with <paramref name="failedOver"/> false, by the node again (fallback).
    /// </summary>
    /// <exception cref="ClusterTopologyException">No such node, or (for failover) no group peer that is up to take its users.</exception>
    public async Task SetFailedOverAsync(string node, bool failedOver, CancellationToken cancellationToken)
    {
        await ThrowIfUnknownNodesAsync([node], cancellationToken).ConfigureAwait(false);
        if (failedOver)
        {
            await using var peer = database.CreateCommand("""
                SELECT p.name FROM cluster_nodes n JOIN cluster_nodes p ON p.group_name = n.group_name AND p.name <> n.name
                WHERE n.name = $1 AND p.lease_until > now() AND p.started_at IS NOT NULL AND NOT p.failed_over
                """);
            peer.Parameters.Add(new() { Value = node });
            if (await peer.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                throw new ClusterTopologyException($"node {node} has no redundancy-group peer that is up to take its users (parley cluster group create).");
            }
        }
        // Fallback by hand acts at once, whatever is left of the node's fallback delay.
        await using var set = database.CreateCommand(
            "UPDATE cluster_nodes SET failed_over = $2, fallback_at = CASE WHEN $2 THEN fallback_at ELSE now() END WHERE name = $1");
        set.Parameters.Add(new() { Value = node });
        set.Parameters.Add(new() { Value = failedOver });
        await set.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates a presence redundancy group of one or two nodes that are in no other group. In an active/standby group
    /// the first node takes users and the second waits; in a balanced group both take users.
    /// </summary>
    /// <exception cref="ClusterTopologyException">Three nodes or more, an unknown node, a node already grouped, an unknown mode, or the name taken.</exception>
    public async Task CreateGroupAsync(string name, IReadOnlyList<string> nodes, string mode, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(name) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ClusterTopologyException($"'{name}' is not a group name: use letters, digits, '-' and '_'.");
        }
        if (mode is not (Balanced or ActiveStandby))
        {
            throw new ClusterTopologyException($"'{mode}' is not a mode: use {Balanced} or {ActiveStandby}.");
        }
        if (nodes.Count is < 1 or > 2 || nodes.Distinct(StringComparer.Ordinal).Count() != nodes.Count)
        {
            throw new ClusterTopologyException($"a presence redundancy group has one or two different nodes, not {nodes.Count} ({string.Join(", ", nodes)}).");
        }
        await ThrowIfUnknownNodesAsync(nodes, cancellationToken).ConfigureAwait(false);

        await using var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var grouped = new NpgsqlCommand("SELECT name, group_name FROM cluster_nodes WHERE name = ANY($1) AND group_name IS NOT NULL ORDER BY name FOR UPDATE", connection, transaction))
        {
            grouped.Parameters.Add(new() { Value = nodes.ToArray() });
            await using var reader = await grouped.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new ClusterTopologyException($"node {reader.GetString(0)} is already in group {reader.GetString(1)}.");
            }
        }
        await using (var create = new NpgsqlCommand("INSERT INTO cluster_groups (name, mode) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", connection, transaction))
        {
            create.Parameters.Add(new() { Value = name });
            create.Parameters.Add(new() { Value = mode });
            if (await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new ClusterTopologyException($"there is already a group named {name}.");
            }
        }
        for (var position = 0; position < nodes.Count; position++)
        {
            await using var join = new NpgsqlCommand("UPDATE cluster_nodes SET group_name = $1, group_position = $2 WHERE name = $3", connection, transaction);
            join.Parameters.Add(new() { Value = name });
            join.Parameters.Add(new() { Value = position });
            join.Parameters.Add(new() { Value = nodes[position] });
            await join.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ThrowIfUnknownNodesAsync(IReadOnlyList<string> nodes, CancellationToken cancellationToken)
    {
        var known = new List<string>();
        await using (var read = database.CreateCommand("SELECT name FROM cluster_nodes ORDER BY name"))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                known.Add(reader.GetString(0));
            }
        }
        if (nodes.FirstOrDefault(node => !known.Contains(node, StringComparer.Ordinal)) is { } unknown)
        {
            throw new ClusterTopologyException(known.Count == 0
                ? $"there is no node named {unknown}: no node has joined the cluster yet (a node joins when it starts with --bus and --node)."
                : $"there is no node named {unknown}; the cluster's nodes are {string.Join(", ", known)}.");
        }
    }
}
