using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>What the multi-user chat tests share: users online, joining, creating rooms, reading errors and status codes.</summary>
public static class Muc
{
    public const string Service = "conference.localhost";

    public static readonly string[] Users = ["alice", "bob", "carol", "dave"];

    public static async Task<TestNode> StartAsync(Action<Parley.Server.Hosting.ParleyOptions>? configure = null)
    {
        var node = await TestNode.StartAsync(configure);
        foreach (var user in Users)
        {
            await node.CreateUserAsync(user, user + "-password");
        }
        return node;
    }

    /// <summary>Logs in and sends initial presence (so the server tracks the presence it directs to rooms).</summary>
    public static async Task<XmppTestClient> OnlineAsync(TestNode node, string user, string resource = "home")
    {
        var client = await XmppTestClient.LoginAsync(node, user, user + "-password", resource);
        await client.AnnounceAsync();
        return client;
    }

    public static string Room(string name) => $"{name}@{Service}";

    /// <summary>Sends a join and returns the self-presence (status 110); the subject that ends the join is consumed too.</summary>
    public static async Task<Element> JoinAsync(XmppTestClient client, string room, string nick, string mucChildren = "")
    {
        await client.SendAsync($"<presence to='{room}/{nick}'><x xmlns='{Ns.Muc}'>{mucChildren}</x></presence>");
        var self = await client.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == $"{room}/{nick}" && (Codes(e).Contains(110) || e.GetAttribute("type") == "error"));
        Assert.True(self.GetAttribute("type") is null, $"join refused: {self}");
        await client.ReceiveAsync(e => e.Name == "message" && e.Child("subject") is not null && e.Child("body") is null);
        return self;
    }

    /// <summary>Sends a join that must fail and returns the error condition.</summary>
    public static async Task<string> JoinErrorAsync(XmppTestClient client, string room, string nick, string mucChildren = "")
    {
        await client.SendAsync($"<presence to='{room}/{nick}'><x xmlns='{Ns.Muc}'>{mucChildren}</x></presence>");
        var error = await client.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("type") == "error");
        return Condition(error);
    }

    /// <summary>Creates a room as its owner and accepts the default configuration (an instant room, §10.1.2).</summary>
    public static async Task CreateAsync(XmppTestClient owner, string room, string nick, params (string Var, string Value)[] settings)
    {
        var self = await JoinAsync(owner, room, nick);
        Assert.Contains(201, Codes(self));
        var result = await ConfigureAsync(owner, room, settings);
        Assert.Equal("result", result.GetAttribute("type"));
    }

    /// <summary>Submits a muc#roomconfig form with the given fields and returns the IQ answer.</summary>
    public static async Task<Element> ConfigureAsync(XmppTestClient owner, string room, params (string Var, string Value)[] settings)
    {
        var fields = string.Concat(settings.Select(s => $"<field var='{s.Var}'><value>{s.Value}</value></field>"));
        var formType = settings.Length > 0 ? $"<field var='FORM_TYPE'><value>{Ns.MucRoomConfig}</value></field>" : "";
        return await IqAsync(owner, room, $"<query xmlns='{Ns.MucOwner}'><x xmlns='jabber:x:data' type='submit'>{formType}{fields}</x></query>");
    }

    private static int s_nextId;

    /// <summary>Sends an IQ set (or get) and returns its answer.</summary>
    public static async Task<Element> IqAsync(XmppTestClient client, string to, string payload, string type = "set")
    {
        var id = "iq" + Interlocked.Increment(ref s_nextId);
        await client.SendAsync($"<iq type='{type}' id='{id}' to='{to}'>{payload}</iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == id);
    }

    public static async Task SayAsync(XmppTestClient client, string room, string body, string id = "m1") =>
        await client.SendAsync($"<message to='{room}' type='groupchat' id='{id}'><body>{body}</body></message>");

    public static Task<Element> GroupchatAsync(XmppTestClient client, string body) =>
        client.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "groupchat" && e.ChildText("body") == body);

    /// <summary>Queries the room's archive (XEP-0313) and returns its fin and the archived messages.</summary>
    public static async Task<(Element fin, List<Element> results)> MamAsync(XmppTestClient client, string room, string query = "")
    {
        await client.SendAsync($"<iq type='set' id='mam1' to='{room}'><query xmlns='{Ns.Mam}' queryid='q1'>{query}</query></iq>");
        var results = new List<Element>();
        while (true)
        {
            var next = await client.ReceiveAsync(e => (e.Name == "message" && e.Child("result", Ns.Mam) is not null) || e.GetAttribute("id") == "mam1");
            if (next.Name == "iq")
            {
                Assert.Equal("result", next.GetAttribute("type"));
                return (next.Child("fin", Ns.Mam)!, results);
            }
            Assert.Equal("q1", next.Child("result", Ns.Mam)!.GetAttribute("queryid"));
            results.Add(next.Child("result", Ns.Mam)!.Child("forwarded", Ns.Forward)!.Child("message")!);
        }
    }

    public static List<int> Codes(Element stanza) =>
        stanza.Child("x", Ns.MucUser)?.Children("status", Ns.MucUser).Select(s => int.Parse(s.GetAttribute("code")!)).ToList() ?? [];

    public static Element? Item(Element presence) => presence.Child("x", Ns.MucUser)?.Child("item", Ns.MucUser);

    /// <summary>The defined condition of an error stanza, e.g. "conflict".</summary>
    public static string Condition(Element stanza)
    {
        Assert.Equal("error", stanza.GetAttribute("type"));
        return stanza.Child("error")!.Children().First(c => c.Namespace == Ns.Stanzas && c.Name != "text").Name;
    }

    public static string ErrorType(Element stanza) => stanza.Child("error")!.GetAttribute("type")!;
}
