using System.Net.Http.Headers;
using System.Text;
using Parley.Protocol;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>
/// An XMPP over BOSH session (XEP-0124, XEP-0206) signed in with SCRAM-SHA-256, bound and present. Once idle it
/// keeps one long poll waiting at the node, as a browser tab does, and sends the next as soon as one returns.
/// </summary>
internal sealed class BoshLoadClient
{
    private const string HttpBind = "http://jabber.org/protocol/httpbind";
    private const string XBosh = "urn:xmpp:xbosh";

    private readonly HttpClient _http;
    private readonly Uri _uri;
    private readonly Queue<Element> _received = new();
    private long _rid = Random.Shared.NextInt64(1_000_000, 1L << 40);
    private string _sid = "";
    private Task<int>? _polling;
    private bool _ending;
    private int _emptyPolls;

    private BoshLoadClient(HttpClient http, Uri uri)
    {
        _http = http;
        _uri = uri;
    }

    /// <summary>Requests answered with an empty body after the wait, i.e. the polls that found nothing to carry.</summary>
    public int EmptyPolls => Volatile.Read(ref _emptyPolls);

    // The poll loop and the terminate number their requests from two threads.
    private long NextRid() => Interlocked.Increment(ref _rid);

    /// <summary>Creates the session, signs in, restarts, binds and sends initial presence; returns once the presence is echoed.</summary>
    /// <exception cref="LoginException">The server refused or answered something unexpected.</exception>
    public static async Task<BoshLoadClient> LoginAsync(HttpClient http, Uri uri, string domain, int wait, string user, SaltedPasswordCache password, CancellationToken cancellationToken)
    {
        var client = new BoshLoadClient(http, uri);
        var created = await client.PostAsync(
            $"<body xmlns='{HttpBind}' xmlns:xmpp='{XBosh}' rid='{client._rid}' to='{domain}' xml:lang='en' wait='{wait}' hold='1' ver='1.11' xmpp:version='1.0'/>",
            cancellationToken).ConfigureAwait(false);
        client._sid = created.GetAttribute("sid") ?? throw new LoginException($"the session request was refused: {created.ToXml(HttpBind)}");
        client.Accept(created);
        await client.ExpectAsync("features", cancellationToken).ConfigureAwait(false);
        await ScramSignIn.RunAsync(client.SendAsync, client.ExpectAsync, user, password, cancellationToken).ConfigureAwait(false);
        client.Accept(await client.PostAsync(
            $"<body xmlns='{HttpBind}' xmlns:xmpp='{XBosh}' rid='{client.NextRid()}' sid='{client._sid}' to='{domain}' xml:lang='en' xmpp:restart='true'/>",
            cancellationToken).ConfigureAwait(false));
        await client.ExpectAsync("features", cancellationToken).ConfigureAwait(false);
        await client.SendAsync($"<iq xmlns='{Ns.Client}' type='set' id='bind'><bind xmlns='{Ns.Bind}'><resource>load</resource></bind></iq>", cancellationToken).ConfigureAwait(false);
        var bound = await client.ExpectAsync("iq", cancellationToken).ConfigureAwait(false);
        if (bound.GetAttribute("type") != "result")
        {
            throw new LoginException($"bind failed: {bound.ToXml(Ns.Client)}");
        }
        await client.SendAsync($"<presence xmlns='{Ns.Client}'/>", cancellationToken).ConfigureAwait(false);
        await client.ExpectAsync("presence", cancellationToken).ConfigureAwait(false);
        return client;
    }

    /// <summary>From now on keeps one empty request waiting at the node, until <see cref="TerminateAsync"/>.</summary>
    public void StartPolling()
    {
        _polling = Task.Run(async () =>
        {
            while (!Volatile.Read(ref _ending))
            {
                var body = await PostAsync($"<body xmlns='{HttpBind}' rid='{NextRid()}' sid='{_sid}'/>", CancellationToken.None).ConfigureAwait(false);
                if (body.GetAttribute("type") == "terminate")
                {
                    // Our own terminate ends the waiting poll too; anything else is the node giving up on us.
                    return Volatile.Read(ref _ending) ? 0 : throw new LoginException($"the node ended the session: {body.ToXml(HttpBind)}");
                }
                if (!body.Children().Any())
                {
                    Interlocked.Increment(ref _emptyPolls);
                }
            }
            return 0;
        });
    }

    /// <summary>Ends the session as a client does, with a second request beside the waiting one (XEP-0124 §13), and waits for both.</summary>
    public async Task TerminateAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _ending, true);
        var body = await PostAsync(
            $"<body xmlns='{HttpBind}' rid='{NextRid()}' sid='{_sid}' type='terminate'><presence xmlns='{Ns.Client}' type='unavailable'/></body>",
            cancellationToken).ConfigureAwait(false);
        if (body.GetAttribute("type") != "terminate")
        {
            throw new LoginException($"the node did not end the session: {body.ToXml(HttpBind)}");
        }
        if (_polling is not null)
        {
            // A failure of the poll loop while held shows here.
            await _polling.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(string stanza, CancellationToken cancellationToken) =>
        Accept(await PostAsync($"<body xmlns='{HttpBind}' rid='{NextRid()}' sid='{_sid}'>{stanza}</body>", cancellationToken).ConfigureAwait(false));

    /// <summary>Takes what arrived, polling with empty requests until one is the element <paramref name="name"/>.</summary>
    private async Task<Element> ExpectAsync(string name, CancellationToken cancellationToken)
    {
        while (true)
        {
            while (_received.TryDequeue(out var element))
            {
                if (element.Name == name)
                {
                    return element;
                }
                if (element.Name is "failure" or "error")
                {
                    throw new LoginException($"<{element.Name}/> waiting for <{name}/>: {element.ToXml(Ns.Client)}");
                }
            }
            Accept(await PostAsync($"<body xmlns='{HttpBind}' rid='{NextRid()}' sid='{_sid}'/>", cancellationToken).ConfigureAwait(false));
        }
    }

    private void Accept(Element body)
    {
        if (body.GetAttribute("type") == "terminate")
        {
            throw new LoginException($"the node ended the session: {body.ToXml(HttpBind)}");
        }
        foreach (var child in body.Children())
        {
            _received.Enqueue(child);
        }
    }

    private async Task<Element> PostAsync(string body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/xml") { CharSet = "utf-8" };
        using var response = await _http.PostAsync(_uri, content, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return ElementParser.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false), HttpBind);
    }
}
