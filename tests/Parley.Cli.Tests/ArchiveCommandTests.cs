using Parley.Storage;

namespace Parley.Cli.Tests;

public sealed class ArchiveCommandTests : IDisposable
{
    private static readonly DateTimeOffset Stamp = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Delete_empties_one_archive_says_how_many_messages_went_and_leaves_the_others()
    {
        await using (var storage = await OpenMigratedStorageAsync())
        {
            for (var i = 0; i < 3; i++)
            {
                await storage.Archive.AppendAsync("alice@example.com", "bob@example.com/phone", Stamp, $"<message><body>{i}</body></message>");
            }

            await storage.Archive.AppendAsync("bob@example.com", "alice@example.com", Stamp, "<message><body>kept</body></message>");
        }

        var delete = await _node.RunAsync("archive", "delete", "Alice@EXAMPLE.com");
        var again = await _node.RunAsync("archive", "delete", "alice@example.com");
        var single = await _node.RunAsync("archive", "delete", "bob@example.com");

        Assert.True(delete.ExitCode == 0, delete.ToString());
        Assert.Equal(["deleted 3 messages from the archive of alice@example.com"], delete.OutputLines);
        Assert.Equal(["deleted 0 messages from the archive of alice@example.com"], again.OutputLines);
        Assert.Equal(["deleted 1 message from the archive of bob@example.com"], single.OutputLines);
        await using var reopened = await _node.OpenStorageAsync();
        Assert.Equal(0, (await reopened.Archive.QueryAsync(new ArchiveQuery("alice@example.com"))).Count);
    }

    [Theory]
    [InlineData("alice", "not an account JID")]
    [InlineData("alice@example.com/phone", "not an account JID")]
    [InlineData("@example.com", "not a valid JID")]
    public async Task Delete_refuses_a_jid_that_names_no_archive(string jid, string expected)
    {
        var delete = await _node.RunAsync("archive", "delete", jid);

        Assert.Equal(2, delete.ExitCode);
        Assert.StartsWith("parley: ", delete.Error);
        Assert.Contains(expected, delete.Error);
    }

    [Fact]
    public async Task Delete_without_a_jid_is_a_usage_error()
    {
        var delete = await _node.RunAsync("archive", "delete");

        Assert.Equal(2, delete.ExitCode);
        Assert.Contains("JID", delete.Error);
    }

    private async Task<IParleyStorage> OpenMigratedStorageAsync()
    {
        Directory.CreateDirectory(_node.DataDir);
        return await _node.OpenStorageAsync();
    }
}
