using System.CommandLine;
using Parley.Server.Hosting;
using Parley.Storage.Postgres;

namespace Parley.Cli;

/// <summary><c>parley config check</c>: loads the configuration as <c>serve</c> would and says what it means.</summary>
internal static class ConfigCommands
{
    public static Command Create(CliConsole console)
    {
        var check = new Command("check", "Load and check the configuration as 'parley serve' would, and summarize it.");
        var configuration = new CommonOptions(check);
        Cli.SetAction(check, console, async (parseResult, cancellationToken) =>
        {
            var options = configuration.Load(parseResult);
            var output = console.Output;
            output.WriteLine("configuration OK");
            WriteRow(output, "config file", ConfigFileInUse(configuration.ConfigFile(parseResult)));
            WriteRow(output, "domains", string.Join(", ", options.EffectiveDomains));
            WriteRow(output, "data dir", Path.GetFullPath(options.DataDir));
            WriteRow(output, "storage", StorageAccess.Describe(options));
            if (StorageAccess.SqlitePath(options) is { } database)
            {
                // Checked without opening it: opening would create it.
                WriteRow(output, "database", File.Exists(database) ? "exists" : "none yet ('parley serve' creates it; check --data-dir if you expected one)");
            }
            else
            {
                WriteRow(output, "database", await ProbePostgresAsync(options, cancellationToken));
            }

            foreach (var listener in ParleyHost.Listeners(options))
            {
                WriteRow(output, listener.Name, listener.ToString());
            }

            return ExitCodes.Ok;
        });

        var command = new Command("config", "Inspect the configuration.");
        command.Subcommands.Add(check);
        return command;
    }

    /// <summary>Connects, changing nothing (a schema is created or migrated only by a node or a command that writes).</summary>
    /// <exception cref="CliException">PostgreSQL cannot be reached or refuses the login or database (exit code 1).</exception>
    private static async Task<string> ProbePostgresAsync(ParleyOptions options, CancellationToken cancellationToken)
    {
        try
        {
            var (_, serverVersion, schemaVersion) = await PostgresStorage.ProbeAsync(options.Storage.ConnectionString!, cancellationToken);
            return schemaVersion == 0
                ? $"reachable (PostgreSQL {serverVersion}), no Parley schema yet ('parley serve' creates it)"
                : $"reachable (PostgreSQL {serverVersion}), schema version {schemaVersion}";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CliException(ExitCodes.Failed, $"cannot open storage {StorageAccess.Describe(options)}: {e.Message}");
        }
    }

    /// <summary>The same choice <see cref="ParleyHost.LoadConfiguration"/> makes.</summary>
    private static string ConfigFileInUse(string? configFile)
    {
        var path = configFile ?? "parley.json";
        return File.Exists(path) ? Path.GetFullPath(path) : "none (defaults, PARLEY__ environment variables and flags)";
    }

    private static void WriteRow(TextWriter output, string name, string value) => output.WriteLine($"  {name + ":",-16}{value}");
}
