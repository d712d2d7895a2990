using System.Runtime.CompilerServices;
using Parley.Protocol.Sasl;

namespace Parley.Storage.Tests;

/// <summary>
/// What every <see cref="IAccountStore"/> must do. Each implementation subclasses this with a fresh, empty database per test.
/// </summary>
public abstract class AccountStoreContract : StorageContract
{
    private IAccountStore Accounts => Storage.Accounts;

    [Fact]
    public async Task A_created_account_exists_and_returns_its_credentials()
    {
        var credentials = TestCredentials.Random();

        Assert.Equal(CreateAccountResult.Created, await Accounts.CreateAsync("alice@example.org", credentials));

        Assert.True(await Accounts.ExistsAsync("alice@example.org"));
        TestCredentials.AssertSame(credentials, await Accounts.GetCredentialsAsync("alice@example.org"));
    }

    [Fact]
    public async Task A_missing_account_does_not_exist_and_has_no_credentials()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());

        Assert.False(await Accounts.ExistsAsync("bob@example.org"));
        Assert.Null(await Accounts.GetCredentialsAsync("bob@example.org"));
    }

    [Fact]
    public async Task A_disabled_account_keeps_its_credentials_marked_disabled_until_enabled_again()
    {
        var credentials = TestCredentials.Random();
        await Accounts.CreateAsync("alice@example.org", credentials);
        await Accounts.CreateAsync("bob@example.org", TestCredentials.Random());

        Assert.True(await Accounts.SetDisabledAsync("alice@example.org", disabled: true));

        var disabled = await Accounts.GetCredentialsAsync("alice@example.org");
        TestCredentials.AssertSame(credentials, disabled);
        Assert.True(disabled!.Disabled);
        Assert.False((await Accounts.GetCredentialsAsync("bob@example.org"))!.Disabled);
        Assert.Equal([("alice@example.org", true), ("bob@example.org", false)], (await Accounts.ListAsync(null, 0, 10)).Select(a => (a.Jid, a.Disabled)));

        Assert.True(await Accounts.SetDisabledAsync("alice@example.org", disabled: false));
        Assert.False((await Accounts.GetCredentialsAsync("alice@example.org"))!.Disabled);
    }

    [Fact]
    public async Task Disabling_a_missing_account_reports_it_and_creates_nothing()
    {
        Assert.False(await Accounts.SetDisabledAsync("nobody@example.org", disabled: true));
        Assert.Equal(0, await Accounts.CountAsync(null));
    }

    [Fact]
    public async Task Jids_are_compared_exactly_as_given()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());

        Assert.False(await Accounts.ExistsAsync("Alice@example.org"));
        Assert.False(await Accounts.ExistsAsync("alice@example.org.evil"));
    }

    [Fact]
    public async Task Creating_an_existing_account_reports_it_and_keeps_the_original_credentials()
    {
        var original = TestCredentials.Random();
        await Accounts.CreateAsync("alice@example.org", original);

        Assert.Equal(CreateAccountResult.AlreadyExists, await Accounts.CreateAsync("alice@example.org", TestCredentials.Random()));

        TestCredentials.AssertSame(original, await Accounts.GetCredentialsAsync("alice@example.org"));
        Assert.Equal(1, await Accounts.CountAsync(null));
    }

    [Fact]
    public async Task Concurrent_creates_of_one_account_create_it_once()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            Task.Run(() => Accounts.CreateAsync("alice@example.org", TestCredentials.Random()))));

        Assert.Single(results, r => r == CreateAccountResult.Created);
        Assert.Equal(15, results.Count(r => r == CreateAccountResult.AlreadyExists));
    }

    [Fact]
    public async Task Setting_credentials_replaces_them_and_only_for_that_account()
    {
        var bobs = TestCredentials.Random();
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Accounts.CreateAsync("bob@example.org", bobs);
        var replacement = TestCredentials.Random();

        Assert.True(await Accounts.SetCredentialsAsync("alice@example.org", replacement));

        TestCredentials.AssertSame(replacement, await Accounts.GetCredentialsAsync("alice@example.org"));
        TestCredentials.AssertSame(bobs, await Accounts.GetCredentialsAsync("bob@example.org"));
    }

    [Fact]
    public async Task Setting_credentials_of_a_missing_account_returns_false_and_creates_nothing()
    {
        Assert.False(await Accounts.SetCredentialsAsync("alice@example.org", TestCredentials.Random()));

        Assert.False(await Accounts.ExistsAsync("alice@example.org"));
    }

    [Fact]
    public async Task Deleting_an_account_removes_it_and_only_it()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Accounts.CreateAsync("bob@example.org", TestCredentials.Random());

        Assert.True(await Accounts.DeleteAsync("alice@example.org", AccountReferences.None));

        Assert.False(await Accounts.ExistsAsync("alice@example.org"));
        Assert.Null(await Accounts.GetCredentialsAsync("alice@example.org"));
        Assert.True(await Accounts.ExistsAsync("bob@example.org"));
    }

    [Fact]
    public async Task Deleting_an_account_deletes_all_of_its_users_data_and_nobody_elses()
    {
        string[] users = ["alice@example.org", "bob@example.org"];
        foreach (var user in users)
        {
            await Accounts.CreateAsync(user, TestCredentials.Random());
            await GiveDataOfEveryKindAsync(user);
        }

        Assert.True(await Accounts.DeleteAsync("alice@example.org", AccountReferences.None));

        await AssertHasNoDataAsync("alice@example.org");
        var bobs = await Storage.Rosters.GetAsync("bob@example.org");
        Assert.Equal(1, bobs.Version);
        Assert.Equal(["carol@example.org"], bobs.Items.Select(i => i.Contact));
        Assert.Single(await Storage.Rosters.GetPendingAsync("bob@example.org"));
        Assert.Equal(1, await Storage.Offline.CountAsync("bob@example.org"));
        Assert.Equal(["mallory@evil.example"], await Storage.Blocklists.GetAsync("bob@example.org"));
        Assert.NotNull(await Storage.Documents.GetAsync("bob@example.org", "vcard", ""));
    }

    [Fact]
    public async Task Deleting_an_account_ends_other_users_subscriptions_to_it_but_keeps_their_items()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Storage.Rosters.SetItemAsync("bob@example.org", new RosterItem("alice@example.org", "Alice", Subscription.Both, false, false, ["Work"]));
        await Storage.Rosters.SetItemAsync("bob@example.org", new RosterItem("carol@example.org", "Carol", Subscription.Both, false, false, []));
        await Storage.Rosters.SetItemAsync("carol@example.org", new RosterItem("alice@example.org", null, Subscription.None, true, true, []));
        await Storage.Rosters.SetItemAsync("dave@example.org", new RosterItem("alice@example.org", null, Subscription.None, false, false, []));
        await Storage.Rosters.SetPendingAsync("dave@example.org", "alice@example.org", "<presence type='subscribe'/>");

        Assert.True(await Accounts.DeleteAsync("alice@example.org", AccountReferences.Subscriptions));

        var bobs = await Storage.Rosters.GetAsync("bob@example.org");
        Assert.Equal(3, bobs.Version);
        var alice = bobs.Items[0];
        Assert.Equal(("alice@example.org", "Alice", Subscription.None), (alice.Contact, alice.Name, alice.Subscription));
        Assert.Equal(["Work"], alice.Groups);
        Assert.Equal(Subscription.Both, bobs.Items[1].Subscription);
        var carols = await Storage.Rosters.GetAsync("carol@example.org");
        Assert.Equal(2, carols.Version);
        Assert.False(carols.Items[0].AskSubscribe);
        Assert.False(carols.Items[0].PreApproved);
        // Dave's item had nothing to end: its version stays; Alice's request to him is gone.
        Assert.Equal(1, (await Storage.Rosters.GetAsync("dave@example.org")).Version);
        Assert.Empty(await Storage.Rosters.GetPendingAsync("dave@example.org"));
    }

    [Fact]
    public async Task Deleting_an_account_removes_its_room_affiliations_and_nobody_elses()
    {
        const string Room = "lobby@conference.example.org";
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Storage.Rooms.SaveAsync(new StoredRoom(Room, "<x/>", "", "", DateTimeOffset.UtcNow));
        await Storage.Rooms.SetAffiliationAsync(Room, new RoomAffiliation("alice@example.org", "owner", "Alice"));
        await Storage.Rooms.SetAffiliationAsync(Room, new RoomAffiliation("bob@example.org", "owner"));

        Assert.True(await Accounts.DeleteAsync("alice@example.org", AccountReferences.RoomAffiliations));

        Assert.Equal(["bob@example.org"], (await Storage.Rooms.GetAffiliationsAsync(Room)).Select(a => a.Jid));
    }

    [Fact]
    public async Task Deleting_an_account_without_its_references_leaves_other_users_subscriptions_and_affiliations()
    {
        const string Room = "lobby@conference.example.org";
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Storage.Rosters.SetItemAsync("bob@example.org", new RosterItem("alice@example.org", "Alice", Subscription.Both, false, false, []));
        await Storage.Rosters.SetPendingAsync("bob@example.org", "alice@example.org", "<presence type='subscribe'/>");
        await Storage.Rooms.SaveAsync(new StoredRoom(Room, "<x/>", "", "", DateTimeOffset.UtcNow));
        await Storage.Rooms.SetAffiliationAsync(Room, new RoomAffiliation("alice@example.org", "owner"));

        Assert.True(await Accounts.DeleteAsync("alice@example.org", AccountReferences.None));

        var bobs = await Storage.Rosters.GetAsync("bob@example.org");
        Assert.Equal((1, Subscription.Both), (bobs.Version, bobs.Items.Single().Subscription));
        Assert.Single(await Storage.Rosters.GetPendingAsync("bob@example.org"));
        Assert.Equal(["alice@example.org"], (await Storage.Rooms.GetAffiliationsAsync(Room)).Select(a => a.Jid));
    }

    [Fact]
    public async Task A_recreated_account_starts_with_no_data_and_roster_version_0()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await GiveDataOfEveryKindAsync("alice@example.org");
        await Accounts.DeleteAsync("alice@example.org", AccountReferences.None);

        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());

        await AssertHasNoDataAsync("alice@example.org");
    }

    [Fact]
    public async Task Deleting_a_missing_account_leaves_data_stored_under_that_jid()
    {
        // Users authenticated elsewhere (LDAP) have rosters and messages but no account in this store.
        await GiveDataOfEveryKindAsync("ldapuser@example.org");

        Assert.False(await Accounts.DeleteAsync("ldapuser@example.org", AccountReferences.None));

        Assert.Equal(1, (await Storage.Rosters.GetAsync("ldapuser@example.org")).Version);
        Assert.Equal(1, await Storage.Offline.CountAsync("ldapuser@example.org"));
    }

    private async Task GiveDataOfEveryKindAsync(string user)
    {
        await Storage.Rosters.SetItemAsync(user, new RosterItem("carol@example.org", "Carol", Subscription.Both, false, false, ["Friends"]));
        await Storage.Rosters.SetPendingAsync(user, "dave@example.org", "<presence type='subscribe'/>");
        await Storage.Offline.StoreAsync(user, "<message><body>hi</body></message>", DateTimeOffset.UtcNow, 100);
        await Storage.Blocklists.AddAsync(user, ["mallory@evil.example"]);
        await Storage.Documents.SetAsync(user, "vcard", "", "<vCard xmlns='vcard-temp'/>");
    }

    private async Task AssertHasNoDataAsync(string user)
    {
        var roster = await Storage.Rosters.GetAsync(user);
        Assert.Equal(0, roster.Version);
        Assert.Empty(roster.Items);
        Assert.Empty(await Storage.Rosters.GetPendingAsync(user));
        Assert.Empty(await Storage.Offline.GetAsync(user));
        Assert.Empty(await Storage.Blocklists.GetAsync(user));
        Assert.Null(await Storage.Documents.GetAsync(user, "vcard", ""));
    }

    [Fact]
    public async Task Deleting_a_missing_account_returns_false()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        Assert.True(await Accounts.DeleteAsync("alice@example.org", AccountReferences.None));

        Assert.False(await Accounts.DeleteAsync("alice@example.org", AccountReferences.None));
        Assert.False(await Accounts.DeleteAsync("nobody@example.org", AccountReferences.None));
    }

    [Fact]
    public async Task A_deleted_account_can_be_created_again()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Accounts.DeleteAsync("alice@example.org", AccountReferences.None);
        var fresh = TestCredentials.Random();

        Assert.Equal(CreateAccountResult.Created, await Accounts.CreateAsync("alice@example.org", fresh));
        TestCredentials.AssertSame(fresh, await Accounts.GetCredentialsAsync("alice@example.org"));
    }

    [Fact]
    public async Task Credential_bytes_round_trip_exactly()
    {
        var everyByte = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        var credentials = new AccountCredentials(
            new ScramCredentials(ScramHash.Sha1, everyByte, int.MaxValue, new byte[20], Enumerable.Repeat((byte)0xFF, 20).ToArray()),
            new ScramCredentials(ScramHash.Sha256, [0x00], 1, everyByte[..32], everyByte[^32..]));

        await Accounts.CreateAsync("alice@example.org", credentials);

        TestCredentials.AssertSame(credentials, await Accounts.GetCredentialsAsync("alice@example.org"));
    }

    [Fact]
    public async Task Non_ascii_jids_round_trip()
    {
        await Accounts.CreateAsync("jürgen@bücher.example", TestCredentials.Random());

        Assert.True(await Accounts.ExistsAsync("jürgen@bücher.example"));
        Assert.Equal("jürgen@bücher.example", Assert.Single(await Accounts.ListAsync("bücher.example", 0, 10)).Jid);
    }

    [Fact]
    public async Task Listing_is_ordered_by_jid_and_pages_through_all_accounts()
    {
        string[] jids = ["dave@b.example", "alice@b.example", "carol@a.example", "bob@c.example", "erin@a.example"];
        foreach (var jid in jids)
        {
            await Accounts.CreateAsync(jid, TestCredentials.Random());
        }

        var firstPage = await Accounts.ListAsync(null, 0, 2);
        var secondPage = await Accounts.ListAsync(null, 2, 2);
        var lastPage = await Accounts.ListAsync(null, 4, 2);
        var pastTheEnd = await Accounts.ListAsync(null, 5, 2);

        Assert.Equal(["alice@b.example", "bob@c.example"], firstPage.Select(a => a.Jid));
        Assert.Equal(["carol@a.example", "dave@b.example"], secondPage.Select(a => a.Jid));
        Assert.Equal(["erin@a.example"], lastPage.Select(a => a.Jid));
        Assert.Empty(pastTheEnd);
        Assert.Empty(await Accounts.ListAsync(null, 0, 0));
    }

    [Fact]
    public async Task Listing_and_counting_by_domain_see_only_that_domain()
    {
        string[] jids = ["bob@example.org", "alice@example.org", "carol@sub.example.org", "dave@example.organic", "erin@xample.org"];
        foreach (var jid in jids)
        {
            await Accounts.CreateAsync(jid, TestCredentials.Random());
        }

        Assert.Equal(["alice@example.org", "bob@example.org"], (await Accounts.ListAsync("example.org", 0, 10)).Select(a => a.Jid));
        Assert.Equal(["bob@example.org"], (await Accounts.ListAsync("example.org", 1, 10)).Select(a => a.Jid));
        Assert.Empty(await Accounts.ListAsync("nowhere.example", 0, 10));
        Assert.Equal(2, await Accounts.CountAsync("example.org"));
        Assert.Equal(1, await Accounts.CountAsync("sub.example.org"));
        Assert.Equal(0, await Accounts.CountAsync("nowhere.example"));
        Assert.Equal(5, await Accounts.CountAsync(null));
    }

    [Fact]
    public async Task Listing_shows_when_each_account_was_created()
    {
        var before = DateTimeOffset.UtcNow.AddMilliseconds(-1);
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        var after = DateTimeOffset.UtcNow.AddMilliseconds(1);

        var createdAt = Assert.Single(await Accounts.ListAsync(null, 0, 10)).CreatedAt;

        Assert.InRange(createdAt, before, after);
        Assert.Equal(TimeSpan.Zero, createdAt.Offset);
    }

    [Fact]
    public async Task Counting_an_empty_store_gives_zero()
    {
        Assert.Equal(0, await Accounts.CountAsync(null));
        Assert.Empty(await Accounts.ListAsync(null, 0, 100));
    }

    [Fact]
    public async Task Importing_5000_accounts_creates_the_new_ones_and_leaves_existing_ones_untouched()
    {
        var existing = new Dictionary<string, AccountCredentials>
        {
            ["user00007@example.org"] = TestCredentials.Random(),
            ["user02500@example.org"] = TestCredentials.Random(),
            ["user04999@example.org"] = TestCredentials.Random(),
        };
        foreach (var (jid, credentials) in existing)
        {
            await Accounts.CreateAsync(jid, credentials);
        }

        var imported = Enumerable.Range(0, 5000).Select(i => ($"user{i:D5}@example.org", TestCredentials.Random())).ToArray();

        var result = await Accounts.ImportAsync(ToAsync(imported));

        Assert.Equal(new ImportResult(4997, 3), result);
        Assert.Equal(5000, await Accounts.CountAsync("example.org"));
        foreach (var (jid, credentials) in existing)
        {
            TestCredentials.AssertSame(credentials, await Accounts.GetCredentialsAsync(jid));
        }

        foreach (var index in (int[])[0, 999, 1000, 1001, 4998])
        {
            TestCredentials.AssertSame(imported[index].Item2, await Accounts.GetCredentialsAsync(imported[index].Item1));
        }
    }

    [Fact]
    public async Task An_account_repeated_within_an_import_is_created_once_with_its_first_credentials()
    {
        var first = TestCredentials.Random();

        var result = await Accounts.ImportAsync(ToAsync([("alice@example.org", first), ("bob@example.org", TestCredentials.Random()), ("alice@example.org", TestCredentials.Random())]));

        Assert.Equal(new ImportResult(2, 1), result);
        TestCredentials.AssertSame(first, await Accounts.GetCredentialsAsync("alice@example.org"));
    }

    [Fact]
    public async Task Importing_nothing_creates_nothing()
    {
        Assert.Equal(new ImportResult(0, 0), await Accounts.ImportAsync(ToAsync([])));
    }

    [Fact]
    public async Task An_import_with_a_bad_jid_fails_naming_it()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            Accounts.ImportAsync(ToAsync([("alice@example.org", TestCredentials.Random()), ("not-a-jid", TestCredentials.Random())])));

        Assert.Contains("'not-a-jid'", error.Message);
        Assert.Equal("accounts", error.ParamName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("example.org")]
    [InlineData("@example.org")]
    [InlineData("alice@")]
    [InlineData("alice@example.org/phone")]
    [InlineData("a@b@example.org")]
    public async Task A_jid_that_is_not_localpart_at_domain_is_refused_with_a_clear_error(string badJid)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Accounts.CreateAsync(badJid, TestCredentials.Random()));
        Assert.Contains($"'{badJid}' is not a bare account JID", error.Message);
        Assert.Equal("bareJid", error.ParamName);

        await Assert.ThrowsAsync<ArgumentException>(() => Accounts.GetCredentialsAsync(badJid));
        await Assert.ThrowsAsync<ArgumentException>(() => Accounts.SetCredentialsAsync(badJid, TestCredentials.Random()));
        await Assert.ThrowsAsync<ArgumentException>(() => Accounts.DeleteAsync(badJid, AccountReferences.None));
        await Assert.ThrowsAsync<ArgumentException>(() => Accounts.ExistsAsync(badJid));
        Assert.Equal(0, await Accounts.CountAsync(null));
    }

    [Fact]
    public async Task A_null_jid_or_credentials_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(() => Accounts.CreateAsync(null!, TestCredentials.Random()));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Accounts.CreateAsync("alice@example.org", null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Accounts.ImportAsync(null!));
    }

    public static TheoryData<string, AccountCredentials> MalformedCredentials()
    {
        var good = TestCredentials.Random();
        return new()
        {
            { "The Sha1 slot holds Sha256 SCRAM credentials", good with { Sha1 = good.Sha256 } },
            { "The Sha256 slot holds Sha1 SCRAM credentials", good with { Sha256 = good.Sha1 } },
            { "The Sha1 SCRAM salt is empty", good with { Sha1 = good.Sha1 with { Salt = [] } } },
            { "The Sha256 SCRAM iteration count is 0", good with { Sha256 = good.Sha256 with { Iterations = 0 } } },
            { "The Sha1 SCRAM StoredKey and ServerKey must be 20 bytes each (got 19 and 20)", good with { Sha1 = good.Sha1 with { StoredKey = new byte[19] } } },
            { "The Sha256 SCRAM StoredKey and ServerKey must be 32 bytes each (got 32 and 20)", good with { Sha256 = good.Sha256 with { ServerKey = new byte[20] } } },
            { "The Sha1 SCRAM credentials are missing", good with { Sha1 = null! } },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedCredentials))]
    public async Task Malformed_credentials_are_refused_with_a_clear_error_and_nothing_is_stored(string expectedMessage, AccountCredentials credentials)
    {
        var good = TestCredentials.Random();
        await Accounts.CreateAsync("bob@example.org", good);

        var onCreate = await Assert.ThrowsAsync<ArgumentException>(() => Accounts.CreateAsync("alice@example.org", credentials));
        var onSet = await Assert.ThrowsAsync<ArgumentException>(() => Accounts.SetCredentialsAsync("bob@example.org", credentials));
        var onImport = await Assert.ThrowsAsync<ArgumentException>(() => Accounts.ImportAsync(ToAsync([("carol@example.org", credentials)])));

        Assert.StartsWith(expectedMessage, onCreate.Message);
        Assert.StartsWith(expectedMessage, onSet.Message);
        Assert.StartsWith(expectedMessage, onImport.Message);
        Assert.False(await Accounts.ExistsAsync("alice@example.org"));
        Assert.False(await Accounts.ExistsAsync("carol@example.org"));
        TestCredentials.AssertSame(good, await Accounts.GetCredentialsAsync("bob@example.org"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("alice@example.org")]
    [InlineData("example.org/resource")]
    public async Task A_domain_filter_that_is_not_a_domain_is_refused(string badDomain)
    {
        var onList = await Assert.ThrowsAsync<ArgumentException>(() => Accounts.ListAsync(badDomain, 0, 10));
        var onCount = await Assert.ThrowsAsync<ArgumentException>(() => Accounts.CountAsync(badDomain));

        Assert.Contains($"'{badDomain}' is not a domain", onList.Message);
        Assert.Equal("domain", onCount.ParamName);
    }

    [Fact]
    public async Task A_negative_page_is_refused()
    {
        var offset = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Accounts.ListAsync(null, -1, 10));
        var limit = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Accounts.ListAsync(null, 0, -1));

        Assert.Equal("offset", offset.ParamName);
        Assert.Equal("limit", limit.ParamName);
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_changes_nothing()
    {
        var credentials = TestCredentials.Random();
        await Accounts.CreateAsync("alice@example.org", credentials);
        using var canceled = new CancellationTokenSource();
        canceled.Cancel();
        var token = canceled.Token;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.CreateAsync("bob@example.org", TestCredentials.Random(), token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.SetCredentialsAsync("alice@example.org", TestCredentials.Random(), token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.DeleteAsync("alice@example.org", AccountReferences.None, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.GetCredentialsAsync("alice@example.org", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.ExistsAsync("alice@example.org", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.ListAsync(null, 0, 10, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.CountAsync(null, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.ImportAsync(ToAsync([("carol@example.org", TestCredentials.Random())]), token));

        Assert.Equal(["alice@example.org"], (await Accounts.ListAsync(null, 0, 10)).Select(a => a.Jid));
        TestCredentials.AssertSame(credentials, await Accounts.GetCredentialsAsync("alice@example.org"));
    }

    [Fact]
    public async Task An_import_canceled_midway_stops_and_the_store_stays_usable()
    {
        using var cancellation = new CancellationTokenSource();
        var produced = 0;

        async IAsyncEnumerable<(string, AccountCredentials)> CancelAfter1500([EnumeratorCancellation] CancellationToken token = default)
        {
            for (var i = 0; i < 5000; i++)
            {
                if (i == 1500)
                {
                    await cancellation.CancelAsync();
                }

                token.ThrowIfCancellationRequested();
                produced++;
                yield return ($"user{i:D5}@example.org", TestCredentials.Random());
            }
        }

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Accounts.ImportAsync(CancelAfter1500(), cancellation.Token));

        Assert.Equal(1500, produced);
        Assert.InRange(await Accounts.CountAsync(null), 0, 1500);
        Assert.Equal(CreateAccountResult.Created, await Accounts.CreateAsync("after@example.org", TestCredentials.Random()));
    }

    [Fact]
    public async Task A_disposed_storage_refuses_further_use_and_disposing_twice_is_harmless()
    {
        await Storage.DisposeAsync();
        await Storage.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => Accounts.ExistsAsync("alice@example.org"));
    }

    private static async IAsyncEnumerable<(string BareJid, AccountCredentials Credentials)> ToAsync(IEnumerable<(string, AccountCredentials)> accounts)
    {
        foreach (var account in accounts)
        {
            await Task.Yield();
            yield return account;
        }
    }

    [Fact]
    public async Task A_display_name_is_kept_listed_and_cleared()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Accounts.CreateAsync("bob@example.org", TestCredentials.Random());

        Assert.True(await Accounts.SetDisplayNameAsync("alice@example.org", "Alice O'Hara <script>"));

        Assert.Equal("Alice O'Hara <script>", (await Accounts.GetAsync("alice@example.org"))!.DisplayName);
        Assert.Equal([("alice@example.org", "Alice O'Hara <script>"), ("bob@example.org", null)],
            (await Accounts.ListAsync(null, 0, 10)).Select(a => (a.Jid, a.DisplayName)));
        Assert.True(await Accounts.SetDisplayNameAsync("alice@example.org", null));
        Assert.Null((await Accounts.GetAsync("alice@example.org"))!.DisplayName);
        Assert.Null(await Accounts.GetAsync("carol@example.org"));
    }

    [Fact]
    public async Task A_display_name_of_a_missing_account_is_refused_and_a_bad_one_changes_nothing()
    {
        await Accounts.CreateAsync("alice@example.org", TestCredentials.Random());
        await Accounts.SetDisplayNameAsync("alice@example.org", "Alice");

        Assert.False(await Accounts.SetDisplayNameAsync("carol@example.org", "Carol"));
        await Assert.ThrowsAsync<ArgumentException>(() => Accounts.SetDisplayNameAsync("alice@example.org", "two\nlines"));
        await Assert.ThrowsAsync<ArgumentException>(() => Accounts.SetDisplayNameAsync("alice@example.org", ""));
        await Assert.ThrowsAsync<ArgumentException>(() => Accounts.SetDisplayNameAsync("alice@example.org", new string('x', AccountInfo.MaxDisplayNameLength + 1)));

        Assert.Equal("Alice", (await Accounts.GetAsync("alice@example.org"))!.DisplayName);
        Assert.False(await Accounts.ExistsAsync("carol@example.org"));
    }

    [Fact]
    public async Task Search_finds_a_part_of_the_jid_or_of_the_display_name_in_any_case()
    {
        foreach (var jid in new[] { "alice@example.org", "bob@example.org", "carol@other.example", "dave@example.org" })
        {
            await Accounts.CreateAsync(jid, TestCredentials.Random());
        }
        await Accounts.SetDisplayNameAsync("bob@example.org", "Robert Ärger");
        await Accounts.SetDisplayNameAsync("dave@example.org", "David Alison");

        Assert.Equal(["alice@example.org", "dave@example.org"], (await Accounts.SearchAsync("ALI", 0, 10)).Select(a => a.Jid));
        Assert.Equal(["bob@example.org"], (await Accounts.SearchAsync("ärGER", 0, 10)).Select(a => a.Jid));
        Assert.Equal(["carol@other.example"], (await Accounts.SearchAsync("other.", 0, 10)).Select(a => a.Jid));
        Assert.Equal(["dave@example.org"], (await Accounts.SearchAsync("ali", 1, 10)).Select(a => a.Jid));
        Assert.Equal(2, await Accounts.CountFoundAsync("ali"));
        Assert.Equal(4, await Accounts.CountFoundAsync(""));
        Assert.Empty(await Accounts.SearchAsync("nobody", 0, 10));
    }

    [Fact]
    public async Task Search_finds_like_and_sql_metacharacters_only_as_themselves()
    {
        foreach (var jid in new[] { "alice@example.org", "a_b@example.org", "ab@example.org", "percent@example.org" })
        {
            await Accounts.CreateAsync(jid, TestCredentials.Random());
        }
        await Accounts.SetDisplayNameAsync("percent@example.org", "100% sure");

        Assert.Equal(["a_b@example.org"], (await Accounts.SearchAsync("_", 0, 10)).Select(a => a.Jid));
        Assert.Equal(["a_b@example.org"], (await Accounts.SearchAsync("a_b", 0, 10)).Select(a => a.Jid));
        Assert.Equal(["percent@example.org"], (await Accounts.SearchAsync("%", 0, 10)).Select(a => a.Jid));
        Assert.Empty(await Accounts.SearchAsync("a%b", 0, 10));
        Assert.Empty(await Accounts.SearchAsync("\\", 0, 10));
        Assert.Empty(await Accounts.SearchAsync("' OR '1'='1", 0, 10));
        Assert.Equal(0, await Accounts.CountFoundAsync("%%"));
        Assert.Equal(4, await Accounts.CountAsync(null));
    }
}
