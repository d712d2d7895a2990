using System.Text.Json;
using System.Text.RegularExpressions;
using Parley.Interop.Tests.Support;
using Parley.Storage;
using Parley.Storage.Sqlite;

namespace Parley.Interop.Tests;

/// <summary>
/// `parley serve` killed with SIGKILL in the middle of a chat: what the server acknowledged (XEP-0198) is kept, and
/// what it delivered is in the archive (../shared/DESIGN.md §7), because a message is archived before it is delivered
/// and counted as handled only after both.
/// </summary>
public sealed partial class CrashTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        await _node.AddUsersAsync("alice", "bob");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_node_killed_mid_chat_keeps_every_acknowledged_message_and_archives_every_delivered_one_once()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "raw_crash.py");
        await using var clients = ExternalProcess.Start("/usr/bin/python3", [script, "127.0.0.1", _node.C2sTlsPort.ToString(), "alice-secret", "bob-secret"]);
        await clients.WaitForOutputAsync("READY", TimeSpan.FromSeconds(60));
        await clients.WaitForOutputAsync("received 200", TimeSpan.FromSeconds(60));

        // SIGKILL, then the same data directory and ports again.
        _node = await _node.RestartAsync();

        Assert.True(await clients.WaitForExitAsync(TimeSpan.FromSeconds(60)), clients.Output);
        var result = JsonDocument.Parse(clients.Output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
        var acked = result.GetProperty("acked").GetInt32();
        var received = result.GetProperty("received").EnumerateArray().Select(b => b.GetString()!).ToList();
        Assert.True(acked >= 1 && received.Count >= 200, clients.Output[..Math.Min(2000, clients.Output.Length)]);

        await using var storage = await SqliteStorage.OpenAsync(Path.Combine(_node.DataDir, "parley.db"), StorageOpenMode.ExistingOnly);
        var bobs = await ArchivedBodiesAsync(storage, "bob@localhost");
        var alices = await ArchivedBodiesAsync(storage, "alice@localhost");

        var missing = Enumerable.Range(1, acked).Select(i => $"m{i}").Where(body => !bobs.Contains(body) || !alices.Contains(body)).ToList();
        Assert.True(missing.Count == 0, $"acknowledged ({acked}) but not in both archives: {string.Join(", ", missing.Take(20))}");
        var unarchived = received.Where(body => !bobs.Contains(body)).ToList();
        Assert.True(unarchived.Count == 0, $"delivered to Bob but not in his archive: {string.Join(", ", unarchived.Take(20))}");
        Assert.Equal(bobs.Count, bobs.Distinct().Count());
        Assert.Equal(received.Count, received.Distinct().Count());
    }

    internal static async Task<List<string>> ArchivedBodiesAsync(IParleyStorage storage, string archive)
    {
        var bodies = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await storage.Archive.QueryAsync(new ArchiveQuery(archive, AfterId: after, Max: 500));
            bodies.AddRange(page.Messages.Select(m => Body().Match(m.Xml).Groups[1].Value));
            if (page.Complete || page.Messages.Count == 0)
            {
                return bodies;
            }
            after = page.Messages[^1].Id;
        }
    }

    [GeneratedRegex("<body>(m[0-9]+)</body>")]
    private static partial Regex Body();
}
