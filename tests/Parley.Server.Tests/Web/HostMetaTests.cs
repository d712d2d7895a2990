using System.Text.Json;
using System.Xml.Linq;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Web;

/// <summary>XEP-0156: a web client finds the node's WebSocket endpoint from the domain alone.</summary>
public sealed class HostMetaTests
{
    private const string WebSocketRel = "urn:xmpp:alt-connections:websocket";

    [Fact]
    public async Task Host_meta_lists_the_websocket_endpoint_at_the_address_asked()
    {
        await using var node = await TestNode.StartAsync();
        using var http = new HttpClient();

        var xml = await http.GetAsync($"http://127.0.0.1:{node.HttpPort}/.well-known/host-meta");
        Assert.Equal("application/xrd+xml", xml.Content.Headers.ContentType!.MediaType);
        Assert.Equal("*", xml.Headers.GetValues("Access-Control-Allow-Origin").Single());
        XNamespace xrdNs = "http://docs.oasis-open.org/ns/xri/xrd-1.0";
        var xrd = XDocument.Parse(await xml.Content.ReadAsStringAsync()).Root!;
        Assert.Equal(xrdNs + "XRD", xrd.Name);
        var link = xrd.Elements(xrdNs + "Link").Single(l => (string?)l.Attribute("rel") == WebSocketRel);
        Assert.Equal($"ws://127.0.0.1:{node.HttpPort}/xmpp-websocket", (string?)link.Attribute("href"));
        var bosh = xrd.Elements(xrdNs + "Link").Single(l => (string?)l.Attribute("rel") == "urn:xmpp:alt-connections:xbosh");
        Assert.Equal($"http://127.0.0.1:{node.HttpPort}/http-bind", (string?)bosh.Attribute("href"));

        using var json = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{node.HttpPort}/.well-known/host-meta.json"));
        var links = json.RootElement.GetProperty("links").EnumerateArray();
        Assert.Contains(links, l => l.GetProperty("rel").GetString() == WebSocketRel
            && l.GetProperty("href").GetString() == $"ws://127.0.0.1:{node.HttpPort}/xmpp-websocket");
    }

    [Fact]
    public async Task Over_https_the_endpoints_are_wss_and_https_and_configured_public_urls_win_in_host_meta_and_on_chat()
    {
        await using var node = await TestNode.StartAsync();
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var https = new HttpClient(handler);
        var overHttps = await https.GetStringAsync($"https://127.0.0.1:{node.HttpsPort}/.well-known/host-meta.json");
        Assert.Contains($"wss://127.0.0.1:{node.HttpsPort}/xmpp-websocket", overHttps);
        Assert.Contains($"https://127.0.0.1:{node.HttpsPort}/http-bind", overHttps);

        await using var proxied = await TestNode.StartAsync(o =>
        {
            o.Web.PublicWebSocketUrl = "wss://chat.example.com/xmpp-websocket";
            o.Web.PublicBoshUrl = "https://chat.example.com/http-bind";
        });
        using var http = new HttpClient();
        var xrd = await http.GetStringAsync($"http://127.0.0.1:{proxied.HttpPort}/.well-known/host-meta");
        Assert.Contains("href='wss://chat.example.com/xmpp-websocket'", xrd);
        Assert.Contains("href='https://chat.example.com/http-bind'", xrd);
        var json = await http.GetStringAsync($"http://127.0.0.1:{proxied.HttpPort}/.well-known/host-meta.json");
        Assert.Contains("\"href\":\"https://chat.example.com/http-bind\"", json);
        var chat = await http.GetStringAsync($"http://127.0.0.1:{proxied.HttpPort}/chat");
        Assert.Contains("\"websocket_url\":\"wss://chat.example.com/xmpp-websocket\"", chat);
        Assert.Contains("\"bosh_service_url\":\"https://chat.example.com/http-bind\"", chat);
        var boshOnly = await http.GetStringAsync($"http://127.0.0.1:{proxied.HttpPort}/chat?transport=bosh");
        Assert.Contains("\"bosh_service_url\":\"https://chat.example.com/http-bind\"", boshOnly);
    }
}
