using System.Net;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.Server.Tests.Support;

/// <summary>A BOSH client (XEP-0124/0206) for tests: one request at a time, each body built by hand.</summary>
public sealed class BoshTestClient : IDisposable
{
    public const string HttpBind = "http://jabber.org/protocol/httpbind";

    private readonly HttpClient _http;
    private readonly Uri _uri;

    /// <param name="https">Over the node's HTTPS port, trusting its test certificate.</param>
    public BoshTestClient(TestNode node, bool https = false)
    {
        _http = https
            ? new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true }) { Timeout = XmppTestClient.Deadline }
            : new HttpClient { Timeout = XmppTestClient.Deadline };
        _uri = new Uri(https ? $"https://127.0.0.1:{node.HttpsPort}/http-bind" : $"http://127.0.0.1:{node.HttpPort}/http-bind");
    }

    /// <summary>Headers sent with every request (a proxy's X-Forwarded-Proto).</summary>
    public System.Net.Http.Headers.HttpRequestHeaders Headers => _http.DefaultRequestHeaders;

    public string? Sid { get; private set; }
    public long Rid { get; set; } = 1000;

    /// <summary>Posts <paramref name="text"/> as it is; the status and the body that came back.</summary>
    public async Task<(HttpStatusCode Status, Element? Body)> PostRawAsync(string text)
    {
        using var content = new StringContent(text, Encoding.UTF8, "text/xml");
        using var response = await _http.PostAsync(_uri, content);
        var answer = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, answer.Length == 0 ? null : ElementParser.Parse(answer, HttpBind));
    }

    /// <summary>The next request of the session, with <paramref name="payload"/> and extra attributes.</summary>
    public async Task<Element> SendAsync(string payload = "", string attributes = "")
    {
        var (status, body) = await PostRawAsync($"<body xmlns='{HttpBind}' xmlns:xmpp='urn:xmpp:xbosh' rid='{++Rid}' sid='{Sid}'{attributes}>{payload}</body>");
        Assert.Equal(HttpStatusCode.OK, status);
        return body!;
    }

    /// <summary>Creates the session; returns the response, which carries the stream features.</summary>
    public async Task<Element> CreateAsync(int wait = 5, int hold = 1, string attributes = "")
    {
        var (status, body) = await PostRawAsync(
            $"<body xmlns='{HttpBind}' xmlns:xmpp='urn:xmpp:xbosh' rid='{++Rid}' to='localhost' wait='{wait}' hold='{hold}' ver='1.11' xmpp:version='1.0' xml:lang='en'{attributes}/>");
        Assert.Equal(HttpStatusCode.OK, status);
        Sid = body!.GetAttribute("sid");
        return body;
    }

    /// <summary>Requests until one brings an element that matches.</summary>
    public async Task<Element> ReceiveAsync(Func<Element, bool> match)
    {
        using var deadline = new CancellationTokenSource(XmppTestClient.Deadline);
        while (true)
        {
            deadline.Token.ThrowIfCancellationRequested();
            var body = await SendAsync();
            Assert.NotEqual("terminate", body.GetAttribute("type"));
            if (body.Children().FirstOrDefault(match) is { } found)
            {
                return found;
            }
        }
    }

    /// <summary>Creates a session, signs in with SCRAM-SHA-256, restarts and binds.</summary>
    public async Task<string> LoginAsync(string user, string password, string resource)
    {
        var created = await CreateAsync();
        Assert.NotNull(created.Child("features", Ns.Streams)!.Child("mechanisms", Ns.Sasl));
        var scram = new ScramClient(ScramHash.Sha256, user, password);
        var challenge = (await SendAsync($"<auth xmlns='{Ns.Sasl}' mechanism='SCRAM-SHA-256'>{Convert.ToBase64String(scram.ClientFirst())}</auth>")).Children().Single();
        var success = (await SendAsync($"<response xmlns='{Ns.Sasl}'>{Convert.ToBase64String(scram.ClientFinal(Convert.FromBase64String(challenge.Text)))}</response>")).Children().Single();
        Assert.Equal("success", success.Name);
        var restarted = await SendAsync(attributes: " xmpp:restart='true' to='localhost'");
        Assert.NotNull(restarted.Child("features", Ns.Streams)!.Child("bind", Ns.Bind));
        var bound = await SendAsync($"<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='{Ns.Bind}'><resource>{resource}</resource></bind></iq>");
        return bound.Children().Single().Child("bind", Ns.Bind)!.ChildText("jid", Ns.Bind)!;
    }

    public void Dispose() => _http.Dispose();
}
