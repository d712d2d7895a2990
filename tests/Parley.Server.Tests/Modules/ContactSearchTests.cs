using Parley.Ldap.Tests.Support;
using Parley.Protocol;
using Parley.Server.Modules.Ldap;
using Parley.Server.Tests.Support;
using Parley.Xml;

namespace Parley.Server.Tests.Modules;

public sealed class ContactSearchTests(SlapdForNodes slapd) : IClassFixture<SlapdForNodes>
{
    private const string SearchNs = "jabber:iq:search";

    [Fact]
    public async Task The_search_service_is_listed_by_the_server_and_describes_itself_and_its_form()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");

        var items = await AskAsync(alice, "localhost", "get", "<query xmlns='http://jabber.org/protocol/disco#items'/>");
        var info = await AskAsync(alice, "search.localhost", "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>");
        var form = await AskAsync(alice, "search.localhost", "get", $"<query xmlns='{SearchNs}'/>");

        Assert.Contains(items.Child("query", Ns.DiscoItems)!.Children(), i => i.GetAttribute("jid") == "search.localhost");
        Assert.Contains(info.Child("query", Ns.DiscoInfo)!.Children("feature"), f => f.GetAttribute("var") == SearchNs);
        var fields = form.Child("query", SearchNs)!.Child("x", Ns.DataForms)!.Children("field", Ns.DataForms).Select(f => f.GetAttribute("var"));
        Assert.Equal(["FORM_TYPE", "search", "first", "last", "nick", "email"], fields);
    }

    [Theory]
    [InlineData("search", "Çelik", new[] { "zoe@localhost" })]
    [InlineData("search", "Engineering", new[] { "alice@localhost", "bob@localhost" })]
    [InlineData("last", "Archer", new[] { "alice@localhost" })]
    [InlineData("email", "carol@", new[] { "carol@localhost" })]
    [InlineData("search", "*", new string[0])]
    [InlineData("search", "*)(uid=*", new string[0])]
    [InlineData("nick", "\\00", new string[0])]
    public async Task A_data_form_search_finds_the_directorys_people_and_filter_characters_match_only_literally(string field, string value, string[] expected)
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");

        Assert.Equal(expected, await FormSearchAsync(alice, field, value));
    }

    [Fact]
    public Task A_person_is_found_by_their_user_id_alone() =>
        WithPersonAsync(new Person("q7x", $"uid=q7x,{TestDirectory.PeopleBase}", "q7x-pw", "Quentin", "Quill", "quentin.quill@example.test", "Legal"), async alice =>
        {
            Assert.Equal(["q7x@localhost"], await FormSearchAsync(alice, "search", "q7x"));
            Assert.Equal(["q7x@localhost"], await FormSearchAsync(alice, "nick", "q7x"));
        });

    [Fact]
    public Task A_person_whose_name_has_filter_characters_is_found_by_a_search_for_them_and_only_they_are() =>
        WithPersonAsync(new Person("starry", $"uid=starry,{TestDirectory.PeopleBase}", "starry-pw", "Sam*", "Stone (Ops)", "starry@example.test", "Operations"), async alice =>
        {
            Assert.Equal(["starry@localhost"], await FormSearchAsync(alice, "search", "*"));
            Assert.Equal(["starry@localhost"], await FormSearchAsync(alice, "first", "Sam*"));
            Assert.Equal(["starry@localhost"], await FormSearchAsync(alice, "last", "(Ops)"));
            Assert.Equal(["starry@localhost"], await FormSearchAsync(alice, "search", "Ops)"));
        });

    [Fact]
    public async Task An_old_style_search_gets_old_style_items_and_the_result_limit_holds()
    {
        await using var node = await TestNode.StartAsync(o =>
        {
            slapd.Configure(o);
            o.Module<DirectoryModuleOptions>().SearchResultLimit = 2;
        });
        await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");

        var result = await AskAsync(alice, "search.localhost", "set", $"<query xmlns='{SearchNs}'><email>example.test</email></query>");

        var items = result.Child("query", SearchNs)!.Children("item", SearchNs).ToList();
        Assert.Equal(2, items.Count);
        Assert.All(items, i => Assert.EndsWith("@localhost", i.GetAttribute("jid")));
        Assert.All(items, i => Assert.EndsWith("@example.test", i.ChildText("email", SearchNs)));
    }

    [Fact]
    public async Task An_empty_search_is_not_acceptable()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");

        var result = await AskAsync(alice, "search.localhost", "set", $"<query xmlns='{SearchNs}'><first/></query>");

        Assert.NotNull(result.Child("error")!.Child("not-acceptable", Ns.Stanzas));
    }

    [Fact]
    public async Task With_the_directory_unreachable_a_search_is_answered_with_a_temporary_error()
    {
        await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
        await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");
        node.App.Node.Options.Module<DirectoryModuleOptions>().Servers = [TestDirectory.UnreachableUrl()];

        var result = await AskAsync(alice, "search.localhost", "set", $"<query xmlns='{SearchNs}'><last>Archer</last></query>");

        var error = result.Child("error")!;
        Assert.Equal("wait", error.GetAttribute("type"));
        Assert.NotNull(error.Child("remote-server-timeout", Ns.Stanzas));
    }

    [Fact]
    public async Task Without_a_directory_the_local_accounts_are_searched()
    {
        await using var node = await TestNode.StartAsync();
        await node.CreateUserAsync("juliet", "r0m30myr0m30");
        await node.CreateUserAsync("romeo", "j00l13tj00l13t");
        await using var juliet = await XmppTestClient.LoginAsync(node, "juliet", "r0m30myr0m30");

        var result = await AskAsync(juliet, "search.localhost", "set", $"<query xmlns='{SearchNs}'><nick>rom</nick></query>");

        Assert.Equal(["romeo@localhost"], result.Child("query", SearchNs)!.Children("item", SearchNs).Select(i => i.GetAttribute("jid")));
    }

    /// <summary>
    /// Runs <paramref name="search"/> as alice on a node while <paramref name="person"/> is in the directory: present
    /// only during that test, since the other tests' searches (for "*", for "Engineering") expect the generated people alone.
    /// </summary>
    private async Task WithPersonAsync(Person person, Func<XmppTestClient, Task> search)
    {
        await slapd.Directory.AddPersonAsync(person);
        try
        {
            await using var node = await TestNode.StartAsync(o => slapd.Configure(o));
            await using var alice = await SlapdForNodes.SignInAsync(node, "alice", "alice-pw");
            await search(alice);
        }
        finally
        {
            await slapd.Directory.DeleteAsync(person.Dn);
        }
    }

    /// <summary>A data-form search with one field; the JIDs found, in order.</summary>
    private static async Task<List<string?>> FormSearchAsync(XmppTestClient client, string field, string value)
    {
        var result = await AskAsync(client, "search.localhost", "set",
            $"<query xmlns='{SearchNs}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>{SearchNs}</value></field><field var='{field}'><value>{Escape(value)}</value></field></x></query>");
        Assert.Equal("result", result.GetAttribute("type"));
        return result.Child("query", SearchNs)!.Child("x", Ns.DataForms)!.Children("item", Ns.DataForms)
            .Select(i => i.Children("field", Ns.DataForms).Single(f => f.GetAttribute("var") == "jid").ChildText("value", Ns.DataForms))
            .Order().ToList();
    }

    private static async Task<Element> AskAsync(XmppTestClient client, string to, string type, string payload)
    {
        var id = Guid.NewGuid().ToString("N");
        await client.SendAsync($"<iq type='{type}' id='{id}' to='{to}'>{payload}</iq>");
        return await client.ReceiveAsync(e => e.Name == "iq" && e.GetAttribute("id") == id);
    }

    private static string Escape(string value) => value.Replace("&", "&amp;").Replace("<", "&lt;");
}
