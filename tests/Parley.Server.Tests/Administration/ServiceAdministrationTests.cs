using System.Security;
using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Administration;

/// <summary>
/// Service administration (XEP-0133) over ad-hoc commands (XEP-0050), over real connections: what admins can do,
/// what everyone else cannot see or run, the protocol's sessions and errors, and the audit record each change leaves.
/// </summary>
public sealed class ServiceAdministrationTests : IAsyncLifetime
{
    private const string Admin = "boss@localhost";
    private const string AdminNode = "http://jabber.org/protocol/admin#";

    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(options => options.Admins = [Admin]);
        foreach (var user in new[] { "boss", "alice", "bob" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private IParleyStorage Storage => _node.App.Node.Storage;

    private Task<XmppTestClient> OnlineAsync(string user, string resource = "home") => Muc.OnlineAsync(_node, user, resource);

    private static Task<Element> IqAsync(XmppTestClient client, string payload, string type = "set") => Muc.IqAsync(client, TestNode.Domain, payload, type);

    internal static async Task<Element> ExecuteAsync(XmppTestClient client, string command, string action = "execute") =>
        await IqAsync(client, $"<command xmlns='{Ns.Commands}' node='{AdminNode}{command}' action='{action}'/>");

    private static async Task<Element> SubmitAsync(XmppTestClient client, string command, string sessionId, params (string Var, string[] Values)[] fields)
    {
        var form = string.Concat(fields.Select(field =>
            $"<field var='{field.Var}'>{string.Concat(field.Values.Select(value => $"<value>{SecurityElement.Escape(value)}</value>"))}</field>"));
        return await IqAsync(client, $"<command xmlns='{Ns.Commands}' node='{AdminNode}{command}' sessionid='{sessionId}' action='complete'>" +
            $"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{Ns.ServiceAdministration}</value></field>{form}</x></command>");
    }

    /// <summary>Executes the command and submits its form with <paramref name="fields"/>; the completed &lt;command/&gt;.</summary>
    internal static async Task<Element> RunAsync(XmppTestClient client, string command, params (string Var, string[] Values)[] fields)
    {
        var form = Command(await ExecuteAsync(client, command));
        Assert.Equal("executing", form.GetAttribute("status"));
        var done = Command(await SubmitAsync(client, command, form.GetAttribute("sessionid")!, fields));
        Assert.Equal("completed", done.GetAttribute("status"));
        return done;
    }

    internal static Element Command(Element iq)
    {
        Assert.True(iq.GetAttribute("type") == "result", iq.ToString());
        return iq.Child("command", Ns.Commands)!;
    }

    internal static (string? Type, string Text) Note(Element command) =>
        command.Child("note", Ns.Commands) is { } note ? (note.GetAttribute("type"), note.Text) : (null, "");

    internal static IReadOnlyList<string> Field(Element command, string var) =>
        DataForm.Values(DataForm.Find(command)!).GetValueOrDefault(var) ?? [];

    private static string Condition(Element iq)
    {
        Assert.Equal("error", iq.GetAttribute("type"));
        return iq.Child("error")!.Children().First(e => e.Namespace == Ns.Stanzas).Name;
    }

    private static string? CommandCondition(Element iq) => iq.Child("error")!.Children().FirstOrDefault(e => e.Namespace == Ns.Commands)?.Name;

    private async Task<List<(string Actor, string Origin, string Action, string Subject, string Details)>> AuditAsync() =>
        [.. (await Storage.Audit.ListAsync(null, null, 100)).Select(r => (r.Actor, r.Origin, r.Action, r.Subject, r.Details))];

    private static async Task<List<string?>> CommandNodesAsync(XmppTestClient client)
    {
        var items = await IqAsync(client, $"<query xmlns='{Ns.DiscoItems}' node='{Ns.Commands}'/>", "get");
        Assert.Equal("result", items.GetAttribute("type"));
        return [.. items.Child("query", Ns.DiscoItems)!.Children("item").Select(item => item.GetAttribute("node"))];
    }

    [Fact]
    public async Task An_admin_sees_every_command_in_disco_and_an_ordinary_user_sees_none_and_is_forbidden_to_run_them()
    {
        await using var boss = await OnlineAsync("boss");
        await using var alice = await OnlineAsync("alice");

        var info = await IqAsync(alice, $"<query xmlns='{Ns.DiscoInfo}'/>", "get");
        Assert.Contains(info.Child("query", Ns.DiscoInfo)!.Children("feature"), f => f.GetAttribute("var") == Ns.Commands);
        Assert.Equal(
            ["add-user", "delete-user", "disable-user", "reenable-user", "change-user-password", "get-user-roster", "get-user-lastlogin",
             "get-online-users-num", "get-online-users-list", "get-registered-users-num", "get-registered-users-list", "announce",
             "set-motd", "edit-motd", "delete-motd"],
            (await CommandNodesAsync(boss)).Select(node => node!.Replace(AdminNode, "")));
        var commandInfo = await IqAsync(boss, $"<query xmlns='{Ns.DiscoInfo}' node='{AdminNode}add-user'/>", "get");
        var identity = commandInfo.Child("query", Ns.DiscoInfo)!.Child("identity")!;
        Assert.Equal(("automation", "command-node", "Add a User"), (identity.GetAttribute("category"), identity.GetAttribute("type"), identity.GetAttribute("name")));

        Assert.Empty(await CommandNodesAsync(alice));
        Assert.Equal("item-not-found", Condition(await IqAsync(alice, $"<query xmlns='{Ns.DiscoInfo}' node='{AdminNode}add-user'/>", "get")));
        foreach (var command in new[] { "add-user", "delete-user", "get-online-users-num", "announce", "delete-motd" })
        {
            Assert.Equal("forbidden", Condition(await ExecuteAsync(alice, command)));
        }
        Assert.Empty(await AuditAsync());
    }

    [Fact]
    public async Task A_role_granted_and_revoked_with_the_cli_counts_on_the_running_node_at_once()
    {
        await using var alice = await OnlineAsync("alice");
        Assert.Equal("forbidden", Condition(await ExecuteAsync(alice, "get-online-users-num")));

        await NodeNoticeTests.ParleyAsync(_node, "admin", "grant", "alice@localhost");

        Assert.Equal(["1"], Field(Command(await ExecuteAsync(alice, "get-online-users-num")), "onlineusersnum"));
        Assert.Equal(15, (await CommandNodesAsync(alice)).Count);

        await NodeNoticeTests.ParleyAsync(_node, "admin", "revoke", "alice@localhost");

        Assert.Equal("forbidden", Condition(await ExecuteAsync(alice, "get-online-users-num")));
        Assert.Empty(await CommandNodesAsync(alice));
    }

    [Fact]
    public async Task Add_user_offers_the_xep_0133_form_creates_an_account_that_signs_in_and_audits_it_without_the_password()
    {
        await using var boss = await OnlineAsync("boss");

        var form = Command(await ExecuteAsync(boss, "add-user"));
        Assert.Equal("complete", form.Child("actions", Ns.Commands)!.GetAttribute("execute"));
        var fields = DataForm.Fields(DataForm.Find(form)!).ToDictionary(f => f.Var ?? "", f => f.Type);
        Assert.Equal(FieldType.JidSingle, fields["accountjid"]);
        Assert.Equal(FieldType.TextPrivate, fields["password"]);
        Assert.Equal(FieldType.TextPrivate, fields["password-verify"]);
        var done = Command(await SubmitAsync(boss, "add-user", form.GetAttribute("sessionid")!,
            ("accountjid", ["carol@localhost"]), ("password", ["carol-secret-1"]), ("password-verify", ["carol-secret-1"])));

        Assert.Equal(("info", "Added carol@localhost."), Note(done));
        await using var carol = await XmppTestClient.LoginAsync(_node, "carol", "carol-secret-1");
        Assert.Equal([(Admin, "127.0.0.1", "account.create", "carol@localhost", "")], await AuditAsync());
    }

    [Theory]
    [InlineData("carol@localhost", "carol-secret-1", "other-secret-1", "The passwords do not match.")]
    [InlineData("alice@localhost", "alice-secret-1", "alice-secret-1", "alice@localhost exists already.")]
    [InlineData("carol@localhost", "short", "short", "at least 8")]
    [InlineData("carol@elsewhere.org", "carol-secret-1", "carol-secret-1", "not in a domain this node serves")]
    [InlineData("not a jid", "carol-secret-1", "carol-secret-1", "is not an account JID")]
    public async Task Add_user_refuses_bad_input_with_an_error_note_and_changes_nothing(string jid, string password, string verify, string expected)
    {
        await using var boss = await OnlineAsync("boss");

        var done = await RunAsync(boss, "add-user", ("accountjid", [jid]), ("password", [password]), ("password-verify", [verify]));

        Assert.Equal("error", Note(done).Type);
        Assert.Contains(expected, Note(done).Text);
        Assert.False(await Storage.Accounts.ExistsAsync("carol@localhost"));
        Assert.Empty(await AuditAsync());
    }

    [Fact]
    public async Task Disable_ends_the_users_sessions_reenable_lets_them_back_and_change_password_and_delete_take_effect()
    {
        await using var boss = await OnlineAsync("boss");
        await using var alice = await OnlineAsync("alice");

        Assert.Equal(("info", "Disabled alice@localhost."), Note(await RunAsync(boss, "disable-user", ("accountjids", ["alice@localhost"]))));
        Assert.Equal("not-authorized", await alice.ExpectStreamErrorAsync());
        Assert.Equal(("info", "Re-enabled alice@localhost."), Note(await RunAsync(boss, "reenable-user", ("accountjids", ["alice@localhost"]))));
        Assert.Equal(("info", "Changed the password of alice@localhost."),
            Note(await RunAsync(boss, "change-user-password", ("accountjid", ["alice@localhost"]), ("password", ["new-alice-secret"]))));
        await using (await XmppTestClient.LoginAsync(_node, "alice", "new-alice-secret"))
        {
        }
        var deleted = await RunAsync(boss, "delete-user", ("accountjids", ["bob@localhost", "nobody@localhost"]));

        Assert.Equal(("error", "Deleted bob@localhost. There is no account nobody@localhost."), Note(deleted));
        Assert.False(await Storage.Accounts.ExistsAsync("bob@localhost"));
        Assert.Equal(
            [
                (Admin, "127.0.0.1", "account.disable", "alice@localhost", ""), (Admin, "127.0.0.1", "account.enable", "alice@localhost", ""),
                (Admin, "127.0.0.1", "account.password", "alice@localhost", "password changed"), (Admin, "127.0.0.1", "account.remove", "bob@localhost", ""),
            ],
            await AuditAsync());
        Assert.DoesNotContain(await AuditAsync(), record => record.Details.Contains("new-alice-secret"));
    }

    [Fact]
    public async Task Roster_last_login_and_the_online_and_registered_users_are_reported()
    {
        await Storage.Rosters.SetItemAsync("alice@localhost", new RosterItem("bob@localhost", "Bob <the builder>", Subscription.Both, false, false, ["Team"]));
        await using var boss = await OnlineAsync("boss");
        await using var alice = await OnlineAsync("alice", "phone");
        await using var alice2 = await OnlineAsync("alice", "laptop");

        var roster = await RunAsync(boss, "get-user-roster", ("accountjid", ["alice@localhost"]));
        var item = DataForm.Find(roster)!.Child("query", Ns.Roster)!.Child("item")!;
        Assert.Equal(("bob@localhost", "Bob <the builder>", "both"), (item.GetAttribute("jid"), item.GetAttribute("name"), item.GetAttribute("subscription")));

        var lastLogin = Field(await RunAsync(boss, "get-user-lastlogin", ("accountjid", ["alice@localhost"])), "lastlogin");
        Assert.True(XmppDateTime.TryParse(Assert.Single(lastLogin), out var at));
        Assert.InRange(at, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        var never = await RunAsync(boss, "get-user-lastlogin", ("accountjid", ["bob@localhost"]));
        Assert.Empty(Field(never, "lastlogin"));
        Assert.Contains("has not logged in", Note(never).Text);
        Assert.Contains("There is no account nobody@localhost", Note(await RunAsync(boss, "get-user-roster", ("accountjid", ["nobody@localhost"]))).Text);

        // These run at once: no form, status completed in the first answer.
        Assert.Equal(["2"], Field(Command(await ExecuteAsync(boss, "get-online-users-num")), "onlineusersnum"));
        Assert.Equal(["alice@localhost", "boss@localhost"], Field(Command(await ExecuteAsync(boss, "get-online-users-list")), "onlineuserjids"));
        Assert.Equal(["3"], Field(Command(await ExecuteAsync(boss, "get-registered-users-num")), "registeredusersnum"));
        Assert.Equal(["alice@localhost", "bob@localhost", "boss@localhost"], Field(Command(await ExecuteAsync(boss, "get-registered-users-list")), "registereduserjids"));
        Assert.Empty(await AuditAsync());
    }

    [Fact]
    public async Task An_announcement_reaches_every_online_session_as_a_headline_from_the_server()
    {
        await using var boss = await OnlineAsync("boss");
        await using var phone = await OnlineAsync("alice", "phone");
        await using var laptop = await OnlineAsync("alice", "laptop");

        var done = await RunAsync(boss, "announce", ("subject", ["Maintenance"]), ("body", ["Down at 22:00 <UTC> & back soon.", "Second line."]));

        // The admin's own session got it too, before the command's answer.
        Assert.Equal(("info", "Sent the announcement to 3 sessions."), Note(done));
        foreach (var client in new[] { phone, laptop })
        {
            var message = await client.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "headline");
            Assert.Equal((TestNode.Domain, client.Jid), (message.GetAttribute("from"), message.GetAttribute("to")));
            Assert.Equal("Maintenance", message.ChildText("subject"));
            Assert.Equal("Down at 22:00 <UTC> & back soon.\nSecond line.", message.ChildText("body"));
        }
        var record = Assert.Single(await AuditAsync());
        Assert.Equal((Admin, "announcement.send", "localhost"), (record.Actor, record.Action, record.Subject));
    }

    [Fact]
    public async Task The_message_of_the_day_is_set_edited_and_deleted_with_commands_and_sent_escaped_at_login()
    {
        const string motd = "Authorized use only.\n<script>alert('x')</script> & \"quotes\"";
        await using var boss = await OnlineAsync("boss");

        await RunAsync(boss, "set-motd", ("body", motd.Split('\n')));
        var edit = Command(await ExecuteAsync(boss, "edit-motd"));
        Assert.Equal(motd.Split('\n'), Field(edit, "body"));

        await using (var alice = await XmppTestClient.LoginAsync(_node, "alice", "alice-password"))
        {
            await alice.SendAsync("<presence/>");
            var message = await alice.ReceiveAsync(e => e.Name == "message" && e.GetAttribute("type") == "headline");
            Assert.Equal((TestNode.Domain, motd), (message.GetAttribute("from"), message.ChildText("body")));
        }

        Assert.Equal(("info", "Deleted the message of the day."), Note(Command(await ExecuteAsync(boss, "delete-motd"))));
        Assert.Null(await Storage.Settings.GetAsync(ServerSettings.Banner));
        Assert.Equal(["banner.set", "banner.clear"], (await AuditAsync()).Select(r => r.Action));
    }

    [Fact]
    public async Task Sessions_are_the_requesters_own_can_be_canceled_and_refuse_bad_actions_and_payloads()
    {
        await using var boss = await OnlineAsync("boss");
        await NodeNoticeTests.ParleyAsync(_node, "admin", "grant", "alice@localhost");
        await using var alice = await OnlineAsync("alice");
        var sessionId = Command(await ExecuteAsync(boss, "add-user")).GetAttribute("sessionid")!;

        // Another admin cannot complete it.
        var stolen = await SubmitAsync(alice, "add-user", sessionId, ("accountjid", ["mallory@localhost"]), ("password", ["mallory-secret"]));
        Assert.Equal(("bad-request", "bad-sessionid"), (Condition(stolen), CommandCondition(stolen)));
        var next = await IqAsync(boss, $"<command xmlns='{Ns.Commands}' node='{AdminNode}add-user' sessionid='{sessionId}' action='next'/>");
        Assert.Equal(("bad-request", "bad-action"), (Condition(next), CommandCondition(next)));
        var noForm = await IqAsync(boss, $"<command xmlns='{Ns.Commands}' node='{AdminNode}add-user' sessionid='{sessionId}' action='complete'/>");
        Assert.Equal(("bad-request", "bad-payload"), (Condition(noForm), CommandCondition(noForm)));
        var malformed = await ExecuteAsync(boss, "add-user", action: "destroy");
        Assert.Equal(("bad-request", "malformed-action"), (Condition(malformed), CommandCondition(malformed)));

        var canceled = Command(await IqAsync(boss, $"<command xmlns='{Ns.Commands}' node='{AdminNode}add-user' sessionid='{sessionId}' action='cancel'/>"));
        Assert.Equal("canceled", canceled.GetAttribute("status"));
        var afterCancel = await SubmitAsync(boss, "add-user", sessionId, ("accountjid", ["mallory@localhost"]), ("password", ["mallory-secret"]));
        Assert.Equal("bad-sessionid", CommandCondition(afterCancel));
        Assert.Equal("item-not-found", Condition(await IqAsync(boss, $"<command xmlns='{Ns.Commands}' node='{AdminNode}no-such-command'/>")));
        Assert.Equal("bad-request", Condition(await IqAsync(boss, $"<command xmlns='{Ns.Commands}' node='{AdminNode}add-user'/>", "get")));
        Assert.False(await Storage.Accounts.ExistsAsync("mallory@localhost"));
    }

    [Fact]
    public async Task A_form_submitted_after_ten_minutes_gets_session_expired_and_a_requester_may_keep_twenty_forms_open()
    {
        var clock = new ManualClock();
        await using var node = await TestNode.StartAsync(options => options.Admins = [Admin], services: s => s.AddSingleton<TimeProvider>(clock));
        await node.CreateUserAsync("boss", "boss-password");
        await using var boss = await Muc.OnlineAsync(node, "boss");
        var sessionId = Command(await ExecuteAsync(boss, "add-user")).GetAttribute("sessionid")!;

        clock.Advance(TimeSpan.FromMinutes(11));
        var expired = await SubmitAsync(boss, "add-user", sessionId, ("accountjid", ["carol@localhost"]), ("password", ["carol-secret-1"]));

        Assert.Equal(("not-allowed", "session-expired"), (Condition(expired), CommandCondition(expired)));
        Assert.False(await node.Accounts.ExistsAsync("carol@localhost"));
        for (var open = 0; open < 20; open++)
        {
            Assert.Equal("executing", Command(await ExecuteAsync(boss, "disable-user")).GetAttribute("status"));
        }
        Assert.Equal("resource-constraint", Condition(await ExecuteAsync(boss, "disable-user")));
        // Commands without a form open no session and still run.
        Assert.Equal("completed", Command(await ExecuteAsync(boss, "get-online-users-num")).GetAttribute("status"));
    }

    /// <summary>The node's clock, moved by the test; timers stay real.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private TimeSpan _offset;

        public void Advance(TimeSpan by) => _offset += by;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + _offset;
    }

    [Fact]
    public async Task An_admin_whose_role_is_revoked_between_the_form_and_its_submission_is_forbidden_to_complete_it()
    {
        await NodeNoticeTests.ParleyAsync(_node, "admin", "grant", "alice@localhost");
        await using var alice = await OnlineAsync("alice");
        var sessionId = Command(await ExecuteAsync(alice, "delete-user")).GetAttribute("sessionid")!;

        await NodeNoticeTests.ParleyAsync(_node, "admin", "revoke", "alice@localhost");

        Assert.Equal("forbidden", Condition(await SubmitAsync(alice, "delete-user", sessionId, ("accountjids", ["bob@localhost"]))));
        Assert.True(await Storage.Accounts.ExistsAsync("bob@localhost"));
    }
}
