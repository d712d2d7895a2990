using Parley.Tests.Shared;

namespace Parley.Cli.Tests;

/// <summary>The cluster flags of `parley serve` and the `parley cluster` commands given what they cannot work with.</summary>
public sealed class ClusterCommandTests : IDisposable
{
    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Serve_with_a_bus_on_sqlite_or_without_a_node_name_exits_2_naming_what_is_missing()
    {
        var serve = await _node.RunAsync("serve", "--bus", "nats://127.0.0.1:4222", "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", "0", "--https-port", "0");

        Assert.Equal(2, serve.ExitCode);
        Assert.Contains("Parley:Cluster:Bus: a cluster's nodes share one PostgreSQL database; add --storage postgres --postgres CONNECTION_STRING.", serve.Error);
        Assert.Contains("Parley:Cluster:Node: a node of a cluster needs a name (--node NAME).", serve.Error);
    }

    [Fact]
    public async Task Cluster_commands_on_sqlite_exit_2_asking_for_the_clusters_database()
    {
        var status = await _node.RunAsync("cluster", "status");

        Assert.Equal(2, status.ExitCode);
        Assert.Contains("a cluster keeps its topology in its PostgreSQL database: add --postgres CONNECTION_STRING.", status.Error);
    }
}
