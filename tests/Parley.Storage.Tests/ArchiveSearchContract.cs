namespace Parley.Storage.Tests;

/// <summary>
/// What every <see cref="IArchiveStore"/> that supports full-text search (XEP-0431) must do: a message is found by the
/// words of its body, whatever the user types.
/// </summary>
public abstract class ArchiveSearchContract : StorageContract
{
    private const string Alice = "alice@example.org";
    private const string Bob = "bob@example.org";

    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private IArchiveStore Archive => Storage.Archive;

    private int _sequence;

    [Fact]
    public void The_store_says_it_answers_full_text_queries() => Assert.True(Archive.SupportsFullTextSearch);

    [Fact]
    public async Task A_search_finds_the_messages_that_have_every_word_in_any_order()
    {
        var both = await AppendAsync(Alice, "The report for the quarterly review");
        await AppendAsync(Alice, "Only the report");
        await AppendAsync(Alice, "Only quarterly");
        var adjacent = await AppendAsync(Alice, "Quarterly report attached");

        Assert.Equal([both, adjacent], await SearchAsync(Alice, "quarterly report"));
        Assert.Equal([both, adjacent], await SearchAsync(Alice, "  report\tquarterly \n"));
    }

    [Fact]
    public async Task A_message_appended_as_a_parsed_element_is_stored_as_its_xml_and_found_by_its_bodies()
    {
        const string xml = "<message xmlns='jabber:client' type='chat' id='m1'><body>Quarterly &amp; annual</body><body xml:lang='de'>Vierteljährlich</body></message>";
        var element = Parley.Xml.ElementParser.Parse(xml, "jabber:client");

        var id = await Archive.AppendAsync(Alice, Bob, T0, element);

        var stored = await Archive.QueryAsync(new ArchiveQuery(Alice));
        Assert.Equal(element.ToXml("jabber:client"), Assert.Single(stored.Messages).Xml);
        Assert.Equal([id], await SearchAsync(Alice, "annual"));
        Assert.Equal([id], await SearchAsync(Alice, "vierteljahrlich"));
    }

    [Fact]
    public async Task Case_does_not_matter_in_any_script_nor_accents_in_latin_script()
    {
        var german = await AppendAsync(Alice, "Die Grüße aus München");
        var russian = await AppendAsync(Alice, "Привет, МИР!");
        var greek = await AppendAsync(Alice, "Καλημέρα κόσμε");
        var japanese = await AppendAsync(Alice, "日本語を話します");
        var emoji = await AppendAsync(Alice, "Lunch 🍜 at noon 𝒳");

        Assert.Equal([german], await SearchAsync(Alice, "MÜNCHEN"));
        Assert.Equal([german], await SearchAsync(Alice, "munchen grüße"));
        Assert.Equal([russian], await SearchAsync(Alice, "мир привет"));
        Assert.Equal([greek], await SearchAsync(Alice, "ΚΌΣΜΕ"));
        Assert.Equal([japanese], await SearchAsync(Alice, "日本語"));
        Assert.Equal([emoji], await SearchAsync(Alice, "🍜 LUNCH"));
        Assert.Equal([emoji], await SearchAsync(Alice, "𝒳"));
    }

    [Fact]
    public async Task A_word_of_three_letters_or_more_also_finds_words_that_begin_with_it()
    {
        var meeting = await AppendAsync(Alice, "Meeting moved to Tuesday");
        var me = await AppendAsync(Alice, "me too");

        Assert.Equal([meeting], await SearchAsync(Alice, "meet"));
        Assert.Equal([meeting], await SearchAsync(Alice, "tues MOVED"));
        Assert.Equal([me], await SearchAsync(Alice, "me"));
        Assert.Empty(await SearchAsync(Alice, "meetings"));
    }

    [Theory]
    [InlineData("\"report")]
    [InlineData("report\"")]
    [InlineData("\"quarterly report\"")]
    [InlineData("report*")]
    [InlineData("*report")]
    [InlineData("-report")]
    [InlineData("report -quarterly")]
    [InlineData("NEAR(report quarterly)")]
    [InlineData("report AND")]
    [InlineData("AND report")]
    [InlineData("OR")]
    [InlineData("NOT report")]
    [InlineData("report)")]
    [InlineData("(report")]
    [InlineData("body:report")]
    [InlineData("archive_key:report")]
    [InlineData("{body} : report")]
    [InlineData("^report")]
    [InlineData("report + quarterly")]
    [InlineData("'; DROP TABLE archive_messages; --")]
    [InlineData("\\report\\")]
    [InlineData("report & quarterly")]
    [InlineData("report | quarterly")]
    [InlineData("!report")]
    [InlineData("!!report")]
    [InlineData("report:*")]
    [InlineData("report:A")]
    [InlineData("quarterly <-> report")]
    [InlineData("'report'")]
    [InlineData("\\'report")]
    [InlineData("report' & '")]
    [InlineData("(report & !quarterly)")]
    public async Task Search_syntax_in_the_text_is_searched_for_as_words_and_never_an_error(string text)
    {
        await AppendAsync(Alice, "The quarterly report and/or not near report; drop table archive_messages -- body:report archive_key:report");

        // Each text has only words the message has, so it finds it: none of them is an operator. Punctuation inside a
        // piece of text joins its words into a phrase ("near(report" is "near report").
        Assert.Single(await SearchAsync(Alice, text));
    }

    [Theory]
    [InlineData("quoted")]
    [InlineData("\"dq\"")]
    [InlineData("back\\slash")]
    [InlineData("total!")]
    [InlineData("𝄞music")]
    [InlineData("5€")]
    public async Task A_body_full_of_awkward_characters_is_found_by_its_words(string text)
    {
        var awkward = await AppendAsync(Alice, "price: 5€ & tax | total! *star* 'quoted' \"dq\" back\\slash <-> 𝄞music");
        await AppendAsync(Alice, "plain words");

        Assert.Equal([awkward], await SearchAsync(Alice, text));
    }

    [Theory]
    [InlineData("AND")]
    [InlineData("NOT")]
    [InlineData("NEAR")]
    [InlineData("\"and\"")]
    public async Task Operator_words_are_plain_words(string text)
    {
        var with = await AppendAsync(Alice, "salt and pepper, not near");
        await AppendAsync(Alice, "salt pepper");

        Assert.Equal([with], await SearchAsync(Alice, text));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("\"")]
    [InlineData("\"\"")]
    [InlineData("- * ( ) : ^ +")]
    public async Task Text_without_letters_or_digits_finds_nothing(string text)
    {
        await AppendAsync(Alice, "* - ( ) : ^ +");

        var page = await Archive.QueryAsync(new ArchiveQuery(Alice, FullText: text));

        Assert.Empty(page.Messages);
        Assert.Equal(0, page.Count);
        Assert.True(page.Complete);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Blank_text_is_no_filter(string text)
    {
        await AppendAsync(Alice, "one");
        await Archive.AppendAsync(Alice, Bob, T0, "<message/>");

        Assert.Equal(2, (await Archive.QueryAsync(new ArchiveQuery(Alice, FullText: text))).Count);
    }

    [Fact]
    public async Task Text_longer_than_a_thousand_characters_is_refused()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Archive.QueryAsync(new ArchiveQuery(Alice, FullText: new string('a', 1001))));

        Assert.Contains("at most 1000", error.Message);
    }

    [Fact]
    public async Task Only_the_body_is_searched_and_only_in_the_archive_queried()
    {
        await Archive.AppendAsync(Alice, Bob, T0, "<message xmlns='jabber:client' id='invoice'><subject>invoice</subject><thread>invoice</thread></message>");
        await Archive.AppendAsync(Alice, Bob, T0, "not xml at all, invoice");
        await AppendAsync(Bob, "invoice for Bob");
        var alices = await AppendAsync(Alice, "your invoice");

        Assert.Equal([alices], await SearchAsync(Alice, "invoice"));
    }

    [Fact]
    public async Task Every_body_of_a_message_is_searched_and_the_stored_xml_comes_back_unchanged()
    {
        const string xml = "<message xmlns='jabber:client' type='chat'><body xml:lang='en'>good morning</body><body xml:lang='de'>guten Morgen &amp; Grüße</body></message>";
        await Archive.AppendAsync(Alice, Bob, T0, xml);

        var page = await Archive.QueryAsync(new ArchiveQuery(Alice, FullText: "guten grüße"));

        Assert.Equal(xml, Assert.Single(page.Messages).Xml);
        Assert.Single((await Archive.QueryAsync(new ArchiveQuery(Alice, FullText: "morning"))).Messages);
    }

    [Fact]
    public async Task A_search_pages_with_the_other_filters_and_counts_its_matches()
    {
        // 120 messages, every other one with the word; Bob's and Carol's alternate by fours.
        var matching = new List<(string Id, string With, DateTimeOffset Stamp)>();
        for (var i = 0; i < 120; i++)
        {
            var with = i / 4 % 2 == 0 ? Bob : "carol@example.org";
            var stamp = T0.AddMinutes(i);
            var id = await Archive.AppendAsync(Alice, with, stamp, $"<message><body>{(i % 2 == 0 ? "deploy" : "lunch")} number {i}</body></message>");
            if (i % 2 == 0)
            {
                matching.Add((id, with, stamp));
            }
        }

        var first = await Archive.QueryAsync(new ArchiveQuery(Alice, Max: 50, FullText: "deploy"));
        Assert.Equal(matching.Take(50).Select(m => m.Id), first.Messages.Select(m => m.Id));
        Assert.Equal(60, first.Count);
        Assert.False(first.Complete);

        var second = await Archive.QueryAsync(new ArchiveQuery(Alice, AfterId: first.Messages[^1].Id, Max: 50, FullText: "deploy"));
        Assert.Equal(matching.Skip(50).Select(m => m.Id), second.Messages.Select(m => m.Id));
        Assert.Equal(60, second.Count);
        Assert.True(second.Complete);

        var last = await Archive.QueryAsync(new ArchiveQuery(Alice, Max: 5, FromEnd: true, FullText: "deploy"));
        Assert.Equal(matching.TakeLast(5).Select(m => m.Id), last.Messages.Select(m => m.Id));
        var before = await Archive.QueryAsync(new ArchiveQuery(Alice, BeforeId: last.Messages[0].Id, Max: 5, FromEnd: true, FullText: "deploy"));
        Assert.Equal(matching.SkipLast(5).TakeLast(5).Select(m => m.Id), before.Messages.Select(m => m.Id));

        var start = T0.AddMinutes(30);
        var end = T0.AddMinutes(90);
        var filtered = await Archive.QueryAsync(new ArchiveQuery(Alice, With: Bob, Start: start, End: end, Max: 100, FullText: "deploy"));
        var expected = matching.Where(m => m.With == Bob && m.Stamp >= start && m.Stamp <= end).Select(m => m.Id).ToList();
        Assert.Equal(expected, filtered.Messages.Select(m => m.Id));
        Assert.Equal(expected.Count, filtered.Count);

        var ids = await Archive.QueryAsync(new ArchiveQuery(Alice, Ids: [matching[0].Id, matching[1].Id, first.Messages[0].Id], FullText: "number"));
        Assert.Equal([matching[0].Id, matching[1].Id], ids.Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task A_replaced_message_is_found_by_its_new_words_and_no_longer_by_the_old()
    {
        var id = await AppendAsync(Alice, "the secret password is swordfish");

        Assert.True(await Archive.ReplaceXmlAsync(Alice, id, "<message xmlns='jabber:client'><retracted xmlns='urn:xmpp:message-retract:1'/><body>This message was retracted</body></message>"));

        Assert.Empty(await SearchAsync(Alice, "swordfish"));
        Assert.Equal([id], await SearchAsync(Alice, "retracted"));
        Assert.True(await Archive.ReplaceXmlAsync(Alice, id, "<message xmlns='jabber:client'><retracted xmlns='urn:xmpp:message-retract:1'/></message>"));
        Assert.Empty(await SearchAsync(Alice, "retracted"));
    }

    [Fact]
    public async Task Deleted_messages_are_not_found_and_later_ones_are()
    {
        await AppendAsync(Alice, "old news", T0.AddDays(-30));
        await AppendAsync(Bob, "old news", T0.AddDays(-30));
        await AppendAsync(Alice, "fresh news", T0);

        Assert.Equal(2, await Archive.DeleteOlderThanAsync(T0.AddDays(-1)));
        Assert.Empty(await SearchAsync(Alice, "old"));
        Assert.Single(await SearchAsync(Alice, "news"));

        Assert.Equal(1, await Archive.DeleteArchiveAsync(Alice));
        Assert.Empty(await SearchAsync(Alice, "news"));

        var again = await AppendAsync(Alice, "news again");
        Assert.Equal([again], await SearchAsync(Alice, "news"));
    }

    [Fact]
    public async Task A_removed_accounts_messages_are_not_found_in_a_new_account_of_the_same_name()
    {
        await Storage.Accounts.CreateAsync(Alice, TestCredentials.Random());
        await AppendAsync(Alice, "private words");

        Assert.True(await Storage.Accounts.DeleteAsync(Alice, AccountReferences.None));
        await Storage.Accounts.CreateAsync(Alice, TestCredentials.Random());

        Assert.Empty(await SearchAsync(Alice, "private"));
    }

    [Fact]
    public async Task Many_appends_at_once_are_all_found()
    {
        var ids = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => AppendAsync(i % 3 == 0 ? Bob : Alice, $"parallel message {i}")));

        Assert.Equal(200, (await Archive.QueryAsync(new ArchiveQuery(Alice, FullText: "parallel", Max: 0))).Count);
        Assert.Equal(ids.Where((_, i) => i % 3 == 0).Order(StringComparer.Ordinal), (await SearchAsync(Bob, "parallel")).Order(StringComparer.Ordinal));
    }

    /// <summary>Appends a chat message with the body (XML-escaped) to the archive; stamps increase with each call.</summary>
    private Task<string> AppendAsync(string archive, string body, DateTimeOffset? stamp = null) =>
        Archive.AppendAsync(
            archive, Bob, stamp ?? T0.AddSeconds(Interlocked.Increment(ref _sequence)),
            $"<message xmlns='jabber:client' type='chat'><body>{System.Security.SecurityElement.Escape(body)}</body></message>");

    private async Task<List<string>> SearchAsync(string archive, string text)
    {
        var page = await Archive.QueryAsync(new ArchiveQuery(archive, Max: 1000, FullText: text));
        Assert.Equal(page.Messages.Count, page.Count);
        return page.Messages.Select(m => m.Id).ToList();
    }
}
