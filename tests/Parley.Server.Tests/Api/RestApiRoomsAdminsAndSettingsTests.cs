using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Api;

/// <summary>
/// What the console and the CLI already did, over the API: rooms searched, read, configured and their occupants
/// listed; the admin role granted and revoked; runtime settings read and changed — each change audited as the token.
/// </summary>
public sealed class RestApiRoomsAdminsAndSettingsTests : IAsyncLifetime
{
    private const string Team = "team@conference.localhost";

    private ApiTestNode _api = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _api = await ApiTestNode.StartAsync(options => options.Admins = ["boss@localhost"]);
        await _api.Node.CreateUserAsync("alice", "alice-password");
        await _api.Node.CreateUserAsync("bob", "bob-password");
        _http = _api.Client(await _api.CreateTokenAsync("ops"));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _api.DisposeAsync();
    }

    private async Task<string?> DetailAsync(Task<HttpResponseMessage> request, int status) =>
        (await ApiTestNode.ProblemAsync(await request, status)).GetProperty("detail").GetString();

    private static async Task<List<string?>> JidsAsync(HttpClient http, string path) =>
        [.. (await http.GetFromJsonAsync<JsonElement>(path)).EnumerateArray().Select(r => r.GetProperty("jid").GetString())];

    [Fact]
    public async Task Rooms_are_searched_by_jid_or_name_in_any_case_as_plain_text()
    {
        foreach (var (jid, name) in new[] { (Team, "The Team"), ("sales@conference.localhost", "Sales 100%") })
        {
            using var created = await _http.PostAsync("/api/v1/rooms", ApiTestNode.Json($$"""{"jid":"{{jid}}","owners":["alice@localhost"],"name":"{{name}}"}"""));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        Assert.Equal([Team], await JidsAsync(_http, "/api/v1/rooms?q=the%20TEAM"));
        Assert.Equal(["sales@conference.localhost"], await JidsAsync(_http, "/api/v1/rooms?q=SALES@"));
        Assert.Equal(["sales@conference.localhost"], await JidsAsync(_http, "/api/v1/rooms?q=100%25"));
        Assert.Equal(["sales@conference.localhost", Team], await JidsAsync(_http, "/api/v1/rooms?q="));
        Assert.Empty(await JidsAsync(_http, "/api/v1/rooms?q=_"));
        Assert.Empty(await JidsAsync(_http, "/api/v1/rooms?q=%27%20OR%20%271%27%3D%271"));
    }

    [Fact]
    public async Task A_room_is_configured_read_back_without_its_password_and_its_occupants_listed_and_bad_changes_are_refused()
    {
        using (var created = await _http.PostAsync("/api/v1/rooms", ApiTestNode.Json($$"""{"jid":"{{Team}}","owners":["alice@localhost"],"name":"Team"}""")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var configured = await _http.PatchAsync($"/api/v1/rooms/{Team}", ApiTestNode.Json(
            """{"name":"The <team>","description":"Where we meet","membersOnly":true,"maxUsers":40,"password":"s3cret","owners":["bob@localhost"]}"""));
        Assert.Equal(HttpStatusCode.OK, configured.StatusCode);
        var room = await _http.GetFromJsonAsync<JsonElement>($"/api/v1/rooms/{Team}");
        Assert.Equal(("The <team>", "Where we meet", true, 40, true, true), (room.GetProperty("name").GetString(), room.GetProperty("description").GetString(),
            room.GetProperty("membersOnly").GetBoolean(), room.GetProperty("maxUsers").GetInt32(), room.GetProperty("passwordProtected").GetBoolean(), room.GetProperty("public").GetBoolean()));
        Assert.DoesNotContain("s3cret", room.GetRawText());
        Assert.Contains("bob@localhost", (await _api.Node.App.Node.Storage.Rooms.GetAffiliationsAsync(Team)).Where(a => a.Affiliation == "owner").Select(a => a.Jid));

        // Fields left out keep their settings; an empty password removes it.
        using (var unlocked = await _http.PatchAsync($"/api/v1/rooms/{Team}", ApiTestNode.Json("""{"password":""}""")))
        {
            var after = await unlocked.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(("The <team>", false, 40), (after.GetProperty("name").GetString(), after.GetProperty("passwordProtected").GetBoolean(), after.GetProperty("maxUsers").GetInt32()));
        }

        Assert.Equal("The most occupants is 0 (the service's limit) or more.",
            await DetailAsync(_http.PatchAsync($"/api/v1/rooms/{Team}", ApiTestNode.Json("""{"maxUsers":-1,"name":"Renamed"}""")), 400));
        Assert.Equal("The owner 'not a jid@@' is not a valid JID.",
            await DetailAsync(_http.PatchAsync($"/api/v1/rooms/{Team}", ApiTestNode.Json("""{"owners":["not a jid@@"],"name":"Renamed"}""")), 400));
        Assert.Contains("Unknown field at $.color", await DetailAsync(_http.PatchAsync($"/api/v1/rooms/{Team}", ApiTestNode.Json("""{"color":"red"}""")), 400));
        Assert.Contains("not valid JSON", await DetailAsync(_http.PatchAsync($"/api/v1/rooms/{Team}", ApiTestNode.Json("{\"name\":")), 400));
        Assert.Contains("is not this node's chat service", await DetailAsync(_http.PatchAsync("/api/v1/rooms/team@elsewhere.org", ApiTestNode.Json("""{"name":"x"}""")), 400));
        Assert.Equal("The room nowhere@conference.localhost was not found.",
            await DetailAsync(_http.PatchAsync("/api/v1/rooms/nowhere@conference.localhost", ApiTestNode.Json("""{"name":"x"}""")), 404));
        Assert.Equal("There is no persistent room nowhere@conference.localhost.", await DetailAsync(_http.GetAsync("/api/v1/rooms/nowhere@conference.localhost"), 404));
        Assert.Equal("The <team>", (await _http.GetFromJsonAsync<JsonElement>($"/api/v1/rooms/{Team}")).GetProperty("name").GetString());

        // Who is in the room now.
        Assert.Empty((await _http.GetFromJsonAsync<JsonElement>($"/api/v1/rooms/{Team}/occupants")).EnumerateArray());
        await using var alice = await Muc.OnlineAsync(_api.Node, "alice");
        await Muc.JoinAsync(alice, Team, "Alice");
        var occupant = Assert.Single((await _http.GetFromJsonAsync<JsonElement>($"/api/v1/rooms/{Team}/occupants")).EnumerateArray());
        Assert.Equal(("Alice", "alice@localhost", "moderator", "owner"), (occupant.GetProperty("nick").GetString(), occupant.GetProperty("jid").GetString(),
            occupant.GetProperty("role").GetString(), occupant.GetProperty("affiliation").GetString()));
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/rooms/nowhere@conference.localhost/occupants"), 404);

        Assert.Equal(["room.create", "room.configure", "room.configure"], (await _api.AuditAsync()).Where(r => r.Actor == "token:ops").Select(r => r.Action));
        Assert.DoesNotContain(await _api.AuditAsync(), r => r.Details.Contains("s3cret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_admin_role_is_granted_listed_and_revoked_and_counts_at_once_and_bad_requests_say_why()
    {
        Assert.Equal([("boss@localhost", true)], (await _http.GetFromJsonAsync<JsonElement>("/api/v1/admins")).EnumerateArray()
            .Select(a => (a.GetProperty("jid").GetString(), a.GetProperty("configured").GetBoolean())));

        using var granted = await _http.PostAsync("/api/v1/admins", ApiTestNode.Json("""{"jid":"alice@localhost"}"""));
        Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
        Assert.True(await _api.Node.App.Node.Storage.Admins.IsAdminAsync("alice@localhost"));
        Assert.Equal(["alice@localhost", "boss@localhost"], await JidsAsync(_http, "/api/v1/admins"));

        Assert.Equal("The admin role of alice@localhost exists already.",
            await DetailAsync(_http.PostAsync("/api/v1/admins", ApiTestNode.Json("""{"jid":"alice@localhost"}""")), 409));
        Assert.Contains("not a valid JID", await DetailAsync(_http.PostAsync("/api/v1/admins", ApiTestNode.Json("""{"jid":"@@"}""")), 400));
        Assert.Contains("elsewhere.org", await DetailAsync(_http.PostAsync("/api/v1/admins", ApiTestNode.Json("""{"jid":"eve@elsewhere.org"}""")), 400));
        Assert.Contains("A required field is missing: jid", await DetailAsync(_http.PostAsync("/api/v1/admins", ApiTestNode.Json("{}")), 400));
        Assert.Contains("Unknown field at $.role", await DetailAsync(_http.PostAsync("/api/v1/admins", ApiTestNode.Json("""{"jid":"bob@localhost","role":"root"}""")), 400));
        Assert.Equal("boss@localhost is an admin because Parley:Admins lists it; remove it there.", await DetailAsync(_http.DeleteAsync("/api/v1/admins/boss@localhost"), 400));

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync("/api/v1/admins/alice@localhost")).StatusCode);
        Assert.False(await _api.Node.App.Node.Storage.Admins.IsAdminAsync("alice@localhost"));
        Assert.Equal("A granted admin role of alice@localhost was not found.", await DetailAsync(_http.DeleteAsync("/api/v1/admins/alice@localhost"), 404));
        Assert.Equal(["boss@localhost"], await JidsAsync(_http, "/api/v1/admins"));
        Assert.Equal([("admin.grant", "alice@localhost"), ("admin.revoke", "alice@localhost")],
            (await _api.AuditAsync()).Where(r => r.Actor == "token:ops").Select(r => (r.Action, r.Subject)));
    }

    [Fact]
    public async Task A_runtime_setting_is_read_set_and_reset_and_a_value_it_cannot_take_or_an_unknown_name_changes_nothing()
    {
        async Task<(string? Value, bool Stored)> ContactsAsync() =>
            (await _http.GetFromJsonAsync<JsonElement>("/api/v1/settings")).EnumerateArray().Where(s => s.GetProperty("name").GetString() == "max-contacts")
                .Select(s => (s.GetProperty("value").GetString(), s.GetProperty("stored").GetBoolean())).Single();
        var listed = await _http.GetFromJsonAsync<JsonElement>("/api/v1/settings");
        Assert.Equal(["max-contacts", "archive-retention-days", "registration"], listed.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.All(listed.EnumerateArray(), s => Assert.NotEmpty(s.GetProperty("description").GetString()!));
        Assert.Equal(("0", false), await ContactsAsync());

        using var set = await _http.PutAsync("/api/v1/settings/max-contacts", ApiTestNode.Json("""{"value":" 50 "}"""));
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("50", (await set.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("value").GetString());
        Assert.Equal(("50", true), await ContactsAsync());

        Assert.Equal("max-contacts takes a whole number, 0 or more; 'many' is not one.",
            await DetailAsync(_http.PutAsync("/api/v1/settings/max-contacts", ApiTestNode.Json("""{"value":"many"}""")), 400));
        Assert.Equal("registration is on or off; 'yes' is neither.", await DetailAsync(_http.PutAsync("/api/v1/settings/registration", ApiTestNode.Json("""{"value":"yes"}""")), 400));
        Assert.Equal("There is no setting 'colour'; the settings are max-contacts, archive-retention-days, registration.",
            await DetailAsync(_http.PutAsync("/api/v1/settings/colour", ApiTestNode.Json("""{"value":"red"}""")), 404));
        Assert.Contains("A required field is missing: value", await DetailAsync(_http.PutAsync("/api/v1/settings/max-contacts", ApiTestNode.Json("{}")), 400));
        Assert.Equal(("50", true), await ContactsAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync("/api/v1/settings/max-contacts")).StatusCode);
        Assert.Equal(("0", false), await ContactsAsync());
        Assert.Equal("max-contacts was not set at runtime: it is as configured.", await DetailAsync(_http.DeleteAsync("/api/v1/settings/max-contacts"), 404));
        await ApiTestNode.ProblemAsync(await _http.DeleteAsync("/api/v1/settings/colour"), 404);
        Assert.Equal([("setting.set", "max-contacts", "50"), ("setting.reset", "max-contacts", "back to the configured 0")],
            (await _api.AuditAsync()).Where(r => r.Actor == "token:ops").Select(r => (r.Action, r.Subject, r.Details)));
    }
}
