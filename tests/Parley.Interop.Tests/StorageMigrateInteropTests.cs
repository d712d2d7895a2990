using System.Globalization;
using System.Text.Json;
using Parley.Interop.Tests.Support;
using Parley.Tests.Shared;

namespace Parley.Interop.Tests;

/// <summary>
/// A SQLite node filled by real clients (python3-slixmpp), stopped, copied with `parley storage migrate`, and started on
/// PostgreSQL: the same users sign in with the same passwords and find their contacts, the message left while they
/// were offline, their history under the same stanza-ids, and their room.
/// </summary>
public sealed class StorageMigrateInteropTests : IAsyncLifetime
{
    private const string Room = "team@conference.localhost";

    private ParleyProcess _sqliteNode = null!;
    private ParleyProcess? _postgresNode;

    public async Task InitializeAsync()
    {
        _sqliteNode = await ParleyProcess.StartAsync();
        await _sqliteNode.AddUsersAsync("alice", "bob", "carol");
    }

    public async Task DisposeAsync()
    {
        await _sqliteNode.DisposeAsync();
        if (_postgresNode is not null)
        {
            await _postgresNode.DisposeAsync();
        }
    }

    [Fact]
    public async Task Users_of_a_migrated_node_find_everything_on_postgres()
    {
        // The room first: its clients sign in as Bob too, which would collect his offline message.
        await RunAsync(_sqliteNode, "slixmpp_muc.py", "setup", Room, "alice@localhost:alice-secret", "bob@localhost:bob-secret", "carol@localhost:carol-secret");
        var before = await RunAsync(_sqliteNode, "slixmpp_migrate.py", "before", "alice@localhost", "alice-secret", "bob@localhost", "bob-secret");
        Assert.True(await _sqliteNode.TerminateAsync(TimeSpan.FromSeconds(10)), _sqliteNode.Output);
        var database = await (await PostgresCluster.Shared).CreateDatabaseAsync("migrated");

        var (exitCode, output) = await ExternalProcess.RunAsync("dotnet",
            [ParleyProcess.ParleyDll, "storage", "migrate", "--from-data-dir", _sqliteNode.DataDir, "--to-postgres", database], TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, output);
        Assert.Contains("verified in PostgreSQL", output);

        _postgresNode = await ParleyProcess.StartAsync(postgres: database);
        var after = await RunAsync(_postgresNode, "slixmpp_migrate.py", "after", "alice@localhost", "alice-secret", "bob@localhost", "bob-secret");
        var room = await RunAsync(_postgresNode, "slixmpp_muc.py", "after-restart", Room, "bob@localhost:bob-secret");

        Assert.Equal("Bob", after.GetProperty("roster_name").GetString());
        Assert.Equal(["Friends"], after.GetProperty("roster_groups").EnumerateArray().Select(g => g.GetString()));
        var archived = after.GetProperty("archive_pages").EnumerateArray().SelectMany(page => page.EnumerateArray()).ToArray();
        Assert.Equal(["first line", "second line", "third line", "while you were out"], archived.Select(m => m.GetProperty("body").GetString()));
        // The stanza-ids Bob's client got before the move still name the same messages in his archive.
        Assert.Equal(
            before.GetProperty("bob_received").EnumerateArray().Select(m => m.GetProperty("stanza_id").GetString()),
            archived[..3].Select(m => m.GetProperty("id").GetString()));
        var offline = Assert.Single(after.GetProperty("offline").EnumerateArray());
        Assert.Equal(archived[3].GetProperty("id").GetString(), offline.GetProperty("stanza_id").GetString());
        Assert.Equal("while you were out", offline.GetProperty("body").GetString());
        Assert.True(offline.GetProperty("delayed").GetBoolean());
        Assert.Equal(["before the restart", "desk only"], room.GetProperty("history").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Team room", room.GetProperty("name").GetString());
    }

    private static async Task<JsonElement> RunAsync(ParleyProcess node, string script, params string[] arguments)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Clients", script);
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3",
            [path, "127.0.0.1", node.C2sPort.ToString(CultureInfo.InvariantCulture), .. arguments], TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"{script} failed:\n{output}\nnode log:\n{node.Output}");
        return JsonDocument.Parse(output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
    }
}
