using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;
using Parley.Server.Web;

namespace Parley.Server.Tests.Web;

/// <summary>The bundled web client at /chat: Converse.js, configured for this node, served from files the build fetched with npm.</summary>
public sealed class WebClientTests
{
    [Fact]
    public async Task Chat_serves_converse_configured_with_the_nodes_domain_and_websocket_url()
    {
        Assert.True(File.Exists(Path.Combine(WebClientEndpoint.BuiltDirectory, "converse.min.js")), "the build fetched Converse.js with npm (web/package-lock.json)");
        await using var node = await TestNode.StartAsync();
        using var http = new HttpClient();

        var page = await http.GetStringAsync($"http://127.0.0.1:{node.HttpPort}/chat");
        Assert.Contains(".initialize(", page);
        Assert.Contains($"\"websocket_url\":\"ws://127.0.0.1:{node.HttpPort}/xmpp-websocket\"", page);
        Assert.Contains($"\"bosh_service_url\":\"http://127.0.0.1:{node.HttpPort}/http-bind\"", page);
        Assert.Contains("\"locked_domain\":\"localhost\"", page);
        Assert.Contains("\"muc_domain\":\"conference.localhost\"", page);

        var script = await http.GetAsync($"http://127.0.0.1:{node.HttpPort}/chat/dist/converse.min.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        Assert.True((await script.Content.ReadAsByteArrayAsync()).Length > 100_000);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{node.HttpPort}/chat/dist/../../parley.db")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{node.HttpPort}/chat/dist/%2e%2e/%2e%2e/Parley.Server.dll")).StatusCode);
    }

    [Fact]
    public async Task Without_the_files_a_build_without_npm_left_out_chat_says_how_to_get_them()
    {
        var missing = Path.Combine(Path.GetTempPath(), "parley-no-webclient-" + Guid.NewGuid().ToString("N"));
        await using var node = await TestNode.StartAsync(services: services =>
        {
            services.AddSingleton(sp => new WebClientEndpoint(sp.GetRequiredService<ParleyOptions>(), sp.GetRequiredService<Parley.Server.Administration.LoginBanner>(), missing));
        });
        using var http = new HttpClient();

        var page = await http.GetAsync($"http://127.0.0.1:{node.HttpPort}/chat");
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        var text = await page.Content.ReadAsStringAsync();
        Assert.Contains("The web client is not installed", text);
        Assert.Contains("sudo apt-get install npm", text);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{node.HttpPort}/chat/dist/converse.min.js")).StatusCode);
    }
}
