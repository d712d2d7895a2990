using Parley.Protocol.Sasl;
using Parley.Storage;

namespace Parley.Cli.Tests;

public sealed class RosterCommandTests : IDisposable
{
    private const string Header = "jid,contact_jid,name,group,subscription";

    // Rosters need accounts, not passwords: one cheap set of credentials serves every account of these tests.
    private static readonly AccountCredentials s_credentials = new(
        ScramCredentialFactory.Create(ScramHash.Sha1, "secret", 4096),
        ScramCredentialFactory.Create(ScramHash.Sha256, "secret", 4096));

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Import_of_a_file_with_a_bom_a_header_and_quoted_names_makes_both_users_contacts_of_each_other()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.com", "carol@example.net");
        var file = _node.WriteFile("rosters.csv",
            "\uFEFFjid,contact_jid,name,group\r\n"
            + "alice@example.com,bob@example.com,\"Smith, Bob\",Friends\r\n"
            + "\r\n"
            + "Carol@Example.NET, alice@example.com , \"Alice \"\"Al\"\" Jones\" ,\r\n");

        var import = await _node.RunAsync("roster", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith("imported 4 roster items for 3 users (", import.Output);
        Assert.Matches(@"\(\d+\.\d s\)", import.Output);
        var alice = await RosterAsync("alice@example.com");
        Assert.True(alice.Version > 0);
        Assert.Equal(
            [
                "bob@example.com 'Smith, Bob' both [Friends]",
                "carol@example.net (no name) both []",
            ],
            Describe(alice.Items));
        var bob = await RosterAsync("bob@example.com");
        Assert.True(bob.Version > 0);
        Assert.Equal(["alice@example.com (no name) both []"], Describe(bob.Items));
        var carol = await RosterAsync("carol@example.net");
        Assert.Equal(["alice@example.com 'Alice \"Al\" Jones' both []"], Describe(carol.Items));
    }

    [Fact]
    public async Task The_line_for_the_reverse_direction_gives_its_own_name_and_group()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.com");
        var file = _node.WriteFile("rosters.csv", "bob@example.com,alice@example.com,Alice,Team\nalice@example.com,bob@example.com,Bob,Friends\n");

        var import = await _node.RunAsync("roster", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith("imported 2 roster items for 2 users (", import.Output);
        Assert.Equal(["bob@example.com 'Bob' both [Friends]"], Describe((await RosterAsync("alice@example.com")).Items));
        Assert.Equal(["alice@example.com 'Alice' both [Team]"], Describe((await RosterAsync("bob@example.com")).Items));
    }

    [Fact]
    public async Task Lines_of_one_pair_with_different_groups_give_one_item_in_all_of_them()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.com");
        var file = _node.WriteFile("rosters.csv", string.Join('\n',
            "alice@example.com,bob@example.com,Bob,Friends",
            "alice@example.com,bob@example.com,,Work",
            "alice@example.com,bob@example.com,Bob,Friends",
            "alice@example.com,bob@example.com,Bob,"));

        var import = await _node.RunAsync("roster", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith("imported 2 roster items for 2 users (", import.Output);
        Assert.Equal(["bob@example.com 'Bob' both [Friends|Work]"], Describe((await RosterAsync("alice@example.com")).Items));
    }

    [Fact]
    public async Task Import_reports_every_bad_line_with_its_number_and_imports_nothing()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.com");
        var file = _node.WriteFile("rosters.csv", string.Join('\n',
            "jid,contact_jid,name,group,subscription",
            "alice@example.com,bob@example.com,Bob,Friends",
            "not a jid,bob@example.com",
            "alice@example.com,bob@@example.com",
            "dave@elsewhere.org,alice@example.com",
            "alice@example.com,Alice@Example.com",
            "nobody@example.com,alice@example.com",
            "alice@example.com,nobody@example.net",
            "alice@example.com",
            "alice@example.com,bob@example.com,Bob,Friends,both,extra",
            "alice@example.com,bob@example.com,Bob,Friends,mutual",
            "alice@example.com,bob@example.com,Robert,Work",
            "alice@example.com,bob@example.com,Bob,Work,to",
            "alice@example.com,bob@example.com,5\" screen",
            "alice@example.com,bob@example.com,\"Bob\" Smith",
            "alice@example.com,bob@example.com,\"Bob,Friends"));

        var import = await _node.RunAsync("roster", "import", file);

        Assert.Equal(1, import.ExitCode);
        string[] expected =
        [
            $"parley: {file}:3: 'not a jid' is not a valid JID",
            $"parley: {file}:4: 'bob@@example.com' is not a valid JID",
            $"parley: {file}:5: 'dave@elsewhere.org' is not in a domain this node serves (example.com, example.net).",
            $"parley: {file}:6: alice@example.com cannot be a contact in their own roster.",
            $"parley: {file}:7: there is no account nobody@example.com.",
            $"parley: {file}:8: there is no account nobody@example.net (the contact is in a domain this node serves).",
            $"parley: {file}:9: expected jid,contact_jid[,name[,group[,subscription]]], found 1 field.",
            $"parley: {file}:10: expected jid,contact_jid[,name[,group[,subscription]]], found 6 fields.",
            $"parley: {file}:11: 'mutual' is not a subscription: write both, to, from or none.",
            $"parley: {file}:12: line 2 has the name 'Bob' for the same pair; give every line of a pair the same name, or leave it empty.",
            $"parley: {file}:13: line 2 has the subscription both for the same pair; give every line of a pair the same one.",
            $"parley: {file}:14: field 3 has a quote inside; put the whole field in double quotes and double the quote (\"\").",
            $"parley: {file}:15: field 3 has text after its closing quote.",
            $"parley: {file}:16: the quoted field opened on this line is never closed.",
            $"parley: {file}: 14 bad lines; nothing imported.",
        ];
        foreach (var message in expected)
        {
            Assert.Contains(message, import.Error);
        }

        Assert.Equal(expected.Length, import.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal("", import.Output);
        Assert.Empty((await RosterAsync("alice@example.com")).Items);
        Assert.Empty((await RosterAsync("bob@example.com")).Items);
    }

    [Fact]
    public async Task A_contact_in_a_domain_this_node_does_not_serve_or_a_gateway_gets_no_reverse_item()
    {
        await AddAccountsAsync(_node, "alice@example.com");
        var file = _node.WriteFile("rosters.csv", "alice@example.com,carol@elsewhere.org,Carol,Partners\nalice@example.com,ICQ.Gateway.example.org,ICQ\n");

        var import = await _node.RunAsync("roster", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith("imported 2 roster items for 1 user (", import.Output);
        Assert.Equal(
            [
                "carol@elsewhere.org 'Carol' both [Partners]",
                "icq.gateway.example.org 'ICQ' both []",
            ],
            Describe((await RosterAsync("alice@example.com")).Items));
    }

    [Fact]
    public async Task A_subscription_other_than_both_imports_that_item_alone()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.com");
        var file = _node.WriteFile("rosters.csv", "alice@example.com,bob@example.com,Bob,,To\n");

        var import = await _node.RunAsync("roster", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith("imported 1 roster item for 1 user (", import.Output);
        Assert.Equal(["bob@example.com 'Bob' to []"], Describe((await RosterAsync("alice@example.com")).Items));
        Assert.Empty((await RosterAsync("bob@example.com")).Items);
    }

    [Fact]
    public async Task Import_replaces_existing_items_of_the_same_pairs_and_keeps_the_others()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.com");
        await using (var storage = await _node.OpenStorageAsync())
        {
            await storage.Rosters.SetItemAsync("alice@example.com", new("bob@example.com", "Old name", Subscription.None, true, false, ["Old"]));
            await storage.Rosters.SetItemAsync("alice@example.com", new("dave@elsewhere.org", "Dave", Subscription.From, false, false, []));
        }

        var versionBefore = (await RosterAsync("alice@example.com")).Version;
        var file = _node.WriteFile("rosters.csv", "alice@example.com,bob@example.com,Bob,Friends\n");

        var import = await _node.RunAsync("roster", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        var alice = await RosterAsync("alice@example.com");
        Assert.True(alice.Version > versionBefore);
        Assert.Equal(
            [
                "bob@example.com 'Bob' both [Friends]",
                "dave@elsewhere.org 'Dave' from []",
            ],
            Describe(alice.Items));
    }

    [Fact]
    public async Task Import_of_a_missing_file_is_a_usage_error()
    {
        var missing = Path.Combine(_node.Folder, "missing.csv");

        var import = await _node.RunAsync("roster", "import", missing);

        Assert.Equal(2, import.ExitCode);
        Assert.Contains($"parley: {missing} does not exist.", import.Error);
    }

    [Fact]
    public async Task Export_writes_a_header_and_one_line_per_item_and_group()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.com");
        await using (var storage = await _node.OpenStorageAsync())
        {
            await storage.Rosters.SetItemAsync("alice@example.com", new("bob@example.com", "Smith, Bob", Subscription.Both, false, false, ["Friends", "Work"]));
            await storage.Rosters.SetItemAsync("alice@example.com", new("carol@elsewhere.org", " Carol ", Subscription.To, true, false, []));
            await storage.Rosters.SetItemAsync("bob@example.com", new("alice@example.com", null, Subscription.Both, false, false, ["Say \"hi\""]));
        }

        var export = await _node.RunAsync("roster", "export");

        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Equal(
            [
                Header,
                "alice@example.com,bob@example.com,\"Smith, Bob\",Friends,both",
                "alice@example.com,bob@example.com,\"Smith, Bob\",Work,both",
                "alice@example.com,carol@elsewhere.org,\" Carol \",,to",
                "bob@example.com,alice@example.com,,\"Say \"\"hi\"\"\",both",
            ],
            export.Output.Split(Environment.NewLine)[..^1]);
    }

    [Fact]
    public async Task Export_with_a_domain_writes_only_that_domains_rosters()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.net");
        var file = _node.WriteFile("rosters.csv", "alice@example.com,bob@example.net\n");
        Assert.Equal(0, (await _node.RunAsync("roster", "import", file)).ExitCode);

        var export = await _node.RunAsync("roster", "export", "--domain", "Example.NET");

        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Equal([Header, "bob@example.net,alice@example.com,,,both"], export.OutputLines);
    }

    [Fact]
    public async Task Export_to_a_file_writes_it_whole_and_says_how_much()
    {
        await AddAccountsAsync(_node, "alice@example.com", "bob@example.com");
        Assert.Equal(0, (await _node.RunAsync("roster", "import", _node.WriteFile("rosters.csv", "alice@example.com,bob@example.com,Bob,Friends\n"))).ExitCode);
        var output = Path.Combine(_node.Folder, "export.csv");
        File.WriteAllText(output, "an older export");

        var export = await _node.RunAsync("roster", "export", "--output", output);

        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Equal([$"exported 2 roster items of 2 users to {output}"], export.OutputLines);
        Assert.Equal(
            [Header, "alice@example.com,bob@example.com,Bob,Friends,both", "bob@example.com,alice@example.com,,,both"],
            File.ReadAllLines(output));
        Assert.False(File.Exists(output + ".partial"));
    }

    [Fact]
    public async Task Export_to_a_folder_that_does_not_exist_fails_clearly()
    {
        await _node.CreateDatabaseAsync();

        var output = Path.Combine(_node.Folder, "missing", "export.csv");

        var export = await _node.RunAsync("roster", "export", "--output", output);

        Assert.Equal(1, export.ExitCode);
        Assert.StartsWith($"parley: cannot write {output}: ", export.Error);
    }

    [Fact]
    public async Task Export_then_import_into_an_empty_node_then_export_gives_the_same_file()
    {
        string[] accounts = ["alice@example.com", "bob@example.com", "carol@example.net", "dave@example.com"];
        await AddAccountsAsync(_node, accounts);
        var file = _node.WriteFile("rosters.csv", string.Join('\n',
            "alice@example.com,bob@example.com,\"Smith, Bob\",Friends",
            "alice@example.com,bob@example.com,\"Smith, Bob\",Work",
            "alice@example.com,carol@example.net,\"Carol\nsecond line\",",
            "bob@example.com,alice@example.com,Alice,\" spaced \"",
            "alice@example.com,erin@elsewhere.org,Erin,Partners",
            "alice@example.com,dave@example.com,Dave,,from",
            "dave@example.com,alice@example.com,Alice,,to",
            "carol@example.net,gateway.example.org,,,none"));
        Assert.Equal(0, (await _node.RunAsync("roster", "import", file)).ExitCode);
        var first = _node.WriteFile("first.csv", "");
        Assert.Equal(0, (await _node.RunAsync("roster", "export", "--output", first)).ExitCode);

        using var emptyNode = new CliTestNode();
        await AddAccountsAsync(emptyNode, accounts);
        var import = await emptyNode.RunAsync("roster", "import", first);
        Assert.True(import.ExitCode == 0, import.ToString());
        var second = emptyNode.WriteFile("second.csv", "");
        Assert.Equal(0, (await emptyNode.RunAsync("roster", "export", "--output", second)).ExitCode);

        Assert.Equal(File.ReadAllText(first), File.ReadAllText(second));
        Assert.Contains("\"Carol\nsecond line\"", File.ReadAllText(first));
        Assert.Equal(11, File.ReadAllLines(first).Length);
    }

    [Fact]
    public async Task Import_of_ten_thousand_lines_fills_every_roster()
    {
        const int Users = 1000;
        const int ContactsPerUser = 10;
        await AddAccountsAsync(_node, [.. Enumerable.Range(0, Users).Select(UserJid)]);

        // User i adds users i+1 ... i+10 (wrapping); the reverse items are i-1 ... i-10, so no pair appears twice.
        var lines = Enumerable.Range(1, ContactsPerUser)
            .SelectMany(offset => Enumerable.Range(0, Users).Select(user => $"{UserJid(user)},{UserJid((user + offset) % Users)},User {user},Group {offset}"));
        var file = _node.WriteFile("rosters.csv", string.Join('\n', lines));

        var import = await _node.RunAsync("roster", "import", file);

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.StartsWith($"imported {2 * Users * ContactsPerUser} roster items for {Users} users (", import.Output);
        var roster = await RosterAsync(UserJid(500));
        Assert.Equal(2 * ContactsPerUser, roster.Items.Count);
        Assert.Contains($"{UserJid(501)} 'User 500' both [Group 1]", Describe(roster.Items));
        Assert.Contains($"{UserJid(499)} (no name) both []", Describe(roster.Items));

        static string UserJid(int index) => $"user{index:D4}@example.com";
    }

    private static async Task AddAccountsAsync(CliTestNode node, params string[] jids)
    {
        Directory.CreateDirectory(node.DataDir);
        await using var storage = await node.OpenStorageAsync();
        var result = await storage.Accounts.ImportAsync(jids.Select(jid => (jid, s_credentials)).ToAsyncEnumerable());
        Assert.Equal(jids.Length, result.Created);
    }

    private async Task<Roster> RosterAsync(string user)
    {
        await using var storage = await _node.OpenStorageAsync();
        return await storage.Rosters.GetAsync(user);
    }

    /// <summary>"contact 'name' subscription [group|group]", with " ask" and " pre-approved" when set; readable in a failure.</summary>
    private static string[] Describe(IEnumerable<RosterItem> items) =>
    [
        .. items.Select(item =>
            $"{item.Contact} {(item.Name is null ? "(no name)" : $"'{item.Name}'")} {item.Subscription.ToString().ToLowerInvariant()}"
            + $"{(item.AskSubscribe ? " ask" : "")}{(item.PreApproved ? " pre-approved" : "")} [{string.Join('|', item.Groups)}]"),
    ];
}
