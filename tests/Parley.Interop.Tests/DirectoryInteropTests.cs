using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Parley.Interop.Tests.Support;
using Parley.Interop.Tests.Web;
using Parley.Ldap.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>python3-slixmpp against the real `parley serve` process and a real slapd: a directory user's day.</summary>
public sealed class DirectoryInteropTests : IAsyncLifetime
{
    private TestDirectory _directory = null!;
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _directory = await TestDirectory.StartAsync();
        _node = await ParleyProcess.StartAsync(new Dictionary<string, string>
        {
            ["PARLEY__DIRECTORY__SERVERS__0"] = _directory.Url,
            ["PARLEY__DIRECTORY__TLS"] = "none",
            ["PARLEY__DIRECTORY__BINDDN"] = TestDirectory.ServiceDn,
            ["PARLEY__DIRECTORY__BINDPASSWORD"] = TestDirectory.ServicePassword,
            ["PARLEY__DIRECTORY__USERBASE"] = TestDirectory.PeopleBase,
            ["PARLEY__DIRECTORY__GROUPBASE"] = TestDirectory.GroupBase,
            ["PARLEY__DIRECTORY__GROUPFILTER"] = "(cn=Engineering Team)",
        });
        await _node.WaitForOutputAsync("Directory sync:", TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _directory.DisposeAsync();
    }

    [Fact]
    public async Task A_directory_user_signs_in_sees_the_groups_colleagues_finds_one_reads_their_photo_and_is_cut_off_when_removed()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "slixmpp_directory.py");
        await using var client = ExternalProcess.Start("/usr/bin/python3",
            [script, "127.0.0.1", _node.C2sPort.ToString(), "alice@localhost/laptop", "alice-pw", "bob@localhost/desk", "bob-pw", "Çelik"]);

        await client.WaitForOutputAsync("\"phase\": \"signed-in\"", TimeSpan.FromSeconds(60));
        await _directory.DeleteAsync(TestDirectory.Person("alice").Dn);
        var config = Path.Combine(_node.DataDir, "directory.json");
        await File.WriteAllTextAsync(config, $$"""
            { "Parley": { "Directory": {
                "Servers": ["{{_directory.Url}}"], "Tls": "none",
                "BindDn": "{{TestDirectory.ServiceDn}}", "BindPassword": "{{TestDirectory.ServicePassword}}",
                "UserBase": "{{TestDirectory.PeopleBase}}", "GroupBase": "{{TestDirectory.GroupBase}}", "GroupFilter": "(cn=Engineering Team)" } } }
            """);
        var sync = await _node.CliAsync(["directory", "sync", "--config", config]);
        var exited = await client.WaitForExitAsync(TimeSpan.FromSeconds(90));

        Assert.True(sync.ExitCode == 0, sync.Output);
        Assert.Contains("1 disabled", sync.Output);
        Assert.True(exited && client.ExitCode == 0, $"slixmpp run failed:\n{client.Output}\nnode log:\n{_node.Output}");
        var result = JsonDocument.Parse(client.Output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("PLAIN", result.GetProperty("mechanism").GetString());
        var roster = result.GetProperty("roster");
        foreach (var colleague in new[] { "bob@localhost", "zoe@localhost" })
        {
            Assert.Equal("both", roster.GetProperty(colleague).GetProperty("subscription").GetString());
            Assert.Equal(["Engineering Team"], roster.GetProperty(colleague).GetProperty("groups").EnumerateArray().Select(g => g.GetString()));
        }
        Assert.Equal("Zoë Çelik", roster.GetProperty("zoe@localhost").GetProperty("name").GetString());
        Assert.True(result.GetProperty("colleague_online").GetBoolean());
        Assert.Equal(["zoe@localhost"], result.GetProperty("found").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal("Bob Baker", result.GetProperty("vcard_name").GetString());
        var photo = TestDirectory.Photo.Concat(Encoding.UTF8.GetBytes("bob")).ToArray();
        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(photo)), result.GetProperty("vcard_photo_sha1").GetString());
        Assert.True(result.GetProperty("session_ended").GetBoolean());
        Assert.False(result.GetProperty("signed_in_again").GetBoolean());
    }

    [Fact]
    public async Task The_consoles_status_page_says_when_the_directory_was_last_synced_and_what_it_did()
    {
        await _node.AddUsersAsync("root");
        Assert.Equal(0, (await _node.CliAsync(["admin", "grant", "root@localhost"])).ExitCode);
        using var root = new ConsoleBrowser($"http://127.0.0.1:{_node.HttpPort}/admin");
        Assert.Equal(System.Net.HttpStatusCode.Redirect, (await root.SignInAsync("root", "root-secret")).StatusCode);

        var status = await root.Client.GetStringAsync(root.Console + "/status");

        Assert.Matches("<dd class=\"directory-sync\">[0-9-]+ [0-9:]+Z: Directory sync: [1-9][0-9]* added, ", status);
    }
}
