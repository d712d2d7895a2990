using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Parley.Cluster;
using Parley.Cluster.Membership;
using Parley.Cluster.Topology;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;
using Parley.Tests.Shared;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// A cluster for one test class: nats-server and a PostgreSQL database of its own (on a PostgreSQL server of its own
/// with <paramref name="ownPostgres"/>, for tests that stop it), and in-process nodes that join it with a short
/// heartbeat and lease.
/// </summary>
public sealed class ClusterNodes(bool ownPostgres = false, bool standby = false) : IAsyncLifetime
{
    private PostgresCluster? _ownPostgres;
    private PostgresCluster? _standby;

    public NatsServer Nats { get; private set; } = null!;
    public string Database { get; private set; } = null!;

    /// <summary>The cluster's own PostgreSQL server (only with ownPostgres).</summary>
    public PostgresCluster Postgres => _ownPostgres ?? throw new InvalidOperationException("the cluster shares the tests' PostgreSQL server: new ClusterNodes(ownPostgres: true)");

    /// <summary>The streaming-replication standby of <see cref="Postgres"/> (only with standby); the nodes are given both hosts.</summary>
    public PostgresCluster Standby => _standby ?? throw new InvalidOperationException("no standby: new ClusterNodes(ownPostgres: true, standby: true)");

    public async Task InitializeAsync()
    {
        Nats = await NatsServer.StartAsync();
        _ownPostgres = ownPostgres ? await PostgresCluster.StartAsync() : null;
        Database = await (_ownPostgres ?? await PostgresCluster.Shared).CreateDatabaseAsync("cluster");
        if (standby)
        {
            _standby = await Postgres.StartStandbyAsync();
            // As docs/clustering.md says to run a node against a primary and its standby.
            var hosts = new NpgsqlConnectionStringBuilder(Database) { TargetSessionAttributes = "primary" };
            hosts.Host = $"127.0.0.1:{Postgres.Port},127.0.0.1:{_standby.Port}";
            Database = hosts.ConnectionString;
        }
    }

    public async Task DisposeAsync()
    {
        await Nats.DisposeAsync();
        if (_standby is not null)
        {
            await _standby.DisposeAsync();
        }
        if (_ownPostgres is not null)
        {
            await _ownPostgres.DisposeAsync();
        }
    }

    /// <summary>Starts node <paramref name="name"/> of the cluster; it has joined, and accepts clients, when this returns.</summary>
    public Task<TestNode> StartNodeAsync(string name, Action<ParleyOptions>? configure = null, LogCapture? logs = null)
    {
        ParleyOptions? nodeOptions = null;
        return TestNode.StartAsync(options =>
        {
            options.Storage.Provider = "postgres";
            options.Storage.ConnectionString = Database;
            options.Cluster.Bus = Nats.Url;
            options.Cluster.Node = name;
            options.Cluster.HeartbeatMilliseconds = 200;
            options.Cluster.LeaseMilliseconds = 1000;
            configure?.Invoke(options);
            nodeOptions = options;
        }, services: services => ClusterServices.AddToNode(services, nodeOptions!), logs: logs);
    }

    /// <summary>Starts a node for each user, named <paramref name="nodes"/>[i], and homes users[i] (password "USER-password") on it.</summary>
    public async Task<TestNode[]> StartHomesAsync(string[] nodes, string[] users)
    {
        var started = new TestNode[nodes.Length];
        for (var i = 0; i < nodes.Length; i++)
        {
            started[i] = await StartNodeAsync(nodes[i]);
        }
        foreach (var user in users)
        {
            await started[0].CreateUserAsync(user, user + "-password");
        }
        await AssignAsync(started, [.. users.Select((user, i) => ($"{user}@{TestNode.Domain}", nodes[i]))]);
        return started;
    }

    public async Task<T> WithTopologyAsync<T>(Func<ClusterTopology, Task<T>> work)
    {
        await using var database = NpgsqlDataSource.Create(Database);
        return await work(new ClusterTopology(database));
    }

    /// <summary>Homes each account on its node and waits until every node in <paramref name="nodes"/> knows it and sees the others up.</summary>
    public async Task AssignAsync(IReadOnlyList<TestNode> nodes, params (string Account, string Node)[] homes)
    {
        await WithTopologyAsync(async topology =>
        {
            foreach (var (account, node) in homes)
            {
                await topology.AssignAsync(account, node, CancellationToken.None);
            }
            return true;
        });
        await Eventually.TrueAsync(() => nodes.All(node =>
            homes.All(home => View(node).HomeOf(Jid.Parse(home.Account)) == home.Node)
            && nodes.All(other => View(node).Node(View(other).Self) is { Up: true })));
    }

    /// <summary>Runs the real `parley` command in-process on the cluster's database, as an administrator would.</summary>
    public Task<(int ExitCode, string Output, string Error)> ParleyAsync(params string[] args) => ParleyCli.RunAsync(Database, args);

    /// <summary>Polls an asynchronous condition until it holds, failing at the deadline.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + XmppTestClient.Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {XmppTestClient.Deadline.TotalSeconds} s: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>Signs <paramref name="user"/> (password: the name and "-password") in on <paramref name="node"/> and makes the session available.</summary>
    public static async Task<XmppTestClient> OnlineAsync(TestNode node, string user, string resource)
    {
        var client = await XmppTestClient.LoginAsync(node, user, user + "-password", resource);
        await client.AnnounceAsync();
        return client;
    }

    /// <summary>The node named <paramref name="name"/> as `parley cluster status --json` shows it.</summary>
    public async Task<System.Text.Json.JsonElement> StatusOfAsync(string name)
    {
        var status = await ParleyAsync("cluster", "status", "--json");
        Assert.True(status.ExitCode == 0, status.Error);
        return System.Text.Json.JsonDocument.Parse(status.Output).RootElement.GetProperty("nodes").EnumerateArray()
            .Single(node => node.GetProperty("name").GetString() == name);
    }

    public static ClusterView View(TestNode node) => node.App.Web.Services.GetRequiredService<ClusterView>();
}
