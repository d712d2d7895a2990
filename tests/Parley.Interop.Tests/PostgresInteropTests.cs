using System.Globalization;
using System.Text.Json;
using Parley.Interop.Tests.Support;
using Parley.Storage;
using Parley.Storage.Postgres;
using Parley.Tests.Shared;

namespace Parley.Interop.Tests;

/// <summary>
/// python3-slixmpp clients on a `parley serve` whose storage is PostgreSQL (--postgres): log in and chat, offline
/// delivery, archive paging with stable stanza-ids, and a persistent room found again after the node restarts.
/// </summary>
public sealed class PostgresInteropTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        var database = await (await PostgresCluster.Shared).CreateDatabaseAsync("interop");
        _node = await ParleyProcess.StartAsync(postgres: database);
        await _node.AddUsersAsync("alice", "bob", "carol", "romeo", "juliet");

        // The node and the CLI both work on PostgreSQL, not on a SQLite file in the data directory.
        await using var storage = await PostgresStorage.OpenAsync(database, StorageOpenMode.ExistingOnly);
        Assert.True(await storage.Accounts.ExistsAsync("juliet@localhost"));
        Assert.False(File.Exists(Path.Combine(_node.DataDir, "parley.db")));
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Two_slixmpp_clients_log_in_and_chat()
    {
        var result = await RunAsync("slixmpp_chat.py", "starttls", "SCRAM-SHA-256", "alice@localhost/laptop", "alice-secret", "bob@localhost/phone", "bob-secret");

        Assert.Equal("alice@localhost/laptop", result.GetProperty("jid1").GetString());
        Assert.Equal("hello from one", result.GetProperty("received_by_2").GetProperty("body").GetString());
        Assert.Equal("hello back", result.GetProperty("received_by_1").GetProperty("body").GetString());
    }

    [Fact]
    public async Task Slixmpp_users_add_each_other_and_get_offline_messages()
    {
        var result = await RunAsync("slixmpp_im.py", "alice@localhost", "alice-secret", "bob@localhost", "bob-secret");

        Assert.Equal("both", result.GetProperty("roster").GetProperty("alice").GetString());
        Assert.Equal("both", result.GetProperty("roster").GetProperty("bob").GetString());
        var offline = result.GetProperty("offline");
        Assert.Equal("first while you were out", offline[0].GetProperty("body").GetString());
        Assert.Equal("second while you were out", offline[1].GetProperty("body").GetString());
        Assert.True(offline[0].GetProperty("delayed").GetBoolean());
    }

    [Fact]
    public async Task A_third_device_pages_through_the_archive_under_the_stanza_ids_the_devices_got()
    {
        var result = await RunAsync("slixmpp_devices.py", "romeo@localhost", "romeo-secret", "juliet@localhost", "juliet-secret", "sync");

        var pages = result.GetProperty("tablet_pages").EnumerateArray().ToArray();
        Assert.Equal(["false", "false", "true"], pages.Select(page => page.GetProperty("complete").GetString()));
        var archived = pages.SelectMany(page => page.GetProperty("messages").EnumerateArray()).ToArray();
        Assert.Equal(7, archived.Length);
        Assert.Equal("Romeo, are you there?", archived[0].GetProperty("body").GetString());
        Assert.Equal("See you at noon.", archived[^1].GetProperty("body").GetString());
        var desk = result.GetProperty("desk");
        foreach (var line in new[] { 0, 2, 4, 6 })
        {
            Assert.Equal(archived[line].GetProperty("id").GetString(), desk[line].GetProperty("stanza_id").GetString());
        }
    }

    [Fact]
    public async Task A_persistent_room_is_found_again_with_its_history_after_a_restart()
    {
        const string Room = "team@conference.localhost";
        var setup = await RunAsync("slixmpp_muc.py", "setup", Room, "alice@localhost:alice-secret", "bob@localhost:bob-secret", "carol@localhost:carol-secret");
        Assert.Equal([110, 201], setup.GetProperty("created_codes").EnumerateArray().Select(c => c.GetInt32()));

        _node = await _node.RestartAsync();
        var list = await _node.CliAsync(["room", "list"]);
        var after = await RunAsync("slixmpp_muc.py", "after-restart", Room, "bob@localhost:bob-secret");

        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains(Room, list.Output);
        Assert.Equal(["before the restart", "desk only"], after.GetProperty("history").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Team room", after.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Slixmpp_finds_full_text_search_on_postgres_with_operators_and_4_byte_characters()
    {
        var result = await RunAsync("slixmpp_search.py", "alice@localhost", "alice-secret", "bob@localhost", "bob-secret", "BALCONY 𠮷", "2",
            "Meet me on the balcony & bring 𠮷 🎻", "What light | through yonder window!", "balcony: 'quoted' \\ back*slash 𠮷",
            "the balcony without music 🎻", "𠮷 balcony-violin <-> duet", "Good night");

        Assert.Contains("urn:xmpp:fulltext:0", result.GetProperty("features").EnumerateArray().Select(f => f.GetString()));
        Assert.Contains("{urn:xmpp:fulltext:0}fulltext", result.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        var pages = result.GetProperty("pages").EnumerateArray().ToArray();
        Assert.Equal(
            [["Meet me on the balcony & bring 𠮷 🎻", "balcony: 'quoted' \\ back*slash 𠮷"], ["𠮷 balcony-violin <-> duet"]],
            pages.Select(page => page.GetProperty("bodies").EnumerateArray().Select(b => b.GetString()).ToArray()));
        Assert.All(pages, page => Assert.Equal("3", page.GetProperty("count").GetString()));
    }

    private async Task<JsonElement> RunAsync(string script, params string[] arguments)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", script);
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [path, "127.0.0.1", _node.C2sPort.ToString(CultureInfo.InvariantCulture), .. arguments], TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"{script} failed:\n{output}\nnode log:\n{_node.Output}");
        // asyncio may warn about slixmpp's tasks after the result line at exit.
        return JsonDocument.Parse(output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
    }
}
