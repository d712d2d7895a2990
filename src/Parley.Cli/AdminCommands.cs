using System.CommandLine;
using Parley.Protocol;
using Parley.Server.Administration;

namespace Parley.Cli;

/// <summary>
/// <c>parley admin grant|revoke|list</c> (and <c>token</c>, <see cref="TokenCommands"/>): the admin role in the database, through <see cref="AdminRoles"/>. A running
/// node asks the database at every use, so a change counts there at once.
/// </summary>
internal static class AdminCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("admin", "Manage who has the admin role (besides the accounts Parley:Admins lists).");
        command.Subcommands.Add(CreateChange(console, grant: true));
        command.Subcommands.Add(CreateChange(console, grant: false));
        command.Subcommands.Add(CreateList(console));
        command.Subcommands.Add(TokenCommands.Create(console));
        return command;
    }

    private static Command CreateChange(CliConsole console, bool grant)
    {
        var jidArgument = new Argument<string>("JID") { Description = "The account's bare JID, user@domain." };
        var command = grant
            ? new Command("grant", "Give an account the admin role: it may run the service administration commands (XEP-0133).") { jidArgument }
            : new Command("revoke", "Take the admin role from an account that was granted it.") { jidArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var text = parseResult.GetRequiredValue(jidArgument);
            var bareJid = AccountInput.TryPrepareJid(text, out var prepared, out var error) ? prepared : throw new CliException(ExitCodes.Usage, error);
            await using var storage = grant
                ? await StorageAccess.OpenOrCreateAsync(options, console, cancellationToken)
                : await StorageAccess.OpenExistingAsync(options, cancellationToken);
            var admins = AdministrationServices.WithoutNode(storage, options).Admins;
            var jid = Jid.Parse(bareJid);
            var result = grant ? await admins.GrantAsync(jid, cancellationToken) : await admins.RevokeAsync(jid, cancellationToken);
            switch (result.Outcome)
            {
                case AdministrationOutcome.AlreadyExists:
                    throw new CliException(ExitCodes.Failed, $"{bareJid} is an admin already; nothing changed.");
                case AdministrationOutcome.NotFound:
                    throw new CliException(ExitCodes.Failed, $"{bareJid} was not granted the admin role; nothing changed.");
                case AdministrationOutcome.Refused:
                    throw new CliException(grant ? ExitCodes.Usage : ExitCodes.Failed, result.Problem!);
            }

            console.Output.WriteLine(grant ? $"granted the admin role to {bareJid}" : $"revoked the admin role of {bareJid}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateList(CliConsole console)
    {
        var command = new Command("list", "List the admins, one JID per line; one that Parley:Admins lists ends in a tab and 'configured'.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            foreach (var (jid, configured) in await AdministrationServices.WithoutNode(storage, options).Admins.ListAsync(cancellationToken))
            {
                console.Output.WriteLine(configured ? $"{jid}\tconfigured" : jid);
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
