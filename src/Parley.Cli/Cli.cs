using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Parley.Server.Hosting;
using Parley.Server.Modules.Version;

namespace Parley.Cli;

/// <summary>The <c>parley</c> command line; Program.cs runs it on the process's console, tests on their own streams.</summary>
public static class Cli
{
    public static Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, new CliConsole(stdin, stdout, stderr), cancellationToken);

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        // Without a command, the help says what there is to do.
        if (args.Length == 0)
        {
            args = ["--help"];
        }

        // No response files: an argument starting with '@' is a (bad) JID here, not a file of arguments.
        var parseResult = CreateRootCommand(console).Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (UnknownOrMissingSubcommand(parseResult) is { } problem)
        {
            console.Error.WriteLine($"parley: {problem}");
            console.Error.WriteLine("Try 'parley --help'.");
            return ExitCodes.Usage;
        }

        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors)
            {
                console.Error.WriteLine($"parley: {error.Message}");
            }

            console.Error.WriteLine("Try 'parley --help'.");
            return ExitCodes.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = console.Output,
            Error = console.Error,

            // The node's host handles Ctrl-C and SIGTERM itself and needs longer than System.CommandLine's
            // default grace period to shut down cleanly.
            ProcessTerminationTimeout = null,
        };
        return await parseResult.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary>
    /// For a command line that names no command, or one that does not exist, where a command is expected: one line
    /// saying so with the commands there are, instead of System.CommandLine's "Required command was not provided."
    /// and "Unrecognized command or argument".
    /// </summary>
    private static string? UnknownOrMissingSubcommand(ParseResult parseResult)
    {
        var command = parseResult.CommandResult.Command;
        if (command.Subcommands.Count == 0 || command.Action is not null)
        {
            return null;
        }

        var path = command is RootCommand ? "parley" : $"parley {CommandPath(parseResult.CommandResult)}";
        var commands = string.Join(", ", command.Subcommands.Where(subcommand => !subcommand.Hidden).Select(subcommand => subcommand.Name));
        var unknown = parseResult.UnmatchedTokens.FirstOrDefault(token => !token.StartsWith('-'));
        if (unknown is not null)
        {
            var name = command is RootCommand ? unknown : $"{CommandPath(parseResult.CommandResult)} {unknown}";
            return $"unknown command '{name}'; the commands of '{path}' are: {commands}.";
        }

        return parseResult.UnmatchedTokens.Count == 0 && parseResult.Errors.Count > 0
            ? $"'{path}' needs a command: {commands}."
            : null;
    }

    private static string CommandPath(CommandResult result) =>
        result.Parent is CommandResult parent && parent.Command is not RootCommand ? $"{CommandPath(parent)} {result.Command.Name}" : result.Command.Name;

    public static RootCommand CreateRootCommand(CliConsole console)
    {
        var root = new RootCommand("Parley, an XMPP IM and presence server.");
        foreach (var option in root.Options)
        {
            if (option is VersionOption version)
            {
                version.Action = new PrintVersionAction(console.Output);
            }
        }

        root.Subcommands.Add(ServeCommand.Create(console));
        root.Subcommands.Add(UserCommands.Create(console));
        root.Subcommands.Add(RosterCommands.Create(console));
        root.Subcommands.Add(RoomCommands.Create(console));
        root.Subcommands.Add(ConfigCommands.Create(console));
        root.Subcommands.Add(ArchiveCommands.Create(console));
        root.Subcommands.Add(StorageCommands.Create(console));
        root.Subcommands.Add(AdminCommands.Create(console));
        root.Subcommands.Add(AuditCommands.Create(console));
        root.Subcommands.Add(BannerCommands.Create(console));
        root.Subcommands.Add(SettingsCommands.Create(console));
        root.Subcommands.Add(DirectoryCommands.Create(console));
        root.Subcommands.Add(ClusterCommands.Create(console));
        return root;
    }

    /// <summary>
    /// Sets <paramref name="action"/> as the command's action, turning the errors every command can meet into
    /// "parley: ..." on standard error and the documented exit code.
    /// </summary>
    internal static void SetAction(Command command, CliConsole console, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                return await action(parseResult, cancellationToken);
            }
            catch (ConfigurationException e)
            {
                console.Error.WriteLine("parley: configuration error:");
                foreach (var problem in e.Message.Split(Environment.NewLine))
                {
                    console.Error.WriteLine($"  {problem}");
                }

                return ExitCodes.Usage;
            }
            catch (CliException e)
            {
                console.Error.WriteLine($"parley: {e.Message}");
                return e.ExitCode;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                console.Error.WriteLine($"parley: {e.Message}");
                return ExitCodes.Failed;
            }
        });
    }

    /// <summary>Prints the server's version, not the entry assembly's (which under a test host is the test host's).</summary>
    private sealed class PrintVersionAction(TextWriter output) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            output.WriteLine(VersionModule.ProductVersion);
            return ExitCodes.Ok;
        }
    }
}
