using Microsoft.Extensions.DependencyInjection;
using Parley.Ldap.Tests.Support;
using Parley.Protocol;
using Parley.Server.Modules.Ldap;
using Parley.Server.Modules.VCard;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

public sealed class DirectorySyncTests(SlapdForNodes slapd) : IClassFixture<SlapdForNodes>
{
    [Fact]
    public async Task The_start_up_sync_creates_an_account_with_a_vcard_for_each_person_and_reports_who_it_skipped()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));

        var summary = await StartupSyncAsync(node);

        Assert.Null(summary.Failure);
        foreach (var uid in new[] { "alice", "bob", "carol", "zoe", "dave" })
        {
            Assert.True(await node.Accounts.ExistsAsync($"{uid}@localhost"), uid);
        }
        Assert.True((await node.Accounts.GetCredentialsAsync("dave@localhost"))!.Disabled);
        var skipped = Assert.Single(summary.Skipped);
        Assert.Equal(TestDirectory.Person("not a localpart@").Dn, skipped.Dn);
        Assert.Contains("is not a valid JID localpart", skipped.Reason);
        var vCard = ElementParser.Parse((await node.App.Node.Storage.Documents.GetAsync("zoe@localhost", VCardModule.DocumentKind, ""))!.Xml, Ns.Client);
        Assert.Equal("Zoë Çelik", vCard.ChildText("FN", Ns.VCard));
        Assert.Equal("zoe@example.test", vCard.Child("EMAIL", Ns.VCard)!.ChildText("USERID", Ns.VCard));
        Assert.Equal("R&D (Tools)", vCard.Child("ORG", Ns.VCard)!.ChildText("ORGUNIT", Ns.VCard));
        Assert.Equal("image/jpeg", vCard.Child("PHOTO", Ns.VCard)!.ChildText("TYPE", Ns.VCard));
    }

    [Fact]
    public async Task A_second_sync_changes_nothing_and_a_changed_attribute_updates_the_vcard()
    {
        var person = await AddPersonAsync("frank");
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);

        var again = await SyncAsync(node);
        await slapd.Directory.ModifyAsync($"dn: {person.Dn}\nchangetype: modify\nreplace: title\ntitle: Head of Testing\n");
        var changed = await SyncAsync(node);

        Assert.Equal((0, 0, 0), (again.Added, again.Updated, again.Disabled));
        Assert.Equal(1, changed.Updated);
        var vCard = (await node.App.Node.Storage.Documents.GetAsync("frank@localhost", VCardModule.DocumentKind, ""))!.Xml;
        Assert.Contains("Head of Testing", vCard);
    }

    [Fact]
    public async Task A_person_removed_from_the_directory_while_online_is_disabled_by_the_next_sync_and_their_session_ends()
    {
        var person = await AddPersonAsync("erin");
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        await using var online = await SlapdForNodes.SignInAsync(node, "erin", person.Password);

        await slapd.Directory.DeleteAsync(person.Dn);
        var summary = await SyncAsync(node);

        Assert.Equal(1, summary.Disabled);
        Assert.Equal("not-authorized", await online.ExpectStreamErrorAsync());
        await using var again = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await again.OpenStreamAsync();
        Assert.Equal("failure", (await SlapdForNodes.PlainAsync(again, "erin", person.Password)).Name);
        // Kept, disabled, until the grace period is over.
        Assert.True((await node.Accounts.GetCredentialsAsync("erin@localhost"))!.Disabled);
    }

    [Fact]
    public async Task After_the_grace_period_the_account_of_a_person_who_left_is_removed()
    {
        var person = await AddPersonAsync("gina");
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Module<DirectoryModuleOptions>().RemoveAfterDays = 0;
        });
        await StartupSyncAsync(node);

        await slapd.Directory.DeleteAsync(person.Dn);
        var summary = await SyncAsync(node);

        Assert.Equal(1, summary.Removed);
        Assert.False(await node.Accounts.ExistsAsync("gina@localhost"));
        Assert.Null(await node.App.Node.Storage.DirectoryUsers.GetAsync("gina@localhost"));
    }

    [Fact]
    public async Task With_the_directory_unreachable_a_sync_fails_says_why_and_disables_no_one()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        node.App.Node.Options.Module<DirectoryModuleOptions>().Servers = [TestDirectory.UnreachableUrl()];

        var summary = await SyncAsync(node);

        Assert.Contains("No directory server answered", summary.Failure);
        Assert.Contains("Nothing was changed", summary.Failure);
        Assert.False((await node.Accounts.GetCredentialsAsync("alice@localhost"))!.Disabled);
        Assert.Contains(node.Logs.Lines, m => m.Contains("Directory sync failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_service_account_password_fails_the_sync_with_a_clear_reason()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Module<DirectoryModuleOptions>().BindPassword = "wrong";
        });

        var summary = await StartupSyncAsync(node);

        Assert.Contains("refused the service account", summary.Failure);
        Assert.Contains("BindPassword", summary.Failure);
    }

    [Fact]
    public async Task Under_the_mail_scheme_two_people_with_one_mail_address_are_both_skipped()
    {
        await AddPersonAsync("twin1", mail: "twin@localhost");
        await AddPersonAsync("twin2", mail: "twin@localhost");
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Module<DirectoryModuleOptions>().JidScheme = "mail";
        });

        var summary = await StartupSyncAsync(node);

        Assert.Equal(2, summary.Skipped.Count(s => s.Reason.Contains("2 people map to twin@localhost", StringComparison.Ordinal)));
        Assert.False(await node.Accounts.ExistsAsync("twin@localhost"));
    }

    private static Task<DirectorySyncSummary> StartupSyncAsync(TestNode node) =>
        node.App.Web.Services.GetRequiredService<DirectorySyncService>().StartupSync.WaitAsync(XmppTestClient.Deadline);

    private static Task<DirectorySyncSummary> SyncAsync(TestNode node) =>
        node.App.Web.Services.GetRequiredService<DirectorySyncService>().RunOnceAsync(CancellationToken.None);

    /// <summary>A person of this test alone (tests of the class share one directory).</summary>
    private async Task<Person> AddPersonAsync(string uid, string? mail = null)
    {
        var person = new Person(uid, $"uid={uid},{TestDirectory.PeopleBase}", uid + "-password", uid, "Tester", mail ?? $"{uid}@example.test", "QA");
        await slapd.Directory.AddPersonAsync(person);
        return person;
    }
}
