using System.Diagnostics;
using System.Runtime.CompilerServices;
using Npgsql;
using Parley.Cluster.Topology;
using Parley.Storage;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen failover-setup</c>: the accounts of the failover run in a cluster's PostgreSQL database. Users
/// prefix1..prefixN are homed on the node that will be killed; watchers wprefix1..wprefixW on the other nodes that
/// take users, in turn; watcher j has users j, j+W, j+2W... as mutual contacts, so each user's presence is seen on
/// another node. Accounts get one salt and password, as with <c>setup</c>; homes are set as <c>parley cluster
/// assign</c> sets them.
/// </summary>
internal static class FailoverSetupCommand
{
    public const string Usage =
        "parley-loadgen failover-setup --postgres CONNECTION_STRING --home NODE --users N --password PW\n" +
        "    [--watchers 50] [--user-prefix fo] [--domain localhost]   (watchers: w + user prefix)";

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--postgres", "--home", "--users", "--watchers", "--user-prefix", "--password", "--domain" },
            new HashSet<string>());
        var postgres = arguments.Text("--postgres");
        var home = arguments.Text("--home");
        var users = arguments.Number("--users", 1, 1_000_000);
        var watchers = arguments.Number("--watchers", 1, 100_000, fallback: 50);
        var prefix = arguments.Text("--user-prefix", "fo");
        var password = arguments.Text("--password");
        var domain = arguments.Text("--domain", "localhost");
        var watcherPrefix = "w" + prefix;

        await using var database = NpgsqlDataSource.Create(postgres);
        var topology = new ClusterTopology(database);
        var status = await topology.StatusAsync(cancellationToken).ConfigureAwait(false);
        if (!status.Nodes.Any(node => node.Name == home))
        {
            throw new UsageException($"The cluster has no node '{home}' (it has {string.Join(", ", status.Nodes.Select(node => node.Name))}).");
        }
        var others = status.Nodes.Where(node => node.Name != home && node.TakesUsers).Select(node => node.Name).ToArray();
        if (others.Length == 0)
        {
            throw new UsageException($"No node but {home} takes users: the watchers need another node.");
        }

        var clock = Stopwatch.StartNew();
        var credentials = SetupCommand.SharedCredentials(password);
        await using (var storage = await StorageFactory.OpenAsync("postgres", postgres, StorageOpenMode.ExistingOnly, cancellationToken).ConfigureAwait(false))
        {
            var created = await storage.Accounts.ImportAsync(Accounts(), cancellationToken).ConfigureAwait(false);
            var items = await storage.Rosters.ImportAsync(RosterItems(), cancellationToken).ConfigureAwait(false);
            Console.Out.WriteLine($"accounts       created {created.Created}, {created.AlreadyExisted} existed already; {items} roster items");
        }
        for (var user = 1; user <= users; user++)
        {
            await topology.AssignAsync(Jid(prefix, user), home, cancellationToken).ConfigureAwait(false);
        }
        for (var watcher = 1; watcher <= watchers; watcher++)
        {
            await topology.AssignAsync(Jid(watcherPrefix, watcher), others[(watcher - 1) % others.Length], cancellationToken).ConfigureAwait(false);
        }
        Console.Out.WriteLine($"homes          {prefix}1..{prefix}{users} on {home}; {watcherPrefix}1..{watcherPrefix}{watchers} on {string.Join(", ", others)} in turn ({clock.Elapsed.TotalSeconds:0.0} s)");
        return 0;

        async IAsyncEnumerable<(string, AccountCredentials)> Accounts([EnumeratorCancellation] CancellationToken token = default)
        {
            for (var user = 1; user <= users; user++)
            {
                token.ThrowIfCancellationRequested();
                yield return (Jid(prefix, user), credentials);
            }
            for (var watcher = 1; watcher <= watchers; watcher++)
            {
                yield return (Jid(watcherPrefix, watcher), credentials);
            }
            await Task.CompletedTask.ConfigureAwait(false);
        }

        async IAsyncEnumerable<(string, RosterItem)> RosterItems([EnumeratorCancellation] CancellationToken token = default)
        {
            for (var user = 1; user <= users; user++)
            {
                token.ThrowIfCancellationRequested();
                var watcher = Jid(watcherPrefix, WatcherOf(user, watchers));
                yield return (Jid(prefix, user), new RosterItem(watcher, null, Subscription.Both, false, false, []));
                yield return (watcher, new RosterItem(Jid(prefix, user), null, Subscription.Both, false, false, []));
            }
            await Task.CompletedTask.ConfigureAwait(false);
        }

        string Jid(string name, int number) => $"{name}{number}@{domain}";
    }

    /// <summary>The watcher (1..W) that has <paramref name="user"/> (1..N) as its contact.</summary>
    public static int WatcherOf(int user, int watchers) => (user - 1) % watchers + 1;
}
