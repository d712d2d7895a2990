using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Modules.Registration;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>In-band registration, password change and account cancellation (XEP-0077) over real connections.</summary>
public sealed class RegistrationTests
{
    private static Task<TestNode> StartAsync(Action<RegistrationOptions> configure) =>
        TestNode.StartAsync(o => configure(o.Module<RegistrationOptions>()));

    private static Task<TestNode> StartOpenAsync() => StartAsync(r => r.AllowRegistration = true);

    /// <summary>Connected and encrypted, not logged in; with the stream's features.</summary>
    private static async Task<(XmppTestClient Client, Element Features)> SecuredAsync(TestNode node)
    {
        var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        await client.OpenStreamAsync();
        var features = await client.StartTlsAsync();
        return (client, features);
    }

    private static async Task<Element> IqAsync(XmppTestClient client, string type, string content, string id = "reg")
    {
        await client.SendAsync($"<iq type='{type}' id='{id}'><query xmlns='jabber:iq:register'>{content}</query></iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == id);
    }

    private static async Task<Element> RegisterAsync(TestNode node, string username, string password)
    {
        var (client, _) = await SecuredAsync(node);
        await using (client)
        {
            return await IqAsync(client, "set", $"<username>{username}</username><password>{password}</password>");
        }
    }

    private static async Task<bool> CanLogInAsync(TestNode node, string user, string password)
    {
        var (client, _) = await SecuredAsync(node);
        await using (client)
        {
            return (await client.TryAuthenticateAsync(user, password)).Name == "success";
        }
    }

    private static void AssertError(Element reply, string condition)
    {
        Assert.Equal("error", reply.GetAttribute("type"));
        Assert.NotNull(reply.Child("error")!.Child(condition, Ns.Stanzas));
        // The request carried a password: the error must not send it back.
        Assert.Null(reply.Child("query", Ns.Register));
    }

    [Fact]
    public async Task Registration_is_off_by_default_not_offered_and_refused_with_not_allowed()
    {
        await using var node = await TestNode.StartAsync();
        var (client, features) = await SecuredAsync(node);
        await using var _ = client;

        Assert.Null(features.Child("register", Ns.RegisterFeature));
        AssertError(await IqAsync(client, "get", ""), "not-allowed");
        AssertError(await IqAsync(client, "set", "<username>mallory</username><password>secret</password>"), "not-allowed");
        Assert.False(await node.Accounts.ExistsAsync("mallory@localhost"));
    }

    [Fact]
    public async Task A_new_user_gets_the_form_registers_and_logs_in_with_the_new_account()
    {
        await using var node = await StartOpenAsync();
        var (client, features) = await SecuredAsync(node);
        await using (client)
        {
            Assert.NotNull(features.Child("register", Ns.RegisterFeature));
            var form = (await IqAsync(client, "get", "", "form")).Child("query", Ns.Register)!;
            Assert.NotNull(form.Child("username", Ns.Register));
            Assert.NotNull(form.Child("password", Ns.Register));
            Assert.False(string.IsNullOrEmpty(form.ChildText("instructions", Ns.Register)));

            Assert.Equal("result", (await IqAsync(client, "set", "<username>Mercutio</username><password>queen-mab</password>")).GetAttribute("type"));
        }

        Assert.True(await node.Accounts.ExistsAsync("mercutio@localhost"));
        await using var mercutio = await XmppTestClient.LoginAsync(node, "mercutio", "queen-mab");
        Assert.StartsWith("mercutio@localhost/", mercutio.Jid);
    }

    [Fact]
    public async Task Registering_a_taken_username_is_a_conflict_and_leaves_the_account_as_it_was()
    {
        await using var node = await StartOpenAsync();
        await node.CreateUserAsync("juliet", "juliet-password");

        AssertError(await RegisterAsync(node, "juliet", "hijacked"), "conflict");
        Assert.True(await CanLogInAsync(node, "juliet", "juliet-password"));
        Assert.False(await CanLogInAsync(node, "juliet", "hijacked"));
    }

    [Theory]
    [InlineData("<username>a@b</username><password>secret</password>")]
    [InlineData("<username>tybalt</username><password/>")]
    [InlineData("<username>tybalt</username>")]
    [InlineData("<password>secret</password>")]
    [InlineData("<username></username><password>secret</password>")]
    [InlineData("<username>tybalt</username><password>\u0085next-line</password>")]
    public async Task A_registration_with_a_missing_or_invalid_field_is_not_acceptable_and_creates_nothing(string fields)
    {
        await using var node = await StartOpenAsync();
        var (client, _) = await SecuredAsync(node);
        await using var _client = client;

        var reply = await IqAsync(client, "set", fields);

        AssertError(reply, "not-acceptable");
        Assert.False(string.IsNullOrEmpty(reply.Child("error")!.ChildText("text", Ns.Stanzas)));
        Assert.Equal(0, await node.Accounts.CountAsync(null));
    }

    [Fact]
    public async Task A_registration_with_a_password_shorter_than_the_minimum_is_not_acceptable_saying_the_minimum()
    {
        await using var node = await StartOpenAsync();

        var reply = await RegisterAsync(node, "tybalt", "1234567");

        AssertError(reply, "not-acceptable");
        Assert.Equal("The password is too short: it must have at least 8 characters.", reply.Child("error")!.ChildText("text", Ns.Stanzas));
        Assert.False(await node.Accounts.ExistsAsync("tybalt@localhost"));
    }

    [Fact]
    public async Task A_password_change_to_a_password_shorter_than_the_minimum_is_not_acceptable_and_keeps_the_password()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await using (var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password"))
        {
            var reply = await IqAsync(juliet, "set", "<username>juliet</username><password>romeo</password>");

            AssertError(reply, "not-acceptable");
            Assert.Contains("at least 8 characters", reply.Child("error")!.ChildText("text", Ns.Stanzas));
        }

        Assert.True(await CanLogInAsync(node, "juliet", "juliet-password"));
        Assert.False(await CanLogInAsync(node, "juliet", "romeo"));
    }

    [Fact]
    public async Task Registrations_per_address_are_limited_and_failed_attempts_do_not_count()
    {
        await using var node = await StartAsync(r =>
        {
            r.AllowRegistration = true;
            r.MaxPerIpPerHour = 2;
        });
        await node.CreateUserAsync("juliet", "juliet-password");

        AssertError(await RegisterAsync(node, "juliet", "taken-password"), "conflict");
        Assert.Equal("result", (await RegisterAsync(node, "first", "password-1")).GetAttribute("type"));
        Assert.Equal("result", (await RegisterAsync(node, "second", "password-2")).GetAttribute("type"));

        var third = await RegisterAsync(node, "third", "password-3");

        AssertError(third, "resource-constraint");
        Assert.Equal("wait", third.Child("error")!.GetAttribute("type"));
        Assert.False(await node.Accounts.ExistsAsync("third@localhost"));
    }

    [Fact]
    public async Task Before_tls_registration_is_not_offered_and_a_registration_iq_ends_the_stream()
    {
        await using var node = await StartOpenAsync();
        await using var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        var features = await client.OpenStreamAsync();
        Assert.Null(features.Child("register", Ns.RegisterFeature));

        await client.SendAsync("<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>eve</username><password>secret</password></query></iq>");

        Assert.Equal("not-authorized", await client.ExpectStreamErrorAsync());
        Assert.False(await node.Accounts.ExistsAsync("eve@localhost"));
    }

    [Fact]
    public async Task A_logged_in_user_sees_she_is_registered()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password");

        var query = (await IqAsync(juliet, "get", "")).Child("query", Ns.Register)!;

        Assert.NotNull(query.Child("registered", Ns.Register));
        Assert.Equal("juliet", query.ChildText("username", Ns.Register));
        Assert.Null(query.Child("password", Ns.Register));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" to='localhost'")]
    public async Task A_password_change_makes_the_new_password_work_and_the_old_one_fail(string to)
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await using (var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password"))
        {
            await juliet.SendAsync($"<iq type='set' id='pw'{to}><query xmlns='jabber:iq:register'><username>juliet</username><password>new-password</password></query></iq>");
            Assert.Equal("result", (await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "pw")).GetAttribute("type"));
        }

        Assert.True(await CanLogInAsync(node, "juliet", "new-password"));
        Assert.False(await CanLogInAsync(node, "juliet", "juliet-password"));
    }

    [Theory]
    [InlineData("<username>juliet</username><password/>", "bad-request")]
    [InlineData("<password>new-password</password>", "bad-request")]
    [InlineData("<username>romeo</username><password>new-password</password>", "forbidden")]
    public async Task A_bad_password_change_gets_its_error_and_keeps_the_password(string fields, string condition)
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await node.CreateUserAsync("romeo", "romeo-password");
        await using (var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password"))
        {
            AssertError(await IqAsync(juliet, "set", fields), condition);
        }

        Assert.True(await CanLogInAsync(node, "juliet", "juliet-password"));
        Assert.True(await CanLogInAsync(node, "romeo", "romeo-password"));
    }

    [Fact]
    public async Task Password_changes_can_be_turned_off()
    {
        await using var node = await StartAsync(r => r.AllowPasswordChange = false);
        await node.CreateUserAsync("juliet", "juliet-password");
        await using (var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password"))
        {
            AssertError(await IqAsync(juliet, "set", "<username>juliet</username><password>new-password</password>"), "not-allowed");
        }

        Assert.True(await CanLogInAsync(node, "juliet", "juliet-password"));
    }

    [Fact]
    public async Task Cancelling_the_account_removes_it_and_closes_all_its_sessions()
    {
        await using var node = await StartOpenAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var phone = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password", "phone");
        await using var laptop = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password", "laptop");

        var reply = await IqAsync(laptop, "set", "<remove/>");

        Assert.Equal("result", reply.GetAttribute("type"));
        Assert.Equal("not-authorized", await laptop.ExpectStreamErrorAsync());
        Assert.Equal("not-authorized", await phone.ExpectStreamErrorAsync());
        Assert.False(await node.Accounts.ExistsAsync("juliet@localhost"));
        Assert.False(await CanLogInAsync(node, "juliet", "juliet-password"));
    }

    [Fact]
    public async Task Cancelling_the_account_ends_its_contacts_subscriptions_and_pending_requests()
    {
        await using var node = await StartOpenAsync();
        foreach (var user in new[] { "juliet", "romeo", "nurse" })
        {
            await node.CreateUserAsync(user, user + "-password");
        }
        var rosters = node.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("juliet@localhost", new RosterItem("romeo@localhost", "Romeo", Subscription.Both, false, false, []));
        await rosters.SetItemAsync("romeo@localhost", new RosterItem("juliet@localhost", "Juliet", Subscription.Both, false, false, ["Verona"]));
        await using var romeo = await XmppTestClient.LoginAsync(node, "romeo", "romeo-password", "garden");
        await romeo.SendAsync("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
        await romeo.ReceiveAsync(e => e.GetAttribute("id") == "roster");
        await romeo.AnnounceAsync();
        await using var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password", "balcony");
        await juliet.AnnounceAsync();
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/balcony");
        await juliet.SendAsync("<presence to='nurse@localhost' type='subscribe'/>");
        await juliet.SendAsync("<iq to='localhost' type='get' id='fence'><ping xmlns='urn:xmpp:ping'/></iq>");
        await juliet.ReceiveAsync(e => e.GetAttribute("id") == "fence");

        Assert.Equal("result", (await IqAsync(juliet, "set", "<remove/>")).GetAttribute("type"));

        // Romeo's client hears it: his roster keeps her with no subscription, then her presence ends.
        var push = await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("type") == "set"
            && e.Child("query", Ns.Roster)?.Child("item")?.GetAttribute("subscription") == "none");
        Assert.Equal("juliet@localhost", push.Child("query", Ns.Roster)!.Child("item")!.GetAttribute("jid"));
        await romeo.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from") == "juliet@localhost/balcony" && e.GetAttribute("type") == "unavailable");
        // Her going stores no last presence for an account that no longer exists.
        Assert.Null(await node.App.Node.Storage.Documents.GetAsync("juliet@localhost", "last-presence", ""));
        var romeos = await rosters.GetAsync("romeo@localhost");
        Assert.Equal(("Juliet", Subscription.None), (romeos.Items.Single().Name, romeos.Items.Single().Subscription));
        Assert.Empty(await rosters.GetPendingAsync("nurse@localhost"));
    }

    [Fact]
    public async Task Cancelling_the_account_removes_its_room_affiliations()
    {
        await using var node = await StartOpenAsync();
        await node.CreateUserAsync("alice", "alice-password");
        await node.CreateUserAsync("bob", "bob-password");
        await using var alice = await Muc.OnlineAsync(node, "alice");
        var room = Muc.Room("team");
        await Muc.CreateAsync(alice, room, "Alice", ("muc#roomconfig_persistentroom", "1"));
        var granted = await Muc.IqAsync(alice, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='member' jid='bob@localhost'/></query>");
        Assert.Equal("result", granted.GetAttribute("type"));
        await using var bob = await XmppTestClient.LoginAsync(node, "bob", "bob-password");

        Assert.Equal("result", (await IqAsync(bob, "set", "<remove/>")).GetAttribute("type"));

        var members = await Muc.IqAsync(alice, room, $"<query xmlns='{Ns.MucAdmin}'><item affiliation='member'/></query>", "get");
        Assert.Empty(members.Child("query", Ns.MucAdmin)!.Children("item", Ns.MucAdmin));
        Assert.DoesNotContain(await node.App.Node.Storage.Rooms.GetAffiliationsAsync(room), a => a.Jid == "bob@localhost");
    }

    [Fact]
    public async Task A_new_account_of_a_cancelled_ones_name_starts_with_the_default_archive_preferences()
    {
        await using var node = await StartOpenAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await using (var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password"))
        {
            await juliet.SendAsync("<iq type='set' id='prefs'><prefs xmlns='urn:xmpp:mam:2' default='never'/></iq>");
            Assert.Equal("result", (await juliet.ReceiveAsync(e => e.GetAttribute("id") == "prefs")).GetAttribute("type"));
            Assert.Equal("result", (await IqAsync(juliet, "set", "<remove/>")).GetAttribute("type"));
        }
        await node.CreateUserAsync("juliet", "new-password");
        await using var newJuliet = await XmppTestClient.LoginAsync(node, "juliet", "new-password");

        await newJuliet.SendAsync("<iq type='get' id='prefs'><prefs xmlns='urn:xmpp:mam:2'/></iq>");

        var prefs = (await newJuliet.ReceiveAsync(e => e.GetAttribute("id") == "prefs")).Child("prefs", Ns.Mam)!;
        Assert.Equal("always", prefs.GetAttribute("default"));
    }

    [Fact]
    public async Task Cancelling_is_not_allowed_while_registration_is_off()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password");

        AssertError(await IqAsync(juliet, "set", "<remove/>"), "not-allowed");
        Assert.True(await node.Accounts.ExistsAsync("juliet@localhost"));
    }

    [Fact]
    public async Task Cancelling_with_other_elements_beside_remove_is_a_bad_request()
    {
        await using var node = await StartOpenAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await using var juliet = await XmppTestClient.LoginAsync(node, "juliet", "juliet-password");

        AssertError(await IqAsync(juliet, "set", "<remove/><username>juliet</username>"), "bad-request");
        Assert.True(await node.Accounts.ExistsAsync("juliet@localhost"));
    }

    [Fact]
    public async Task Cancelling_before_logging_in_is_an_unexpected_request()
    {
        await using var node = await StartOpenAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        var (client, _) = await SecuredAsync(node);
        await using var _client = client;

        AssertError(await IqAsync(client, "set", "<remove/>"), "unexpected-request");
        Assert.True(await node.Accounts.ExistsAsync("juliet@localhost"));
    }

    [Fact]
    public async Task Another_users_registration_cannot_be_touched()
    {
        await using var node = await StartOpenAsync();
        await node.CreateUserAsync("juliet", "juliet-password");
        await node.CreateUserAsync("romeo", "romeo-password");
        await using var romeo = await XmppTestClient.LoginAsync(node, "romeo", "romeo-password");

        await romeo.SendAsync("<iq type='set' id='rm' to='juliet@localhost'><query xmlns='jabber:iq:register'><remove/></query></iq>");

        AssertError(await romeo.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "rm"), "forbidden");
        Assert.True(await node.Accounts.ExistsAsync("juliet@localhost"));
    }
}
