using System.CommandLine;
using System.Globalization;
using System.Text;
using Parley.Storage;

namespace Parley.Cli;

/// <summary>
/// <c>parley roster import|export</c>: buddy lists in bulk, for moving a company from another IM system. Like the user
/// commands they open the node's storage for the command only, so they work while the node runs.
/// </summary>
internal static class RosterCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("roster", "Import and export rosters (contact lists).");
        command.Subcommands.Add(CreateImport(console));
        command.Subcommands.Add(CreateExport(console));
        return command;
    }

    private static Command CreateImport(CliConsole console)
    {
        var fileArgument = new Argument<string>("FILE")
        {
            Description = $"A CSV file of '{RosterCsv.LineFormat}' lines (UTF-8; an optional '{RosterCsv.Header}' header; "
                + "fields may be in double quotes, so that a name can hold a comma).",
        };
        var command = new Command("import", """
            Create roster items from a CSV file, all or none: every bad line is reported and then nothing is imported.
            Each line makes jid and contact_jid subscribe to each other ('both'): contact_jid goes into jid's roster with
            the line's name and group, and jid into contact_jid's roster without a name or group, unless the file has
            that line too, whose name and group then win. Lines of one pair with different groups give one item in all
            of them; an empty group means none. A subscription column other than 'both' imports that item alone.
            jid must be an account of a domain this node serves, and so must contact_jid when it is in such a domain.
            Existing items for the same pairs, in both directions, are replaced. A running node shows the new items,
            and the contacts' presence, to users who are online within a second.
            """) { fileArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            return new RosterImport(parseResult.GetRequiredValue(fileArgument), options, console).RunAsync(cancellationToken);
        });
        return command;
    }

    private static Command CreateExport(CliConsole console)
    {
        var domainOption = new Option<string?>("--domain") { Description = "Export only the rosters of this domain's accounts.", HelpName = "D" };
        var outputOption = new Option<string?>("--output") { Description = "Write to this file instead of standard output.", HelpName = "FILE" };
        var command = new Command("export", $"""
            Write every roster item as CSV that 'parley roster import' reads back:
            a '{RosterCsv.Header}' header, then one line per item and group.
            Pending subscription requests and pre-approvals are not exported.
            """) { domainOption, outputOption };
        var configuration = new CommonOptions(command, servedDomainsFlag: false);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var domain = UserCommands.PrepareDomain(parseResult.GetValue(domainOption));
            var output = parseResult.GetValue(outputOption);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            if (output is null)
            {
                await RosterExport.WriteAsync(storage.Rosters, domain, console.Output, cancellationToken);
                return ExitCodes.Ok;
            }

            var (items, users) = await ExportToFileAsync(storage.Rosters, domain, output, cancellationToken);
            console.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"exported {Plural(items, "roster item")} of {Plural(users, "user")} to {output}"));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Writes beside <paramref name="path"/> first and renames at the end, so a failed export never leaves a file that looks whole.</summary>
    private static async Task<(int Items, int Users)> ExportToFileAsync(IRosterStore rosters, string? domain, string path, CancellationToken cancellationToken)
    {
        var partial = path + ".partial";
        StreamWriter writer;
        try
        {
            writer = new StreamWriter(partial, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Failed, $"cannot write {path}: {e.Message}");
        }

        try
        {
            (int Items, int Users) written;
            await using (writer)
            {
                written = await RosterExport.WriteAsync(rosters, domain, writer, cancellationToken);
            }

            File.Move(partial, path, overwrite: true);
            return written;
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    /// <summary>"1 user", "2 users".</summary>
    internal static string Plural(int count, string noun) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {noun}{(count == 1 ? "" : "s")}");
}
