using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.Protocol;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Api;

/// <summary>/api/v1/sessions, /rooms, /audit and /banner with a read-write token.</summary>
public sealed class RestApiAdministrationTests : IAsyncLifetime
{
    private ApiTestNode _api = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _api = await ApiTestNode.StartAsync();
        await _api.Node.CreateUserAsync("alice", "alice-password");
        _http = _api.Client(await _api.CreateTokenAsync("ops"));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task Sessions_are_listed_and_one_is_kicked_with_policy_violation_while_the_other_stays()
    {
        await using var phone = await XmppTestClient.LoginAsync(_api.Node, "alice", "alice-password", "phone");
        await using var desk = await XmppTestClient.LoginAsync(_api.Node, "alice", "alice-password", "desk");

        var listed = await _http.GetFromJsonAsync<JsonElement>("/api/v1/sessions?user=alice@localhost");
        Assert.Equal(["alice@localhost/desk", "alice@localhost/phone"], listed.EnumerateArray().Select(s => s.GetProperty("jid").GetString()));
        Assert.Equal("127.0.0.1", listed[0].GetProperty("remoteAddress").GetString());
        Assert.Equal(("desk", "", Environment.MachineName, "STARTTLS"), (listed[0].GetProperty("resource").GetString(), listed[0].GetProperty("client").GetString(),
            listed[0].GetProperty("node").GetString(), listed[0].GetProperty("transport").GetString()));
        // A client that names its software in its presence (XEP-0115) is listed with it.
        await desk.SendAsync($"<presence><c xmlns='{Ns.Caps}' hash='sha-1' node='https://example.org/desk-client' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>");
        await Eventually.TrueAsync(async () => (await _http.GetFromJsonAsync<JsonElement>("/api/v1/sessions?user=alice@localhost"))[0].GetProperty("client").GetString() == "https://example.org/desk-client");

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync("/api/v1/sessions/alice@localhost/phone")).StatusCode);
        Assert.Equal("policy-violation", await phone.ExpectStreamErrorAsync());

        await Eventually.TrueAsync(() => _api.Node.App.Node.Sessions.All.Count() == 1);
        Assert.Equal(["alice@localhost/desk"], (await _http.GetFromJsonAsync<JsonElement>("/api/v1/sessions")).EnumerateArray().Select(s => s.GetProperty("jid").GetString()));
        await ApiTestNode.ProblemAsync(await _http.DeleteAsync("/api/v1/sessions/alice@localhost/phone"), 404);
        await ApiTestNode.ProblemAsync(await _http.DeleteAsync("/api/v1/sessions/alice@localhost"), 400);
        Assert.Equal([("session.end", "alice@localhost/phone")], (await _api.AuditAsync()).Where(r => r.Actor == "token:ops").Select(r => (r.Action, r.Subject)));
    }

    [Fact]
    public async Task A_room_is_created_listed_and_destroyed_and_unknown_or_foreign_rooms_are_refused()
    {
        using var created = await _http.PostAsync("/api/v1/rooms", ApiTestNode.Json("""{"jid":"team@conference.localhost","owners":["alice@localhost"],"name":"The <team>"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await ApiTestNode.ProblemAsync(await _http.PostAsync("/api/v1/rooms", ApiTestNode.Json("""{"jid":"team@conference.localhost","owners":["alice@localhost"]}""")), 409);
        await ApiTestNode.ProblemAsync(await _http.PostAsync("/api/v1/rooms", ApiTestNode.Json("""{"jid":"other@conference.localhost","owners":[]}""")), 400);
        await ApiTestNode.ProblemAsync(await _http.PostAsync("/api/v1/rooms", ApiTestNode.Json("""{"jid":"other@chat.elsewhere.org","owners":["alice@localhost"]}""")), 400);

        var rooms = await _http.GetFromJsonAsync<JsonElement>("/api/v1/rooms");
        Assert.Equal([("team@conference.localhost", "The <team>")], rooms.EnumerateArray().Select(r => (r.GetProperty("jid").GetString(), r.GetProperty("name").GetString())));

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync("/api/v1/rooms/team@conference.localhost")).StatusCode);
        await ApiTestNode.ProblemAsync(await _http.DeleteAsync("/api/v1/rooms/team@conference.localhost"), 404);
        Assert.Empty((await _http.GetFromJsonAsync<JsonElement>("/api/v1/rooms")).EnumerateArray());
        Assert.Equal(["room.create", "room.destroy"], (await _api.AuditAsync()).Where(r => r.Actor == "token:ops").Select(r => r.Action));
    }

    [Fact]
    public async Task The_banner_is_set_read_and_cleared_and_a_bad_one_is_refused()
    {
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/banner"), 404);

        using var set = await _http.PutAsync("/api/v1/banner", ApiTestNode.Json("""{"text":"Maintenance\r\nat 22:00  "}"""));
        Assert.Equal("Maintenance\nat 22:00", (await set.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("text").GetString());
        Assert.Equal("Maintenance\nat 22:00", (await _http.GetFromJsonAsync<JsonElement>("/api/v1/banner")).GetProperty("text").GetString());
        await ApiTestNode.ProblemAsync(await _http.PutAsync("/api/v1/banner", ApiTestNode.Json("""{"text":"   "}""")), 400);

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync("/api/v1/banner")).StatusCode);
        await ApiTestNode.ProblemAsync(await _http.DeleteAsync("/api/v1/banner"), 404);
        Assert.Equal(["banner.set", "banner.clear"], (await _api.AuditAsync()).Where(r => r.Actor == "token:ops").Select(r => r.Action));
    }

    [Fact]
    public async Task The_audit_trail_is_read_newest_first_by_actor_action_and_time_and_paged_by_id()
    {
        for (var i = 0; i < 120; i++)
        {
            using var set = await _http.PutAsync("/api/v1/banner", ApiTestNode.Json($$"""{"text":"banner {{i}}"}"""));
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        // More records than a page: the first page is the newest 100, the next one (before its last id) the rest.
        var page = await _http.GetFromJsonAsync<JsonElement>("/api/v1/audit?actor=token:ops");
        Assert.Equal(Enumerable.Range(20, 100).Reverse().Select(i => $"banner {i}"), page.EnumerateArray().Select(r => r.GetProperty("details").GetString()));
        var next = await _http.GetFromJsonAsync<JsonElement>($"/api/v1/audit?actor=token:ops&before={page[99].GetProperty("id").GetInt64()}");
        Assert.Equal(Enumerable.Range(0, 20).Reverse().Select(i => $"banner {i}"), next.EnumerateArray().Select(r => r.GetProperty("details").GetString()));

        var newest = await _http.GetFromJsonAsync<JsonElement>("/api/v1/audit?max=1");
        Assert.Equal("banner 119", newest.EnumerateArray().Single().GetProperty("details").GetString());
        // The action filter runs over every record, not the newest page only: the token was made before the 120 changes.
        var created = await _http.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=Token.Create");
        Assert.Equal(["token.create"], created.EnumerateArray().Select(r => r.GetProperty("action").GetString()));
        Assert.Equal(120, (await _http.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=banner&max=1000")).GetArrayLength());
        Assert.Empty((await _http.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=%25")).EnumerateArray());
        var since = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"));
        Assert.Empty((await _http.GetFromJsonAsync<JsonElement>($"/api/v1/audit?since={since}")).EnumerateArray());
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/audit?before=0"), 400);
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/audit?before=x"), 400);
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/audit?max=0"), 400);
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/audit?since=yesterday"), 400);
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/users?limit=many"), 400);
    }
}
