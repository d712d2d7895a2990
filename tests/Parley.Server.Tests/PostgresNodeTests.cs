using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;
using Parley.Tests.Shared;
using Parley.Xml;

namespace Parley.Server.Tests;

/// <summary>A node on PostgreSQL: what the CLI changes reaches it through LISTEN/NOTIFY.</summary>
public sealed class PostgresNodeTests
{
    // Read from storage on every request (the roster, by contrast, is also held by the session).
    private const string VCardGet = "<vCard xmlns='vcard-temp'/>";

    [Fact]
    public async Task An_account_removed_with_the_cli_ends_its_session_within_a_second_without_waiting_for_a_poll()
    {
        var database = await (await PostgresCluster.Shared).CreateDatabaseAsync("node");
        // A poll this slow cannot be what ends the session within a second: only the notification can.
        await using var node = await Muc.StartAsync(options => OnPostgres(options, database, pollMilliseconds: 60_000));
        await using var alice = await Muc.OnlineAsync(node, "alice");

        await ParleyAsync(database, "user", "remove", "alice@localhost");
        var removed = Stopwatch.StartNew();

        var error = await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.True(removed.Elapsed < TimeSpan.FromSeconds(1), $"the session ended {removed.Elapsed.TotalMilliseconds:F0} ms after the command");
        Assert.NotNull(error.Child("not-authorized", Ns.StreamErrors));
        Assert.True(await alice.IsClosedAsync());
    }

    [Fact]
    public async Task An_account_removed_with_the_cli_ends_its_sessions_on_every_node_of_the_database_within_a_second()
    {
        var database = await (await PostgresCluster.Shared).CreateDatabaseAsync("nodes");
        await using var first = await Muc.StartAsync(options => OnPostgres(options, database, pollMilliseconds: 60_000));
        await using var second = await TestNode.StartAsync(options => OnPostgres(options, database, pollMilliseconds: 60_000));
        await using var onFirst = await Muc.OnlineAsync(first, "alice", "desk");
        await using var onSecond = await Muc.OnlineAsync(second, "alice", "phone");

        await ParleyAsync(database, "user", "remove", "alice@localhost");
        var removed = Stopwatch.StartNew();

        foreach (var session in new[] { onFirst, onSecond })
        {
            var error = await session.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
            Assert.True(removed.Elapsed < TimeSpan.FromSeconds(1), $"a session ended {removed.Elapsed.TotalMilliseconds:F0} ms after the command");
            Assert.NotNull(error.Child("not-authorized", Ns.StreamErrors));
            Assert.True(await session.IsClosedAsync());
        }
    }

    [Fact]
    public async Task A_node_given_several_database_hosts_serves_from_the_one_that_is_up_and_gets_notifications_there()
    {
        var database = await (await PostgresCluster.Shared).CreateDatabaseAsync("hosts");
        // The first host is a replica that is down (nothing listens there); the server of the second is the primary.
        var hosts = new NpgsqlConnectionStringBuilder(database) { TargetSessionAttributes = "primary" };
        hosts.Host = $"127.0.0.1:{ClosedPort()},127.0.0.1:{hosts.Port}";
        await using var node = await Muc.StartAsync(options => OnPostgres(options, hosts.ConnectionString, pollMilliseconds: 60_000));
        await using var alice = await Muc.OnlineAsync(node, "alice");

        await ParleyAsync(hosts.ConnectionString, "user", "remove", "alice@localhost");

        var error = await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.NotNull(error.Child("not-authorized", Ns.StreamErrors));
    }

    private static int ClosedPort() => Parley.Tests.Shared.LoopbackPort.Free();

    [Fact]
    public async Task A_node_whose_postgres_is_not_up_yet_says_why_accepts_no_client_and_starts_once_it_is()
    {
        await using var cluster = await PostgresCluster.StartAsync();
        var database = await cluster.CreateDatabaseAsync("late");
        await cluster.StopServerAsync();
        var logs = new LogCapture();
        var c2sPort = 0;

        var starting = Task.Run(() => TestNode.StartAsync(options =>
        {
            OnPostgres(options, database);
            c2sPort = options.Network.C2sPort;
        }, logs: logs));

        var why = await logs.WaitForAsync("Storage is not ready");
        Assert.Contains($"cannot reach PostgreSQL database 'late_", why);
        Assert.Contains($"on 127.0.0.1:{cluster.Port}", why);
        await logs.WaitForAsync("trying again in 0.5 s");
        Assert.False(starting.IsCompleted);
        using (var tcp = new TcpClient())
        {
            await Assert.ThrowsAnyAsync<SocketException>(() => tcp.ConnectAsync(IPAddress.Loopback, c2sPort));
        }

        await cluster.StartServerAsync();
        await using var node = await starting;
        await node.CreateUserAsync("alice", "alice-password");
        await using var alice = await XmppTestClient.LoginAsync(node, "alice", "alice-password");
        Assert.Equal("alice@localhost/", alice.Jid?[..16]);
    }

    [Fact]
    public async Task While_postgres_restarts_stanzas_that_need_storage_get_an_error_and_the_node_recovers_by_itself()
    {
        await using var cluster = await PostgresCluster.StartAsync();
        var database = await cluster.CreateDatabaseAsync("restart");
        await using var node = await Muc.StartAsync(options => OnPostgres(options, database));
        await using var alice = await Muc.OnlineAsync(node, "alice");

        await cluster.StopServerAsync();
        // Bob is offline: the message can only be kept in storage.
        await alice.SendAsync("<message to='bob@localhost' id='down' type='chat'><body>while the database is down</body></message>");
        var bounced = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("id") == "down");
        var vcard = await Muc.IqAsync(alice, "alice@localhost", VCardGet, "get");
        var vcardSet = await Muc.IqAsync(alice, "alice@localhost", "<vCard xmlns='vcard-temp'><FN>Set while down</FN></vCard>");

        Assert.Equal("error", bounced.GetAttribute("type"));
        Assert.NotNull(bounced.Child("error")?.Child("internal-server-error", Ns.Stanzas));
        Assert.Equal("error", vcard.GetAttribute("type"));
        Assert.Equal("error", vcardSet.GetAttribute("type"));

        await cluster.StartServerAsync();
        // The pool's connections broke with the restart; the node replaces them by itself as they are used.
        var deadline = Stopwatch.StartNew();
        Element recovered;
        while ((recovered = await Muc.IqAsync(alice, "alice@localhost", VCardGet, "get")).GetAttribute("type") != "result")
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "the node did not recover after PostgreSQL came back");
        }

        // The refused set was not stored behind the client's back.
        Assert.DoesNotContain("Set while down", recovered.ToString());

        await alice.SendAsync("<message to='bob@localhost' id='up' type='chat'><body>after the restart</body></message>");
        // Stored before Bob comes online: a message bounced by a broken connection would fail here, not as a missing delivery.
        await Eventually.TrueAsync(async () => (await node.App.Node.Storage.Offline.GetAsync("bob@localhost")).Count == 1);
        await using var bob = await Muc.OnlineAsync(node, "bob");
        var offline = await bob.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("from")?.StartsWith("alice@localhost", StringComparison.Ordinal) == true);
        Assert.Equal("after the restart", offline.ChildText("body"));
    }

    internal static void OnPostgres(ParleyOptions options, string connectionString, int pollMilliseconds = 1000)
    {
        options.Storage.Provider = "postgres";
        options.Storage.ConnectionString = connectionString;
        options.Storage.NoticePollMilliseconds = pollMilliseconds;
    }

    /// <summary>Runs the real `parley` command in-process on the database, as an administrator would beside the node.</summary>
    internal static async Task ParleyAsync(string connectionString, params string[] args)
    {
        var (exitCode, output, error) = await ParleyCli.RunAsync(connectionString, args);
        Assert.True(exitCode == 0, $"parley {string.Join(' ', args)}: exit {exitCode}\n{output}\n{error}");
    }
}
