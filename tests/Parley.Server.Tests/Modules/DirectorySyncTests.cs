using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Parley.Ldap;
using Parley.Ldap.Tests.Support;
using Parley.Protocol;
using Parley.Server.Modules.Ldap;
using Parley.Server.Modules.VCard;
using Parley.Server.Tests.Support;
using Parley.Storage;
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
        Assert.Equal(("Zoë", "Çelik"), (vCard.Child("N", Ns.VCard)!.ChildText("GIVEN", Ns.VCard), vCard.Child("N", Ns.VCard)!.ChildText("FAMILY", Ns.VCard)));
        Assert.Equal("+1 555 0100", vCard.Child("TEL", Ns.VCard)!.ChildText("NUMBER", Ns.VCard));
        Assert.Equal("Engineer", vCard.ChildText("TITLE", Ns.VCard));
        Assert.Equal("Zoë Çelik", (await node.Accounts.GetAsync("zoe@localhost"))!.DisplayName);
        Assert.Equal("zoe@example.test", vCard.Child("EMAIL", Ns.VCard)!.ChildText("USERID", Ns.VCard));
        Assert.Equal("R&D (Tools)", vCard.Child("ORG", Ns.VCard)!.ChildText("ORGUNIT", Ns.VCard));
        Assert.Equal("image/jpeg", vCard.Child("PHOTO", Ns.VCard)!.ChildText("TYPE", Ns.VCard));
        Assert.Contains(node.Logs.Lines, l => l.Contains("Parley:Directory:Tls is none", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_colleagues_vcard_carries_the_directory_photo_and_their_presence_its_avatar_hash_and_they_cannot_overwrite_it()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        await using var bob = await SlapdForNodes.SignInAsync(node, "bob", "bob-pw");
        await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");
        var photo = TestDirectory.Photo.Concat(System.Text.Encoding.UTF8.GetBytes("alice")).ToArray();

        await alice.SendAsync("<iq type='set' id='s1'><vCard xmlns='vcard-temp'><FN>Someone Else</FN></vCard></iq>");
        var refused = await alice.ReceiveAsync(e => e.GetAttribute("id") == "s1");
        await bob.SendAsync("<iq type='get' id='v1' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>");
        var vCard = (await bob.ReceiveAsync(e => e.GetAttribute("id") == "v1")).Child("vCard", Ns.VCard)!;
        await bob.AnnounceAsync();
        await alice.AnnounceAsync();
        var presence = await bob.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from")?.StartsWith("alice@localhost/", StringComparison.Ordinal) == true);

        Assert.Equal("error", refused.GetAttribute("type"));
        Assert.NotNull(refused.Child("error")!.Child("not-allowed", Ns.Stanzas));
        Assert.Contains("comes from the company directory", refused.Child("error")!.ChildText("text", Ns.Stanzas));
        Assert.Equal("Alice Archer", vCard.ChildText("FN", Ns.VCard));
        Assert.Equal(photo, Convert.FromBase64String(vCard.Child("PHOTO", Ns.VCard)!.ChildText("BINVAL", Ns.VCard)!));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(photo)), presence.Child("x", Ns.VCardUpdate)!.ChildText("photo", Ns.VCardUpdate));
    }

    [Fact]
    public async Task A_person_who_joined_after_the_last_sync_gets_an_account_and_vcard_at_their_first_sign_in()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        var person = await AddPersonAsync("jack");

        await using var jack = await SlapdForNodes.SignInAsync(node, "jack", person.Password);

        Assert.True(await node.Accounts.ExistsAsync("jack@localhost"));
        Assert.NotNull(await node.App.Node.Storage.DirectoryUsers.GetAsync("jack@localhost"));
        Assert.Contains("jack@example.test", (await node.App.Node.Storage.Documents.GetAsync("jack@localhost", VCardModule.DocumentKind, ""))!.Xml);
        Assert.Equal(0, (await SyncAsync(node)).Added);
    }

    [Fact]
    public async Task A_photo_changed_in_the_directory_reaches_contacts_with_the_next_presence_of_a_person_online()
    {
        var kim = await AddPersonAsync("kim");
        await slapd.Directory.ModifyAsync($"dn: {TestDirectory.SalesGroupDn}\nchangetype: modify\nadd: member\nmember: {kim.Dn}\n");
        try
        {
            await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
            await StartupSyncAsync(node);
            await using var carol = await SlapdForNodes.SignInAsync(node, "carol", "carol-pw");
            await carol.AnnounceAsync();
            await using var online = await SlapdForNodes.SignInAsync(node, "kim", kim.Password);
            await online.AnnounceAsync();
            await carol.ReceiveAsync(e => e.Name == "presence" && e.GetAttribute("from")?.StartsWith("kim@localhost/", StringComparison.Ordinal) == true);
            var newPhoto = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4 };

            await slapd.Directory.ModifyAsync($"dn: {kim.Dn}\nchangetype: modify\nreplace: jpegPhoto\njpegPhoto:: {Convert.ToBase64String(newPhoto)}\n");
            await SyncAsync(node);
            await online.AnnounceAsync("<presence><show>away</show></presence>");
            var presence = await carol.ReceiveAsync(e => e.Name == "presence" && e.ChildText("show") == "away");

            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(newPhoto)), presence.Child("x", Ns.VCardUpdate)!.ChildText("photo", Ns.VCardUpdate));
        }
        finally
        {
            await slapd.Directory.ModifyAsync($"dn: {TestDirectory.SalesGroupDn}\nchangetype: modify\ndelete: member\nmember: {kim.Dn}\n");
        }
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
    public async Task The_directory_decides_who_is_disabled_an_account_enabled_or_disabled_by_hand_follows_it_at_the_next_sync()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        var accounts = node.App.Web.Services.GetRequiredService<Parley.Server.Administration.AccountService>();
        await accounts.SetDisabledAsync(Jid.Parse("dave@localhost"), false);
        await accounts.SetDisabledAsync(Jid.Parse("carol@localhost"), true);

        var summary = await SyncAsync(node);

        Assert.True((await node.Accounts.GetCredentialsAsync("dave@localhost"))!.Disabled);
        Assert.False((await node.Accounts.GetCredentialsAsync("carol@localhost"))!.Disabled);
        Assert.Equal((1, 1), (summary.Disabled, summary.Updated));
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
    public async Task Every_SyncIntervalMinutes_the_node_syncs_on_its_own_a_newcomer_gets_an_account_and_a_leaver_is_disabled()
    {
        var leaver = await AddPersonAsync("hank");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Module<DirectoryModuleOptions>().SyncIntervalMinutes = 60;
        }, services: s => s.AddSingleton<TimeProvider>(clock));
        var service = node.App.Web.Services.GetRequiredService<DirectorySyncService>();
        await StartupSyncAsync(node);
        var startedAt = clock.GetUtcNow();
        await AddPersonAsync("ivy");
        await slapd.Directory.DeleteAsync(leaver.Dn);

        // The node's wait for the next sync may begin after a first move of the clock: it moves on until a sync has run.
        await Eventually.TrueAsync(() =>
        {
            if (service.LastSync!.Value.At == startedAt)
            {
                clock.Advance(TimeSpan.FromMinutes(60));
                return false;
            }
            return true;
        });
        var (at, summary) = service.LastSync!.Value;

        Assert.True(at >= startedAt + TimeSpan.FromMinutes(60), $"synced at {at}, started at {startedAt}");
        Assert.Null(summary.Failure);
        Assert.True(await node.Accounts.ExistsAsync("ivy@localhost"));
        Assert.True((await node.Accounts.GetCredentialsAsync("hank@localhost"))!.Disabled);
        Assert.Contains(node.Logs.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"Directory sync: 1 added, \d+ updated, 1 disabled"));
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
    public async Task A_user_base_or_filter_that_finds_no_one_fails_the_sync_instead_of_disabling_everyone()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        node.App.Node.Options.Module<DirectoryModuleOptions>().UserFilter = "(objectClass=mistyped)";

        var summary = await SyncAsync(node);

        Assert.Contains("has no one matching (objectClass=mistyped)", summary.Failure);
        Assert.False((await node.Accounts.GetCredentialsAsync("alice@localhost"))!.Disabled);
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
        Assert.Contains(node.Logs.Lines, l => l.Contains("Directory sync failed", StringComparison.Ordinal) && l.Contains("refused the service account", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_local_account_named_like_a_directory_person_is_skipped_and_keeps_its_password()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        await node.CreateUserAsync("lena", "local-secret");
        var person = await AddPersonAsync("lena");

        var summary = await SyncAsync(node);
        await using var client = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await client.OpenStreamAsync();
        var local = await SlapdForNodes.PlainAsync(client, "lena", "local-secret");

        Assert.Contains(summary.Skipped, s => s.Dn == person.Dn && s.Reason == "lena@localhost is a local account");
        Assert.Null(await node.App.Node.Storage.DirectoryUsers.GetAsync("lena@localhost"));
        Assert.Equal("success", local.Name);
        await using var again = await XmppTestClient.ConnectAsync(node.C2sTlsPort, directTls: true);
        await again.OpenStreamAsync();
        Assert.Equal("failure", (await SlapdForNodes.PlainAsync(again, "lena", person.Password)).Name);
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

    [Fact]
    public async Task Members_of_a_directory_group_see_each_other_with_both_subscriptions_under_the_groups_name_nested_groups_included()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);

        var alice = await node.App.Node.Storage.Rosters.GetAsync("alice@localhost");
        var carol = await node.App.Node.Storage.Rosters.GetAsync("carol@localhost");

        var engineering = alice.Items.Where(i => i.Contact is "bob@localhost" or "zoe@localhost").ToList();
        Assert.Equal(2, engineering.Count);
        Assert.All(engineering, i => Assert.Equal((Subscription.Both, "Engineering Team"), (i.Subscription, Assert.Single(i.Groups))));
        Assert.DoesNotContain(alice.Items, i => i.Contact is "carol@localhost" or "dave@localhost");
        Assert.Equal("Zoë Çelik", alice.Items.Single(i => i.Contact == "zoe@localhost").Name);
        var dave = Assert.Single(carol.Items, i => i.Contact == "dave@localhost");
        Assert.Equal("Sales", Assert.Single(dave.Groups));
        Assert.DoesNotContain(carol.Items, i => i.Contact is "alice@localhost" or "bob@localhost" or "zoe@localhost");
    }

    [Fact]
    public async Task A_group_chosen_by_its_dn_with_an_escaped_comma_through_the_entrydn_filter_is_shared_alone()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            // RFC 4515: the DN's backslash is written \5c inside a filter.
            o.Module<DirectoryModuleOptions>().GroupFilter = $"(entryDN={TestDirectory.PlatformGroupDn.Replace("\\", "\\5c", StringComparison.Ordinal)})";
        });

        var summary = await StartupSyncAsync(node);

        Assert.Null(summary.Failure);
        var zoe = Assert.Single((await node.App.Node.Storage.Rosters.GetAsync("zoe@localhost")).Items);
        Assert.Equal(("bob@localhost", "Platform, R&D"), (zoe.Contact, Assert.Single(zoe.Groups)));
        Assert.Empty((await node.App.Node.Storage.Rosters.GetAsync("alice@localhost")).Items);
    }

    [Fact]
    public async Task A_group_whose_members_could_not_all_be_read_is_reported_and_its_shared_items_stay_as_they_were()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        var accounts = new[] { "alice", "bob", "zoe" }.ToDictionary(
            uid => LdapDirectory.Normalize(TestDirectory.Person(uid).Dn), uid => new SharedAccount(Jid.Parse($"{uid}@localhost"), null, null), StringComparer.Ordinal);
        // What LdapDirectory makes of an Active Directory group whose next member range did not come (slapd has no ranges).
        var readInPart = new DirectoryGroup(TestDirectory.EngineeringGroupDn, "Engineering Team", [TestDirectory.Person("alice").Dn],
            $"the members of {TestDirectory.EngineeringGroupDn} could not all be read: the directory returned 1500 values of member and no range from 1500 on");
        var summary = new DirectorySyncSummary();
        var rosters = node.App.Web.Services.GetRequiredService<Parley.Server.Administration.AdministrationServices>().Rosters;

        await new SharedRosterGroups(new DirectoryOptions(), node.App.Node.Storage, rosters).SyncAsync([readInPart], accounts, summary, CancellationToken.None);

        var skipped = Assert.Single(summary.Skipped);
        Assert.Equal(TestDirectory.EngineeringGroupDn, skipped.Dn);
        Assert.Contains("could not all be read", skipped.Reason);
        Assert.Contains("left as they were", skipped.Reason);
        Assert.Contains("could not all be read", summary.ToString());
        var alice = await node.App.Node.Storage.Rosters.GetAsync("alice@localhost");
        Assert.Equal(["bob@localhost", "zoe@localhost"], alice.Items.Where(i => i.Groups.Contains("Engineering Team")).Select(i => i.Contact).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_person_moved_between_groups_leaves_the_old_groups_rosters_and_an_online_member_sees_it_at_once()
    {
        var hank = await AddPersonAsync("hank");
        await slapd.Directory.ModifyAsync($"dn: {TestDirectory.SalesGroupDn}\nchangetype: modify\nadd: member\nmember: {hank.Dn}\n");
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        await using var carol = await SlapdForNodes.SignInAsync(node, "carol", "carol-pw");
        await carol.SendAsync("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
        var roster = await carol.ReceiveAsync(e => e.GetAttribute("id") == "roster1");
        Assert.Contains("hank@localhost", roster.Child("query", Ns.Roster)!.Children().Select(i => i.GetAttribute("jid")));

        await slapd.Directory.ModifyAsync($"dn: {TestDirectory.SalesGroupDn}\nchangetype: modify\ndelete: member\nmember: {hank.Dn}\n");
        await slapd.Directory.ModifyAsync($"dn: {TestDirectory.EngineeringGroupDn}\nchangetype: modify\nadd: member\nmember: {hank.Dn}\n");
        await SyncAsync(node);

        var push = await carol.ReceiveAsync(e => e.Name == "iq" && e.Child("query", Ns.Roster) is not null);
        Assert.Equal(("hank@localhost", "remove"), (push.Child("query", Ns.Roster)!.Child("item", Ns.Roster)!.GetAttribute("jid"), push.Child("query", Ns.Roster)!.Child("item", Ns.Roster)!.GetAttribute("subscription")));
        Assert.DoesNotContain("hank@localhost", (await node.App.Node.Storage.Rosters.GetAsync("carol@localhost")).Items.Select(i => i.Contact));
        var aliceSees = (await node.App.Node.Storage.Rosters.GetAsync("alice@localhost")).Items.Single(i => i.Contact == "hank@localhost");
        Assert.Equal("Engineering Team", Assert.Single(aliceSees.Groups));
        await slapd.Directory.ModifyAsync($"dn: {TestDirectory.EngineeringGroupDn}\nchangetype: modify\ndelete: member\nmember: {hank.Dn}\n");
        await slapd.Directory.DeleteAsync(hank.Dn);
    }

    [Fact]
    public async Task A_person_renamed_in_the_directory_is_renamed_on_the_account_and_on_colleagues_rosters_unless_they_named_them()
    {
        var ivan = await AddPersonAsync("ivan");
        await slapd.Directory.ModifyAsync($"dn: {TestDirectory.EngineeringGroupDn}\nchangetype: modify\nadd: member\nmember: {ivan.Dn}\n");
        try
        {
            await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
            await StartupSyncAsync(node);
            var rosters = node.App.Node.Storage.Rosters;
            Assert.Equal("ivan Tester", (await node.Accounts.GetAsync("ivan@localhost"))!.DisplayName);
            Assert.Equal("ivan Tester", (await rosters.GetAsync("alice@localhost")).Items.Single(i => i.Contact == "ivan@localhost").Name);
            var bobsName = (await rosters.GetAsync("bob@localhost")).Items.Single(i => i.Contact == "ivan@localhost") with { Name = "Ivan from QA" };
            await rosters.SetItemAsync("bob@localhost", bobsName);
            await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");
            await alice.SendAsync("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
            await alice.ReceiveAsync(e => e.GetAttribute("id") == "roster1");

            await slapd.Directory.ModifyAsync($"dn: {ivan.Dn}\nchangetype: modify\nreplace: displayName\ndisplayName: Ivan Petrov-Tester\n");
            var summary = await SyncAsync(node);

            Assert.Equal(1, summary.Updated);
            Assert.Equal("Ivan Petrov-Tester", (await node.Accounts.GetAsync("ivan@localhost"))!.DisplayName);
            var push = await alice.ReceiveAsync(e => e.Name == "iq" && e.Child("query", Ns.Roster)?.Child("item", Ns.Roster)?.GetAttribute("jid") == "ivan@localhost");
            Assert.Equal("Ivan Petrov-Tester", push.Child("query", Ns.Roster)!.Child("item", Ns.Roster)!.GetAttribute("name"));
            Assert.Equal("Ivan Petrov-Tester", (await rosters.GetAsync("alice@localhost")).Items.Single(i => i.Contact == "ivan@localhost").Name);
            // A name the user chose is theirs.
            Assert.Equal("Ivan from QA", (await rosters.GetAsync("bob@localhost")).Items.Single(i => i.Contact == "ivan@localhost").Name);
        }
        finally
        {
            await slapd.Directory.ModifyAsync($"dn: {TestDirectory.EngineeringGroupDn}\nchangetype: modify\ndelete: member\nmember: {ivan.Dn}\n");
        }
    }

    [Fact]
    public async Task A_personal_contact_and_a_users_own_group_survive_the_sync()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await StartupSyncAsync(node);
        var rosters = node.App.Node.Storage.Rosters;
        await rosters.SetItemAsync("alice@localhost", new RosterItem("carol@localhost", "Carol", Subscription.None, false, false, ["Friends"]));
        await rosters.SetItemAsync("alice@localhost", new RosterItem("bob@localhost", "Bobby", Subscription.Both, false, false, ["Engineering Team", "Lunch"]));

        await SyncAsync(node);

        var alice = await rosters.GetAsync("alice@localhost");
        Assert.Equal(["Friends"], alice.Items.Single(i => i.Contact == "carol@localhost").Groups);
        var bob = alice.Items.Single(i => i.Contact == "bob@localhost");
        Assert.Equal("Bobby", bob.Name);
        Assert.Equal(["Engineering Team", "Lunch"], bob.Groups.Order());
    }

    [Fact]
    public async Task A_group_of_10000_people_is_not_shared_the_sync_stays_bounded_and_every_members_roster_is_right()
    {
        // 10,000 real people (slapadd of one generated LDIF) in a directory of this test alone: the shared one stays small.
        const string everyone = "cn=Everyone," + TestDirectory.GroupBase;
        const string smallTeam = "cn=Small Team," + TestDirectory.GroupBase;
        var uids = Enumerable.Range(0, 10_000).Select(i => $"user{i}").ToArray();
        var ldif = new System.Text.StringBuilder();
        foreach (var uid in uids)
        {
            ldif.Append(TestDirectory.PersonLdif(new Person(uid, $"uid={uid},{TestDirectory.PeopleBase}", uid + "-pw", "Given", uid, $"{uid}@example.test", "Everywhere"))).Append('\n');
        }
        ldif.Append(TestDirectory.GroupLdif(everyone, "Everyone", [.. uids.Select(u => $"uid={u},{TestDirectory.PeopleBase}"), TestDirectory.Person("alice").Dn])).Append('\n');
        ldif.Append(TestDirectory.GroupLdif(smallTeam, "Small Team", [.. uids.Take(5).Select(u => $"uid={u},{TestDirectory.PeopleBase}")])).Append('\n');
        await using var directory = await TestDirectory.StartAsync(moreLdif: ldif.ToString());
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o, directory.Url);
            o.Module<DirectoryModuleOptions>().GroupFilter = "(|(cn=Engineering Team)(cn=Everyone)(cn=Small Team))";
            o.Module<DirectoryModuleOptions>().TimeoutSeconds = 30;
        });

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var summary = await node.App.Web.Services.GetRequiredService<DirectorySyncService>().StartupSync.WaitAsync(TimeSpan.FromSeconds(90));
        var took = clock.Elapsed;

        Assert.Null(summary.Failure);
        Assert.True(summary.Added >= 10_000, summary.ToString());
        Assert.Contains(summary.Skipped, s => s.Dn == everyone && s.Reason.Contains("10001 members, more than Parley:Directory:MaxSharedGroupMembers (500)", StringComparison.Ordinal));
        // Shared items: Engineering Team (alice, bob, zoe: 3×2) and Small Team (5×4) — not the 10,001×10,000 of Everyone.
        Assert.Equal(6 + 20, summary.SharedItemsWritten);
        Assert.True(took < TimeSpan.FromSeconds(30), $"the sync of 10,000 people took {took}");
        var rosters = node.App.Node.Storage.Rosters;
        foreach (var (uid, i) in uids.Select((u, i) => (u, i)))
        {
            var contacts = (await rosters.GetAsync($"{uid}@localhost")).Items.Select(c => c.Contact).Order(StringComparer.Ordinal);
            Assert.Equal(i < 5 ? uids.Take(5).Where(u => u != uid).Select(u => $"{u}@localhost").Order(StringComparer.Ordinal) : [], contacts);
        }
        Assert.Equal(["bob@localhost", "zoe@localhost"], (await rosters.GetAsync("alice@localhost")).Items.Select(c => c.Contact).Order(StringComparer.Ordinal));

        // What a member's sign-in sends: the small team, not ten thousand people.
        await using var member = await SlapdForNodes.SignInAsync(node, "user3", "user3-pw");
        await member.SendAsync("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
        var roster = await member.ReceiveAsync(e => e.GetAttribute("id") == "roster1");
        Assert.Equal(["user0@localhost", "user1@localhost", "user2@localhost", "user4@localhost"],
            roster.Child("query", Ns.Roster)!.Children().Select(c => c.GetAttribute("jid")).Order(StringComparer.Ordinal));
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
