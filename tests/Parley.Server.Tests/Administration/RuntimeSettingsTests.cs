using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Administration;
using Parley.Server.Modules.Mam;
using Parley.Server.Modules.Registration;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Administration;

/// <summary>
/// The runtime settings override the configuration on a running node at once: changed by an administrator in the node
/// (the console) or by the CLI beside it (a node notice), refused with a reason when the value is wrong.
/// </summary>
public sealed class RuntimeSettingsTests
{
    private static readonly AdminActor Admin = new("admin@localhost", "127.0.0.1");

    private static SettingsAdministration Settings(TestNode node) =>
        node.App.Web.Services.GetRequiredService<AdministrationServices>().By(Admin).Settings;

    private static async Task<Element> AddContactAsync(XmppTestClient client, string contact)
    {
        var id = "add-" + contact;
        await client.SendAsync($"<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'><item jid='{contact}@localhost'/></query></iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == id);
    }

    private static async Task<Element> FeaturesAsync(TestNode node)
    {
        await using var client = await XmppTestClient.ConnectAsync(node.C2sPort);
        await client.OpenStreamAsync();
        return await client.StartTlsAsync();
    }

    [Fact]
    public async Task A_contact_limit_set_on_the_running_node_refuses_the_next_contact_and_reset_lifts_it()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("alice", "alice-password");
        await using var alice = await XmppTestClient.LoginAsync(node, "alice", "alice-password");
        Assert.Equal("result", (await AddContactAsync(alice, "bob")).GetAttribute("type"));

        Assert.Equal(AdministrationOutcome.Done, (await Settings(node).SetAsync(ServerSettings.MaxContacts, "1")).Outcome);

        var refused = await AddContactAsync(alice, "carol");
        Assert.Equal("error", refused.GetAttribute("type"));
        Assert.NotNull(refused.Child("error")!.Child("not-allowed", Ns.Stanzas));
        Assert.Contains("at most 1 contacts", refused.Child("error")!.ChildText("text", Ns.Stanzas));
        Assert.Equal(AdministrationOutcome.Done, (await Settings(node).ResetAsync(ServerSettings.MaxContacts)).Outcome);
        Assert.Equal("result", (await AddContactAsync(alice, "carol")).GetAttribute("type"));

        var trail = await node.App.Node.Storage.Audit.ListAsync(null, Admin.Name, 10);
        Assert.Equal([(AuditActions.SettingSet, ServerSettings.MaxContacts), (AuditActions.SettingReset, ServerSettings.MaxContacts)],
            trail.Select(r => (r.Action, r.Subject)));
    }

    [Fact]
    public async Task Registration_opened_by_the_cli_is_offered_and_works_within_the_notice_poll_and_closing_it_stops_both()
    {
        await using var node = await TestNode.StartAsync(options => options.Storage.NoticePollMilliseconds = 50);
        Assert.Null((await FeaturesAsync(node)).Child("register", Ns.RegisterFeature));
        // The CLI's way: the database and a notice, no node in the process.
        var cli = AdministrationServices.WithoutNode(node.App.Node.Storage, node.Options).Settings;

        Assert.Equal(AdministrationOutcome.Done, (await cli.SetAsync(ServerSettings.Registration, "on")).Outcome);
        await Eventually.TrueAsync(async () => (await FeaturesAsync(node)).Child("register", Ns.RegisterFeature) is not null);
        await using (var client = await XmppTestClient.ConnectAsync(node.C2sPort))
        {
            await client.OpenStreamAsync();
            await client.StartTlsAsync();
            await client.SendAsync("<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>mercutio</username><password>queen-mab</password></query></iq>");
            Assert.Equal("result", (await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "reg")).GetAttribute("type"));
        }
        Assert.True(await node.Accounts.ExistsAsync("mercutio@localhost"));

        Assert.Equal(AdministrationOutcome.Done, (await cli.SetAsync(ServerSettings.Registration, "off")).Outcome);
        await Eventually.TrueAsync(async () => (await FeaturesAsync(node)).Child("register", Ns.RegisterFeature) is null);
    }

    [Fact]
    public async Task Registration_opened_and_closed_at_runtime_comes_and_goes_in_the_servers_disco_and_capabilities_hash()
    {
        // Password changes off, so the disco feature says only whether accounts can be registered.
        await using var node = await TestNode.StartAsync(options => options.Module<RegistrationOptions>().AllowPasswordChange = false);
        await node.CreateUserAsync("alice", "alice-password");

        async Task<(bool Advertised, string CapsVer)> AskAsync()
        {
            await using var client = await XmppTestClient.ConnectAsync(node.C2sPort);
            await client.OpenStreamAsync();
            await client.StartTlsAsync();
            var features = await client.AuthenticateAsync("alice", "alice-password");
            await client.BindAsync();
            await client.SendAsync("<iq type='get' id='info' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
            var info = await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "info");
            var advertised = info.Child("query", Ns.DiscoInfo)!.Children("feature", Ns.DiscoInfo).Any(f => f.GetAttribute("var") == Ns.Register);
            return (advertised, features.Child("c", Ns.Caps)!.GetAttribute("ver")!);
        }

        var closed = await AskAsync();
        Assert.False(closed.Advertised);

        Assert.Equal(AdministrationOutcome.Done, (await Settings(node).SetAsync(ServerSettings.Registration, "on")).Outcome);
        var open = await AskAsync();
        Assert.True(open.Advertised);
        Assert.NotEqual(closed.CapsVer, open.CapsVer);

        Assert.Equal(AdministrationOutcome.Done, (await Settings(node).SetAsync(ServerSettings.Registration, "off")).Outcome);
        Assert.Equal(closed, await AskAsync());
    }

    [Fact]
    public async Task The_archive_retention_set_at_runtime_is_what_the_next_retention_run_uses()
    {
        await using var node = await TestNode.StartAsync();
        var retention = node.App.Web.Services.GetRequiredService<ArchiveRetentionService>();
        var storage = node.App.Node.Storage;
        var then = DateTimeOffset.UtcNow;
        await storage.Archive.AppendAsync("alice@localhost", "bob@localhost", then, "<message xmlns='jabber:client'><body>old</body></message>");

        Assert.Equal(0, await retention.DeleteExpiredAsync(then.AddDays(400)));
        Assert.Equal(AdministrationOutcome.Done, (await Settings(node).SetAsync(ServerSettings.ArchiveRetentionDays, "30")).Outcome);
        Assert.Equal(0, await retention.DeleteExpiredAsync(then.AddDays(29)));
        Assert.Equal(1, await retention.DeleteExpiredAsync(then.AddDays(31)));
    }

    [Theory]
    [InlineData(ServerSettings.MaxContacts, "-1")]
    [InlineData(ServerSettings.MaxContacts, "ten")]
    [InlineData(ServerSettings.ArchiveRetentionDays, "1.5")]
    [InlineData(ServerSettings.Registration, "yes")]
    public async Task A_value_a_setting_cannot_take_is_refused_saying_why_and_nothing_changes(string name, string value)
    {
        await using var node = await TestNode.StartAsync();

        var result = await Settings(node).SetAsync(name, value);

        Assert.Equal(AdministrationOutcome.Refused, result.Outcome);
        Assert.Contains(name, result.Problem);
        Assert.Contains($"'{value}'", result.Problem);
        Assert.Null(await node.App.Node.Storage.Settings.GetAsync(name));
        Assert.Empty(await node.App.Node.Storage.Audit.ListAsync(null, null, 10));
        Assert.Equal(AdministrationOutcome.NotFound, (await Settings(node).SetAsync("max-kittens", "3")).Outcome);
    }
}
