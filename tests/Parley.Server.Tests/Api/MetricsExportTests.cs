using System.Net;
using System.Text;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;
using Parley.Tests.Shared;

namespace Parley.Server.Tests.Api;

/// <summary>/metrics behind an API token when Parley:Metrics:RequireToken says so, and the OTLP push to a collector.</summary>
[Collection(NodeMetricsCollection.Name)]
public sealed class MetricsExportTests
{
    [Fact]
    public async Task With_require_token_metrics_answers_401_without_a_token_and_serves_a_read_only_one()
    {
        await using var api = await ApiTestNode.StartAsync(options => options.Metrics.RequireToken = true);

        using var anonymous = api.Client(token: null);
        await ApiTestNode.ProblemAsync(await anonymous.GetAsync("/metrics"), 401);
        using var wrong = api.Client("parley_0123456789abcdef_" + new string('0', 64));
        await ApiTestNode.ProblemAsync(await wrong.GetAsync("/metrics"), 401);

        using var scraper = api.Client(await api.CreateTokenAsync("prometheus", readOnly: true));
        using var scrape = await scraper.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains("parley_send_queue_bytes", await scrape.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task With_an_otlp_endpoint_the_node_pushes_its_metrics_to_the_collector_over_otlp_http()
    {
        var port = LoopbackPort.Free();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        await using var api = await ApiTestNode.StartAsync(options =>
        {
            options.Metrics.OtlpEndpoint = $"http://127.0.0.1:{port}";
            options.Metrics.OtlpIntervalSeconds = 1;
        });

        var received = collector.GetContextAsync();
        Assert.Same(received, await Task.WhenAny(received, Task.Delay(XmppTestClient.Deadline)));
        var context = await received;
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        context.Response.StatusCode = 200;
        context.Response.Close();

        Assert.Equal(("POST", "/v1/metrics", "application/x-protobuf"), (context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType));
        // The protobuf names the instruments as plain strings.
        Assert.Contains("parley.send_queue.bytes", Encoding.UTF8.GetString(body.ToArray()));
    }

    [Theory]
    [InlineData("collector:4318")]
    [InlineData("ftp://collector")]
    [InlineData("not an address")]
    public void An_otlp_endpoint_that_is_not_an_http_address_is_a_configuration_problem_naming_the_key(string endpoint)
    {
        var options = new ParleyOptions();
        options.Metrics.OtlpEndpoint = endpoint;
        options.Metrics.OtlpIntervalSeconds = 0;

        var problems = ConfigurationCheck.Problems(options).Where(p => p.StartsWith("Parley:Metrics:", StringComparison.Ordinal));

        Assert.Equal(
            [
                $"Parley:Metrics:OtlpEndpoint: '{endpoint}' is not an http:// or https:// address.",
                "Parley:Metrics:OtlpIntervalSeconds: must be 1 or more.",
            ],
            problems);
    }
}
