using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Parley.Storage;
using Parley.Storage.Postgres;
using Spectre.Console;

namespace Parley.Cli;

/// <summary>
/// <c>parley storage migrate --from-data-dir DIR --to-postgres CONNECTION_STRING</c>: copies a stopped node's SQLite
/// database into PostgreSQL, every row with its ids, and checks the counts at the end.
/// </summary>
internal static class StorageMigrateCommand
{
    public static Command CreateMigrate(CliConsole console)
    {
        var from = new Option<string>("--from-data-dir")
        {
            Description = "The data directory of the node whose SQLite database is copied (the node must be stopped).",
            HelpName = "DIR",
            Required = true,
        };
        var to = new Option<string>("--to-postgres")
        {
            Description = "The PostgreSQL database to copy into, as a connection string (the password may come from PGPASSWORD).",
            HelpName = "CONNECTION_STRING",
            Required = true,
        };
        var intoNonEmpty = new Option<bool>("--into-non-empty")
        {
            Description = "Copy even when the target holds data: finishes a copy that was interrupted, without duplicating rows.",
        };
        var command = new Command("migrate", "Copy a node's SQLite database into PostgreSQL: accounts with their credentials, rosters, offline messages, archives with their ids, rooms, PEP.")
        {
            from, to, intoNonEmpty,
        };
        Cli.SetAction(command, console, async (parseResult, cancellationToken) =>
        {
            var sqlitePath = Path.GetFullPath(Path.Combine(parseResult.GetRequiredValue(from), "parley.db"));
            if (!File.Exists(sqlitePath))
            {
                throw new CliException(ExitCodes.Failed, $"no Parley database at {sqlitePath} (check --from-data-dir)");
            }

            var started = Stopwatch.StartNew();
            console.Output.WriteLine($"copying {sqlitePath} into PostgreSQL");
            IReadOnlyList<CopiedTable> tables;
            try
            {
                Task<IReadOnlyList<CopiedTable>> CopyAsync(IProgress<CopyProgress> progress) => SqliteToPostgresCopy.CopyAsync(
                    sqlitePath, parseResult.GetRequiredValue(to), parseResult.GetValue(intoNonEmpty), progress, cancellationToken);
                tables = console.OutputIsTerminal ? await CopyWithBarsAsync(console, CopyAsync) : await CopyWithLinesAsync(console, CopyAsync);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new CliException(ExitCodes.Failed, $"cannot migrate: {e.Message}");
            }

            var missing = tables.Where(table => table.TargetRows < table.SourceRows).ToList();
            if (missing.Count > 0)
            {
                throw new CliException(ExitCodes.Failed, "verification failed: " + string.Join(", ",
                    missing.Select(table => string.Create(CultureInfo.InvariantCulture, $"{table.Table} has {table.TargetRows} rows in PostgreSQL but {table.SourceRows} in SQLite"))));
            }

            var rows = tables.Sum(table => table.SourceRows);
            var seconds = Math.Max(started.Elapsed.TotalSeconds, 0.001);
            console.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"done: {rows} rows in {tables.Count} tables verified in PostgreSQL ({seconds:0.0} s, {rows / seconds:0} rows/s). Start the node with --storage postgres --postgres ..."));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Output to a file or a pipe: a line on standard error after each batch, and each table's summary on standard
    /// output when it is done, so a log shows how far a long copy came.
    /// </summary>
    private static Task<IReadOnlyList<CopiedTable>> CopyWithLinesAsync(CliConsole console, Func<IProgress<CopyProgress>, Task<IReadOnlyList<CopiedTable>>> copy) =>
        copy(new SynchronousProgress(report =>
        {
            if (report.TableDone)
            {
                WriteSummary(console.Output, report);
            }
            else
            {
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {report.Table}: {report.Read} of {report.Total} rows..."));
            }
        }));

    /// <summary>A terminal: a progress bar per table while it is copied, then each table's summary.</summary>
    private static async Task<IReadOnlyList<CopiedTable>> CopyWithBarsAsync(CliConsole console, Func<IProgress<CopyProgress>, Task<IReadOnlyList<CopiedTable>>> copy)
    {
        // The console has decided that a person watches; Spectre guessing again from TERM could disagree and then
        // draw no bars at all while the copy runs.
        var terminal = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(console.Output),
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
        });
        var done = new List<CopyProgress>();
        var tables = await terminal.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                return await copy(new SynchronousProgress(report =>
                {
                    if (!bars.TryGetValue(report.Table, out var bar))
                    {
                        bars[report.Table] = bar = context.AddTask(Markup.Escape(report.Table), maxValue: Math.Max(report.Total, 1));
                    }

                    bar.MaxValue = Math.Max(report.Total, 1);
                    bar.Value = report.TableDone ? bar.MaxValue : report.Read;
                    if (report.TableDone)
                    {
                        done.Add(report);
                    }
                }));
            });
        foreach (var report in done)
        {
            WriteSummary(console.Output, report);
        }

        return tables;
    }

    private static void WriteSummary(TextWriter output, CopyProgress report) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {report.Table + ":",-21}{report.Read,10} rows read, {report.Written,10} written"));

    /// <summary>Reports on the copying thread, so the lines come out in order (Progress&lt;T&gt; would post them elsewhere).</summary>
    private sealed class SynchronousProgress(Action<CopyProgress> report) : IProgress<CopyProgress>
    {
        public void Report(CopyProgress value) => report(value);
    }
}
