namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IArchiveStore"/> must do.</summary>
public abstract class ArchiveStoreContract : StorageContract
{
    private const string Alice = "alice@example.org";
    private const string Bob = "bob@example.org";
    private const string Room = "lobby@conference.example.org";

    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private IArchiveStore Archive => Storage.Archive;

    [Fact]
    public async Task A_thousand_appends_at_once_are_all_stored_with_distinct_ids()
    {
        var appends = Enumerable.Range(0, 1_000)
            .Select(i => Archive.AppendAsync(i % 2 == 0 ? Alice : Bob, Room, T0.AddSeconds(i), $"<message><body>{i}</body></message>"))
            .ToArray();

        var ids = await Task.WhenAll(appends);

        Assert.Equal(1_000, ids.Distinct().Count());
        var alices = await Archive.QueryAsync(new ArchiveQuery(Alice, Max: 1_000));
        Assert.Equal(500, alices.Count);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (i * 2).ToString()), alices.Messages.Select(m => m.Xml[15..^17]));
        // Each append's id is its own message's, however the batch it went in was written.
        var bobs = await Archive.QueryAsync(new ArchiveQuery(Bob, Max: 1_000));
        var bodyById = alices.Messages.Concat(bobs.Messages).ToDictionary(m => m.Id, m => m.Xml[15..^17]);
        Assert.Equal(Enumerable.Range(0, 1_000).Select(i => i.ToString()), ids.Select(id => bodyById[id]));
    }

    [Fact]
    public async Task Appended_messages_come_back_oldest_first_with_everything_they_were_stored_with()
    {
        var firstId = await Archive.AppendAsync(Alice, "bob@example.org/phone", T0, "<message id='1'><body>hi</body></message>");
        var secondId = await Archive.AppendAsync(Alice, "carol@example.org", T0.AddMinutes(1), "<message id='2'><body>grüße ✓</body></message>");

        var page = await Archive.QueryAsync(new ArchiveQuery(Alice));

        Assert.Equal(
            [
                new ArchivedMessage(firstId, Alice, "bob@example.org/phone", T0, "<message id='1'><body>hi</body></message>"),
                new ArchivedMessage(secondId, Alice, "carol@example.org", T0.AddMinutes(1), "<message id='2'><body>grüße ✓</body></message>"),
            ],
            page.Messages);
        Assert.True(page.Complete);
        Assert.Equal(2, page.Count);
    }

    [Fact]
    public async Task Ids_sort_as_strings_in_the_order_messages_were_appended()
    {
        var ids = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            // Stamps going back and forth must not matter: ids follow the appends.
            ids.Add(await Archive.AppendAsync(i % 2 == 0 ? Alice : Bob, Bob, T0.AddSeconds(i % 3 == 0 ? -i : i), "<message/>"));
        }

        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task Stamps_are_kept_to_the_millisecond_in_utc()
    {
        var stamp = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.FromHours(-5)).AddTicks(1_234_567);

        await Archive.AppendAsync(Alice, Bob, stamp, "<message/>");

        var stored = Assert.Single((await Archive.QueryAsync(new ArchiveQuery(Alice))).Messages).Stamp;
        Assert.Equal(TimeSpan.Zero, stored.Offset);
        Assert.Equal(stamp.ToUnixTimeMilliseconds(), stored.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Results_are_in_stamp_order_even_when_appended_out_of_order()
    {
        await Archive.AppendAsync(Alice, Bob, T0.AddMinutes(2), "<message id='late'/>");
        await Archive.AppendAsync(Alice, Bob, T0, "<message id='early'/>");

        Assert.Equal(["<message id='early'/>", "<message id='late'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Alice))));
    }

    [Fact]
    public async Task With_a_bare_jid_matches_every_resource_and_with_a_full_jid_only_itself()
    {
        await Archive.AppendAsync(Alice, "bob@example.org/phone", T0, "<message id='phone'/>");
        await Archive.AppendAsync(Alice, "bob@example.org/laptop", T0.AddSeconds(1), "<message id='laptop'/>");
        await Archive.AppendAsync(Alice, "bob@example.org", T0.AddSeconds(2), "<message id='bare'/>");
        await Archive.AppendAsync(Alice, "carol@example.org/phone", T0.AddSeconds(3), "<message id='carol'/>");

        var bare = await Archive.QueryAsync(new ArchiveQuery(Alice, With: "bob@example.org"));
        var full = await Archive.QueryAsync(new ArchiveQuery(Alice, With: "bob@example.org/laptop"));
        var nobody = await Archive.QueryAsync(new ArchiveQuery(Alice, With: "dave@example.org"));

        Assert.Equal(["<message id='phone'/>", "<message id='laptop'/>", "<message id='bare'/>"], Xml(bare));
        Assert.Equal(3, bare.Count);
        Assert.Equal(["<message id='laptop'/>"], Xml(full));
        Assert.Equal(1, full.Count);
        Assert.Empty(nobody.Messages);
        Assert.True(nobody.Complete);
        Assert.Equal(0, nobody.Count);
    }

    [Fact]
    public async Task Start_and_end_are_inclusive()
    {
        for (var i = 0; i < 5; i++)
        {
            await Archive.AppendAsync(Alice, Bob, T0.AddMinutes(i), $"<message id='{i}'/>");
        }

        var page = await Archive.QueryAsync(new ArchiveQuery(Alice, Start: T0.AddMinutes(1), End: T0.AddMinutes(3)));
        var fromStart = await Archive.QueryAsync(new ArchiveQuery(Alice, Start: T0.AddMinutes(4)));
        var untilEnd = await Archive.QueryAsync(new ArchiveQuery(Alice, End: T0));

        Assert.Equal(["<message id='1'/>", "<message id='2'/>", "<message id='3'/>"], Xml(page));
        Assert.Equal(3, page.Count);
        Assert.Equal(["<message id='4'/>"], Xml(fromStart));
        Assert.Equal(["<message id='0'/>"], Xml(untilEnd));
    }

    [Fact]
    public async Task Paging_forwards_walks_the_whole_archive_and_says_complete_on_the_last_page()
    {
        await AppendNumberedAsync(Alice, 7);

        var first = await Archive.QueryAsync(new ArchiveQuery(Alice, Max: 3));
        var second = await Archive.QueryAsync(new ArchiveQuery(Alice, AfterId: first.Messages[^1].Id, Max: 3));
        var third = await Archive.QueryAsync(new ArchiveQuery(Alice, AfterId: second.Messages[^1].Id, Max: 3));

        Assert.Equal(["<message id='0'/>", "<message id='1'/>", "<message id='2'/>"], Xml(first));
        Assert.Equal(["<message id='3'/>", "<message id='4'/>", "<message id='5'/>"], Xml(second));
        Assert.Equal(["<message id='6'/>"], Xml(third));
        Assert.Equal([false, false, true], new[] { first.Complete, second.Complete, third.Complete });
        Assert.Equal([7, 7, 7], new[] { first.Count, second.Count, third.Count });
    }

    [Fact]
    public async Task A_page_that_ends_exactly_at_the_last_message_is_complete()
    {
        await AppendNumberedAsync(Alice, 3);

        var page = await Archive.QueryAsync(new ArchiveQuery(Alice, Max: 3));

        Assert.Equal(3, page.Messages.Count);
        Assert.True(page.Complete);
    }

    [Fact]
    public async Task Paging_backwards_from_the_end_returns_pages_in_chronological_order_until_the_first_message()
    {
        await AppendNumberedAsync(Alice, 7);

        var last = await Archive.QueryAsync(new ArchiveQuery(Alice, Max: 3, FromEnd: true));
        var middle = await Archive.QueryAsync(new ArchiveQuery(Alice, BeforeId: last.Messages[0].Id, Max: 3, FromEnd: true));
        var first = await Archive.QueryAsync(new ArchiveQuery(Alice, BeforeId: middle.Messages[0].Id, Max: 3, FromEnd: true));

        Assert.Equal(["<message id='4'/>", "<message id='5'/>", "<message id='6'/>"], Xml(last));
        Assert.Equal(["<message id='1'/>", "<message id='2'/>", "<message id='3'/>"], Xml(middle));
        Assert.Equal(["<message id='0'/>"], Xml(first));
        Assert.Equal([false, false, true], new[] { last.Complete, middle.Complete, first.Complete });
        Assert.Equal([7, 7, 7], new[] { last.Count, middle.Count, first.Count });
    }

    [Fact]
    public async Task After_and_before_together_give_the_messages_between()
    {
        var ids = await AppendNumberedAsync(Alice, 6);

        var forwards = await Archive.QueryAsync(new ArchiveQuery(Alice, AfterId: ids[1], BeforeId: ids[5]));
        var backwards = await Archive.QueryAsync(new ArchiveQuery(Alice, AfterId: ids[1], BeforeId: ids[5], Max: 2, FromEnd: true));

        Assert.Equal(["<message id='2'/>", "<message id='3'/>", "<message id='4'/>"], Xml(forwards));
        Assert.True(forwards.Complete);
        Assert.Equal(["<message id='3'/>", "<message id='4'/>"], Xml(backwards));
        Assert.False(backwards.Complete);
    }

    [Fact]
    public async Task Messages_of_the_same_millisecond_page_in_append_order_without_loss()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Archive.AppendAsync(Alice, Bob, T0, $"<message id='{i}'/>"));
        }

        var afterSecond = await Archive.QueryAsync(new ArchiveQuery(Alice, AfterId: ids[1], Max: 2));
        var beforeFourth = await Archive.QueryAsync(new ArchiveQuery(Alice, BeforeId: ids[3], Max: 2, FromEnd: true));

        Assert.Equal([ids[2], ids[3]], afterSecond.Messages.Select(m => m.Id));
        Assert.Equal([ids[1], ids[2]], beforeFourth.Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task Filters_and_paging_combine_and_the_count_is_of_the_filtered_messages()
    {
        for (var i = 0; i < 10; i++)
        {
            await Archive.AppendAsync(Alice, i % 2 == 0 ? "bob@example.org/phone" : "carol@example.org", T0.AddMinutes(i), $"<message id='{i}'/>");
        }

        var first = await Archive.QueryAsync(new ArchiveQuery(Alice, With: Bob, Start: T0.AddMinutes(1), Max: 2));
        var next = await Archive.QueryAsync(new ArchiveQuery(Alice, With: Bob, Start: T0.AddMinutes(1), AfterId: first.Messages[^1].Id, Max: 2));

        Assert.Equal(["<message id='2'/>", "<message id='4'/>"], Xml(first));
        Assert.Equal(["<message id='6'/>", "<message id='8'/>"], Xml(next));
        Assert.True(next.Complete);
        Assert.Equal(4, next.Count);
    }

    [Fact]
    public async Task Ids_select_those_messages_in_chronological_order()
    {
        var ids = await AppendNumberedAsync(Alice, 5);

        var page = await Archive.QueryAsync(new ArchiveQuery(Alice, Ids: [ids[3], ids[1]]));
        var paged = await Archive.QueryAsync(new ArchiveQuery(Alice, Ids: [ids[4], ids[0], ids[2]], Max: 2));

        Assert.Equal(["<message id='1'/>", "<message id='3'/>"], Xml(page));
        Assert.Equal(2, page.Count);
        Assert.True(page.Complete);
        Assert.Equal(["<message id='0'/>", "<message id='2'/>"], Xml(paged));
        Assert.False(paged.Complete);
        Assert.Equal(3, paged.Count);
    }

    [Fact]
    public async Task An_id_in_ids_that_the_archive_does_not_hold_is_item_not_found()
    {
        var ids = await AppendNumberedAsync(Alice, 2);
        var bobsId = await Archive.AppendAsync(Bob, Alice, T0, "<message id='bobs'/>");

        var others = await Assert.ThrowsAsync<ArchiveItemNotFoundException>(() => Archive.QueryAsync(new ArchiveQuery(Alice, Ids: [ids[0], bobsId])));
        var malformed = await Assert.ThrowsAsync<ArchiveItemNotFoundException>(() => Archive.QueryAsync(new ArchiveQuery(Alice, Ids: [ids[1], "not-an-id"])));

        Assert.Equal(bobsId, others.Id);
        Assert.Equal("not-an-id", malformed.Id);
    }

    [Fact]
    public async Task A_page_of_0_messages_only_counts()
    {
        await AppendNumberedAsync(Alice, 4);

        var page = await Archive.QueryAsync(new ArchiveQuery(Alice, Max: 0));
        var empty = await Archive.QueryAsync(new ArchiveQuery(Bob, Max: 0));

        Assert.Empty(page.Messages);
        Assert.Equal(4, page.Count);
        Assert.False(page.Complete);
        Assert.True(empty.Complete);
    }

    [Fact]
    public async Task An_unknown_after_or_before_id_is_item_not_found_even_when_another_archive_has_it()
    {
        await AppendNumberedAsync(Alice, 2);
        var bobsId = await Archive.AppendAsync(Bob, Alice, T0, "<message/>");

        foreach (var id in new[] { bobsId, "ffffffffffffffff", "0000000000000000", "not-an-id", "", "00000000000000001" })
        {
            var after = await Assert.ThrowsAsync<ArchiveItemNotFoundException>(() => Archive.QueryAsync(new ArchiveQuery(Alice, AfterId: id)));
            var before = await Assert.ThrowsAsync<ArchiveItemNotFoundException>(() => Archive.QueryAsync(new ArchiveQuery(Alice, BeforeId: id, FromEnd: true)));
            Assert.Equal(id, after.Id);
            Assert.Equal(id, before.Id);
            Assert.Equal($"The archive has no message with id '{id}'.", after.Message);
        }
    }

    [Fact]
    public async Task Archives_are_separate()
    {
        await Archive.AppendAsync(Alice, Bob, T0, "<message id='alice'/>");
        await Archive.AppendAsync(Bob, Alice, T0, "<message id='bob'/>");
        await Archive.AppendAsync(Room, "lobby@conference.example.org/alice", T0, "<message id='room'/>");

        Assert.Equal(["<message id='alice'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Alice))));
        Assert.Equal(["<message id='bob'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Bob))));
        Assert.Equal(["<message id='room'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Room))));
    }

    [Fact]
    public async Task Replacing_a_message_changes_only_its_xml_and_keeps_its_id_peer_and_stamp()
    {
        var kept = await Archive.AppendAsync(Room, "lobby@conference.example.org/alice", T0, "<message id='1'><body>keep</body></message>");
        var replaced = await Archive.AppendAsync(Room, "lobby@conference.example.org/bob", T0.AddMinutes(1), "<message id='2'><body>spam</body></message>");

        Assert.True(await Archive.ReplaceXmlAsync(Room, replaced, "<message id='2'><retracted/></message>"));

        var page = await Archive.QueryAsync(new ArchiveQuery(Room));
        Assert.Equal(
            [
                new ArchivedMessage(kept, Room, "lobby@conference.example.org/alice", T0, "<message id='1'><body>keep</body></message>"),
                new ArchivedMessage(replaced, Room, "lobby@conference.example.org/bob", T0.AddMinutes(1), "<message id='2'><retracted/></message>"),
            ],
            page.Messages);
    }

    [Theory]
    [InlineData("ffffffffffffffff")]
    [InlineData("not-an-archive-id")]
    public async Task Replacing_a_message_the_archive_does_not_hold_changes_nothing(string unknownId)
    {
        await Archive.AppendAsync(Room, Bob, T0, "<message id='1'/>");

        Assert.False(await Archive.ReplaceXmlAsync(Room, unknownId, "<message/>"));

        Assert.Equal(["<message id='1'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Room))));
    }

    [Fact]
    public async Task Replacing_a_message_of_another_archive_changes_nothing()
    {
        var alices = await Archive.AppendAsync(Alice, Bob, T0, "<message id='1'/>");

        Assert.False(await Archive.ReplaceXmlAsync(Bob, alices, "<message/>"));

        Assert.Equal(["<message id='1'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Alice))));
    }

    [Fact]
    public async Task Bad_replacements_are_refused_with_a_clear_error()
    {
        var id = await Archive.AppendAsync(Alice, Bob, T0, "<message id='1'/>");

        var emptyXml = await Assert.ThrowsAsync<ArgumentException>(() => Archive.ReplaceXmlAsync(Alice, id, ""));
        var badArchive = await Assert.ThrowsAsync<ArgumentException>(() => Archive.ReplaceXmlAsync("example.org", id, "<message/>"));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Archive.ReplaceXmlAsync(Alice, null!, "<message/>"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Archive.ReplaceXmlAsync(Alice, id, "<message/>", CanceledToken()));

        Assert.Equal("The XML is empty. (Parameter 'xml')", emptyXml.Message);
        Assert.Equal("'example.org' is not an archive's bare JID of the form localpart@domain. (Parameter 'archive')", badArchive.Message);
        Assert.Equal(["<message id='1'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Alice))));
    }

    [Fact]
    public async Task Deleting_an_archive_deletes_all_its_messages_and_no_other_archives()
    {
        await AppendNumberedAsync(Alice, 3);
        await Archive.AppendAsync(Bob, Alice, T0, "<message/>");

        Assert.Equal(3, await Archive.DeleteArchiveAsync(Alice));
        Assert.Equal(0, await Archive.DeleteArchiveAsync(Alice));

        Assert.Equal(0, (await Archive.QueryAsync(new ArchiveQuery(Alice))).Count);
        Assert.Equal(1, (await Archive.QueryAsync(new ArchiveQuery(Bob))).Count);
    }

    [Fact]
    public async Task Retention_deletes_the_messages_of_every_archive_older_than_the_cutoff_and_keeps_the_rest()
    {
        await AppendNumberedAsync(Alice, 4);
        await Archive.AppendAsync(Bob, Alice, T0, "<message id='bob-old'/>");
        await Archive.AppendAsync(Bob, Alice, T0.AddMinutes(10), "<message id='bob-new'/>");

        var deleted = await Archive.DeleteOlderThanAsync(T0.AddMinutes(2));

        Assert.Equal(3, deleted);
        Assert.Equal(["<message id='2'/>", "<message id='3'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Alice))));
        Assert.Equal(["<message id='bob-new'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Bob))));
        Assert.Equal(0, await Archive.DeleteOlderThanAsync(T0.AddMinutes(2)));
    }

    [Fact]
    public async Task Retention_deletes_more_messages_than_fit_in_one_batch()
    {
        const int old = 12_345;
        for (var i = 0; i < old; i++)
        {
            await Archive.AppendAsync(i % 2 == 0 ? Alice : Bob, Room, T0, "<message/>");
        }

        await Archive.AppendAsync(Alice, Room, T0.AddDays(1), "<message id='kept'/>");

        Assert.Equal(old, await Archive.DeleteOlderThanAsync(T0.AddHours(1)));
        Assert.Equal(["<message id='kept'/>"], Xml(await Archive.QueryAsync(new ArchiveQuery(Alice))));
        Assert.Equal(0, (await Archive.QueryAsync(new ArchiveQuery(Bob))).Count);
    }

    [Fact]
    public async Task Ids_are_never_reused_after_deletion()
    {
        await Archive.AppendAsync(Alice, Bob, T0, "<message/>");
        var lastId = await Archive.AppendAsync(Alice, Bob, T0, "<message/>");
        await Archive.DeleteArchiveAsync(Alice);

        var newId = await Archive.AppendAsync(Alice, Bob, T0, "<message/>");

        Assert.True(string.CompareOrdinal(newId, lastId) > 0);
        await Assert.ThrowsAsync<ArchiveItemNotFoundException>(() => Archive.QueryAsync(new ArchiveQuery(Alice, AfterId: lastId)));
    }

    [Fact]
    public async Task Preferences_are_null_until_set_and_then_round_trip_and_can_be_replaced()
    {
        Assert.Null(await Archive.GetPreferencesAsync(Alice));

        await Archive.SetPreferencesAsync(Alice, new ArchivePreferences("roster", ["bob@example.org", "carol@example.org/phone"], ["eve@evil.example"]));
        var set = await Archive.GetPreferencesAsync(Alice);
        await Archive.SetPreferencesAsync(Alice, new ArchivePreferences("never", [], []));
        var replaced = await Archive.GetPreferencesAsync(Alice);

        Assert.Equal("roster", set!.Default);
        Assert.Equal(["bob@example.org", "carol@example.org/phone"], set.Always);
        Assert.Equal(["eve@evil.example"], set.Never);
        Assert.Equal("never", replaced!.Default);
        Assert.Empty(replaced.Always);
        Assert.Empty(replaced.Never);
        Assert.Null(await Archive.GetPreferencesAsync(Bob));
    }

    [Fact]
    public async Task Bad_preferences_are_refused_with_a_clear_error_and_nothing_changes()
    {
        await Archive.SetPreferencesAsync(Alice, new ArchivePreferences("always", [], []));

        var badDefault = await Assert.ThrowsAsync<ArgumentException>(() => Archive.SetPreferencesAsync(Alice, new ArchivePreferences("sometimes", [], [])));
        var emptyJid = await Assert.ThrowsAsync<ArgumentException>(() => Archive.SetPreferencesAsync(Alice, new ArchivePreferences("always", [""], [])));
        var noList = await Assert.ThrowsAsync<ArgumentException>(() => Archive.SetPreferencesAsync(Alice, new ArchivePreferences("always", null!, [])));

        Assert.Equal("The default 'sometimes' is not one of always, never, roster. (Parameter 'preferences')", badDefault.Message);
        Assert.Equal("'' is not a JID. (Parameter 'preferences')", emptyJid.Message);
        Assert.Equal("The always and never lists must be given; give empty lists for none. (Parameter 'preferences')", noList.Message);
        Assert.Equal("always", (await Archive.GetPreferencesAsync(Alice))!.Default);
    }

    [Theory]
    [InlineData("")]
    [InlineData("example.org")]
    [InlineData("alice@example.org/phone")]
    public async Task An_archive_that_is_not_a_bare_jid_is_refused(string badArchive)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Archive.AppendAsync(badArchive, Bob, T0, "<message/>"));
        Assert.Equal($"'{badArchive}' is not an archive's bare JID of the form localpart@domain. (Parameter 'archive')", error.Message);

        await Assert.ThrowsAsync<ArgumentException>(() => Archive.QueryAsync(new ArchiveQuery(badArchive)));
        await Assert.ThrowsAsync<ArgumentException>(() => Archive.DeleteArchiveAsync(badArchive));
        await Assert.ThrowsAsync<ArgumentException>(() => Archive.GetPreferencesAsync(badArchive));
        await Assert.ThrowsAsync<ArgumentException>(() => Archive.SetPreferencesAsync(badArchive, new ArchivePreferences("always", [], [])));
    }

    [Fact]
    public async Task Bad_appends_and_queries_are_refused_and_nothing_is_stored()
    {
        var emptyWith = await Assert.ThrowsAsync<ArgumentException>(() => Archive.AppendAsync(Alice, "", T0, "<message/>"));
        var emptyXml = await Assert.ThrowsAsync<ArgumentException>(() => Archive.AppendAsync(Alice, Bob, T0, " "));
        var negativeMax = await Assert.ThrowsAsync<ArgumentException>(() => Archive.QueryAsync(new ArchiveQuery(Alice, Max: -1)));
        var tooManyIds = await Assert.ThrowsAsync<ArgumentException>(() => Archive.QueryAsync(new ArchiveQuery(Alice, Ids: Enumerable.Repeat("0000000000000001", 1001).ToArray())));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Archive.QueryAsync(null!));

        Assert.Equal("'' is not a JID. (Parameter 'with')", emptyWith.Message);
        Assert.Equal("The XML is empty. (Parameter 'xml')", emptyXml.Message);
        Assert.Equal("The page size is -1; it must be 0 or more. (Parameter 'query')", negativeMax.Message);
        Assert.Equal("The query names 1001 ids; at most 1000 are allowed. (Parameter 'query')", tooManyIds.Message);
        Assert.Equal(0, (await Archive.QueryAsync(new ArchiveQuery(Alice))).Count);
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_changes_nothing()
    {
        await Archive.AppendAsync(Alice, Bob, T0, "<message/>");
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Archive.AppendAsync(Alice, Bob, T0, "<message/>", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Archive.QueryAsync(new ArchiveQuery(Alice), token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Archive.DeleteArchiveAsync(Alice, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Archive.DeleteOlderThanAsync(T0.AddDays(1), token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Archive.GetPreferencesAsync(Alice, token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Archive.SetPreferencesAsync(Alice, new ArchivePreferences("never", [], []), token));

        Assert.Equal(1, (await Archive.QueryAsync(new ArchiveQuery(Alice))).Count);
        Assert.Null(await Archive.GetPreferencesAsync(Alice));
    }

    /// <summary>Appends messages with ids '0'.. one minute apart, and returns their archive ids.</summary>
    private async Task<List<string>> AppendNumberedAsync(string archive, int count)
    {
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            ids.Add(await Archive.AppendAsync(archive, Bob, T0.AddMinutes(i), $"<message id='{i}'/>"));
        }

        return ids;
    }

    private static IEnumerable<string> Xml(ArchivePage page) => page.Messages.Select(m => m.Xml);
}
