using System.Net;
using Microsoft.Playwright;
using Parley.Interop.Tests.Support;
using Parley.Interop.Tests.Web;
using Parley.Tests.Shared;

namespace Parley.Interop.Tests;

/// <summary>The console's Cluster page on the two nodes of <see cref="ClusterInteropTests"/>, in Debian's Chromium.</summary>
public sealed partial class ClusterInteropTests
{
    [Fact]
    public async Task When_node_a_is_killed_node_bs_dashboard_and_status_page_still_render_and_show_it_down()
    {
        await _a.AddUsersAsync("root");
        var grant = await _a.CliAsync(["admin", "grant", "root@localhost"]);
        Assert.True(grant.ExitCode == 0, grant.Output);
        using var root = new ConsoleBrowser($"http://127.0.0.1:{_b.HttpPort}/admin");
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);
        Assert.Contains("<td class=\"state\">answering</td>", await root.Client.GetStringAsync(root.Console));

        await _a.DisposeAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(await root.Client.GetStringAsync(root.Console + "/status")).Contains("<p class=\"problem answering\">down</p>", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "node b's status page does not show node a down");
            await Task.Delay(100);
        }
        var dashboard = await root.Client.GetAsync(root.Console);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Matches("<tr data-node=\"a\">(.|\n)*<td class=\"state expiring\">down</td>", await dashboard.Content.ReadAsStringAsync());
        var status = await root.Client.GetStringAsync(root.Console + "/status");
        Assert.Contains("<section class=\"node-status\" data-node=\"b\">", status);
        Assert.Contains("postgres — PostgreSQL", status);
    }

    [Fact]
    public async Task A_node_that_cannot_reach_the_bus_is_shown_waiting_with_the_reason_on_another_nodes_status_page()
    {
        await _a.AddUsersAsync("root");
        var grant = await _a.CliAsync(["admin", "grant", "root@localhost"]);
        Assert.True(grant.ExitCode == 0, grant.Output);
        var unreachable = $"nats://127.0.0.1:{LoopbackPort.Free()}";
        await using var c = await ParleyProcess.StartAsync(postgres: _database, serveFlags: ["--bus", unreachable, "--node", "c"], untilListening: false);
        await c.WaitForOutputAsync($"Not accepting clients yet: the cluster bus at {unreachable} cannot be reached", TimeSpan.FromSeconds(60));
        using var root = new ConsoleBrowser($"http://127.0.0.1:{_a.HttpPort}/admin");
        Assert.Equal(HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);

        var waiting = $"<tr data-node=\"c\"><td>c</td><td class=\"state\">waiting</td><td class=\"reason\">the cluster bus at {unreachable} cannot be reached: ";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string status;
        while (!(status = await root.Client.GetStringAsync(root.Console + "/status")).Contains(waiting, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"node a's status page does not show node c waiting for the bus:\n{status}");
            await Task.Delay(100);
        }
        Assert.Contains("<tr data-node=\"a\"><td>a</td><td class=\"state\">ready</td>", status);
    }

    [Fact]
    public async Task An_admin_in_chromium_sees_both_nodes_on_the_cluster_page_homes_bob_on_node_a_balances_groups_the_nodes_and_finds_it_all_in_the_audit_log()
    {
        await _a.AddUsersAsync("root");
        var grant = await _a.CliAsync(["admin", "grant", "root@localhost"]);
        Assert.True(grant.ExitCode == 0, grant.Output);
        var shots = Path.Combine(AppContext.BaseDirectory, "screenshots", nameof(ClusterInteropTests));
        Directory.CreateDirectory(shots);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        // Node b's console shows the whole cluster.
        var console = $"http://127.0.0.1:{_b.HttpPort}/admin";

        await page.GotoAsync(console + "/cluster");
        await page.Locator("input[name=name]").FillAsync("root@localhost");
        await page.Locator("input[name=password]").FillAsync("root-secret");
        await page.Locator("form.sign-in button").ClickAsync();
        await page.WaitForURLAsync(console + "/cluster");
        Assert.Equal("up", await page.Locator("#nodes tr[data-node=a] .state").InnerTextAsync());
        Assert.Equal("up", await page.Locator("#nodes tr[data-node=b] .state").InnerTextAsync());
        Assert.Equal(2, await page.Locator("#nodes tbody tr").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "01-cluster.png"), FullPage = true });

        // Node b's dashboard: a line and a row for each node, bob's session on node b counted there.
        await using (var bobOnline = ExternalProcess.Start("/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_online.py"), "127.0.0.1", _b.C2sPort.ToString(), "bob@localhost/desk", "bob-secret", "bob@localhost"]))
        {
            await bobOnline.WaitForOutputAsync("online", TimeSpan.FromSeconds(30));
            await page.GotoAsync(console);
            await page.WaitForFunctionAsync("() => Number(document.querySelector('#node-figures tr[data-node=b] .sessions').textContent) >= 1");
            // The node that serves the page first.
            Assert.Equal(["b", "a"], await page.Locator("#node-figures tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.node)"));
            Assert.Equal("answering", await page.Locator("#node-figures tr[data-node=a] .state").InnerTextAsync());
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "01-dashboard.png"), FullPage = true });
        }
        await page.GotoAsync(console + "/cluster");

        // A cross-site post (no anti-forgery token) and a signed-in account that is not an administrator change nothing.
        using (var plain = new ConsoleBrowser(console))
        {
            Assert.Equal(HttpStatusCode.Redirect, (await plain.SignInAsync("root", "root-secret")).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await plain.PostAsync("/cluster?handler=Balance", [])).StatusCode);
        }
        using (var bob = new ConsoleBrowser(console))
        {
            Assert.Equal(HttpStatusCode.Redirect, (await bob.SignInAsync("bob", "bob-secret")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await bob.Client.GetAsync(console + "/cluster")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await bob.PostAsync("/cluster?handler=Assign", new() { ["jid"] = "alice@localhost", ["node"] = "b" })).StatusCode);
        }

        await page.Locator("#assign input[name=jid]").FillAsync("bob@localhost");
        await page.Locator("#assign select[name=node]").SelectOptionAsync("a");
        await page.Locator("#assign button").ClickAsync();
        await page.GetByText("bob@localhost is now homed on node a.").WaitForAsync();
        foreach (var node in new[] { _a, _b })
        {
            await node.WaitForOutputAsync("the latest bob@localhost on node a", TimeSpan.FromSeconds(30));
        }

        // The status page of node b says each node's data monitor state, and what node a says of itself.
        await page.GotoAsync(console + "/status");
        Assert.Equal("ready", await page.Locator("#readiness tr[data-node=a] .state").InnerTextAsync());
        Assert.Equal("ready", await page.Locator("#readiness tr[data-node=b] .state").InnerTextAsync());
        var nodeA = page.Locator("section.node-status[data-node=a]");
        Assert.StartsWith("postgres — PostgreSQL ", await nodeA.Locator(".storage").InnerTextAsync());
        Assert.EndsWith("— reachable", await nodeA.Locator(".storage").InnerTextAsync());
        Assert.Equal($"connected to {_nats.Url}", await nodeA.Locator(".bus").InnerTextAsync());
        Assert.Equal(await page.Locator("section.node-status[data-node=b] .version").InnerTextAsync(), await nodeA.Locator(".version").InnerTextAsync());
        Assert.Matches("^20[0-9]{2}-[0-9]{2}-[0-9]{2} ", await nodeA.Locator(".certificates tr[data-domain=localhost] .expires").InnerTextAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "02-status.png"), FullPage = true });

        await page.GotoAsync(console + "/cluster");

        await page.Locator("#balance button").ClickAsync();
        await page.GetByText("accounts moved to another home node.").WaitForAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "03-balanced.png"), FullPage = true });

        // A bad group name is refused saying why, and nothing is grouped; then the two nodes become a balanced group.
        await page.Locator("#create-group input[name=name]").FillAsync("pair one");
        await page.Locator("#create-group select[name=first]").SelectOptionAsync("a");
        await page.Locator("#create-group select[name=second]").SelectOptionAsync("b");
        await page.Locator("#create-group button").ClickAsync();
        await page.GetByText("'pair one' is not a group name").WaitForAsync();
        Assert.Equal(0, await page.Locator("#groups").CountAsync());
        await page.Locator("#create-group input[name=name]").FillAsync("pair");
        await page.Locator("#create-group select[name=first]").SelectOptionAsync("a");
        await page.Locator("#create-group select[name=second]").SelectOptionAsync("b");
        await page.Locator("#create-group select[name=mode]").SelectOptionAsync("balanced");
        await page.Locator("#create-group button").ClickAsync();
        await page.GetByText("Group pair (balanced) of a, b was created.").WaitForAsync();
        Assert.Equal("a, b", await page.Locator("#groups tr[data-group=pair] td").Nth(2).InnerTextAsync());
        Assert.Equal("pair", await page.Locator("#nodes tr[data-node=b] td").Nth(3).InnerTextAsync());
        // No node is left to group: the form gives way to a line saying so.
        await page.Locator("#all-grouped").WaitForAsync();
        Assert.Equal(0, await page.Locator("#create-group").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "04-grouped.png"), FullPage = true });

        await page.GotoAsync(console + "/audit");
        await page.GetByText("cluster.assign").First.WaitForAsync();
        await page.GetByText("cluster.balance").First.WaitForAsync();
        await page.GetByText("cluster.group-create").First.WaitForAsync();
        // Only the administrator's three changes from the browser: the refused posts left nothing.
        var csv = await page.APIRequest.GetAsync(console + "/audit?handler=csv");
        var clusterRows = (await csv.TextAsync()).Split('\n').Where(line => line.Contains(",cluster.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, clusterRows.Length);
        Assert.Contains(clusterRows, row => row.Contains(",cluster.group-create,pair,", StringComparison.Ordinal) && row.Contains("balanced: a, b", StringComparison.Ordinal));
        Assert.Contains(clusterRows, row => row.Contains("root@localhost", StringComparison.Ordinal) && row.Contains(",cluster.assign,bob@localhost,", StringComparison.Ordinal));
    }
}
