using System.CommandLine;
using System.Globalization;
using Parley.Storage;

namespace Parley.Cli;

/// <summary><c>parley audit list</c>: the audit trail of administrative changes, as text or CSV.</summary>
internal static class AuditCommands
{
    private const int PageSize = 1000;

    public static Command Create(CliConsole console)
    {
        var command = new Command("audit", "Read the audit trail of administrative changes.");
        command.Subcommands.Add(CreateList(console));
        return command;
    }

    private static Command CreateList(CliConsole console)
    {
        var sinceOption = new Option<string?>("--since")
        {
            Description = "Only changes at or after this time: an ISO 8601 date or date and time (UTC unless it says otherwise), or an age such as 30m, 24h, 7d.",
            HelpName = "TIME",
        };
        var actorOption = new Option<string?>("--actor") { Description = "Only changes by this actor (an admin's JID, or the CLI's user name).", HelpName = "WHO" };
        var csvOption = new Option<bool>("--csv") { Description = "Write CSV with a header line (at,actor,origin,action,subject,details)." };
        var command = new Command("list", "List administrative changes, oldest first: time (UTC), actor, origin, action, subject and details, tab-separated.")
        {
            sinceOption, actorOption, csvOption,
        };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var since = parseResult.GetValue(sinceOption) is { } text ? ParseSince(text, DateTimeOffset.UtcNow) : (DateTimeOffset?)null;
            var actor = parseResult.GetValue(actorOption);
            var csv = parseResult.GetValue(csvOption);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            if (csv)
            {
                console.Output.WriteLine("at,actor,origin,action,subject,details");
            }

            var lastId = 0L;
            while (true)
            {
                var page = await storage.Audit.ListAsync(since, actor, PageSize, cancellationToken);
                foreach (var record in page.Where(record => record.Id > lastId))
                {
                    Write(console.Output, record, csv);
                    lastId = record.Id;
                }

                if (page.Count < PageSize)
                {
                    return ExitCodes.Ok;
                }

                // Records made in the same millisecond as the page's last are read again and skipped by id.
                since = page[^1].At;
            }
        });
        return command;
    }

    /// <summary>An ISO 8601 date or date and time (UTC unless it says otherwise), or an age: a number and m, h or d.</summary>
    internal static DateTimeOffset ParseSince(string text, DateTimeOffset now)
    {
        if (text.Length >= 2 && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            switch (text[^1])
            {
                case 'm': return now.AddMinutes(-amount);
                case 'h': return now.AddHours(-amount);
                case 'd': return now.AddDays(-amount);
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw new CliException(ExitCodes.Usage, $"--since '{text}' is neither a date and time such as 2026-12-04T09:00Z nor an age such as 30m, 24h or 7d.");
    }

    private static void Write(TextWriter output, AuditRecord record, bool csv)
    {
        var at = record.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        string[] fields = [at, record.Actor, record.Origin, record.Action, record.Subject, record.Details];
        if (csv)
        {
            for (var i = 0; i < fields.Length; i++)
            {
                if (i > 0)
                {
                    output.Write(',');
                }

                // A spreadsheet would run a field that starts like a formula (an announcement's "=HYPERLINK(...)").
                Csv.WriteField(output, fields[i].Length > 0 && fields[i][0] is '=' or '+' or '-' or '@' ? "'" + fields[i] : fields[i]);
            }

            output.WriteLine();
            return;
        }

        // One record per line: what a banner's line breaks and tabs would split is written escaped.
        output.WriteLine(string.Join('\t', fields.Select(field => field.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal))));
    }
}
