using System.Diagnostics;
using System.Text.Json;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Api;

/// <summary>/metrics serves the node's instruments in Prometheus text format, without a token, as a scraper reads it.</summary>
[Collection(NodeMetricsCollection.Name)]
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task A_prometheus_parser_reads_the_families_and_the_login_counter_moves_after_a_login()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("alice", "alice-password");
        using var http = new HttpClient();

        var response = await http.GetAsync($"http://127.0.0.1:{node.HttpPort}/metrics");
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        var before = await ParseAsync(await response.Content.ReadAsStringAsync());
        Assert.Contains("parley_send_queue_bytes", before.Keys);
        Assert.Contains("dotnet_gc_collections", before.Keys);

        await using var alice = await XmppTestClient.LoginAsync(node, "alice", "alice-password", "home");

        var deadline = DateTime.UtcNow.AddSeconds(30);
        Dictionary<string, double> after;
        do
        {
            after = await ParseAsync(await http.GetStringAsync($"http://127.0.0.1:{node.HttpPort}/metrics"));
        }
        // The exporter answers repeated scrapes from a short cache: both figures are waited for.
        while ((after.GetValueOrDefault("parley_logins") <= before.GetValueOrDefault("parley_logins") || after.GetValueOrDefault("parley_sessions") < 1)
            && DateTime.UtcNow < deadline);
        Assert.True(after.GetValueOrDefault("parley_logins") > before.GetValueOrDefault("parley_logins"), "parley_logins did not move after a login");
        Assert.True(after.GetValueOrDefault("parley_sessions") >= 1, "parley_sessions does not count the signed-in session");
    }

    /// <summary>Each family of a scrape with its samples summed, as Debian's prometheus_client parser reads them.</summary>
    internal static async Task<Dictionary<string, double>> ParseAsync(string scrape)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Api", "prometheus_families.py");
        using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await python.StandardInput.WriteAsync(scrape);
        python.StandardInput.Close();
        var output = python.StandardOutput.ReadToEndAsync();
        var error = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync();
        Assert.True(python.ExitCode == 0, await error);
        return JsonSerializer.Deserialize<Dictionary<string, double>>(await output)!;
    }
}
