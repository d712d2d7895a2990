using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Api;

/// <summary>A node with the REST API, and API tokens made by the real <c>parley admin token</c> command beside it.</summary>
public sealed class ApiTestNode : IAsyncDisposable
{
    private ApiTestNode(TestNode node) => Node = node;

    public TestNode Node { get; }

    public string BaseAddress => $"http://127.0.0.1:{Node.HttpPort}";

    public static async Task<ApiTestNode> StartAsync(Action<ParleyOptions>? configure = null) => new(await TestNode.StartAsync(configure));

    public Task<(int ExitCode, string Output, string Error)> ParleyAsync(params string[] args) => Node.RunParleyAsync(args);

    /// <summary>A new token from <c>parley admin token create</c>.</summary>
    public async Task<string> CreateTokenAsync(string name, bool readOnly = false)
    {
        var (exitCode, output, error) = await ParleyAsync(readOnly ? ["admin", "token", "create", name, "--read-only"] : ["admin", "token", "create", name]);
        Assert.True(exitCode == 0, error);
        return output.Trim();
    }

    public HttpClient Client(string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri(BaseAddress) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return http;
    }

    /// <summary>The problem details of an error response, after checking its media type and status.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, int status)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The audit trail's (actor, origin, action, subject, details), oldest first.</summary>
    public async Task<List<(string Actor, string Origin, string Action, string Subject, string Details)>> AuditAsync() =>
        [.. (await Node.App.Node.Storage.Audit.ListAsync(null, null, 1000)).Select(r => (r.Actor, r.Origin, r.Action, r.Subject, r.Details))];

    public ValueTask DisposeAsync() => Node.DisposeAsync();
}
