using System.CommandLine;
using Parley.Server.Administration;

namespace Parley.Cli;

/// <summary>
/// <c>parley settings list|set NAME VALUE|reset NAME</c>: the runtime settings (<see cref="RuntimeSettings"/>), which
/// override the configuration on every node using the database; running nodes hear of a change within a second.
/// </summary>
internal static class SettingsCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("settings", "Show and change the settings that apply to running nodes at once.");
        command.Subcommands.Add(CreateList(console));
        command.Subcommands.Add(CreateSet(console));
        command.Subcommands.Add(CreateReset(console));
        return command;
    }

    private static Command CreateList(CliConsole console)
    {
        var command = new Command("list", "Print each setting, its value and where that comes from.");
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            foreach (var (setting, value, stored) in await AdministrationServices.WithoutNode(storage, options).Settings.ListAsync(cancellationToken))
            {
                console.Output.WriteLine($"{setting.Name} = {value} ({(stored ? "set" : "configured")}): {setting.Description}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateSet(CliConsole console)
    {
        var nameArgument = NameArgument();
        var valueArgument = new Argument<string>("VALUE") { Description = "A whole number, or on/off, as the setting takes." };
        var command = new Command("set", "Change a setting on every node.") { nameArgument, valueArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var name = parseResult.GetRequiredValue(nameArgument);
            var value = parseResult.GetRequiredValue(valueArgument);
            ThrowIfUnknown(name);
            await using var storage = await StorageAccess.OpenOrCreateAsync(options, console, cancellationToken);
            UserCommands.ThrowIfRefused(await AdministrationServices.WithoutNode(storage, options).Settings.SetAsync(name, value, cancellationToken));
            console.Output.WriteLine($"set {name} = {value.Trim()}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateReset(CliConsole console)
    {
        var nameArgument = NameArgument();
        var command = new Command("reset", "Go back to the configured value.") { nameArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var name = parseResult.GetRequiredValue(nameArgument);
            ThrowIfUnknown(name);
            await using var storage = await StorageAccess.OpenExistingAsync(options, cancellationToken);
            var result = await AdministrationServices.WithoutNode(storage, options).Settings.ResetAsync(name, cancellationToken);
            console.Output.WriteLine(result.Outcome == AdministrationOutcome.NotFound
                ? $"{name} was not set; it is as configured"
                : $"{name} is as configured again");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Argument<string> NameArgument() =>
        new("NAME") { Description = $"One of: {string.Join(", ", RuntimeSettings.All.Select(s => s.Name))}." };

    private static void ThrowIfUnknown(string name)
    {
        if (RuntimeSettings.Find(name) is null)
        {
            throw new CliException(ExitCodes.Usage, $"there is no setting '{name}'; the settings are {string.Join(", ", RuntimeSettings.All.Select(s => s.Name))}.");
        }
    }
}
