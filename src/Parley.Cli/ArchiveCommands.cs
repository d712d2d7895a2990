using System.CommandLine;
using System.Globalization;
using Parley.Server.Administration;

namespace Parley.Cli;

/// <summary><c>parley archive delete JID</c>: an administrator empties a message archive (XEP-0313) of a user or a room.</summary>
internal static class ArchiveCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("archive", "Manage message archives.");
        command.Subcommands.Add(CreateDelete(console));
        return command;
    }

    private static Command CreateDelete(CliConsole console)
    {
        var jidArgument = new Argument<string>("JID") { Description = "Whose archive: a user's bare JID (user@domain) or a room's (room@conference.domain)." };
        var command = new Command("delete", "Delete every archived message of a user or a room; the account and the archive preferences stay.") { jidArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var text = parseResult.GetRequiredValue(jidArgument);
            var archive = AccountInput.TryPrepareJid(text, out var bareJid, out var error) ? bareJid : throw new CliException(ExitCodes.Usage, error);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            var deleted = await storage.Archive.DeleteArchiveAsync(archive, cancellationToken);
            await AdminActor.RecordAsync(storage, AdminActor.Cli, AuditActions.ArchiveDelete, archive, $"{deleted} messages deleted", cancellationToken);
            console.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"deleted {deleted} {(deleted == 1 ? "message" : "messages")} from the archive of {archive}"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
