namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen roster-csv</c>: writes the presence load's rosters (<see cref="ContactCircle"/>) as the
/// <c>jid,contact_jid</c> lines that <c>parley roster import</c> turns into mutual subscriptions: one circle of the
/// measured users 1..N and a separate one of the warm-up users N+1..N+W.
/// </summary>
internal static class RosterCsvCommand
{
    public const string Usage =
        "parley-loadgen roster-csv --users N --contacts R --output FILE [--warmup-users 100] [--user-prefix pres] [--domain localhost]";

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--users", "--contacts", "--output", "--warmup-users", "--user-prefix", "--domain" },
            new HashSet<string>());
        var users = arguments.Number("--users", 3, 1_000_000);
        var contacts = arguments.Number("--contacts", 2, 10_000);
        var warmupUsers = arguments.Number("--warmup-users", 0, 1_000_000, fallback: 100);
        var path = arguments.Text("--output");
        var prefix = arguments.Text("--user-prefix", "pres");
        var domain = arguments.Text("--domain", "localhost");

        var circles = new List<ContactCircle> { new(1, users, contacts) };
        if (warmupUsers > 0)
        {
            circles.Add(new ContactCircle(users + 1, warmupUsers, contacts));
        }
        var lines = 0;
        await using (var writer = new StreamWriter(path))
        {
            foreach (var circle in circles)
            {
                foreach (var (user, contact) in circle.Pairs())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await writer.WriteLineAsync($"{prefix}{user}@{domain},{prefix}{contact}@{domain}").ConfigureAwait(false);
                    lines++;
                }
            }
        }
        Console.Out.WriteLine($"wrote {lines} mutual pairs for {users} + {warmupUsers} users to {path}");
        return 0;
    }
}
