using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Modules.Mam;
using Parley.Server.Tests.Support;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

/// <summary>Message archive management (XEP-0313) with stanza ids (XEP-0359) and RSM paging (XEP-0059), over real connections.</summary>
public sealed class MamTests : IAsyncLifetime
{
    private const string Juliet = "juliet@localhost";
    private const string Romeo = "romeo@localhost";

    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync();
        foreach (var user in new[] { "juliet", "romeo", "nurse" })
        {
            await _node.CreateUserAsync(user, user + "-password");
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private IArchiveStore Archive => _node.App.Node.Storage.Archive;

    private async Task<XmppTestClient> OnlineAsync(string user, string resource = "home")
    {
        var client = await XmppTestClient.LoginAsync(_node, user, user + "-password", resource);
        await client.AnnounceAsync();
        return client;
    }

    /// <summary>Sends a MAM query and collects the result messages that arrive before the IQ answer.</summary>
    private static async Task<(List<Element> Results, Element Answer)> QueryAsync(XmppTestClient client, string fields = "", string rsm = "", string extra = "", string? to = null)
    {
        var form = fields.Length == 0 ? "" :
            $"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>{fields}</x>";
        var set = rsm.Length == 0 ? "" : $"<set xmlns='http://jabber.org/protocol/rsm'>{rsm}</set>";
        var toAttribute = to is null ? "" : $" to='{to}'";
        await client.SendAsync($"<iq type='set' id='mam'{toAttribute}><query xmlns='urn:xmpp:mam:2' queryid='q1'>{form}{set}{extra}</query></iq>");
        var results = new List<Element>();
        while (true)
        {
            var element = await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "mam" || e.Child("result", Ns.Mam) is not null);
            if (element.Name == "iq")
            {
                return (results, element);
            }
            results.Add(element);
        }
    }

    private static Element Forwarded(Element result) => result.Child("result", Ns.Mam)!.Child("forwarded", Ns.Forward)!.Child("message", Ns.Client)!;

    private static IEnumerable<string> Bodies(List<Element> results) => results.Select(r => Forwarded(r).ChildText("body", Ns.Client)!);

    private static IEnumerable<string> ResultIds(List<Element> results) => results.Select(r => r.Child("result", Ns.Mam)!.GetAttribute("id")!);

    private static Element Fin(Element answer)
    {
        Assert.Equal("result", answer.GetAttribute("type"));
        return answer.Child("fin", Ns.Mam)!;
    }

    private static string? Rsm(Element answer, string name) => Fin(answer).Child("set", Ns.Rsm)!.ChildText(name, Ns.Rsm);

    private static string ErrorCondition(Element answer)
    {
        Assert.Equal("error", answer.GetAttribute("type"));
        return answer.Child("error")!.Children().First(e => e.Namespace == Ns.Stanzas && e.Name != "text").Name;
    }

    /// <summary>Messages with bodies '0'.. in Juliet's archive, one minute apart from T0, alternately with Romeo and the nurse.</summary>
    private async Task<List<string>> SeedAsync(int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var peer = i % 2 == 0 ? "romeo@localhost/home" : "nurse@localhost/home";
            ids.Add(await Archive.AppendAsync(Juliet, peer, T0.AddMinutes(i), $"<message xmlns='jabber:client' type='chat' from='{peer}' to='{Juliet}/home'><body>{i}</body></message>"));
        }
        return ids;
    }

    /// <summary>Pings the server: once the answer is in, everything sent before it has been handled.</summary>
    private static async Task BarrierAsync(XmppTestClient client)
    {
        await client.SendAsync("<iq type='get' id='barrier' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "barrier");
    }

    [Fact]
    public async Task A_chat_is_archived_for_both_users_and_the_received_copy_carries_the_recipients_archive_id()
    {
        await using var romeo = await OnlineAsync("romeo");
        await using var juliet = await OnlineAsync("juliet");

        await romeo.SendAsync($"<message to='{Juliet}' type='chat' id='m1'><body>Wherefore art thou?</body></message>");
        var received = await juliet.ReceiveAsync(e => e.Name == "message");

        var stanzaId = Assert.Single(received.Children("stanza-id", Ns.StanzaId));
        Assert.Equal(Juliet, stanzaId.GetAttribute("by"));
        var (julietsResults, julietsAnswer) = await QueryAsync(juliet);
        var (romeosResults, _) = await QueryAsync(romeo);

        var julietsResult = Assert.Single(julietsResults);
        Assert.Equal(stanzaId.GetAttribute("id"), julietsResult.Child("result", Ns.Mam)!.GetAttribute("id"));
        Assert.Equal("q1", julietsResult.Child("result", Ns.Mam)!.GetAttribute("queryid"));
        Assert.Equal(juliet.Jid, julietsResult.GetAttribute("to"));
        Assert.Equal("Wherefore art thou?", Forwarded(julietsResult).ChildText("body", Ns.Client));
        Assert.Equal("romeo@localhost/home", Forwarded(julietsResult).GetAttribute("from"));
        Assert.NotNull(julietsResult.Child("result", Ns.Mam)!.Child("forwarded", Ns.Forward)!.Child("delay", Ns.Delay)!.GetAttribute("stamp"));
        Assert.Equal("true", Fin(julietsAnswer).GetAttribute("complete"));
        Assert.Equal("Wherefore art thou?", Forwarded(Assert.Single(romeosResults)).ChildText("body", Ns.Client));
        // Each archive has its own ids; the sender's copy never gets the recipient's stanza-id.
        Assert.Empty(Forwarded(romeosResults[0]).Children("stanza-id", Ns.StanzaId));
    }

    [Fact]
    public async Task A_new_device_pulls_the_whole_conversation_in_order()
    {
        await using (var romeo = await OnlineAsync("romeo"))
        await using (var juliet = await OnlineAsync("juliet"))
        {
            for (var i = 0; i < 3; i++)
            {
                await romeo.SendAsync($"<message to='{Juliet}' type='chat'><body>romeo {i}</body></message>");
                await juliet.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == $"romeo {i}");
                await juliet.SendAsync($"<message to='{Romeo}/home' type='chat'><body>juliet {i}</body></message>");
                await romeo.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == $"juliet {i}");
            }
        }

        await using var tablet = await XmppTestClient.LoginAsync(_node, "juliet", "juliet-password", "tablet");
        var (results, answer) = await QueryAsync(tablet, $"<field var='with'><value>{Romeo}</value></field>");

        Assert.Equal(["romeo 0", "juliet 0", "romeo 1", "juliet 1", "romeo 2", "juliet 2"], Bodies(results));
        Assert.Equal("6", Rsm(answer, "count"));
        Assert.All(results, r => Assert.Equal(tablet.Jid, r.GetAttribute("to")));
    }

    [Fact]
    public async Task A_message_to_an_offline_user_is_archived_and_arrives_later_with_its_stanza_id()
    {
        await using (var romeo = await OnlineAsync("romeo"))
        {
            await romeo.SendAsync($"<message to='{Juliet}' type='chat'><body>while you slept</body></message>");
            await BarrierAsync(romeo);
        }

        await using var juliet = await OnlineAsync("juliet");
        var offline = await juliet.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == "while you slept");
        var (results, _) = await QueryAsync(juliet);

        Assert.Equal(ResultIds(results).Single(), offline.Child("stanza-id", Ns.StanzaId)!.GetAttribute("id"));
    }

    [Fact]
    public async Task A_stanza_id_forged_by_the_sender_is_replaced_and_ids_of_others_are_kept()
    {
        await using var romeo = await OnlineAsync("romeo");
        await using var juliet = await OnlineAsync("juliet");

        await romeo.SendAsync(
            $"<message to='{Juliet}' type='chat'><body>trust me</body>" +
            $"<stanza-id xmlns='urn:xmpp:sid:0' by='{Juliet}' id='forged'/><stanza-id xmlns='urn:xmpp:sid:0' by='{Romeo}' id='romeos'/></message>");
        var received = await juliet.ReceiveAsync(e => e.Name == "message");

        var julietsIds = received.Children("stanza-id", Ns.StanzaId).Where(s => s.GetAttribute("by") == Juliet).ToList();
        Assert.NotEqual("forged", Assert.Single(julietsIds).GetAttribute("id"));
        Assert.Contains(received.Children("stanza-id", Ns.StanzaId), s => s.GetAttribute("id") == "romeos");
    }

    [Fact]
    public async Task With_start_end_and_the_id_fields_filter_the_results()
    {
        var ids = await SeedAsync(8);
        await using var juliet = await OnlineAsync("juliet");

        var (withRomeo, withRomeoAnswer) = await QueryAsync(juliet, $"<field var='with'><value>{Romeo}</value></field>");
        var (withFullJid, _) = await QueryAsync(juliet, "<field var='with'><value>nurse@localhost/home</value></field>");
        var (between, _) = await QueryAsync(juliet,
            "<field var='start'><value>2024-05-01T12:02:00Z</value></field><field var='end'><value>2024-05-01T14:04:00+02:00</value></field>");
        var (afterAndBefore, _) = await QueryAsync(juliet,
            $"<field var='after-id'><value>{ids[4]}</value></field><field var='before-id'><value>{ids[7]}</value></field>");
        var (byIds, _) = await QueryAsync(juliet, $"<field var='ids'><value>{ids[6]}</value><value>{ids[1]}</value></field>");

        Assert.Equal(["0", "2", "4", "6"], Bodies(withRomeo));
        Assert.Equal("4", Rsm(withRomeoAnswer, "count"));
        Assert.Equal(["1", "3", "5", "7"], Bodies(withFullJid));
        Assert.Equal(["2", "3", "4"], Bodies(between));
        Assert.Equal(["5", "6"], Bodies(afterAndBefore));
        Assert.Equal(["1", "6"], Bodies(byIds));
    }

    [Fact]
    public async Task Paging_forwards_gives_first_last_count_and_complete_on_the_last_page()
    {
        var ids = await SeedAsync(5);
        await using var juliet = await OnlineAsync("juliet");

        var (first, firstAnswer) = await QueryAsync(juliet, rsm: "<max>2</max>");
        var (second, secondAnswer) = await QueryAsync(juliet, rsm: $"<max>2</max><after>{ids[1]}</after>");
        var (third, thirdAnswer) = await QueryAsync(juliet, rsm: $"<max>2</max><after>{ids[3]}</after>");

        Assert.Equal(["0", "1"], Bodies(first));
        Assert.Equal(ids[0], Rsm(firstAnswer, "first"));
        Assert.Equal("0", Fin(firstAnswer).Child("set", Ns.Rsm)!.Child("first", Ns.Rsm)!.GetAttribute("index"));
        Assert.Equal(ids[1], Rsm(firstAnswer, "last"));
        Assert.Equal("5", Rsm(firstAnswer, "count"));
        Assert.Equal("false", Fin(firstAnswer).GetAttribute("complete"));
        Assert.Equal(["2", "3"], Bodies(second));
        Assert.Equal("false", Fin(secondAnswer).GetAttribute("complete"));
        Assert.Equal(["4"], Bodies(third));
        Assert.Equal("true", Fin(thirdAnswer).GetAttribute("complete"));
    }

    [Fact]
    public async Task Paging_backwards_from_an_empty_before_gives_the_last_page_and_then_earlier_ones()
    {
        var ids = await SeedAsync(5);
        await using var juliet = await OnlineAsync("juliet");

        var (last, lastAnswer) = await QueryAsync(juliet, rsm: "<max>2</max><before/>");
        var (middle, middleAnswer) = await QueryAsync(juliet, rsm: $"<max>2</max><before>{ids[3]}</before>");
        var (first, firstAnswer) = await QueryAsync(juliet, rsm: $"<max>2</max><before>{ids[1]}</before>");
        var (flipped, _) = await QueryAsync(juliet, rsm: "<max>2</max><before/>", extra: "<flip-page/>");

        Assert.Equal(["3", "4"], Bodies(last));
        Assert.Equal("3", Fin(lastAnswer).Child("set", Ns.Rsm)!.Child("first", Ns.Rsm)!.GetAttribute("index"));
        Assert.Equal("false", Fin(lastAnswer).GetAttribute("complete"));
        Assert.Equal(["1", "2"], Bodies(middle));
        Assert.Equal("false", Fin(middleAnswer).GetAttribute("complete"));
        Assert.Equal(["0"], Bodies(first));
        Assert.Equal("true", Fin(firstAnswer).GetAttribute("complete"));
        Assert.Equal(["4", "3"], Bodies(flipped));
    }

    [Fact]
    public async Task A_max_above_the_servers_page_size_is_lowered_to_it()
    {
        await SeedAsync(_node.Options.Module<ArchiveOptions>().MaxPageSize + 1);
        await using var juliet = await OnlineAsync("juliet");

        var (results, answer) = await QueryAsync(juliet, rsm: "<max>1000000</max>");
        var (unlimited, _) = await QueryAsync(juliet);

        Assert.Equal(250, results.Count);
        Assert.Equal("false", Fin(answer).GetAttribute("complete"));
        Assert.Equal("251", Rsm(answer, "count"));
        Assert.Equal(250, unlimited.Count);
    }

    [Fact]
    public async Task Bad_queries_get_the_errors_xep_0313_gives()
    {
        await using var juliet = await OnlineAsync("juliet");
        var id = (await SeedAsync(1))[0];

        Assert.Equal("feature-not-implemented", ErrorCondition((await QueryAsync(juliet, "<field var='full-text-search'><value>love</value></field>")).Answer));
        Assert.Equal("bad-request", ErrorCondition((await QueryAsync(juliet, "<field var='start'><value>yesterday</value></field>")).Answer));
        Assert.Equal("bad-request", ErrorCondition((await QueryAsync(juliet, "<field var='end'><value>2024-05-01T12:00:00</value></field>")).Answer));
        Assert.Equal("bad-request", ErrorCondition((await QueryAsync(juliet, rsm: "<max>many</max>")).Answer));
        Assert.Equal("bad-request", ErrorCondition((await QueryAsync(juliet, rsm: "<after/>")).Answer));
        Assert.Equal("feature-not-implemented", ErrorCondition((await QueryAsync(juliet, rsm: "<max>2</max><index>4</index>")).Answer));
        Assert.Equal("jid-malformed", ErrorCondition((await QueryAsync(juliet, "<field var='with'><value>@@</value></field>")).Answer));
        Assert.Equal("item-not-found", ErrorCondition((await QueryAsync(juliet, rsm: "<after>0000000000abcdef</after>")).Answer));
        Assert.Equal("item-not-found", ErrorCondition((await QueryAsync(juliet, rsm: "<before>nonsense</before>")).Answer));
        Assert.Equal("item-not-found", ErrorCondition((await QueryAsync(juliet, "<field var='after-id'><value>nonsense</value></field>")).Answer));
        Assert.Equal("item-not-found", ErrorCondition((await QueryAsync(juliet, $"<field var='ids'><value>{id}</value><value>nonsense</value></field>")).Answer));
        // A form after-id narrower than RSM's after is still checked.
        Assert.Equal("item-not-found", ErrorCondition((await QueryAsync(juliet, "<field var='after-id'><value>0000000000000000</value></field>", $"<after>{id}</after>")).Answer));
    }

    [Fact]
    public async Task Another_users_archive_is_forbidden()
    {
        await SeedAsync(1);
        await using var romeo = await OnlineAsync("romeo");

        var (results, answer) = await QueryAsync(romeo, to: Juliet);

        Assert.Empty(results);
        Assert.Equal("forbidden", ErrorCondition(answer));
    }

    [Fact]
    public async Task The_form_metadata_and_disco_features_describe_the_archive()
    {
        var ids = await SeedAsync(3);
        await using var juliet = await OnlineAsync("juliet");

        await juliet.SendAsync("<iq type='get' id='form'><query xmlns='urn:xmpp:mam:2'/></iq>");
        var form = await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "form");
        await juliet.SendAsync("<iq type='get' id='meta'><metadata xmlns='urn:xmpp:mam:2'/></iq>");
        var metadata = (await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "meta")).Child("metadata", Ns.Mam)!;
        await juliet.SendAsync($"<iq type='get' id='disco' to='{Juliet}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        var disco = await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "disco");

        var fields = form.Child("query", Ns.Mam)!.Child("x", Ns.DataForms)!.Children("field", Ns.DataForms).Select(f => f.GetAttribute("var"));
        Assert.Equal(["FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids", MamQueryParser.FullTextField], fields);
        Assert.Equal(ids[0], metadata.Child("start", Ns.Mam)!.GetAttribute("id"));
        Assert.Equal("2024-05-01T12:00:00.000Z", metadata.Child("start", Ns.Mam)!.GetAttribute("timestamp"));
        Assert.Equal(ids[2], metadata.Child("end", Ns.Mam)!.GetAttribute("id"));
        var features = disco.Child("query", Ns.DiscoInfo)!.Children("feature", Ns.DiscoInfo).Select(f => f.GetAttribute("var")).ToList();
        Assert.Contains("urn:xmpp:mam:2", features);
        Assert.Contains("urn:xmpp:mam:2#extended", features);
        Assert.Contains("urn:xmpp:sid:0", features);
        Assert.Contains("urn:xmpp:fulltext:0", features);
    }

    [Fact]
    public async Task A_full_text_search_through_the_form_finds_the_messages_with_the_words_and_pages_with_rsm()
    {
        var matching = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var body = i % 3 == 0 ? $"Lunch {i}?" : $"The Deployment {i} is done";
            var id = await Archive.AppendAsync(Juliet, Romeo, T0.AddMinutes(i), $"<message xmlns='jabber:client' type='chat'><body>{body}</body></message>");
            if (i % 3 != 0)
            {
                matching.Add(id);
            }
        }
        await using var juliet = await OnlineAsync("juliet");
        const string search = "<field var='{urn:xmpp:fulltext:0}fulltext'><value>deploy DONE</value></field>";

        var (first, firstAnswer) = await QueryAsync(juliet, search, "<max>5</max>");
        var (second, secondAnswer) = await QueryAsync(juliet, search, $"<max>5</max><after>{Rsm(firstAnswer, "last")}</after>");
        var (last, lastAnswer) = await QueryAsync(juliet, search, "<max>2</max><before/>");

        Assert.Equal(matching.Take(5), ResultIds(first));
        Assert.All(Bodies(first), body => Assert.Contains("Deployment", body));
        Assert.Equal("8", Rsm(firstAnswer, "count"));
        Assert.Equal("false", Fin(firstAnswer).GetAttribute("complete"));
        Assert.Equal(matching.Skip(5), ResultIds(second));
        Assert.Equal("true", Fin(secondAnswer).GetAttribute("complete"));
        Assert.Equal(matching.TakeLast(2), ResultIds(last));
        Assert.Equal("6", Fin(lastAnswer).Child("set", Ns.Rsm)!.Child("first", Ns.Rsm)!.GetAttribute("index"));
    }

    [Fact]
    public async Task Search_text_is_words_whatever_it_holds_and_only_overlong_text_is_refused()
    {
        await Archive.AppendAsync(Juliet, Romeo, T0, "<message xmlns='jabber:client' type='chat'><body>fish AND chips near the sea</body></message>");
        await using var juliet = await OnlineAsync("juliet");

        static string Search(string text) =>
            $"<field var='{{urn:xmpp:fulltext:0}}fulltext'><value>{System.Security.SecurityElement.Escape(text)}</value></field>";

        var (found, foundAnswer) = await QueryAsync(juliet, Search("\"fish\" AND -chips* NEAR("));
        var (none, noneAnswer) = await QueryAsync(juliet, Search("\"*\""));
        var (all, _) = await QueryAsync(juliet, Search(""));

        Assert.Equal(["fish AND chips near the sea"], Bodies(found));
        Assert.Equal("result", foundAnswer.GetAttribute("type"));
        Assert.Empty(none);
        Assert.Equal("true", Fin(noneAnswer).GetAttribute("complete"));
        Assert.Single(all);
        Assert.Equal("bad-request", ErrorCondition((await QueryAsync(juliet, Search(new string('x', 1001)))).Answer));
    }

    [Fact]
    public async Task A_store_without_full_text_search_offers_no_field_and_refuses_it_as_an_unknown_field()
    {
        var store = new ArchiveWithoutSearch(Archive);
        var sent = new List<Element>();
        var juliet = Jid.Parse(Juliet + "/home");
        var getForm = ElementParser.Parse("<iq type='get' id='f'><query xmlns='urn:xmpp:mam:2'/></iq>", Ns.Client);
        var search = ElementParser.Parse(
            "<iq type='set' id='s'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>" +
            "<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>" +
            "<field var='{urn:xmpp:fulltext:0}fulltext'><value>love</value></field></x></query></iq>", Ns.Client);

        var form = await MamQueryHandler.AnswerAsync(getForm, getForm.Child("query", Ns.Mam)!, juliet.Bare, juliet, store, 50, sent.Add);
        var answer = await MamQueryHandler.AnswerAsync(search, search.Child("query", Ns.Mam)!, juliet.Bare, juliet, store, 50, sent.Add);

        Assert.DoesNotContain(form.Child("query", Ns.Mam)!.Child("x", Ns.DataForms)!.Children("field", Ns.DataForms), f => f.GetAttribute("var") == MamQueryParser.FullTextField);
        Assert.Equal("feature-not-implemented", ErrorCondition(answer));
        Assert.Empty(sent);
    }

    /// <summary>An archive store as one without full-text search is (a store that leaves the capability at its default).</summary>
    private sealed class ArchiveWithoutSearch(IArchiveStore inner) : IArchiveStore
    {
        public Task<string> AppendAsync(string archive, string with, DateTimeOffset stamp, string xml, CancellationToken cancellationToken = default) =>
            inner.AppendAsync(archive, with, stamp, xml, cancellationToken);

        public Task<ArchivePage> QueryAsync(ArchiveQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);

        public Task<bool> ReplaceXmlAsync(string archive, string id, string xml, CancellationToken cancellationToken = default) =>
            inner.ReplaceXmlAsync(archive, id, xml, cancellationToken);

        public Task<int> DeleteArchiveAsync(string archive, CancellationToken cancellationToken = default) => inner.DeleteArchiveAsync(archive, cancellationToken);

        public Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default) => inner.DeleteOlderThanAsync(cutoff, cancellationToken);

        public Task<ArchivePreferences?> GetPreferencesAsync(string archive, CancellationToken cancellationToken = default) =>
            inner.GetPreferencesAsync(archive, cancellationToken);

        public Task SetPreferencesAsync(string archive, ArchivePreferences preferences, CancellationToken cancellationToken = default) =>
            inner.SetPreferencesAsync(archive, preferences, cancellationToken);
    }

    [Fact]
    public async Task The_domain_advertises_mam_too_as_profanity_looks_for_it_there_and_the_account_still_does()
    {
        await using var juliet = await OnlineAsync("juliet");

        foreach (var target in new[] { "localhost", Juliet })
        {
            await juliet.SendAsync($"<iq type='get' id='disco-{target}' to='{target}'><query xmlns='{Ns.DiscoInfo}'/></iq>");
            var disco = await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "disco-" + target);
            var features = disco.Child("query", Ns.DiscoInfo)!.Children("feature", Ns.DiscoInfo).Select(f => f.GetAttribute("var"));
            Assert.Contains(Ns.Mam, features);
        }
    }

    [Fact]
    public async Task Preferences_never_roster_and_always_decide_what_is_archived()
    {
        await using var romeo = await OnlineAsync("romeo");
        await using var nurse = await OnlineAsync("nurse");
        await using var juliet = await OnlineAsync("juliet");
        await juliet.SendAsync("<iq type='set' id='add'><query xmlns='jabber:iq:roster'><item jid='romeo@localhost'/></query></iq>");
        await juliet.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == "add");

        await juliet.SendAsync("<iq type='get' id='prefs0'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
        var defaults = (await juliet.ReceiveAsync(e => e.GetAttribute("id") == "prefs0")).Child("prefs", Ns.Mam)!;
        Assert.Equal("always", defaults.GetAttribute("default"));

        async Task SetPrefsAsync(string prefs)
        {
            await juliet.SendAsync($"<iq type='set' id='prefs'>{prefs}</iq>");
            Assert.Equal("result", (await juliet.ReceiveAsync(e => e.GetAttribute("id") == "prefs")).GetAttribute("type"));
        }
        async Task ChatAsync(XmppTestClient from, string body)
        {
            await from.SendAsync($"<message to='{Juliet}' type='chat'><body>{body}</body></message>");
            await juliet.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == body);
        }

        await SetPrefsAsync("<prefs xmlns='urn:xmpp:mam:2' default='never'/>");
        await ChatAsync(romeo, "never 1");
        await SetPrefsAsync("<prefs xmlns='urn:xmpp:mam:2' default='roster'><never><jid>nurse@localhost/home</jid></never></prefs>");
        await ChatAsync(romeo, "roster: romeo");
        await ChatAsync(nurse, "roster: nurse");
        await SetPrefsAsync("<prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>nurse@localhost</jid></always></prefs>");
        await ChatAsync(nurse, "always: nurse");
        await juliet.SendAsync("<iq type='get' id='prefs1'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
        var stored = (await juliet.ReceiveAsync(e => e.GetAttribute("id") == "prefs1")).Child("prefs", Ns.Mam)!;

        var (results, _) = await QueryAsync(juliet);
        Assert.Equal(["roster: romeo", "always: nurse"], Bodies(results));
        Assert.Equal("roster", stored.GetAttribute("default"));
        Assert.Equal(["nurse@localhost"], stored.Child("always", Ns.Mam)!.Children("jid", Ns.Mam).Select(j => j.Text));
        Assert.Empty(stored.Child("never", Ns.Mam)!.Children());
    }

    [Fact]
    public async Task Bad_preferences_are_refused()
    {
        await using var juliet = await OnlineAsync("juliet");

        await juliet.SendAsync("<iq type='set' id='p1'><prefs xmlns='urn:xmpp:mam:2' default='sometimes'/></iq>");
        var badDefault = await juliet.ReceiveAsync(e => e.GetAttribute("id") == "p1");
        await juliet.SendAsync("<iq type='set' id='p2'><prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid>@@</jid></never></prefs></iq>");
        var badJid = await juliet.ReceiveAsync(e => e.GetAttribute("id") == "p2");

        Assert.Equal("bad-request", ErrorCondition(badDefault));
        Assert.Equal("jid-malformed", ErrorCondition(badJid));
        Assert.Null(await Archive.GetPreferencesAsync(Juliet));
    }

    [Fact]
    public async Task Hints_chat_states_groupchat_headlines_and_other_domains_decide_what_is_not_archived()
    {
        await using var romeo = await OnlineAsync("romeo");
        await using var juliet = await OnlineAsync("juliet");

        string[] messages =
        [
            "<message to='juliet@localhost' type='chat'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>",
            "<message to='juliet@localhost' type='chat'><body>fleeting</body><no-permanent-store xmlns='urn:xmpp:hints'/></message>",
            "<message to='juliet@localhost' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
            "<message to='juliet@localhost/home' type='groupchat'><body>room talk</body></message>",
            "<message to='juliet@localhost' type='headline'><body>news</body></message>",
            "<message to='juliet@localhost'><subject>no body</subject></message>",
            "<message to='juliet@localhost' type='chat'><body>kept</body></message>",
            "<message to='juliet@localhost' type='chat' id='fix'><replace xmlns='urn:xmpp:message-correct:0' id='x'/><body>kept, corrected</body></message>",
            "<message to='juliet@localhost' type='chat'><retract xmlns='urn:xmpp:message-retract:1' id='x'/></message>",
            "<message to='juliet@localhost' type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'><payload>AAAA</payload></encrypted></message>",
            "<message to='juliet@localhost'><body>normal with a body</body></message>",
            // Another domain: bounced until federation exists, so no part of Romeo's history.
            "<message to='mercutio@elsewhere.example' type='chat'><body>abroad</body></message>",
        ];
        foreach (var message in messages)
        {
            await romeo.SendAsync(message);
        }
        await BarrierAsync(romeo);
        await juliet.SendAsync($"<message to='{Juliet}/home' type='chat'><body>barrier</body></message>");
        await juliet.ReceiveAsync(e => e.Name == "message" && e.ChildText("body") == "barrier");

        var (received, _) = await QueryAsync(juliet);
        var (sent, _) = await QueryAsync(romeo);

        var expected = new[] { "kept", "kept, corrected", "retract", "encrypted", "normal with a body" };
        string Describe(Element result) => Forwarded(result).ChildText("body", Ns.Client) is { Length: > 0 } body ? body : Forwarded(result).Children().First().Name;
        Assert.Equal([.. expected, "barrier"], received.Select(Describe));
        Assert.Equal(expected, sent.Select(Describe));
    }

    [Fact]
    public async Task Retention_deletes_messages_older_than_the_configured_days_at_start_and_when_it_runs()
    {
        var now = DateTimeOffset.UtcNow;
        await Archive.AppendAsync(Juliet, Romeo, now.AddDays(-31), "<message xmlns='jabber:client'><body>old</body></message>");
        await Archive.AppendAsync(Juliet, Romeo, now.AddDays(-29), "<message xmlns='jabber:client'><body>recent</body></message>");

        _node = await _node.RestartAsync(options => options.Module<ArchiveOptions>().RetentionDays = 30);

        // The first run is at start, in the background.
        using var deadline = new CancellationTokenSource(XmppTestClient.Deadline);
        while ((await Archive.QueryAsync(new ArchiveQuery(Juliet, Max: 0), deadline.Token)).Count > 1)
        {
            await Task.Yield();
        }
        await using var juliet = await OnlineAsync("juliet");
        Assert.Equal(["recent"], Bodies((await QueryAsync(juliet)).Results));
        var retention = _node.App.Web.Services.GetRequiredService<ArchiveRetentionService>();
        Assert.Equal(0, await retention.DeleteExpiredAsync(now));
        Assert.Equal(1, await retention.DeleteExpiredAsync(now.AddDays(2)));
        Assert.Empty((await QueryAsync(juliet)).Results);
    }

    [Fact]
    public async Task The_archive_survives_a_restart()
    {
        await using (var romeo = await OnlineAsync("romeo"))
        {
            await romeo.SendAsync($"<message to='{Juliet}' type='chat'><body>remember me</body></message>");
            await BarrierAsync(romeo);
        }

        // The class disposes the restarted node.
        _node = await _node.RestartAsync();
        await using var juliet = await OnlineAsync("juliet", "tablet");

        Assert.Equal(["remember me"], Bodies((await QueryAsync(juliet)).Results));
    }

    [Fact]
    public void Bad_archive_settings_are_configuration_problems_that_name_the_key()
    {
        var options = new ParleyOptions();
        options.Module<ArchiveOptions>().DefaultMode = "sometimes";
        options.Module<ArchiveOptions>().RetentionDays = -1;
        options.Module<ArchiveOptions>().MaxPageSize = 0;

        var problems = ConfigurationCheck.Problems(options);

        Assert.Contains("Parley:Archive:DefaultMode: 'sometimes' is not 'always', 'never' or 'roster'.", problems);
        Assert.Contains("Parley:Archive:RetentionDays: must be 0 (keep forever) or more.", problems);
        Assert.Contains("Parley:Archive:MaxPageSize: must be at least 1.", problems);
        Assert.DoesNotContain(ConfigurationCheck.Problems(new ParleyOptions()), p => p.Contains("Archive"));
    }
}
