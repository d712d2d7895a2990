using System.CommandLine;
using System.Globalization;
using Parley.Server.Hosting;
using Parley.Storage;
using Parley.Storage.Sqlite;

namespace Parley.Cli;

/// <summary>
/// <c>parley storage backup FILE</c> copies a SQLite node's database while the node runs; <c>parley storage restore FILE</c>
/// puts such a copy back while the node is stopped. PostgreSQL has its own tools (pg_dump, pg_basebackup).
/// </summary>
internal static class StorageBackupCommands
{
    public static Command CreateBackup(CliConsole console)
    {
        var fileArgument = new Argument<string>("FILE") { Description = "The backup file to write; it must not exist yet." };
        var command = new Command(
            "backup", "Write a consistent copy of the node's SQLite database to FILE; the node may keep running.") { fileArgument };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var database = SqliteDatabase(configuration.Load(parseResult), "backup");
            SqliteBackupResult backup;
            try
            {
                backup = await SqliteBackup.BackupAsync(database, parseResult.GetRequiredValue(fileArgument), cancellationToken);
            }
            catch (StorageNotFoundException e)
            {
                throw new CliException(ExitCodes.Failed, $"{e.Message} (check --data-dir)");
            }

            console.Output.WriteLine(string.Create(
                CultureInfo.InvariantCulture, $"backed up {database} (schema version {backup.SchemaVersion}) to {backup.BackupPath} ({backup.Bytes} bytes)"));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CreateRestore(CliConsole console)
    {
        var fileArgument = new Argument<string>("FILE") { Description = "A backup written by 'parley storage backup'." };
        var command = new Command(
            "restore",
            "Put the backup FILE in place of the node's SQLite database. The node must be stopped; the database it replaces is kept as parley.db.bak.")
        {
            fileArgument,
        };
        var configuration = new CommonOptions(command);
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var database = SqliteDatabase(configuration.Load(parseResult), "restore");
            var file = parseResult.GetRequiredValue(fileArgument);
            SqliteRestoreResult restore;
            try
            {
                restore = await SqliteBackup.RestoreAsync(file, database, cancellationToken);
            }
            catch (StorageNotFoundException e)
            {
                throw new CliException(ExitCodes.Failed, $"no backup file at {e.Location}");
            }

            console.Output.WriteLine(string.Create(
                CultureInfo.InvariantCulture, $"restored {Path.GetFullPath(file)} (schema version {restore.SchemaVersion}) to {restore.DatabasePath}"));
            console.Output.WriteLine(restore.ReplacedKeptAs is { } keptAs
                ? $"the database it replaced is kept as {keptAs}"
                : "there was no database to replace");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string SqliteDatabase(ParleyOptions options, string action) =>
        StorageAccess.SqlitePath(options) ?? throw new CliException(
            ExitCodes.Failed,
            $"'storage {action}' works on a SQLite database; this node uses {StorageAccess.Describe(options)}. " +
            "For PostgreSQL use pg_dump and pg_restore (see docs/configuration.md, \"Backups\").");
}
