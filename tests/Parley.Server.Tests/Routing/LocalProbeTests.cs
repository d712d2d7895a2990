using Parley.Protocol;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Routing;

/// <summary>
/// A user's login probes every contact it is subscribed to, on this node as elsewhere (RFC 6121 §4.3), and the
/// contact's side answers from the contact's own roster: the user's roster alone never shows a contact's presence.
/// </summary>
public sealed class LocalProbeTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        await _node.CreateUserAsync("alice", "alice-password");
        await _node.CreateUserAsync("bob", "bob-password");
        // Alice believes she is subscribed to Bob's presence.
        await _node.App.Node.Storage.Rosters.SetItemAsync("alice@localhost", new RosterItem("bob@localhost", "Bob", Subscription.To, false, false, []));
    }

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    [Fact]
    public async Task A_local_contact_whose_roster_approved_the_user_answers_the_probe_with_its_presence()
    {
        await _node.App.Node.Storage.Rosters.SetItemAsync("bob@localhost", new RosterItem("alice@localhost", "Alice", Subscription.From, false, false, []));
        await using var bob = await XmppTestClient.LoginAsync(_node, "bob", "bob-password", "desk");
        await bob.AnnounceAsync("<presence><show>dnd</show></presence>");

        var seen = await PresencesAtLoginAsync();

        Assert.Equal([("bob@localhost/desk", "dnd")], seen);
    }

    [Fact]
    public async Task A_local_contact_whose_roster_did_not_approve_the_user_shares_nothing()
    {
        await _node.App.Node.Storage.Rosters.SetItemAsync("bob@localhost", new RosterItem("alice@localhost", "Alice", Subscription.None, false, false, []));
        await using var bob = await XmppTestClient.LoginAsync(_node, "bob", "bob-password", "desk");
        await bob.AnnounceAsync("<presence><show>dnd</show></presence>");

        Assert.Empty(await PresencesAtLoginAsync());
    }

    /// <summary>
    /// Alice logs in and announces herself; the contacts' presences she gets before the answer to a ping sent right
    /// after (a session's stanzas are handled in order, and the probes are answered while her presence is).
    /// </summary>
    private async Task<List<(string? From, string? Show)>> PresencesAtLoginAsync()
    {
        await using var alice = await XmppTestClient.LoginAsync(_node, "alice", "alice-password", "home");
        await alice.SendAsync("<presence/><iq type='get' id='after-presence'><ping xmlns='urn:xmpp:ping'/></iq>");
        var seen = new List<(string? From, string? Show)>();
        while (await alice.ReceiveAsync() is var element && !(element.Name == "iq" && element.GetAttribute("id") == "after-presence"))
        {
            if (element.Name == "presence" && element.GetAttribute("from") is { } from && !from.StartsWith("alice@", StringComparison.Ordinal))
            {
                seen.Add((from, element.ChildText("show", Ns.Client)));
            }
        }
        return seen;
    }
}
