using System.CommandLine;
using System.Globalization;
using Parley.Server.Administration;

namespace Parley.Cli;

/// <summary>
/// <c>parley admin token create|list|revoke</c>: the REST API's tokens, through <see cref="ApiTokens"/>. A running node
/// reads them from the database at every request, so a new token works and a revoked one is refused there at once.
/// </summary>
internal static class TokenCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("token", "Manage the REST API's tokens (Authorization: Bearer TOKEN).");
        command.Subcommands.Add(CreateCreate(console));
        command.Subcommands.Add(CreateList(console));
        command.Subcommands.Add(CreateRevoke(console));
        return command;
    }

    private static Command CreateCreate(CliConsole console)
    {
        var nameArgument = new Argument<string>("NAME") { Description = "What the token is for, e.g. provisioning; the audit trail names it." };
        var readOnlyOption = new Option<bool>("--read-only") { Description = "The token may only read (GET); it is refused any change." };
        var command = new Command("create", "Create an API token and print it: the only time it is shown (only its hash is stored).") { nameArgument, readOnlyOption };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var name = parseResult.GetRequiredValue(nameArgument);
            if (ApiTokens.NameProblem(name) is { } problem)
            {
                throw new CliException(ExitCodes.Usage, problem);
            }
            await using var storage = await StorageAccess.OpenOrCreateAsync(options, console, cancellationToken);
            var (result, token) = await new ApiTokens(storage).By(AdminActor.Cli).CreateAsync(name, parseResult.GetValue(readOnlyOption), cancellationToken);
            if (result.Outcome == AdministrationOutcome.AlreadyExists)
            {
                throw new CliException(ExitCodes.Failed, $"A token named '{name}' exists already; nothing changed. Revoke it first to replace it.");
            }
            UserCommands.ThrowIfRefused(result);
            console.Output.WriteLine(token);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateList(CliConsole console)
    {
        var command = new Command("list", "List the API tokens, one a line: name, read-only or read-write, and when it was created (UTC), tab-separated.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            foreach (var token in await new ApiTokens(storage).ListAsync(cancellationToken))
            {
                console.Output.WriteLine(string.Join('\t', token.Name, token.ReadOnly ? "read-only" : "read-write",
                    token.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateRevoke(CliConsole console)
    {
        var nameArgument = new Argument<string>("NAME") { Description = "The token's name." };
        var command = new Command("revoke", "Revoke an API token: requests that carry it are refused from then on.") { nameArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var name = parseResult.GetRequiredValue(nameArgument);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            if ((await new ApiTokens(storage).By(AdminActor.Cli).RevokeAsync(name, cancellationToken)).Outcome == AdministrationOutcome.NotFound)
            {
                throw new CliException(ExitCodes.Failed, $"There is no token named '{name}'; nothing changed.");
            }
            console.Output.WriteLine($"revoked the token {name}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
