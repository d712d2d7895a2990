using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;
using Parley.Protocol.Sasl;
using Parley.Storage;
using Parley.Storage.Postgres;
using Parley.Storage.Sqlite;
using Parley.Tests.Shared;

namespace Parley.Benchmarks;

/// <summary>
/// <c>storage</c>: the archive on SQLite and on PostgreSQL side by side — appends per second through the store's group
/// commit, a MAM page of 50 and a full-text search among N messages (filled in bulk, not through the server: batched
/// inserts on SQLite as <see cref="ArchiveBenchmarks"/> builds them, COPY on PostgreSQL, the same messages on both), and
/// <c>parley storage migrate</c>'s rows per second for a node of U users and M archived messages. PostgreSQL is a
/// throwaway cluster (as the tests start it) unless <c>--postgres</c> names a database, which then keeps its filled
/// archive for the next run. Wall-clock figures: run it on a quiet machine.
/// </summary>
internal static class StorageSideBySide
{
    private const int Concurrency = 64;
    private const int CopyChunk = 100_000;

    public static async Task RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        await using var cluster = options.Postgres is null ? await PostgresCluster.StartAsync() : null;
        var archiveDatabase = cluster is null ? options.Postgres! : await cluster.CreateDatabaseAsync("bench_archive");
        Console.WriteLine($"storage side by side: {options.Messages:N0} messages of {options.Users:N0} users; {options.Appends:N0} appends; " +
            $"{options.Queries} queries each; migrate {options.MigrateUsers:N0} users and {options.MigrateMessages:N0} messages");

        var sqlitePath = Path.Combine(Path.GetTempPath(), "parley-archive-bench", $"{options.Messages}-{options.Users}-fts.db");
        if (!File.Exists(sqlitePath + ".complete"))
        {
            ArchiveBenchmarks.Build(sqlitePath, options.Messages, options.Users);
            await File.WriteAllTextAsync(sqlitePath + ".complete", "");
        }

        await FillPostgresAsync(archiveDatabase, options.Messages, options.Users);

        var rows = new List<string[]>();
        await using (var sqlite = await SqliteStorage.OpenAsync(sqlitePath))
        await using (var postgres = await PostgresStorage.OpenAsync(archiveDatabase))
        {
            rows.Add(["archive appends/s (group commit, 64 at once)", Rate(await AppendsAsync(sqlite, options.Appends)), Rate(await AppendsAsync(postgres, options.Appends))]);
            rows.Add(["MAM last page of 50, ms (median / p95)", await QueryAsync(sqlite, options, null), await QueryAsync(postgres, options, null)]);
            rows.Add(["full-text search, last 50, ms (median / p95)", await QueryAsync(sqlite, options, ArchiveBenchmarks.Topics[7]), await QueryAsync(postgres, options, ArchiveBenchmarks.Topics[7])]);
        }

        var migrateTarget = cluster is null ? await NewDatabaseBesideAsync(options.Postgres!, "migrate") : await cluster.CreateDatabaseAsync("bench_migrate");
        rows.Add(["storage migrate rows/s", "", Rate(await MigrateAsync(migrateTarget, options.MigrateUsers, options.MigrateMessages))]);

        Console.WriteLine();
        Console.WriteLine($"| {"measure",-46} | {"SQLite",-16} | {"PostgreSQL",-16} |");
        Console.WriteLine($"|{new string('-', 48)}|{new string('-', 18)}|{new string('-', 18)}|");
        foreach (var row in rows)
        {
            Console.WriteLine($"| {row[0],-46} | {row[1],-16} | {row[2],-16} |");
        }
    }

    /// <summary>The same messages as <see cref="ArchiveBenchmarks.Build"/> writes to SQLite, by COPY; kept when already there.</summary>
    private static async Task FillPostgresAsync(string connectionString, int messages, int users)
    {
        await (await PostgresStorage.OpenAsync(connectionString)).DisposeAsync();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        if (await ScalarAsync(connection, "SELECT COUNT(*) FROM archive_messages WHERE archive LIKE 'user%'") == messages)
        {
            return;
        }

        await ExecuteAsync(connection, "TRUNCATE archive_messages, archive_counts");
        var stopwatch = Stopwatch.StartNew();
        var start = new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        for (var first = 0; first < messages; first += CopyChunk)
        {
            await using var copy = await connection.BeginTextImportAsync(
                "COPY archive_messages (archive, with_bare, with_resource, stamp, xml, search) FROM STDIN");
            for (var i = first; i < Math.Min(first + CopyChunk, messages); i++)
            {
                var user = ArchiveBenchmarks.UserJid(i % users);
                var xml = ArchiveBenchmarks.ArchivedXml(user, System.Security.SecurityElement.Escape(ArchiveBenchmarks.Body(i, i / users)));
                // COPY's text format: no tab, newline or backslash occurs in these values.
                await copy.WriteAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{user}\tpeer{i / users % ArchiveBenchmarks.PeersPerUser}@{ArchiveBenchmarks.Domain}\tphone\t{start + i * 100L}\t{xml}\t{PostgresSearchText.VectorOf(user, ArchiveText.BodyOf(xml))}\n"));
            }
        }

        await ExecuteAsync(connection, "ANALYZE archive_messages");
        Console.WriteLine($"// Filled PostgreSQL: {messages:N0} messages of {users:N0} users in {stopwatch.Elapsed.TotalSeconds:N0} s ({messages / stopwatch.Elapsed.TotalSeconds:N0} messages/s)");
    }

    /// <summary>Appends per second: 64 writers at once, as a busy node's sessions archive, each append awaited.</summary>
    private static async Task<double> AppendsAsync(IParleyStorage storage, int appends)
    {
        var next = 0;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= appends)
            {
                await storage.Archive.AppendAsync("appender@" + ArchiveBenchmarks.Domain, $"peer{i % ArchiveBenchmarks.PeersPerUser}@{ArchiveBenchmarks.Domain}/phone",
                    DateTimeOffset.UtcNow, ArchiveBenchmarks.ArchivedXml("appender@" + ArchiveBenchmarks.Domain, ArchiveBenchmarks.Body(i, i)));
            }
        }));
        return appends / stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>The newest 50 messages (with the count) of random users, optionally matching a search.</summary>
    private static async Task<string> QueryAsync(IParleyStorage storage, Options options, string? search)
    {
        var random = new Random(42);
        var times = new List<double>(options.Queries);
        for (var i = 0; i < options.Queries; i++)
        {
            var user = ArchiveBenchmarks.UserJid(random.Next(options.Users));
            var started = Stopwatch.GetTimestamp();
            var page = await storage.Archive.QueryAsync(new ArchiveQuery(user, Max: 50, FromEnd: true, FullText: search));
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (page.Messages.Count == 0)
            {
                throw new InvalidOperationException($"{user}'s archive gave an empty page: the fill is not what the benchmark expects.");
            }
        }

        times.Sort();
        return string.Create(CultureInfo.InvariantCulture, $"{times[times.Count / 2]:0.00} / {times[(int)(times.Count * 0.95)]:0.00}");
    }

    /// <summary>Rows per second of <see cref="SqliteToPostgresCopy"/> for a node with the users and archived messages.</summary>
    private static async Task<double> MigrateAsync(string target, int users, int messages)
    {
        var dataDir = Directory.CreateTempSubdirectory("parley-migrate-bench-").FullName;
        try
        {
            var path = Path.Combine(dataDir, "parley.db");
            ArchiveBenchmarks.Build(path, messages, Math.Max(users, 1));
            await using (var node = await SqliteStorage.OpenAsync(path))
            {
                await node.Accounts.ImportAsync(AccountsAsync(users));
            }

            var stopwatch = Stopwatch.StartNew();
            var tables = await SqliteToPostgresCopy.CopyAsync(path, target, intoNonEmpty: false, progress: null, CancellationToken.None);
            return tables.Sum(table => table.SourceRows) / stopwatch.Elapsed.TotalSeconds;
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async IAsyncEnumerable<(string BareJid, AccountCredentials Credentials)> AccountsAsync(int users)
    {
        // Stores never derive keys: one set of credentials of the right shape serves every account.
        var credentials = new AccountCredentials(Scram(ScramHash.Sha1, 20), Scram(ScramHash.Sha256, 32));
        for (var i = 0; i < users; i++)
        {
            yield return (ArchiveBenchmarks.UserJid(i), credentials);
        }

        await Task.CompletedTask;
    }

    private static ScramCredentials Scram(ScramHash hash, int keyLength) =>
        new(hash, RandomNumberGenerator.GetBytes(16), 4096, RandomNumberGenerator.GetBytes(keyLength), RandomNumberGenerator.GetBytes(keyLength));

    /// <summary>A new, empty database on the server of <paramref name="connectionString"/>, named after its database.</summary>
    private static async Task<string> NewDatabaseBesideAsync(string connectionString, string suffix)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var name = $"{builder.Database}_{suffix}";
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await ExecuteAsync(connection, $"DROP DATABASE IF EXISTS \"{name}\"");
            await ExecuteAsync(connection, $"CREATE DATABASE \"{name}\"");
        }

        builder.Database = name;
        return builder.ConnectionString;
    }

    private static string Rate(double perSecond) => perSecond.ToString("N0", CultureInfo.InvariantCulture);

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The command line: <c>storage [--messages N] [--users U] [--appends A] [--queries Q] [--migrate-users U] [--migrate-messages M] [--postgres CONNECTION_STRING]</c>.</summary>
    private sealed record Options(int Messages, int Users, int Appends, int Queries, int MigrateUsers, int MigrateMessages, string? Postgres)
    {
        public static Options Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                values[args[i]] = args[i + 1];
            }

            int Number(string name, int fallback) => values.TryGetValue(name, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
            return new Options(
                Number("--messages", 10_000_000), Number("--users", 10_000), Number("--appends", 100_000), Number("--queries", 200),
                Number("--migrate-users", 10_000), Number("--migrate-messages", 1_000_000), values.GetValueOrDefault("--postgres"));
        }
    }
}
