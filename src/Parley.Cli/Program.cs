using Parley.Cli;

return await Cli.RunAsync(args, CliConsole.System);
