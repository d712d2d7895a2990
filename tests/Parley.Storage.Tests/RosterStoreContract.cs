using System.Runtime.CompilerServices;

namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IRosterStore"/> must do.</summary>
public abstract class RosterStoreContract : StorageContract
{
    private const string Alice = "alice@example.org";
    private const string Bob = "bob@example.org";

    private IRosterStore Rosters => Storage.Rosters;

    [Fact]
    public async Task A_user_without_a_roster_has_an_empty_one_at_version_0()
    {
        var roster = await Rosters.GetAsync(Alice);

        Assert.Equal(0, roster.Version);
        Assert.Empty(roster.Items);
        Assert.Null(await Rosters.GetItemAsync(Alice, "carol@example.org"));
        Assert.Equal(0, await Rosters.CountAsync(Alice));
        Assert.Empty(await Rosters.GetPendingAsync(Alice));
    }

    [Fact]
    public async Task A_set_item_round_trips_every_field()
    {
        var item = new RosterItem("carol@example.org", "Carol C.", Subscription.To, AskSubscribe: true, PreApproved: true, ["Friends", "Work"]);

        var version = await Rosters.SetItemAsync(Alice, item);

        Assert.Equal(1, version);
        RosterAssert.Equal(item, await Rosters.GetItemAsync(Alice, "carol@example.org"));
        var roster = await Rosters.GetAsync(Alice);
        Assert.Equal(1, roster.Version);
        RosterAssert.Equal([item], roster.Items);
        Assert.Equal(1, await Rosters.CountAsync(Alice));
    }

    [Theory]
    [InlineData(Subscription.None, false, false)]
    [InlineData(Subscription.To, false, true)]
    [InlineData(Subscription.From, true, false)]
    [InlineData(Subscription.Both, true, true)]
    public async Task Every_subscription_state_and_flag_round_trips(Subscription subscription, bool askSubscribe, bool preApproved)
    {
        var item = new RosterItem("carol@example.org", null, subscription, askSubscribe, preApproved, []);

        await Rosters.SetItemAsync(Alice, item);

        RosterAssert.Equal(item, await Rosters.GetItemAsync(Alice, "carol@example.org"));
    }

    [Fact]
    public async Task A_missing_name_stays_distinct_from_an_empty_one()
    {
        await Rosters.SetItemAsync(Alice, new RosterItem("carol@example.org", null, Subscription.None, false, false, []));
        await Rosters.SetItemAsync(Alice, new RosterItem("dave@example.org", "", Subscription.None, false, false, []));

        Assert.Null((await Rosters.GetItemAsync(Alice, "carol@example.org"))!.Name);
        Assert.Equal("", (await Rosters.GetItemAsync(Alice, "dave@example.org"))!.Name);
    }

    [Fact]
    public async Task Groups_round_trip_in_the_order_given_whatever_their_characters()
    {
        IReadOnlyList<string> groups = ["Zürich Büro", "同事", "Familie 👪", "quotes \" and \\ backslash", "line\nbreak", "<b>&amp;</b>", "Alpha"];
        var item = new RosterItem("carol@example.org", "Ça va", Subscription.Both, false, false, groups);

        await Rosters.SetItemAsync(Alice, item);

        Assert.Equal(groups, (await Rosters.GetItemAsync(Alice, "carol@example.org"))!.Groups);
        Assert.Equal(groups, Assert.Single((await Rosters.GetAsync(Alice)).Items).Groups);
    }

    [Fact]
    public async Task Setting_an_existing_contact_replaces_the_whole_item()
    {
        await Rosters.SetItemAsync(Alice, new RosterItem("carol@example.org", "Carol", Subscription.Both, true, true, ["Friends", "Work"]));
        var replacement = new RosterItem("carol@example.org", null, Subscription.From, false, false, ["Work"]);

        await Rosters.SetItemAsync(Alice, replacement);

        RosterAssert.Equal(replacement, await Rosters.GetItemAsync(Alice, "carol@example.org"));
        Assert.Equal(1, await Rosters.CountAsync(Alice));
    }

    [Fact]
    public async Task The_version_grows_with_every_set_and_remove_but_not_with_a_remove_of_nothing()
    {
        Assert.Equal(1, await Rosters.SetItemAsync(Alice, Item("carol@example.org")));
        Assert.Equal(2, await Rosters.SetItemAsync(Alice, Item("dave@example.org")));
        Assert.Equal(3, await Rosters.SetItemAsync(Alice, Item("carol@example.org") with { Name = "Carol" }));
        Assert.Equal(4, await Rosters.RemoveItemAsync(Alice, "carol@example.org"));

        Assert.Null(await Rosters.RemoveItemAsync(Alice, "carol@example.org"));
        Assert.Null(await Rosters.RemoveItemAsync(Alice, "nobody@example.org"));

        var roster = await Rosters.GetAsync(Alice);
        Assert.Equal(4, roster.Version);
        Assert.Equal(["dave@example.org"], roster.Items.Select(i => i.Contact));
        Assert.Null(await Rosters.GetItemAsync(Alice, "carol@example.org"));
    }

    [Fact]
    public async Task Removing_the_last_item_keeps_the_version_growing()
    {
        await Rosters.SetItemAsync(Alice, Item("carol@example.org"));

        Assert.Equal(2, await Rosters.RemoveItemAsync(Alice, "carol@example.org"));

        var roster = await Rosters.GetAsync(Alice);
        Assert.Equal(2, roster.Version);
        Assert.Empty(roster.Items);
        Assert.Equal(3, await Rosters.SetItemAsync(Alice, Item("carol@example.org")));
    }

    [Fact]
    public async Task A_remove_of_nothing_on_a_roster_never_changed_leaves_version_0()
    {
        Assert.Null(await Rosters.RemoveItemAsync(Alice, "carol@example.org"));

        Assert.Equal(0, (await Rosters.GetAsync(Alice)).Version);
    }

    [Fact]
    public async Task Concurrent_changes_each_get_their_own_version()
    {
        var sets = Enumerable.Range(0, 20).Select(i => Task.Run(() => Rosters.SetItemAsync(Alice, Item($"contact{i:D2}@example.org"))));

        var versions = await Task.WhenAll(sets);

        Assert.Equal(Enumerable.Range(1, 20).Select(v => (long)v), versions.Order());
        var roster = await Rosters.GetAsync(Alice);
        Assert.Equal(20, roster.Version);
        Assert.Equal(20, roster.Items.Count);
    }

    [Fact]
    public async Task Items_are_ordered_by_contact()
    {
        string[] contacts = ["dave@b.example", "b.example", "carol@a.example", "zed@a.example", "alice@b.example", "gateway.example"];
        foreach (var contact in contacts)
        {
            await Rosters.SetItemAsync(Alice, Item(contact));
        }

        var roster = await Rosters.GetAsync(Alice);

        Assert.Equal(contacts.Order(StringComparer.Ordinal), roster.Items.Select(i => i.Contact));
    }

    [Fact]
    public async Task A_domain_jid_is_a_valid_contact_for_gateways()
    {
        await Rosters.SetItemAsync(Alice, Item("irc.example.org"));
        await Rosters.SetPendingAsync(Alice, "irc.example.org", "<presence type='subscribe'/>");

        Assert.NotNull(await Rosters.GetItemAsync(Alice, "irc.example.org"));
        Assert.Equal("irc.example.org", Assert.Single(await Rosters.GetPendingAsync(Alice)).Contact);
    }

    [Fact]
    public async Task One_users_roster_is_invisible_to_another()
    {
        await Rosters.SetItemAsync(Alice, Item("carol@example.org") with { Name = "Alice's Carol" });
        await Rosters.SetItemAsync(Alice, Item("dave@example.org"));
        await Rosters.SetItemAsync(Bob, Item("carol@example.org") with { Name = "Bob's Carol" });

        Assert.Equal("Bob's Carol", (await Rosters.GetItemAsync(Bob, "carol@example.org"))!.Name);
        Assert.Null(await Rosters.GetItemAsync(Bob, "dave@example.org"));
        Assert.Null(await Rosters.RemoveItemAsync(Bob, "dave@example.org"));
        var bobs = await Rosters.GetAsync(Bob);
        Assert.Equal(1, bobs.Version);
        Assert.Equal(["carol@example.org"], bobs.Items.Select(i => i.Contact));
        Assert.Equal(1, await Rosters.CountAsync(Bob));
        Assert.Equal(2, await Rosters.CountAsync(Alice));
        Assert.Equal(2, (await Rosters.GetAsync(Alice)).Version);
        Assert.Equal("Alice's Carol", (await Rosters.GetItemAsync(Alice, "carol@example.org"))!.Name);
    }

    [Fact]
    public async Task Pending_requests_are_stored_replaced_listed_by_contact_and_removed()
    {
        await Rosters.SetPendingAsync(Alice, "dave@example.org", "<presence type='subscribe' id='1'/>");
        await Rosters.SetPendingAsync(Alice, "carol@example.org", "<presence type='subscribe' id='2'/>");
        await Rosters.SetPendingAsync(Alice, "dave@example.org", "<presence type='subscribe' id='3'><status>It's Dave</status></presence>");

        Assert.Equal(
            [
                new PendingSubscription("carol@example.org", "<presence type='subscribe' id='2'/>"),
                new PendingSubscription("dave@example.org", "<presence type='subscribe' id='3'><status>It's Dave</status></presence>"),
            ],
            await Rosters.GetPendingAsync(Alice));

        Assert.True(await Rosters.RemovePendingAsync(Alice, "dave@example.org"));
        Assert.False(await Rosters.RemovePendingAsync(Alice, "dave@example.org"));
        Assert.Equal(["carol@example.org"], (await Rosters.GetPendingAsync(Alice)).Select(p => p.Contact));
    }

    [Fact]
    public async Task Pending_requests_are_per_user_and_do_not_touch_the_roster()
    {
        await Rosters.SetPendingAsync(Alice, "carol@example.org", "<presence type='subscribe'/>");

        Assert.Empty(await Rosters.GetPendingAsync(Bob));
        Assert.False(await Rosters.RemovePendingAsync(Bob, "carol@example.org"));
        Assert.Single(await Rosters.GetPendingAsync(Alice));
        var roster = await Rosters.GetAsync(Alice);
        Assert.Equal(0, roster.Version);
        Assert.Empty(roster.Items);
    }

    [Fact]
    public async Task Importing_10000_items_and_exporting_them_gives_them_back_in_user_then_contact_order()
    {
        // Interleaved users, so every batch touches every user, and two domains, so the domain export has something to skip.
        var users = Enumerable.Range(0, 10).Select(u => $"user{u}@{(u % 2 == 0 ? "a" : "b")}.example").ToArray();
        var imported = Enumerable.Range(0, 1000)
            .SelectMany(c => users.Select(user => (User: user, Item: new RosterItem(
                $"contact{c:D4}@example.org", c % 3 == 0 ? null : $"Contact {c}", (Subscription)(c % 4), c % 5 == 0, c % 7 == 0, c % 2 == 0 ? ["Grüppe", $"g{c % 10}"] : []))))
            .ToArray();

        Assert.Equal(10_000, await Rosters.ImportAsync(ToAsync(imported)));

        var expected = imported.OrderBy(r => r.User, StringComparer.Ordinal).ThenBy(r => r.Item.Contact, StringComparer.Ordinal).ToList();
        RosterAssert.Equal(expected, await ToListAsync(Rosters.ExportAsync(null)));
        RosterAssert.Equal(expected.Where(r => r.User.EndsWith("@a.example", StringComparison.Ordinal)).ToList(), await ToListAsync(Rosters.ExportAsync("a.example")));
        foreach (var user in users)
        {
            Assert.Equal(1000, await Rosters.CountAsync(user));
            Assert.True((await Rosters.GetAsync(user)).Version > 0);
        }
    }

    [Fact]
    public async Task Importing_replaces_existing_items_and_raises_the_version()
    {
        await Rosters.SetItemAsync(Alice, Item("carol@example.org") with { Name = "Old" });
        var replacement = new RosterItem("carol@example.org", "New", Subscription.Both, false, false, ["Imported"]);

        Assert.Equal(2, await Rosters.ImportAsync(ToAsync([(Alice, replacement), (Alice, Item("dave@example.org"))])));

        RosterAssert.Equal(replacement, await Rosters.GetItemAsync(Alice, "carol@example.org"));
        var roster = await Rosters.GetAsync(Alice);
        Assert.True(roster.Version > 1);
        Assert.Equal(2, roster.Items.Count);
    }

    [Fact]
    public async Task Importing_nothing_writes_nothing_and_an_empty_store_exports_nothing()
    {
        Assert.Equal(0, await Rosters.ImportAsync(ToAsync(Array.Empty<(string, RosterItem)>())));

        Assert.Empty(await ToListAsync(Rosters.ExportAsync(null)));
        Assert.Empty(await ToListAsync(Rosters.ExportAsync("example.org")));
    }

    [Fact]
    public async Task Exporting_a_domain_shows_only_users_of_exactly_that_domain()
    {
        await Rosters.SetItemAsync("alice@example.org", Item("x@example.net"));
        await Rosters.SetItemAsync("bob@sub.example.org", Item("x@example.net"));
        await Rosters.SetItemAsync("carol@example.organic", Item("x@example.net"));

        Assert.Equal(["alice@example.org"], (await ToListAsync(Rosters.ExportAsync("example.org"))).Select(r => r.User));
    }

    [Fact]
    public async Task An_import_with_a_bad_item_fails_naming_it()
    {
        var badUser = await Assert.ThrowsAsync<ArgumentException>(() =>
            Rosters.ImportAsync(ToAsync([(Alice, Item("carol@example.org")), ("not-a-jid", Item("dave@example.org"))])));
        var badContact = await Assert.ThrowsAsync<ArgumentException>(() =>
            Rosters.ImportAsync(ToAsync([(Alice, Item("carol@example.org/phone"))])));

        Assert.Contains("'not-a-jid' is not a bare account JID", badUser.Message);
        Assert.Equal("items", badUser.ParamName);
        Assert.Contains("'carol@example.org/phone' is not a bare JID", badContact.Message);
        Assert.Equal("items", badContact.ParamName);
    }

    [Fact]
    public async Task An_import_canceled_midway_stops_and_the_store_stays_usable()
    {
        using var cancellation = new CancellationTokenSource();
        var produced = 0;

        async IAsyncEnumerable<(string, RosterItem)> CancelAfter1500([EnumeratorCancellation] CancellationToken token = default)
        {
            for (var i = 0; i < 5000; i++)
            {
                if (i == 1500)
                {
                    await cancellation.CancelAsync();
                }

                token.ThrowIfCancellationRequested();
                produced++;
                yield return (Alice, Item($"contact{i:D4}@example.org"));
            }
        }

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.ImportAsync(CancelAfter1500(), cancellation.Token));

        Assert.Equal(1500, produced);
        Assert.InRange(await Rosters.CountAsync(Alice), 0, 1500);
        var before = (await Rosters.GetAsync(Alice)).Version;
        Assert.Equal(before + 1, await Rosters.SetItemAsync(Alice, Item("after@example.org")));
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_changes_nothing()
    {
        await Rosters.SetItemAsync(Alice, Item("carol@example.org"));
        await Rosters.SetPendingAsync(Alice, "dave@example.org", "<presence type='subscribe'/>");
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.GetAsync(Alice, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.GetItemAsync(Alice, "carol@example.org", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.SetItemAsync(Alice, Item("erin@example.org"), token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.RemoveItemAsync(Alice, "carol@example.org", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.CountAsync(Alice, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.SetPendingAsync(Alice, "erin@example.org", "<presence/>", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.RemovePendingAsync(Alice, "dave@example.org", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.GetPendingAsync(Alice, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Rosters.ImportAsync(ToAsync([(Alice, Item("erin@example.org"))]), token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ToListAsync(Rosters.ExportAsync(null, token)));

        var roster = await Rosters.GetAsync(Alice);
        Assert.Equal(1, roster.Version);
        Assert.Equal(["carol@example.org"], roster.Items.Select(i => i.Contact));
        Assert.Equal(["dave@example.org"], (await Rosters.GetPendingAsync(Alice)).Select(p => p.Contact));
    }

    [Theory]
    [InlineData("")]
    [InlineData("example.org")]
    [InlineData("alice@example.org/phone")]
    [InlineData("a@b@example.org")]
    public async Task A_user_that_is_not_a_bare_account_jid_is_refused(string badUser)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Rosters.GetAsync(badUser));
        Assert.Equal($"'{badUser}' is not a bare account JID of the form localpart@domain. (Parameter 'user')", error.Message);

        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.GetItemAsync(badUser, "carol@example.org"));
        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.SetItemAsync(badUser, Item("carol@example.org")));
        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.RemoveItemAsync(badUser, "carol@example.org"));
        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.CountAsync(badUser));
        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.SetPendingAsync(badUser, "carol@example.org", "<presence/>"));
        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.RemovePendingAsync(badUser, "carol@example.org"));
        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.GetPendingAsync(badUser));
        Assert.Empty(await ToListAsync(Rosters.ExportAsync(null)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("@example.org")]
    [InlineData("carol@")]
    [InlineData("carol@example.org/phone")]
    [InlineData("example.org/service")]
    [InlineData("a@b@example.org")]
    public async Task A_contact_that_is_not_a_bare_jid_is_refused(string badContact)
    {
        var onSet = await Assert.ThrowsAsync<ArgumentException>(() => Rosters.SetItemAsync(Alice, Item(badContact)));
        Assert.Equal($"'{badContact}' is not a bare JID of the form localpart@domain or domain. (Parameter 'item')", onSet.Message);
        var onGet = await Assert.ThrowsAsync<ArgumentException>(() => Rosters.GetItemAsync(Alice, badContact));
        Assert.Equal("contact", onGet.ParamName);

        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.RemoveItemAsync(Alice, badContact));
        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.SetPendingAsync(Alice, badContact, "<presence/>"));
        await Assert.ThrowsAsync<ArgumentException>(() => Rosters.RemovePendingAsync(Alice, badContact));
        Assert.Equal(0, (await Rosters.GetAsync(Alice)).Version);
        Assert.Empty(await Rosters.GetPendingAsync(Alice));
    }

    public static TheoryData<string, RosterItem> MalformedItems() => new()
    {
        { "The roster item for 'carol@example.org' has subscription 7, which is not one of None, To, From, Both.", Item("carol@example.org") with { Subscription = (Subscription)7 } },
        { "The roster item for 'carol@example.org' has no group list; give an empty list for no groups.", Item("carol@example.org") with { Groups = null! } },
        { "The roster item for 'carol@example.org' has an empty group name.", Item("carol@example.org") with { Groups = ["Friends", ""] } },
        { "The roster item for 'carol@example.org' has an empty group name.", Item("carol@example.org") with { Groups = [null!] } },
        { "The roster item for 'carol@example.org' lists the group 'Friends' twice.", Item("carol@example.org") with { Groups = ["Friends", "Work", "Friends"] } },
    };

    [Theory]
    [MemberData(nameof(MalformedItems))]
    public async Task A_malformed_item_is_refused_with_a_clear_error_and_nothing_changes(string expectedMessage, RosterItem item)
    {
        var onSet = await Assert.ThrowsAsync<ArgumentException>(() => Rosters.SetItemAsync(Alice, item));
        var onImport = await Assert.ThrowsAsync<ArgumentException>(() => Rosters.ImportAsync(ToAsync([(Alice, item)])));

        Assert.Equal($"{expectedMessage} (Parameter 'item')", onSet.Message);
        Assert.Equal($"{expectedMessage} (Parameter 'items')", onImport.Message);
        Assert.Equal(0, (await Rosters.GetAsync(Alice)).Version);
    }

    [Fact]
    public async Task Nulls_and_empty_xml_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(() => Rosters.GetAsync(null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Rosters.SetItemAsync(Alice, null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Rosters.GetItemAsync(Alice, null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Rosters.SetPendingAsync(Alice, "carol@example.org", null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Rosters.ImportAsync(null!));
        var emptyXml = await Assert.ThrowsAsync<ArgumentException>(() => Rosters.SetPendingAsync(Alice, "carol@example.org", " "));

        Assert.Equal("The XML is empty. (Parameter 'stanzaXml')", emptyXml.Message);
        Assert.Empty(await Rosters.GetPendingAsync(Alice));
    }

    [Fact]
    public void A_domain_filter_that_is_not_a_domain_is_refused_when_the_export_is_asked_for()
    {
        var error = Assert.Throws<ArgumentException>(() => Rosters.ExportAsync("alice@example.org"));

        Assert.Contains("'alice@example.org' is not a domain", error.Message);
        Assert.Equal("domain", error.ParamName);
    }

    private static RosterItem Item(string contact) => new(contact, null, Subscription.None, false, false, []);
}
