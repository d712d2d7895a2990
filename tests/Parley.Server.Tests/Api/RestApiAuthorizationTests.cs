using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Api;

/// <summary>Every REST API route needs a token; changes need a read-write one; a revoked token is refused at once.</summary>
public sealed class RestApiAuthorizationTests : IAsyncLifetime
{
    private const string Room = "team@conference.localhost";

    /// <summary>A room there from the start, which every token may read.</summary>
    private const string Lobby = "lobby@conference.localhost";

    /// <summary>Every route, with a body that would succeed, in an order in which each would succeed.</summary>
    private static readonly (HttpMethod Method, string Path, string? Body)[] s_routes =
    [
        (HttpMethod.Get, "/api/v1/users?q=alice", null),
        (HttpMethod.Get, "/api/v1/users/alice@localhost", null),
        (HttpMethod.Get, "/api/v1/sessions", null),
        (HttpMethod.Get, "/api/v1/rooms", null),
        (HttpMethod.Get, "/api/v1/audit", null),
        (HttpMethod.Get, "/api/v1/banner", null),
        (HttpMethod.Get, "/api/v1/admins", null),
        (HttpMethod.Get, "/api/v1/settings", null),
        (HttpMethod.Post, "/api/v1/users", """{"jid":"carol@localhost","password":"carol-password"}"""),
        (HttpMethod.Patch, "/api/v1/users/carol@localhost", """{"disabled":true}"""),
        (HttpMethod.Delete, "/api/v1/users/carol@localhost", null),
        (HttpMethod.Delete, "/api/v1/sessions/alice@localhost/home", null),
        (HttpMethod.Post, "/api/v1/rooms", $$"""{"jid":"{{Room}}","owners":["alice@localhost"]}"""),
        (HttpMethod.Get, $"/api/v1/rooms/{Lobby}", null),
        (HttpMethod.Get, $"/api/v1/rooms/{Lobby}/occupants", null),
        (HttpMethod.Patch, $"/api/v1/rooms/{Lobby}", """{"name":"Lobby"}"""),
        (HttpMethod.Delete, $"/api/v1/rooms/{Room}", null),
        (HttpMethod.Put, "/api/v1/banner", """{"text":"Maintenance at 22:00"}"""),
        (HttpMethod.Delete, "/api/v1/banner", null),
        (HttpMethod.Post, "/api/v1/admins", """{"jid":"alice@localhost"}"""),
        (HttpMethod.Delete, "/api/v1/admins/alice@localhost", null),
        (HttpMethod.Put, "/api/v1/settings/max-contacts", """{"value":"50"}"""),
        (HttpMethod.Delete, "/api/v1/settings/max-contacts", null),
    ];

    private ApiTestNode _api = null!;

    public async Task InitializeAsync()
    {
        _api = await ApiTestNode.StartAsync();
        await _api.Node.CreateUserAsync("alice", "alice-password");
        await _api.Node.App.Node.Storage.Settings.SetAsync("banner", "Welcome");
        var lobby = await _api.ParleyAsync("room", "create", Lobby, "--owner", "alice@localhost");
        Assert.True(lobby.ExitCode == 0, lobby.Error);
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Every_route_answers_401_with_a_problem_without_a_token_or_with_a_wrong_one()
    {
        var real = await _api.CreateTokenAsync("deploy");
        // The right shape and id with another secret, a token of no id, and no token at all.
        string?[] wrong = [real[..^4] + "0000", "parley_0123456789abcdef_" + new string('a', 64), "not-a-token", null];

        foreach (var token in wrong)
        {
            using var http = _api.Client(token);
            foreach (var (method, path, body) in s_routes)
            {
                using var response = await http.SendAsync(Request(method, path, body));
                var problem = await ApiTestNode.ProblemAsync(response, 401);
                Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
                Assert.Contains(token is null ? "Authorization: Bearer TOKEN" : "not valid", problem.GetProperty("detail").GetString());
            }
        }
        Assert.False(await _api.Node.Accounts.ExistsAsync("carol@localhost"));
        Assert.DoesNotContain(await _api.AuditAsync(), record => record.Actor.StartsWith("token:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_route_the_openapi_document_lists_cluster_and_nodes_included_answers_401_without_a_token_and_changes_nothing()
    {
        using var http = _api.Client(token: null);
        var read = await Microsoft.OpenApi.OpenApiDocument.LoadAsync(await http.GetStreamAsync("/openapi/v1.json"), "json");
        var routes = read.Document!.Paths.SelectMany(path => path.Value.Operations!.Keys.Select(method => (Method: new HttpMethod(method.Method), Path: path.Key))).ToList();
        Assert.Contains(routes, route => route.Path == "/api/v1/cluster/nodes/{node}/failover");
        Assert.Contains(routes, route => route.Path == "/api/v1/nodes");

        foreach (var (method, template) in routes)
        {
            // Each parameter with a value that names something real, so that only the missing token can refuse it.
            var path = template.Replace("{jid}", "alice@localhost", StringComparison.Ordinal).Replace("{fullJid}", "alice@localhost/home", StringComparison.Ordinal)
                .Replace("{node}", "a", StringComparison.Ordinal).Replace("{name}", "max-contacts", StringComparison.Ordinal);
            Assert.DoesNotContain("{", path, StringComparison.Ordinal);
            using var response = await http.SendAsync(Request(method, path, method == HttpMethod.Get || method == HttpMethod.Delete ? null : "{}"));
            var problem = await ApiTestNode.ProblemAsync(response, 401);
            Assert.Contains("Authorization: Bearer TOKEN", problem.GetProperty("detail").GetString());
        }
        Assert.True(await _api.Node.Accounts.ExistsAsync("alice@localhost"));
        Assert.Equal("Welcome", await _api.Node.App.Node.Storage.Settings.GetAsync("banner"));
        Assert.DoesNotContain(await _api.AuditAsync(), record => record.Actor.StartsWith("token:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_read_only_token_reads_every_route_and_gets_403_on_every_change_which_changes_nothing()
    {
        await using var alice = await XmppTestClient.LoginAsync(_api.Node, "alice", "alice-password", "home");
        using var http = _api.Client(await _api.CreateTokenAsync("monitoring", readOnly: true));

        foreach (var (method, path, body) in s_routes)
        {
            using var response = await http.SendAsync(Request(method, path, body));
            if (method == HttpMethod.Get)
            {
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {response.StatusCode}");
            }
            else
            {
                var problem = await ApiTestNode.ProblemAsync(response, 403);
                Assert.Contains("'monitoring' may only read", problem.GetProperty("detail").GetString());
            }
        }

        Assert.False(await _api.Node.Accounts.ExistsAsync("carol@localhost"));
        Assert.Equal("Welcome", await _api.Node.App.Node.Storage.Settings.GetAsync("banner"));
        Assert.Null(await _api.Node.App.Node.Storage.Rooms.GetAsync(Room));
        Assert.Single(_api.Node.App.Node.Sessions.All);
        Assert.False(await _api.Node.App.Node.Storage.Admins.IsAdminAsync("alice@localhost"));
        Assert.Null(await _api.Node.App.Node.Storage.Settings.GetAsync("max-contacts"));
        Assert.DoesNotContain(await _api.AuditAsync(), record => record.Actor == "token:monitoring");
    }

    [Fact]
    public async Task A_read_write_token_makes_every_change_each_audited_as_the_token_from_the_client_address()
    {
        await using var alice = await XmppTestClient.LoginAsync(_api.Node, "alice", "alice-password", "home");
        using var http = _api.Client(await _api.CreateTokenAsync("deploy"));

        foreach (var (method, path, body) in s_routes)
        {
            using var response = await http.SendAsync(Request(method, path, body));
            Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var byToken = (await _api.AuditAsync()).Where(record => record.Actor == "token:deploy").ToList();
        Assert.Equal(["account.create", "account.disable", "account.remove", "session.end", "room.create", "room.configure", "room.destroy", "banner.set", "banner.clear",
            "admin.grant", "admin.revoke", "setting.set", "setting.reset"],
            byToken.Select(record => record.Action));
        Assert.All(byToken, record => Assert.Equal("127.0.0.1", record.Origin));
        Assert.DoesNotContain(await _api.AuditAsync(), record => record.Details.Contains("carol-password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_the_cli_creates_works_at_once_and_once_the_cli_revokes_it_the_next_request_is_refused()
    {
        using var http = _api.Client(await _api.CreateTokenAsync("deploy"));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/users")).StatusCode);

        var (exitCode, output, _) = await _api.ParleyAsync("admin", "token", "revoke", "deploy");
        Assert.Equal((0, "revoked the token deploy"), (exitCode, output.Trim()));

        await ApiTestNode.ProblemAsync(await http.GetAsync("/api/v1/users"), 401);
        await ApiTestNode.ProblemAsync(await http.PostAsync("/api/v1/users", ApiTestNode.Json("""{"jid":"carol@localhost","password":"carol-password"}""")), 401);
        Assert.False(await _api.Node.Accounts.ExistsAsync("carol@localhost"));
        Assert.Equal(["token.create", "token.revoke"], (await _api.AuditAsync()).Where(r => r.Subject == "deploy").Select(r => r.Action));
    }

    [Fact]
    public async Task The_openapi_document_and_the_reference_page_need_no_token_and_the_document_parses_and_lists_every_route()
    {
        using var http = _api.Client(token: null);

        using var document = await http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        var read = await Microsoft.OpenApi.OpenApiDocument.LoadAsync(await document.Content.ReadAsStreamAsync(), "json");
        Assert.Empty(read.Diagnostic!.Errors);
        var openApi = read.Document!;
        var listed = openApi.Paths.SelectMany(path => path.Value.Operations!.Keys.Select(method => $"{method.Method.ToUpperInvariant()} {path.Key}")).Order().ToList();
        Assert.Equal(
        [
            "DELETE /api/v1/admins/{jid}", "DELETE /api/v1/banner", "DELETE /api/v1/rooms/{jid}", "DELETE /api/v1/sessions/{fullJid}", "DELETE /api/v1/settings/{name}",
            "DELETE /api/v1/users/{jid}",
            "GET /api/v1/admins", "GET /api/v1/audit", "GET /api/v1/banner", "GET /api/v1/cluster", "GET /api/v1/nodes", "GET /api/v1/rooms", "GET /api/v1/rooms/{jid}",
            "GET /api/v1/rooms/{jid}/occupants", "GET /api/v1/sessions", "GET /api/v1/settings", "GET /api/v1/users",
            "GET /api/v1/users/{jid}", "PATCH /api/v1/rooms/{jid}", "PATCH /api/v1/users/{jid}", "POST /api/v1/admins", "POST /api/v1/cluster/assignments",
            "POST /api/v1/cluster/balance", "POST /api/v1/cluster/groups",
            "POST /api/v1/cluster/nodes/{node}/failover", "POST /api/v1/cluster/nodes/{node}/fallback", "POST /api/v1/rooms", "POST /api/v1/users",
            "PUT /api/v1/banner", "PUT /api/v1/settings/{name}",
        ], listed);
        var scheme = Assert.Single(openApi.Components!.SecuritySchemes!);
        Assert.Equal(("Bearer", Microsoft.OpenApi.SecuritySchemeType.Http, "bearer"), (scheme.Key, scheme.Value.Type!.Value, scheme.Value.Scheme));
        Assert.NotEmpty(openApi.Security!);

        using var page = await http.GetAsync("/scalar");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<title>Parley REST API</title>", html);
        Assert.Contains("\"url\":\"openapi/v1.json\"", html);
        // Scalar serves its own script, from the node and not a CDN.
        using var script = await http.GetAsync("/scalar/scalar.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.True((await script.Content.ReadAsByteArrayAsync()).Length > 10_000, "scalar.js is Scalar's application");
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string? body) =>
        new(method, path) { Content = body is null ? null : ApiTestNode.Json(body) };
}
