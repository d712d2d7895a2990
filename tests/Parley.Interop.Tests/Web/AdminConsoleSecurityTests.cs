using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests.Web;

/// <summary>The console's defences, over plain HTTP requests to the node as the README runs it.</summary>
public sealed partial class AdminConsoleSecurityTests : IAsyncLifetime
{
    private static readonly string[] Pages =
        ["", "/status", "/users", "/users/alice%40localhost", "/rooms", "/rooms/team%40conference.localhost", "/cluster", "/settings", "/audit", "/audit?handler=csv", "?handler=samples"];

    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        await _node.AddUsersAsync("root", "alice", "bob");
        var grant = await _node.CliAsync(["admin", "grant", "root@localhost"]);
        Assert.True(grant.ExitCode == 0, grant.Output);
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private ConsoleBrowser Plain() => new($"http://127.0.0.1:{_node.HttpPort}/admin");

    [Fact]
    public async Task A_signed_in_account_that_is_not_an_administrator_gets_403_on_every_page_and_form()
    {
        using var bob = Plain();
        var signIn = await bob.SignInAsync("bob@localhost", "bob-secret");
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        foreach (var page in Pages)
        {
            var response = await bob.Client.GetAsync(bob.Console + page);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{page}: {response.StatusCode}");
        }
        var add = await bob.PostAsync("/users?handler=Add", new() { ["jid"] = "mallory@localhost", ["password"] = "mallory-secret" });
        Assert.Equal(HttpStatusCode.Forbidden, add.StatusCode);
        var users = await _node.CliAsync(["user", "list"]);
        Assert.DoesNotContain("mallory", users.Output);

        // The role is asked on every request: granted, Bob's same session opens the console; revoked, it is closed again.
        Assert.Equal(0, (await _node.CliAsync(["admin", "grant", "bob@localhost"])).ExitCode);
        Assert.Equal(HttpStatusCode.OK, (await bob.Client.GetAsync(bob.Console + "/users")).StatusCode);
        Assert.Equal(0, (await _node.CliAsync(["admin", "revoke", "bob@localhost"])).ExitCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Client.GetAsync(bob.Console + "/users")).StatusCode);

        // Without signing in at all, every page sends the visitor to the sign-in form.
        using var stranger = Plain();
        foreach (var page in Pages)
        {
            var response = await stranger.Client.GetAsync(stranger.Console + page);
            Assert.True(response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location!.ToString().Contains("/admin/sign-in"), $"{page}: {response.StatusCode}");
        }
    }

    [Fact]
    public async Task Each_wrong_password_is_answered_more_slowly_than_the_one_before_and_the_right_one_still_signs_in()
    {
        using var browser = Plain();
        var times = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            var token = await browser.FormTokenAsync("/sign-in");
            var clock = Stopwatch.StartNew();
            var response = await browser.PostAsync("/sign-in", new() { ["name"] = "root", ["password"] = "guess-" + i, ["__RequestVerificationToken"] = token });
            times.Add(clock.Elapsed);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("The name or the password is wrong.", await response.Content.ReadAsStringAsync());
        }
        // The XMPP logins' delays (Parley:Auth:FailureDelayMilliseconds, doubling): 0.5 s, 1 s, 2 s.
        Assert.True(times[0] >= TimeSpan.FromMilliseconds(450), string.Join(", ", times));
        Assert.True(times[1] >= TimeSpan.FromMilliseconds(950) && times[1] > times[0], string.Join(", ", times));
        Assert.True(times[2] >= TimeSpan.FromMilliseconds(1950) && times[2] > times[1], string.Join(", ", times));

        var signIn = await browser.SignInAsync("root", "root-secret");
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync(browser.Console + "/users")).StatusCode);
    }

    [Fact]
    public async Task A_form_posted_without_its_anti_forgery_token_or_with_a_forged_one_is_refused_and_changes_nothing()
    {
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        var none = await root.PostAsync("/users?handler=Add", new() { ["jid"] = "eve@localhost", ["password"] = "eve-secret-1" });
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        var forged = await root.PostAsync("/users?handler=Add", new() { ["jid"] = "eve@localhost", ["password"] = "eve-secret-1", ["__RequestVerificationToken"] = "CfDJ8forged" + new string('A', 80) });
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("This form is out of date (it was opened in an earlier session) or did not come from this console, so nothing was changed.",
            await forged.Content.ReadAsStringAsync());
        // Another session's valid token is no good either: it belongs to that session's cookie.
        using var other = Plain();
        var othersToken = await other.FormTokenAsync("/sign-in");
        var stolen = await root.PostAsync("/users?handler=Add", new() { ["jid"] = "eve@localhost", ["password"] = "eve-secret-1", ["__RequestVerificationToken"] = othersToken });
        Assert.Equal(HttpStatusCode.BadRequest, stolen.StatusCode);
        var users = await _node.CliAsync(["user", "list"]);
        Assert.DoesNotContain("eve", users.Output);

        // With the form's own token the same request is done.
        var real = await root.PostAsync("/users?handler=Add", new() { ["jid"] = "eve@localhost", ["password"] = "eve-secret-1", ["__RequestVerificationToken"] = await root.FormTokenAsync("/users") });
        Assert.Equal(HttpStatusCode.OK, real.StatusCode);
        Assert.Contains("eve@localhost was added.", await real.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_audit_log_shows_the_newest_changes_first_a_page_at_a_time_and_searches_by_action_in_all_of_them()
    {
        // More changes than a page holds (100), made over the API so that the test does not wait for 100 CLI runs.
        var token = await _node.CliAsync(["admin", "token", "create", "ops"]);
        Assert.True(token.ExitCode == 0, token.Output);
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_node.HttpPort}") };
        api.DefaultRequestHeaders.Authorization = new("Bearer", token.Output.Trim());
        for (var i = 0; i < 105; i++)
        {
            using var set = await api.PutAsync("/api/v1/banner", new StringContent($$"""{"text":"banner {{i}}"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);

        var first = await root.Client.GetStringAsync(root.Console + "/audit");
        var firstDetails = AuditDetails(first);
        Assert.Equal(100, firstDetails.Count);
        Assert.Equal("banner 104", firstDetails[0]);
        Assert.Equal("banner 5", firstDetails[^1]);

        // The older page holds the rest, down to the first change the node recorded.
        var older = await root.Client.GetStringAsync(root.Console + OlderLink(first));
        var olderRows = AuditRows(older);
        Assert.Equal(["banner 4", "banner 3", "banner 2", "banner 1", "banner 0"], AuditDetails(older).Take(5));
        Assert.Contains(olderRows, row => row.Contains("<td>token.create</td>", StringComparison.Ordinal));
        Assert.DoesNotMatch(OlderLinkPattern(), older);

        // A search by action is made in the database: among 110 records, the admin grant made before them all is found.
        var grants = AuditRows(await root.Client.GetStringAsync(root.Console + "/audit?action=ADMIN.GRANT"));
        Assert.Equal([true], grants.Select(row => row.Contains("root@localhost", StringComparison.Ordinal)));
        var banners = await root.Client.GetStringAsync(root.Console + "/audit?action=banner.set");
        Assert.Equal(100, AuditRows(banners).Count);
        Assert.Equal(["banner 4", "banner 3", "banner 2", "banner 1", "banner 0"], AuditDetails(await root.Client.GetStringAsync(root.Console + OlderLink(banners))));
        Assert.Empty(AuditRows(await root.Client.GetStringAsync(root.Console + "/audit?action=%25")));
    }

    private static List<string> AuditRows(string html) =>
        [.. AuditRowPattern().Matches(html[html.IndexOf("<table id=\"audit\">", StringComparison.Ordinal)..]).Select(m => m.Value)];

    /// <summary>The details column of each row: the banner's text for banner.set.</summary>
    private static List<string> AuditDetails(string html) =>
        [.. AuditRows(html).Select(row => Regex.Matches(row, "<td>(.*?)</td>")[^1].Groups[1].Value)];

    private static string OlderLink(string html) =>
        WebUtility.HtmlDecode(OlderLinkPattern().Match(html).Groups[1].Value)["/admin".Length..];

    [GeneratedRegex("<tr><td>.*?</tr>")]
    private static partial Regex AuditRowPattern();

    [GeneratedRegex("id=\"audit-older\" href=\"([^\"]+)\"")]
    private static partial Regex OlderLinkPattern();

    [Fact]
    public async Task A_form_larger_than_the_limit_is_refused_with_413_saying_the_limit_and_changes_nothing()
    {
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        var token = await root.FormTokenAsync("/settings");

        var large = await root.PostAsync("/settings?handler=Banner", new() { ["banner"] = new string('x', 65 * 1024), ["__RequestVerificationToken"] = token });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Contains("The console takes forms of at most 64 KiB; this one had 65 KiB. Nothing was changed.", await large.Content.ReadAsStringAsync());
        // The banner, shown on the sign-in page, was not set.
        using var visitor = Plain();
        Assert.DoesNotContain("id=\"login-banner\"", await (await visitor.Client.GetAsync(root.Console + "/sign-in")).Content.ReadAsStringAsync());
        // Just under the limit, the same form is taken.
        var banner = await root.PostAsync("/settings?handler=Banner", new() { ["banner"] = new string('x', 2000), ["__RequestVerificationToken"] = token });
        Assert.Contains("The banner was saved.", await banner.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_room_subject_with_markup_set_by_an_occupant_is_shown_as_text_and_the_room_search_finds_only_what_it_names()
    {
        const string Hostile = "<script>alert(\"x\")</script>' onmouseover='alert(1)";
        const string Escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#x27; onmouseover=&#x27;alert(1)";
        Assert.Equal(0, (await _node.CliAsync(["room", "create", "team@conference.localhost", "--owner", "root@localhost", "--name", "The team"])).ExitCode);
        Assert.Equal(0, (await _node.CliAsync(["room", "create", "sales@conference.localhost", "--owner", "root@localhost", "--name", "Sales 100%"])).ExitCode);
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_room_subject.py");
        await using (var occupant = ExternalProcess.Start("/usr/bin/python3",
            [script, "127.0.0.1", _node.C2sPort.ToString(), "root@localhost", "root-secret", "team@conference.localhost", Hostile]))
        {
            Assert.True(await occupant.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"slixmpp did not finish:\n{occupant.Output}");
            Assert.True(occupant.ExitCode == 0, $"slixmpp_room_subject.py failed:\n{occupant.Output}");
        }
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);

        var rooms = await root.Client.GetStringAsync(root.Console + "/rooms");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!rooms.Contains(Escaped, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the subject is not on the rooms page:\n{rooms}");
            rooms = await root.Client.GetStringAsync(root.Console + "/rooms");
        }
        Assert.DoesNotContain("<script>", rooms);

        async Task<string[]> FoundAsync(string query) =>
            [.. RoomRowPattern().Matches(await root.Client.GetStringAsync(root.Console + "/rooms?q=" + Uri.EscapeDataString(query))).Select(m => m.Groups[1].Value)];
        Assert.Equal(["team@conference.localhost"], await FoundAsync("THE TEAM"));
        Assert.Equal(["sales@conference.localhost"], await FoundAsync("sales@"));
        Assert.Equal(["sales@conference.localhost"], await FoundAsync("100%"));
        Assert.Empty(await FoundAsync("_"));
        Assert.Empty(await FoundAsync("' OR '1'='1"));
        var searched = await root.Client.GetStringAsync(root.Console + "/rooms?q=" + Uri.EscapeDataString(Hostile));
        Assert.DoesNotContain("<script>", searched);
        Assert.Contains(Escaped, searched);
    }

    [GeneratedRegex("<tr data-jid=\"([^\"]+)\"")]
    private static partial Regex RoomRowPattern();

    [Fact]
    public async Task The_user_page_lists_a_session_with_its_resource_client_software_node_transport_and_address()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_online.py");
        await using var alice = ExternalProcess.Start("/usr/bin/python3", [script, "127.0.0.1", _node.C2sPort.ToString(), "alice@localhost/laptop", "alice-secret", "-", "-", "caps"]);
        await alice.WaitForOutputAsync("online", TimeSpan.FromSeconds(60));
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);

        // The client's presence, which names its software, may reach the node just after the client says it is online.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string row;
        while (!(row = SessionRowPattern().Match(await root.Client.GetStringAsync(root.Console + "/users/alice%40localhost")).Value).Contains("slixmpp", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no session row naming slixmpp: {row}");
        }
        Assert.Matches("<td>laptop</td><td class=\"client\">http://slixmpp.com/ver/[0-9.]+</td><td class=\"node\">" + Regex.Escape(Environment.MachineName) + "</td><td>STARTTLS</td><td>127.0.0.1</td>", row);
    }

    [GeneratedRegex("<tr data-jid=\"alice@localhost/laptop\">.*?</tr>", RegexOptions.Singleline)]
    private static partial Regex SessionRowPattern();

    [Fact]
    public async Task The_audit_log_exports_what_the_console_did_as_csv_with_who_and_from_where_and_formulas_as_text()
    {
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        var add = await root.PostAsync("/users?handler=Add", new() { ["jid"] = "dave@localhost", ["password"] = "dave-secret-1", ["__RequestVerificationToken"] = await root.FormTokenAsync("/users") });
        Assert.Contains("dave@localhost was added.", await add.Content.ReadAsStringAsync());
        var banner = await root.PostAsync("/settings?handler=Banner", new() { ["banner"] = "=HYPERLINK(\"http://x\", \"y\")", ["__RequestVerificationToken"] = await root.FormTokenAsync("/settings") });
        Assert.Contains("The banner was saved.", await banner.Content.ReadAsStringAsync());

        var csv = await root.Client.GetAsync(root.Console + "/audit?handler=csv&actor=root%40localhost");
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("at,actor,origin,action,subject,details", lines[0]);
        Assert.Equal(2, lines.Length - 1);
        Assert.EndsWith(",root@localhost,127.0.0.1,account.create,dave@localhost,", lines[1]);
        Assert.EndsWith(",root@localhost,127.0.0.1,banner.set,banner,\"'=HYPERLINK(\"\"http://x\"\", \"\"y\"\")\"", lines[2]);
        Assert.DoesNotContain("dave-secret-1", string.Join("\n", lines));
    }

    [Fact]
    public async Task An_admin_resets_a_password_disables_enables_and_removes_an_account_and_each_counts_at_once()
    {
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        const string Alice = "/users/alice%40localhost";
        async Task<string> PostAsync(string handler, Dictionary<string, string> fields)
        {
            fields["__RequestVerificationToken"] = await root.FormTokenAsync(Alice);
            var response = await root.PostAsync($"{Alice}?handler={handler}", fields);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Redirect, $"{handler}: {response.StatusCode}");
            return await response.Content.ReadAsStringAsync();
        }
        async Task<HttpStatusCode> AliceSignsInAsync(string password)
        {
            using var alice = Plain();
            return (await alice.SignInAsync("alice", password)).StatusCode;
        }

        Assert.Contains("at least", await PostAsync("Password", new() { ["password"] = "short" }));
        Assert.Contains("The password was changed.", await PostAsync("Password", new() { ["password"] = "alice-new-secret" }));
        Assert.Equal(HttpStatusCode.Redirect, await AliceSignsInAsync("alice-new-secret"));
        Assert.Equal(HttpStatusCode.Unauthorized, await AliceSignsInAsync("alice-secret"));

        Assert.Contains("alice@localhost is disabled", await PostAsync("Disable", new() { ["disabled"] = "true" }));
        Assert.Equal(HttpStatusCode.Unauthorized, await AliceSignsInAsync("alice-new-secret"));
        Assert.Contains("alice@localhost is enabled.", await PostAsync("Disable", new() { ["disabled"] = "false" }));
        Assert.Equal(HttpStatusCode.Redirect, await AliceSignsInAsync("alice-new-secret"));

        await PostAsync("Remove", []);
        Assert.Contains("There is no account alice@localhost.", await root.Client.GetStringAsync(root.Console + Alice));
        Assert.DoesNotContain("alice@localhost", (await _node.CliAsync(["user", "list"])).Output);
        var audit = await root.Client.GetStringAsync(root.Console + "/audit?handler=csv&actor=root%40localhost");
        foreach (var action in new[] { "account.password", "account.disable", "account.enable", "account.remove" })
        {
            Assert.Contains($",{action},alice@localhost,", audit);
        }
        Assert.DoesNotContain("alice-new-secret", audit);
    }

    [Fact]
    public async Task An_admin_changes_and_resets_a_runtime_setting_on_the_settings_page_and_a_bad_value_is_refused_saying_why()
    {
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        async Task<string> PostAsync(string handler, Dictionary<string, string> fields)
        {
            fields["__RequestVerificationToken"] = await root.FormTokenAsync("/settings");
            var response = await root.PostAsync($"/settings?handler={handler}", fields);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{handler}: {response.StatusCode}");
            return await response.Content.ReadAsStringAsync();
        }

        Assert.Contains("max-contacts is 50 on every node.", await PostAsync("Setting", new() { ["name"] = "max-contacts", ["value"] = "50" }));
        Assert.Contains("max-contacts = 50 (set)", (await _node.CliAsync(["settings", "list"])).Output);

        var refused = await PostAsync("Setting", new() { ["name"] = "max-contacts", ["value"] = "<b>many</b>" });
        Assert.Contains("max-contacts takes a whole number, 0 or more; &#x27;&lt;b&gt;many&lt;/b&gt;&#x27; is not one.", refused);
        Assert.Contains("max-contacts = 50 (set)", (await _node.CliAsync(["settings", "list"])).Output);

        Assert.Contains("max-contacts is as configured again.", await PostAsync("ResetSetting", new() { ["name"] = "max-contacts" }));
        Assert.Contains("max-contacts = 0 (configured)", (await _node.CliAsync(["settings", "list"])).Output);
        var audit = await root.Client.GetStringAsync(root.Console + "/audit?handler=csv&actor=root%40localhost");
        Assert.Contains(",setting.set,max-contacts,", audit);
        Assert.Contains(",setting.reset,max-contacts,", audit);
    }

    [Fact]
    public async Task An_admin_configures_a_persistent_room_adds_an_owner_and_a_bad_owner_changes_nothing()
    {
        Assert.Equal(0, (await _node.CliAsync(["room", "create", "team@conference.localhost", "--owner", "root@localhost"])).ExitCode);
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        const string Team = "/rooms/team%40conference.localhost";
        async Task<string> ConfigureAsync(Dictionary<string, string> fields)
        {
            fields["__RequestVerificationToken"] = await root.FormTokenAsync(Team);
            var response = await root.PostAsync($"{Team}?handler=Configure", fields);
            Assert.True(response.StatusCode == HttpStatusCode.OK, response.StatusCode.ToString());
            return await response.Content.ReadAsStringAsync();
        }

        var saved = await ConfigureAsync(new()
        {
            ["name"] = "Team <room>", ["description"] = "Where the team meets", ["isPublic"] = "false", ["membersOnly"] = "true",
            ["moderated"] = "true", ["maxUsers"] = "40", ["password"] = "s3cret", ["owner"] = "alice@localhost",
        });
        Assert.Contains("team@conference.localhost&#x27;s settings were saved", saved);
        Assert.Contains("value=\"Team &lt;room&gt;\"", saved);
        var listed = (await _node.CliAsync(["room", "list"])).Output;
        Assert.Contains("team@conference.localhost\tTeam <room>\thidden,members-only,moderated,password\towners: ", listed);
        Assert.Contains("alice@localhost", listed);

        Assert.Contains("&#x27;not a jid@@&#x27; is not a JID.", await ConfigureAsync(new() { ["name"] = "Renamed", ["owner"] = "not a jid@@" }));
        Assert.Contains("team@conference.localhost\tTeam <room>\thidden,members-only,moderated,password", (await _node.CliAsync(["room", "list"])).Output);

        // An empty password keeps it; removing it is said so.
        await ConfigureAsync(new() { ["name"] = "Team", ["isPublic"] = "true", ["maxUsers"] = "0", ["password"] = "", ["removePassword"] = "true" });
        Assert.Contains("team@conference.localhost\tTeam\tpublic,open,unmoderated,no-password", (await _node.CliAsync(["room", "list"])).Output);
        var audit = await root.Client.GetStringAsync(root.Console + "/audit?handler=csv&actor=root%40localhost");
        Assert.Contains(",room.configure,team@conference.localhost,", audit);
        Assert.DoesNotContain("s3cret", audit);
    }

    [Fact]
    public async Task Markup_and_quotes_in_a_banner_a_typed_name_and_a_search_are_shown_as_text()
    {
        const string Hostile = "<script>alert(\"x\")</script>' onmouseover='alert(1)";
        const string Escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#x27; onmouseover=&#x27;alert(1)";
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        var set = await root.PostAsync("/settings?handler=Banner", new() { ["banner"] = Hostile, ["__RequestVerificationToken"] = await root.FormTokenAsync("/settings") });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        using var anonymous = Plain();
        foreach (var html in new[]
        {
            await (await anonymous.Client.GetAsync(root.Console + "/sign-in")).Content.ReadAsStringAsync(),
            await root.Client.GetStringAsync(root.Console + "/settings"),
            await root.Client.GetStringAsync(root.Console + "/users?q=" + Uri.EscapeDataString(Hostile)),
            await root.Client.GetStringAsync(root.Console + "/audit"),
        })
        {
            Assert.DoesNotContain("<script>", html);
            Assert.Contains(Escaped, html);
        }
        using var stranger = Plain();
        var typed = await stranger.SignInAsync(Hostile, "whatever");
        var page = await typed.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script>", page);
        Assert.Contains(Escaped, page);
    }

    [Fact]
    public async Task A_display_name_with_markup_set_on_the_user_page_is_shown_as_text_found_by_a_search_and_audited()
    {
        const string Hostile = "Alice <script>alert(\"x\")</script>' onmouseover='alert(1)";
        const string Escaped = "Alice &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#x27; onmouseover=&#x27;alert(1)";
        const string Alice = "/users/alice%40localhost";
        using var root = Plain();
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);

        var named = await root.PostAsync($"{Alice}?handler=DisplayName", new() { ["displayName"] = Hostile, ["__RequestVerificationToken"] = await root.FormTokenAsync(Alice) });
        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        Assert.Contains("The display name was changed.", await named.Content.ReadAsStringAsync());
        var refused = await root.PostAsync($"{Alice}?handler=DisplayName", new() { ["displayName"] = "two\nlines", ["__RequestVerificationToken"] = await root.FormTokenAsync(Alice) });
        Assert.Contains("A display name cannot hold control characters", await refused.Content.ReadAsStringAsync());

        var found = await root.Client.GetStringAsync(root.Console + "/users?q=ONMOUSEOVER");
        foreach (var html in new[] { found, await root.Client.GetStringAsync(root.Console + Alice), await root.Client.GetStringAsync(root.Console + "/audit") })
        {
            Assert.DoesNotContain("<script>", html);
            Assert.Contains(Escaped, html);
        }
        Assert.Contains("data-jid=\"alice@localhost\"", found);
        Assert.DoesNotContain("data-jid=\"bob@localhost\"", found);
        Assert.DoesNotContain("data-jid=", await root.Client.GetStringAsync(root.Console + "/users?q=%25"));
        var audit = await root.Client.GetStringAsync(root.Console + "/audit?handler=csv&actor=root%40localhost");
        Assert.Contains(",account.display-name,alice@localhost,", audit);
    }

    [Fact]
    public async Task The_console_works_over_the_nodes_self_signed_https_with_secure_http_only_same_site_strict_cookies()
    {
        using var root = new ConsoleBrowser($"https://127.0.0.1:{_node.HttpsPort}/admin", https: true);
        var signIn = await root.SignInAsync("root", "root-secret");
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("parley-admin=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/admin", cookie, StringComparison.OrdinalIgnoreCase);
        var status = await root.Client.GetAsync(root.Console + "/status");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var html = await status.Content.ReadAsStringAsync();
        Assert.Contains("Certificates", html);
        // A node that runs alone is its own data monitor's only node, and it serves: ready.
        Assert.Matches("<td class=\"state\">ready</td>", html);
    }
}
