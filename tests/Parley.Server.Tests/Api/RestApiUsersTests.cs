using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Api;

/// <summary>/api/v1/users, and how the API answers bodies it cannot take: problem details, and nothing changed.</summary>
public sealed class RestApiUsersTests : IAsyncLifetime
{
    private ApiTestNode _api = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _api = await ApiTestNode.StartAsync();
        _http = _api.Client(await _api.CreateTokenAsync("provisioning"));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task An_account_created_over_the_api_signs_in_then_its_password_changes_it_is_disabled_and_removed()
    {
        using var created = await _http.PostAsync("/api/v1/users", ApiTestNode.Json("""{"jid":"Carol@LocalHost","password":"carol-password"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/api/v1/users/carol%40localhost", created.Headers.Location!.OriginalString);
        Assert.Equal("carol@localhost", (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jid").GetString());
        await (await XmppTestClient.LoginAsync(_api.Node, "carol", "carol-password")).DisposeAsync();

        var again = await _http.PostAsync("/api/v1/users", ApiTestNode.Json("""{"jid":"carol@localhost","password":"other-password"}"""));
        await ApiTestNode.ProblemAsync(again, 409);

        using var changed = await _http.PatchAsync("/api/v1/users/carol@localhost", ApiTestNode.Json("""{"password":"new-carol-password"}"""));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        await (await XmppTestClient.LoginAsync(_api.Node, "carol", "new-carol-password")).DisposeAsync();

        await using var carol = await XmppTestClient.LoginAsync(_api.Node, "carol", "new-carol-password", "desk");
        var detail = await _http.GetFromJsonAsync<JsonElement>("/api/v1/users/carol@localhost");
        Assert.False(detail.GetProperty("disabled").GetBoolean());
        Assert.Equal("carol@localhost/desk", detail.GetProperty("sessions")[0].GetProperty("jid").GetString());

        using var disabled = await _http.PatchAsync("/api/v1/users/carol@localhost", ApiTestNode.Json("""{"disabled":true}"""));
        Assert.True((await disabled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("disabled").GetBoolean());
        Assert.True(await carol.IsClosedAsync(), "disabling the account ends its session");

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync("/api/v1/users/carol@localhost")).StatusCode);
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/users/carol@localhost"), 404);
        Assert.Equal(["account.create", "account.password", "account.disable", "account.remove"],
            (await _api.AuditAsync()).Where(r => r.Actor == "token:provisioning").Select(r => r.Action));
        Assert.DoesNotContain(await _api.AuditAsync(), r => r.Details.Contains("carol-password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_list_pages_through_accounts_and_q_finds_them_by_any_part_of_the_jid_as_plain_text()
    {
        foreach (var name in new[] { "dave", "alice", "carol", "bob", "alicia" })
        {
            await _api.Node.CreateUserAsync(name, name + "-password");
        }

        var page = await _http.GetFromJsonAsync<JsonElement>("/api/v1/users?offset=1&limit=2");
        Assert.Equal(5, page.GetProperty("total").GetInt32());
        Assert.Equal(["alicia@localhost", "bob@localhost"], Jids(page));
        var found = await _http.GetFromJsonAsync<JsonElement>("/api/v1/users?q=ALI");
        Assert.Equal(2, found.GetProperty("total").GetInt32());
        Assert.Equal(["alice@localhost", "alicia@localhost"], Jids(found));
        Assert.Empty(Jids(await _http.GetFromJsonAsync<JsonElement>("/api/v1/users?q=%25' OR '1'='1")));
        Assert.Empty(Jids(await _http.GetFromJsonAsync<JsonElement>("/api/v1/users?q=_")));
        Assert.Empty(Jids(await _http.GetFromJsonAsync<JsonElement>("/api/v1/users?q=a%25e")));
        Assert.Equal(["alice@localhost"], Jids(await _http.GetFromJsonAsync<JsonElement>("/api/v1/users?q=ali&offset=0&limit=1")));
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/users?limit=0"), 400);
    }

    [Theory]
    [InlineData("""{"jid":"carol@localhost","password":""", "not valid JSON")]
    [InlineData("""{"jid":"carol@localhost","password":"carol-password","admin":true}""", "Unknown field at $.admin")]
    [InlineData("""{"jid":"carol@localhost"}""", "A required field is missing: jid, password")]
    [InlineData("""["carol@localhost"]""", "not valid JSON for this request")]
    [InlineData("""{"jid":"carol@elsewhere.org","password":"carol-password"}""", "not in a domain this node serves")]
    [InlineData("""{"jid":"carol@localhost","password":"short"}""", "at least 8")]
    public async Task A_body_the_api_cannot_take_gets_a_400_problem_and_creates_nothing(string body, string expected)
    {
        var problem = await ApiTestNode.ProblemAsync(await _http.PostAsync("/api/v1/users", ApiTestNode.Json(body)), 400);

        Assert.Contains(expected, problem.GetProperty("detail").GetString());
        Assert.Equal(0, await _api.Node.Accounts.CountAsync(null));
        Assert.DoesNotContain(await _api.AuditAsync(), r => r.Actor == "token:provisioning");
    }

    [Fact]
    public async Task A_patch_with_an_unknown_field_or_nothing_to_change_gets_400_and_the_account_is_unchanged()
    {
        await _api.Node.CreateUserAsync("carol", "carol-password");

        await ApiTestNode.ProblemAsync(await _http.PatchAsync("/api/v1/users/carol@localhost", ApiTestNode.Json("""{"disabled":true,"nickname":"C"}""")), 400);
        await ApiTestNode.ProblemAsync(await _http.PatchAsync("/api/v1/users/carol@localhost", ApiTestNode.Json("{}")), 400);
        await ApiTestNode.ProblemAsync(await _http.PatchAsync("/api/v1/users/carol@localhost", ApiTestNode.Json("""{"password":"short","disabled":true}""")), 400);
        await ApiTestNode.ProblemAsync(await _http.PatchAsync("/api/v1/users/nobody@localhost", ApiTestNode.Json("""{"disabled":true}""")), 404);
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/users/localhost"), 400);

        Assert.False((await _api.Node.Accounts.GetCredentialsAsync("carol@localhost"))!.Disabled);
        await (await XmppTestClient.LoginAsync(_api.Node, "carol", "carol-password")).DisposeAsync();
    }

    [Fact]
    public async Task A_display_name_set_over_the_api_is_shown_found_by_q_audited_and_cleared_by_an_empty_one()
    {
        await _api.Node.CreateUserAsync("carol", "carol-password");
        await _api.Node.CreateUserAsync("dave", "dave-password");

        using var named = await _http.PatchAsync("/api/v1/users/carol@localhost", ApiTestNode.Json("""{"displayName":"  Carol \"<script>\" Ng  "}"""));
        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        Assert.Equal("Carol \"<script>\" Ng", (await named.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("displayName").GetString());
        Assert.Equal("Carol \"<script>\" Ng", (await _http.GetFromJsonAsync<JsonElement>("/api/v1/users/carol@localhost")).GetProperty("displayName").GetString());

        var found = await _http.GetFromJsonAsync<JsonElement>("/api/v1/users?q=SCRIPT");
        Assert.Equal(["carol@localhost"], Jids(found));
        Assert.Equal("Carol \"<script>\" Ng", found.GetProperty("users")[0].GetProperty("displayName").GetString());
        Assert.Equal("account.display-name", (await _api.AuditAsync()).Last().Action);
        Assert.Equal("Carol \"<script>\" Ng", (await _api.AuditAsync()).Last().Details);

        await ApiTestNode.ProblemAsync(await _http.PatchAsync("/api/v1/users/carol@localhost", ApiTestNode.Json("""{"displayName":"two\nlines","password":"another-password"}""")), 400);
        await ApiTestNode.ProblemAsync(await _http.PatchAsync("/api/v1/users/nobody@localhost", ApiTestNode.Json("""{"displayName":"Nobody"}""")), 404);
        Assert.Equal("Carol \"<script>\" Ng", (await _api.Node.Accounts.GetAsync("carol@localhost"))!.DisplayName);
        await (await XmppTestClient.LoginAsync(_api.Node, "carol", "carol-password")).DisposeAsync();

        using var cleared = await _http.PatchAsync("/api/v1/users/carol@localhost", ApiTestNode.Json("""{"displayName":""}"""));
        Assert.Equal(JsonValueKind.Null, (await cleared.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("displayName").ValueKind);
        Assert.Empty(Jids(await _http.GetFromJsonAsync<JsonElement>("/api/v1/users?q=script")));
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_whether_its_length_is_declared_or_not_and_creates_nothing()
    {
        var huge = $$"""{"jid":"carol@localhost","password":"{{new string('p', 70_000)}}"}""";

        var declared = await _http.PostAsync("/api/v1/users", ApiTestNode.Json(huge));
        await ApiTestNode.ProblemAsync(declared, 413);
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge)));
        chunked.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Put, "/api/v1/banner") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var streamed = await _http.SendAsync(request);
        await ApiTestNode.ProblemAsync(streamed, 413);

        Assert.Equal(0, await _api.Node.Accounts.CountAsync(null));
        Assert.Null(await _api.Node.App.Node.Storage.Settings.GetAsync("banner"));
    }

    [Fact]
    public async Task A_body_that_is_not_json_gets_415_and_unknown_accounts_get_404()
    {
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await _http.PostAsync("/api/v1/users", new StringContent("jid=carol@localhost"))).StatusCode);
        await ApiTestNode.ProblemAsync(await _http.GetAsync("/api/v1/users/nobody@localhost"), 404);
        await ApiTestNode.ProblemAsync(await _http.DeleteAsync("/api/v1/users/nobody@localhost"), 404);
        Assert.Equal(0, await _api.Node.Accounts.CountAsync(null));
    }

    private static List<string> Jids(JsonElement page) => [.. page.GetProperty("users").EnumerateArray().Select(u => u.GetProperty("jid").GetString()!)];
}
