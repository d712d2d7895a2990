using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests.Api;

/// <summary>
/// The REST API with the real <c>parley</c> process and a real Debian client: an account made over the API signs in
/// with python3-slixmpp, its session is listed and kicked over the API, and both changes are in the audit trail.
/// </summary>
public sealed class RestApiInteropTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync() => _node = await ParleyProcess.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_user_created_over_the_api_signs_in_with_slixmpp_and_is_kicked_over_the_api()
    {
        var create = await _node.CliAsync(["admin", "token", "create", "provisioning"]);
        Assert.True(create.ExitCode == 0, create.Output);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_node.HttpPort}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", create.Output.Trim());

        using var created = await http.PostAsync("/api/v1/users",
            new StringContent("""{"jid":"dana@localhost","password":"dana-secret"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_kicked.py");
        await using var dana = ExternalProcess.Start("/usr/bin/python3", [script, "127.0.0.1", _node.C2sPort.ToString(), "dana@localhost", "dana-secret"]);
        await dana.WaitForOutputAsync("online dana@localhost/", TimeSpan.FromSeconds(60));

        var sessions = await http.GetFromJsonAsync<JsonElement>("/api/v1/sessions?user=dana@localhost");
        var fullJid = sessions.EnumerateArray().Single().GetProperty("jid").GetString()!;
        Assert.StartsWith("dana@localhost/", fullJid);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"/api/v1/sessions/{fullJid}")).StatusCode);

        Assert.True(await dana.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"slixmpp was not disconnected:\n{dana.Output}");
        Assert.True(dana.ExitCode == 0, $"slixmpp_kicked.py failed:\n{dana.Output}\nnode log:\n{_node.Output}");
        var result = JsonDocument.Parse(dana.Output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("policy-violation", result.GetProperty("stream_error").GetString());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await http.GetFromJsonAsync<JsonElement>("/api/v1/sessions?user=dana@localhost")).GetArrayLength() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the kicked session is still listed");
        }

        var audit = await http.GetFromJsonAsync<JsonElement>("/api/v1/audit?actor=token:provisioning");
        Assert.Equal([("session.end", fullJid), ("account.create", "dana@localhost")],
            audit.EnumerateArray().Select(r => (r.GetProperty("action").GetString(), r.GetProperty("subject").GetString())));
        Assert.All(audit.EnumerateArray(), r => Assert.Equal("127.0.0.1", r.GetProperty("origin").GetString()));
    }
}
