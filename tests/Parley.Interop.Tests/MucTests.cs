using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>
/// Multi-user chat (XEP-0045) with real clients: python3-slixmpp's xep_0045 plugin (and its xep_0425 for moderated
/// retraction) and python3-aioxmpp's MUC client.
/// </summary>
public sealed class MucTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            var add = await _node.CliAsync(["user", "add", $"{user}@localhost", "--password", $"{user}-secret"]);
            Assert.True(add.ExitCode == 0, add.Output);
        }
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<JsonElement> RunAsync(string script, params string[] arguments)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", script);
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3", [path, "127.0.0.1", _node.C2sPort.ToString(), .. arguments], TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"{script} failed:\n{output}\nnode log:\n{_node.Output}");
        return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
    }

    [Fact]
    public async Task Slixmpp_creates_configures_invites_joins_twice_moderates_sees_occupant_ids_and_finds_history_after_a_restart()
    {
        const string Room = "team@conference.localhost";
        var setup = await RunAsync("slixmpp_muc.py", "setup", Room, "alice@localhost:alice-secret", "bob@localhost:bob-secret", "carol@localhost:carol-secret");

        Assert.Equal([110, 201], setup.GetProperty("created_codes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.Equal(Room, setup.GetProperty("invited_by").GetString());
        Assert.Contains(110, setup.GetProperty("second_device_codes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.True(setup.GetProperty("kicked").GetBoolean());
        Assert.True(setup.GetProperty("both_devices").GetBoolean());
        // XEP-0421: one id for Bob's two devices, another for Carol, and Alice's the same in her presence and messages.
        Assert.True(setup.GetProperty("occupant_id_feature").GetBoolean());
        var bobIds = setup.GetProperty("bob_ids_seen_by_alice").EnumerateArray().Select(i => i.GetString()).ToList();
        var carolIds = setup.GetProperty("carol_ids_seen_by_alice").EnumerateArray().Select(i => i.GetString()).ToList();
        Assert.False(string.IsNullOrEmpty(Assert.Single(bobIds)));
        Assert.NotEqual(bobIds, carolIds);
        Assert.Single(carolIds);
        Assert.Single(setup.GetProperty("alice_ids_seen_by_bob").EnumerateArray());
        Assert.True(setup.GetProperty("adhoc_listed_while_occupied").GetBoolean());
        Assert.Equal("item-not-found", setup.GetProperty("adhoc_after_leaving").GetString());

        _node = await _node.RestartAsync();
        var list = await _node.CliAsync(["room", "list"]);
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains(Room, list.Output);

        var after = await RunAsync("slixmpp_muc.py", "after-restart", Room, "bob@localhost:bob-secret");
        Assert.Equal(["before the restart", "desk only"], after.GetProperty("history").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Team room", after.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Slixmpp_moderates_a_message_in_the_older_xep_0425_form_and_another_occupants_slixmpp_sees_it_retracted()
    {
        const string Room = "moderated@conference.localhost";
        var result = await RunAsync("slixmpp_moderation.py", Room, "alice@localhost:alice-secret", "bob@localhost:bob-secret", "carol@localhost:carol-secret");

        Assert.True(result.GetProperty("legacy_feature").GetBoolean());
        var stanzaId = result.GetProperty("stanza_id").GetString();
        Assert.False(string.IsNullOrEmpty(stanzaId));
        Assert.Equal("forbidden", result.GetProperty("participant_refused").GetString());
        Assert.Equal(stanzaId, result.GetProperty("moderated_id").GetString());
        Assert.Equal(Room + "/Owner", result.GetProperty("moderated_by").GetString());
        Assert.Equal("Spam", result.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Aioxmpp_creates_configures_joins_twice_talks_moderates_and_leaves_and_an_ad_hoc_room_vanishes()
    {
        const string Room = "project@conference.localhost";
        var result = await RunAsync("aioxmpp_muc.py", Room, "alice@localhost:alice-secret", "bob@localhost:bob-secret", "carol@localhost:carol-secret");

        Assert.Equal([110, 201], result.GetProperty("created_codes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.Equal("Project room", result.GetProperty("name").GetString());
        var features = result.GetProperty("features").EnumerateArray().Select(f => f.GetString()).ToList();
        Assert.Contains("muc_persistent", features);
        Assert.DoesNotContain("muc_temporary", features);
        Assert.Contains(110, result.GetProperty("second_device_codes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.Equal(["Alice", "Bob", "Carol"], result.GetProperty("nicks_seen_by_alice").EnumerateArray().Select(n => n.GetString()));
        Assert.True(result.GetProperty("talked").GetBoolean());
        Assert.Equal("visitor", result.GetProperty("carol_role").GetString());
        Assert.Equal("KICKED", result.GetProperty("carol_exit").GetString());
        Assert.Equal("admin", result.GetProperty("bob_affiliation").GetString());
        Assert.False(result.GetProperty("phone_got_it_too").GetBoolean());

        Assert.Contains(201, result.GetProperty("adhoc_created_codes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.True(result.GetProperty("adhoc_listed_while_occupied").GetBoolean());
        Assert.False(result.GetProperty("adhoc_listed_after_leaving").GetBoolean());
        Assert.Equal("item-not-found", result.GetProperty("adhoc_info_after_leaving").GetString());
        Assert.Contains(201, result.GetProperty("adhoc_rejoin_codes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.True(result.GetProperty("persistent_listed_when_empty").GetBoolean());

        var list = await _node.CliAsync(["room", "list"]);
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains($"{Room}\tProject room", list.Output);
    }
}
