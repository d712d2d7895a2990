using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using Npgsql;
using Parley.Server.Administration;
using Parley.Server.Tests.Api;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Cluster;

/// <summary>
/// GET /api/v1/nodes on a two-node cluster (the data of the console's Dashboard and System status): each node shows
/// the other's figures and status, a stopped node as down, and a node that answers wrongly or not at all as not
/// answering, within a second and without failing the answer.
/// </summary>
public sealed class NodeReportsTests : IAsyncLifetime
{
    private readonly ClusterNodes _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    private async Task<HttpClient> ClientAsync(TestNode node)
    {
        var (exitCode, output, error) = await _cluster.ParleyAsync("admin", "token", "create", "viewer", "--read-only");
        Assert.True(exitCode == 0, error);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", output.Trim());
        return http;
    }

    private static async Task<Dictionary<string, JsonElement>> NodesAsync(HttpClient http, long after = 0)
    {
        var nodes = await http.GetFromJsonAsync<JsonElement[]>($"/api/v1/nodes?after={after}");
        return nodes!.ToDictionary(n => n.GetProperty("node").GetString()!);
    }

    private static int LatestSessions(JsonElement node) =>
        node.GetProperty("samples").EnumerateArray().LastOrDefault() is { ValueKind: JsonValueKind.Object } latest ? latest.GetProperty("sessions").GetInt32() : -1;

    [Fact]
    public async Task A_node_holds_one_administrative_bus_connection_beside_those_for_stanzas_relays_and_session_copies()
    {
        await using var a = await _cluster.StartNodeAsync("a");

        Assert.Equal(["parley-a", "parley-a-replication", "parley-admin-a", "parley-relay-a"], (await _cluster.Nats.ConnectionNamesAsync()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Node_a_shows_the_session_signed_in_on_node_b_and_node_bs_storage_bus_version_and_certificate_expiry()
    {
        var nodes = await _cluster.StartHomesAsync(["a", "b"], ["alice", "bob"]);
        await using var a = nodes[0];
        await using var b = nodes[1];
        using var http = await ClientAsync(a);

        await using var bob = await ClusterNodes.OnlineAsync(b, "bob", "phone");
        await ClusterNodes.UntilAsync(async () => LatestSessions((await NodesAsync(http))["b"]) == 1, "node a shows bob's session on node b");

        var answer = (await http.GetFromJsonAsync<JsonElement[]>("/api/v1/nodes"))!;
        Assert.Equal(["a", "b"], answer.Select(n => n.GetProperty("node").GetString()));
        Assert.Equal(0, LatestSessions(answer[0]));
        var reportOfB = answer[1];
        Assert.True(reportOfB.GetProperty("answering").GetBoolean());
        var status = reportOfB.GetProperty("status");
        Assert.Equal(answer[0].GetProperty("status").GetProperty("version").GetString(), status.GetProperty("version").GetString());
        Assert.Equal("postgres", status.GetProperty("storageProvider").GetString());
        Assert.True(status.GetProperty("storageReachable").GetBoolean());
        Assert.True(status.GetProperty("bus").GetProperty("connected").GetBoolean());
        Assert.Equal(_cluster.Nats.Url, status.GetProperty("bus").GetProperty("server").GetString());
        Assert.Equal("ready", status.GetProperty("readiness").GetString());
        var certificate = Assert.Single(status.GetProperty("certificates").EnumerateArray());
        Assert.Equal("localhost", certificate.GetProperty("domain").GetString());
        Assert.InRange(certificate.GetProperty("expires").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddDays(30), DateTimeOffset.UtcNow.AddYears(100));

        // Samples after a time: only the newer ones.
        var latest = reportOfB.GetProperty("samples").EnumerateArray().Last().GetProperty("time").GetInt64();
        Assert.All((await NodesAsync(http, latest))["b"].GetProperty("samples").EnumerateArray(), s => Assert.True(s.GetProperty("time").GetInt64() > latest));
        var problem = await ApiTestNode.ProblemAsync(await http.GetAsync("/api/v1/nodes?after=-1"), 400);
        Assert.Contains("after is a time in Unix seconds", problem.GetProperty("detail").GetString());

        using var stranger = new HttpClient { BaseAddress = http.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("/api/v1/nodes")).StatusCode);
    }

    [Fact]
    public async Task A_stopped_node_is_shown_down_and_the_other_node_still_answers_with_itself()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        var b = await _cluster.StartNodeAsync("b");
        using var http = await ClientAsync(a);
        await ClusterNodes.UntilAsync(async () => (await NodesAsync(http)).TryGetValue("b", out var node) && node.GetProperty("answering").GetBoolean(), "node b answers");

        await b.DisposeAsync();

        await ClusterNodes.UntilAsync(async () => (await NodesAsync(http))["b"].GetProperty("problem").GetString() == "down", "node b shown down");
        var nodes = await NodesAsync(http);
        Assert.False(nodes["b"].GetProperty("answering").GetBoolean());
        Assert.Equal(JsonValueKind.Null, nodes["b"].GetProperty("status").ValueKind);
        Assert.True(nodes["a"].GetProperty("answering").GetBoolean());
        Assert.Equal("postgres", nodes["a"].GetProperty("status").GetProperty("storageProvider").GetString());
    }

    [Fact]
    public async Task A_live_node_that_answers_with_something_else_or_not_at_all_is_shown_not_answering_within_a_second()
    {
        await using var a = await _cluster.StartNodeAsync("a");
        await using var b = await _cluster.StartNodeAsync("b");
        using var http = await ClientAsync(a);
        // Node c holds a live lease in the cluster's database, but is no Parley node: what answers for it is the test's.
        await using (var database = NpgsqlDataSource.Create(_cluster.Database))
        {
            await database.CreateCommand("""
                INSERT INTO cluster_nodes (name, address, instance, started_at, renewed_at, lease_until)
                VALUES ('c', '127.0.0.1:1', gen_random_uuid(), now(), now(), now() + interval '1 hour')
                """).ExecuteNonQueryAsync();
        }
        await Eventually.TrueAsync(() => ClusterNodes.View(a).Node("c") is { Up: true });
        Assert.Equal("not answering: nothing listens for it on the bus", (await NodesAsync(http))["c"].GetProperty("problem").GetString());

        await using var nats = new NatsConnection(NatsOpts.Default with { Url = _cluster.Nats.Url });
        foreach (var (answer, problem) in new (byte[]? Answer, string Problem)[]
        {
            ("{\"node\":\"c\",\"status\":{\"version\":"u8.ToArray(), "not answering: its answer was not a node report"),
            ("{\"node\":\"c\",\"samples\":[]}"u8.ToArray(), "not answering: its answer was not a node report"),
            (null, "not answering within 1 s"),
        })
        {
            await using var subscription = await nats.SubscribeCoreAsync<byte[]>("parley.admin.c");
            var answering = AnswerAsync(subscription, answer);
            // The server has the subscription once it answers a ping after it.
            await nats.PingAsync();
            var started = Stopwatch.StartNew();
            var nodes = await NodesAsync(http);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(3), $"the answer took {started.Elapsed}");
            Assert.Equal(["a", "b", "c"], nodes.Keys);
            Assert.Equal(problem, nodes["c"].GetProperty("problem").GetString());
            Assert.False(nodes["c"].GetProperty("answering").GetBoolean());
            Assert.True(nodes["b"].GetProperty("answering").GetBoolean());
            Assert.Equal("postgres", nodes["b"].GetProperty("status").GetProperty("storageProvider").GetString());
            await subscription.UnsubscribeAsync();
            await answering;
        }
    }

    [Fact]
    public async Task While_the_database_is_down_every_node_says_its_storage_is_not_reachable_and_says_so_no_more_once_it_is_back()
    {
        var cluster = new ClusterNodes(ownPostgres: true);
        await cluster.InitializeAsync();
        try
        {
            await using var a = await cluster.StartNodeAsync("a");
            await using var b = await cluster.StartNodeAsync("b");
            var (exitCode, output, error) = await cluster.ParleyAsync("admin", "token", "create", "viewer", "--read-only");
            Assert.True(exitCode == 0, error);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{a.HttpPort}") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", output.Trim());
            await ClusterNodes.UntilAsync(async () => (await NodesAsync(http)).TryGetValue("b", out var node) && node.GetProperty("answering").GetBoolean(), "node b answers");

            await cluster.Postgres.StopServerAsync();

            // The API checks its token in the database, so node a's reports are asked for as its API would ask.
            var started = Stopwatch.StartNew();
            var reports = await a.App.Web.Services.GetRequiredService<IClusterNodeReports>().ReportsAsync(0, CancellationToken.None);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(3), $"the answer took {started.Elapsed}");
            Assert.Equal(["a", "b"], reports.Select(r => r.Node));
            Assert.All(reports, report =>
            {
                Assert.True(report.Answering);
                Assert.False(report.Status!.StorageReachable);
                Assert.False(string.IsNullOrEmpty(report.Status.StorageProblem));
                Assert.True(report.Status.Bus!.Connected);
            });

            await cluster.Postgres.StartServerAsync();
            await ClusterNodes.UntilAsync(async () => (await NodesAsync(http)).Values.All(n => n.GetProperty("status").GetProperty("storageReachable").GetBoolean()),
                "both nodes reach the database again");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>Answers each request with <paramref name="answer"/>, or stays silent when it is null.</summary>
    private static async Task AnswerAsync(INatsSub<byte[]> subscription, byte[]? answer)
    {
        await foreach (var request in subscription.Msgs.ReadAllAsync())
        {
            if (answer is not null)
            {
                await request.ReplyAsync(answer);
            }
        }
    }

    [Fact]
    public async Task A_single_node_reports_itself_alone_without_a_bus()
    {
        await using var node = await ApiTestNode.StartAsync();
        using var http = node.Client(await node.CreateTokenAsync("viewer", readOnly: true));

        await Eventually.TrueAsync(async () => (await http.GetFromJsonAsync<JsonElement[]>("/api/v1/nodes"))![0].GetProperty("samples").GetArrayLength() > 0);
        var report = Assert.Single((await http.GetFromJsonAsync<JsonElement[]>("/api/v1/nodes"))!);
        Assert.Equal(Environment.MachineName, report.GetProperty("node").GetString());
        Assert.Equal("sqlite", report.GetProperty("status").GetProperty("storageProvider").GetString());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("status").GetProperty("bus").ValueKind);
        Assert.Equal("not configured", report.GetProperty("status").GetProperty("directorySync").GetString());
    }
}
