using Parley.Storage;

namespace Parley.Cli;

/// <summary>
/// <c>parley roster export</c>: every roster item as <see cref="RosterCsv"/> lines, one per item and group (one with an
/// empty group for an item in none), streamed from the store.
/// </summary>
internal static class RosterExport
{
    /// <returns>How many items of how many users were written.</returns>
    public static async Task<(int Items, int Users)> WriteAsync(IRosterStore rosters, string? domain, TextWriter writer, CancellationToken cancellationToken)
    {
        await writer.WriteLineAsync(RosterCsv.Header);
        var items = 0;
        var users = 0;
        string? previousUser = null;
        await foreach (var (user, item) in rosters.ExportAsync(domain, cancellationToken))
        {
            items++;
            if (user != previousUser)
            {
                users++;
                previousUser = user;
            }

            if (item.Groups.Count == 0)
            {
                WriteLine(writer, user, item, group: "");
            }

            foreach (var group in item.Groups)
            {
                WriteLine(writer, user, item, group);
            }
        }

        await writer.FlushAsync(cancellationToken);
        return (items, users);
    }

    private static void WriteLine(TextWriter writer, string user, RosterItem item, string group)
    {
        Csv.WriteField(writer, user);
        writer.Write(',');
        Csv.WriteField(writer, item.Contact);
        writer.Write(',');
        Csv.WriteField(writer, item.Name ?? "");
        writer.Write(',');
        Csv.WriteField(writer, group);
        writer.Write(',');
        writer.WriteLine(RosterCsv.SubscriptionText(item.Subscription));
    }
}
