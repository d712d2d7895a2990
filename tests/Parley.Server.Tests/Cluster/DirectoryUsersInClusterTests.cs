using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Parley.Ldap.Tests.Support;
using Parley.Protocol;
using Parley.Server.Modules.Ldap;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// A directory (LDAP) person in a cluster: the account her first sign-in creates gets a home node like any other, so
/// her sessions on two nodes are one user's sessions (Cluster:Redirect off here, so that she stays on both).
/// </summary>
public sealed class DirectoryUsersInClusterTests(SlapdForNodes slapd) : IClassFixture<SlapdForNodes>, IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();
    private TestNode _a = null!;
    private TestNode _b = null!;

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        _a = await _cluster.StartNodeAsync("a", Configure);
        _b = await _cluster.StartNodeAsync("b", Configure);
        await Eventually.TrueAsync(() => ClusterNodes.View(_a).Node("b") is { Up: true } && ClusterNodes.View(_b).Node("a") is { Up: true });
    }

    private void Configure(Server.Hosting.ParleyOptions options)
    {
        slapd.Configure(options);
        options.Cluster.Redirect = false;
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    private async Task<string?> HomeInDatabaseAsync(string account)
    {
        await using var database = NpgsqlDataSource.Create(_cluster.Database);
        await using var read = database.CreateCommand("SELECT node FROM cluster_assignments WHERE jid = $1");
        read.Parameters.Add(new() { Value = account });
        return await read.ExecuteScalarAsync() as string;
    }

    private static DirectorySyncService SyncService(TestNode node) => node.App.Web.Services.GetRequiredService<DirectorySyncService>();

    private async Task<Dictionary<string, int>> AccountsPerNodeAsync()
    {
        await using var database = NpgsqlDataSource.Create(_cluster.Database);
        await using var read = database.CreateCommand("SELECT node, count(*) FROM cluster_assignments GROUP BY node");
        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0 };
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = checked((int)reader.GetInt64(1));
        }
        return counts;
    }

    [Fact]
    public async Task People_who_join_the_directory_are_spread_over_the_nodes_by_the_next_sync()
    {
        // Both nodes' start-up syncs are over, so that this test's sync is the one that finds the newcomers.
        await Task.WhenAll(SyncService(_a).FirstCompletedSync, SyncService(_b).FirstCompletedSync).WaitAsync(TimeSpan.FromSeconds(30));
        var before = await AccountsPerNodeAsync();
        var newcomers = Enumerable.Range(1, 6).Select(i => $"joiner{i}").ToList();
        foreach (var uid in newcomers)
        {
            await slapd.Directory.AddPersonAsync(new Person(uid, $"uid={uid},{TestDirectory.PeopleBase}", uid + "-pw", uid, "Joiner", $"{uid}@localhost", "QA"));
        }

        var summary = await SyncService(_a).RunOnceAsync(CancellationToken.None);

        Assert.Equal(newcomers.Count, summary.Added);
        foreach (var uid in newcomers)
        {
            Assert.NotNull(await HomeInDatabaseAsync($"{uid}@localhost"));
        }
        // Each new account goes to the node with the fewest: the gap between the nodes closes by one per newcomer.
        var after = await AccountsPerNodeAsync();
        Assert.Equal(before["a"] + before["b"] + newcomers.Count, after["a"] + after["b"]);
        Assert.True(Math.Abs(after["a"] - after["b"]) <= Math.Max(1, Math.Abs(before["a"] - before["b"]) - newcomers.Count),
            $"before a={before["a"]} b={before["b"]}, after a={after["a"]} b={after["b"]}");
    }

    [Fact]
    public async Task Directory_people_get_a_home_at_the_sync_and_one_persons_sessions_on_two_nodes_are_one_users()
    {
        // The start-up sync creates the directory people's accounts, and each gets a home like any new account.
        await ClusterNodes.UntilAsync(async () => await HomeInDatabaseAsync("alice@localhost") is not null && await HomeInDatabaseAsync("bob@localhost") is not null,
            "the directory's people are homed");
        var home = await HomeInDatabaseAsync("alice@localhost") == "a" ? _a : _b;
        var other = home == _a ? _b : _a;
        await Eventually.TrueAsync(() => ClusterNodes.View(other).HomeOf(Jid.Parse("alice@localhost")) == ClusterNodes.View(home).Self);

        await using var atHome = await SlapdForNodes.SignInAsync(home, "alice", "alice-pw");
        await atHome.AnnounceAsync();
        await using var elsewhere = await SlapdForNodes.SignInAsync(other, "alice", "alice-pw");
        await elsewhere.AnnounceAsync();
        // Each of her sessions sees the other's presence.
        await atHome.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == elsewhere.Jid);
        await using var bob = await SlapdForNodes.SignInAsync(other, "bob", "bob-pw");

        await bob.SendAsync("<message to='alice@localhost' type='chat' id='both'><body>to every session</body></message>");
        Assert.Equal("to every session", (await atHome.ReceiveAsync(e => e.GetAttribute("id") == "both")).ChildText("body"));
        Assert.Equal("to every session", (await elsewhere.ReceiveAsync(e => e.GetAttribute("id") == "both")).ChildText("body"));
        // Both are run by her home.
        Assert.Equal(2, home.App.Node.Sessions.SessionsOf(Jid.Parse("alice@localhost")).Length);
        Assert.Empty(other.App.Node.Sessions.SessionsOf(Jid.Parse("alice@localhost")));
    }
}
