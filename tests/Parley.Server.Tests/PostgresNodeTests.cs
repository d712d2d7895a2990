using System.Diagnostics;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.Tests.Modules;
using Parley.Server.Tests.Support;
using Parley.Tests.Shared;

namespace Parley.Server.Tests;

/// <summary>A node on PostgreSQL: what the CLI changes reaches it through LISTEN/NOTIFY.</summary>
public sealed class PostgresNodeTests
{
    [Fact]
    public async Task An_account_removed_with_the_cli_ends_its_session_within_a_second_without_waiting_for_a_poll()
    {
        var database = await (await PostgresCluster.Shared).CreateDatabaseAsync("node");
        // A poll this slow cannot be what ends the session within a second: only the notification can.
        await using var node = await Muc.StartAsync(options => OnPostgres(options, database, pollMilliseconds: 60_000));
        await using var alice = await Muc.OnlineAsync(node, "alice");

        await ParleyAsync(database, "user", "remove", "alice@localhost");
        var removed = Stopwatch.StartNew();

        var error = await alice.ReceiveAsync(e => e.Name == "error" && e.Namespace == Ns.Streams);
        Assert.True(removed.Elapsed < TimeSpan.FromSeconds(1), $"the session ended {removed.Elapsed.TotalMilliseconds:F0} ms after the command");
        Assert.NotNull(error.Child("not-authorized", Ns.StreamErrors));
        Assert.True(await alice.IsClosedAsync());
    }

    internal static void OnPostgres(ParleyOptions options, string connectionString, int pollMilliseconds = 1000)
    {
        options.Storage.Provider = "postgres";
        options.Storage.ConnectionString = connectionString;
        options.Storage.NoticePollMilliseconds = pollMilliseconds;
    }

    /// <summary>Runs the real `parley` command in-process on the database, as an administrator would beside the node.</summary>
    internal static async Task ParleyAsync(string connectionString, params string[] args)
    {
        var config = Path.Combine(Path.GetTempPath(), $"parley-cli-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, $$"""{ "Parley": { "Domains": ["{{TestNode.Domain}}"] } }""");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var exitCode = await Parley.Cli.Cli.RunAsync([.. args, "--postgres", connectionString, "--config", config], new StringReader(""), output, error);
            Assert.True(exitCode == 0, $"parley {string.Join(' ', args)}: exit {exitCode}\n{output}\n{error}");
        }
        finally
        {
            File.Delete(config);
        }
    }
}
