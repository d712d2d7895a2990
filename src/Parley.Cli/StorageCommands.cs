using System.CommandLine;

namespace Parley.Cli;

/// <summary><c>parley storage ...</c>: commands on a node's database as a whole.</summary>
internal static class StorageCommands
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("storage", "Back up and restore a node's database, or move it to PostgreSQL.");
        command.Subcommands.Add(StorageBackupCommands.CreateBackup(console));
        command.Subcommands.Add(StorageBackupCommands.CreateRestore(console));
        command.Subcommands.Add(StorageMigrateCommand.CreateMigrate(console));
        return command;
    }
}
