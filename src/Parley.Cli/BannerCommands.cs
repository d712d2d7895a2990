using System.CommandLine;
using System.Text;
using Parley.Server.Administration;

namespace Parley.Cli;

/// <summary>
/// <c>parley banner set FILE|clear|show</c>: the login banner, which XMPP clients get at login as the message of the
/// day, through <see cref="LoginBanner"/>. A running node reads it at every login, so a change counts there at once.
/// </summary>
internal static class BannerCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("banner", "Manage the login banner (the message of the day XMPP clients get at login).");
        command.Subcommands.Add(CreateSet(console));
        command.Subcommands.Add(CreateClear(console));
        command.Subcommands.Add(CreateShow(console));
        return command;
    }

    private static Command CreateSet(CliConsole console)
    {
        var fileArgument = new Argument<string>("FILE") { Description = $"A UTF-8 text file with the banner (at most {LoginBanner.MaxLength} characters); '-' reads standard input." };
        var command = new Command("set", "Set the login banner from a file.") { fileArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var path = parseResult.GetRequiredValue(fileArgument);
            var text = await ReadAsync(path, console, cancellationToken);
            if (LoginBanner.Problem(text) is { } problem)
            {
                throw new CliException(ExitCodes.Usage, $"{path}: {problem}");
            }

            await using var storage = await StorageAccess.OpenOrCreateAsync(options, console, cancellationToken);
            UserCommands.ThrowIfRefused(await AdministrationServices.WithoutNode(storage, options).Banner.SetAsync(text, cancellationToken));
            console.Output.WriteLine("set the login banner");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateClear(CliConsole console)
    {
        var command = new Command("clear", "Remove the login banner.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            var result = await AdministrationServices.WithoutNode(storage, options).Banner.ClearAsync(cancellationToken);
            console.Output.WriteLine(result.Outcome == AdministrationOutcome.NotFound ? "there was no login banner" : "cleared the login banner");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateShow(CliConsole console)
    {
        var command = new Command("show", "Print the login banner; nothing when there is none.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            if (await AdministrationServices.WithoutNode(storage, options).Banner.GetAsync(cancellationToken) is { } banner)
            {
                console.Output.WriteLine(banner);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<string> ReadAsync(string path, CliConsole console, CancellationToken cancellationToken)
    {
        if (path == "-")
        {
            return await console.Input.ReadToEndAsync(cancellationToken);
        }

        try
        {
            return await File.ReadAllTextAsync(path, Encoding.UTF8, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Failed, $"cannot read {path}: {e.Message}");
        }
    }
}
