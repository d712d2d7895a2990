using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using Parley.Storage;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// The message archive (XEP-0313) on SQLite: pages of 50 out of a large archive, full-text searches (XEP-0431), and
/// appends one at a time as MamModule writes them. The databases are built once into the temp folder (minutes for the
/// large one) and reused by later runs; delete parley-archive-bench/ there to rebuild. PARLEY_BENCH_ARCHIVES picks
/// other sizes, e.g. PARLEY_BENCH_ARCHIVES=10000/10 for a quick check that the benchmark works.
/// </summary>
[MemoryDiagnoser]
public class ArchiveBenchmarks
{
    internal const string Domain = "localhost";
    internal const int PeersPerUser = 50;
    private const int BatchSize = 100_000;
    private const string AppendingUser = "appender@" + Domain;

    /// <summary>A word in one message of 1,000, for a search that finds few.</summary>
    private const string RareWord = "kaleidoscope";

    /// <summary>Every message talks about one of these, in turn: a search for one finds 1 in 20 of a user's messages.</summary>
    internal static readonly string[] Topics =
    [
        "design", "budget", "release", "hiring", "roadmap", "incident", "migration", "security", "customer", "invoice",
        "travel", "offsite", "training", "benchmark", "database", "network", "printer", "lunch", "holiday", "contract",
    ];

    private SqliteStorage _storage = null!;
    private string _user = null!;
    private string _peer = null!;
    private string _middleId = null!;
    private int _appended;

    /// <summary>"messages/users": 1,000,000 messages of one user, or 10,000,000 of 10,000 users (1,000 each).</summary>
    [ParamsSource(nameof(Archives))]
    public string Archive { get; set; } = "";

    public static IEnumerable<string> Archives() =>
        Environment.GetEnvironmentVariable("PARLEY_BENCH_ARCHIVES")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        ?? ["1000000/1", "10000000/10000"];

    [GlobalSetup]
    public void Setup()
    {
        var parts = Archive.Split('/');
        var messages = int.Parse(parts[0]);
        var users = int.Parse(parts[1]);
        // "-fts": built with the search index (a database built before it would be indexed by the migration when opened).
        var path = Path.Combine(Path.GetTempPath(), "parley-archive-bench", $"{messages}-{users}-fts.db");
        if (!File.Exists(path + ".complete"))
        {
            Build(path, messages, users);
            File.WriteAllText(path + ".complete", "");
        }

        _storage = SqliteStorage.OpenAsync(path).GetAwaiter().GetResult();
        // The user in the middle of the list, so the rows of others lie on both sides of theirs.
        _user = UserJid(users / 2);
        _peer = $"peer7@{Domain}";
        var perUser = messages / users;
        var middle = _storage.Archive.QueryAsync(new ArchiveQuery(_user, Max: perUser / 2)).GetAwaiter().GetResult();
        _middleId = middle.Messages[^1].Id;

        // A benchmark of a query that finds nothing would measure nothing.
        var check = LastPage().GetAwaiter().GetResult();
        if (check.Messages.Count != 50 || check.Count != perUser)
        {
            throw new InvalidOperationException($"The archive of {_user} holds {check.Count} messages; expected {perUser}.");
        }

        var topic = SearchTopicLastPage().GetAwaiter().GetResult();
        if (topic.Count != perUser / Topics.Length || topic.Messages.Count != Math.Min(50, topic.Count))
        {
            throw new InvalidOperationException($"A search for '{Topics[7]}' found {topic.Count} messages; expected {perUser / Topics.Length}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _storage.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>What a client asks on login: the newest 50 messages (RSM &lt;before/&gt;), with the count.</summary>
    [Benchmark]
    public Task<ArchivePage> LastPage() => _storage.Archive.QueryAsync(new ArchiveQuery(_user, Max: 50, FromEnd: true));

    /// <summary>Catching up from a message in the middle of the archive (RSM &lt;after/&gt;).</summary>
    [Benchmark]
    public Task<ArchivePage> PageAfterMiddleId() => _storage.Archive.QueryAsync(new ArchiveQuery(_user, AfterId: _middleId, Max: 50));

    /// <summary>The newest 50 messages with one contact (form field 'with', a bare JID).</summary>
    [Benchmark]
    public Task<ArchivePage> LastPageWithOneContact() => _storage.Archive.QueryAsync(new ArchiveQuery(_user, With: _peer, Max: 50, FromEnd: true));

    /// <summary>A full-text search (XEP-0431) for a word in 1 of 20 messages: the newest 50 matches, with their count.</summary>
    [Benchmark]
    public Task<ArchivePage> SearchTopicLastPage() => _storage.Archive.QueryAsync(new ArchiveQuery(_user, Max: 50, FromEnd: true, FullText: Topics[7]));

    /// <summary>Two words that occur together in 1 of 20 messages, the second typed half-way (a prefix).</summary>
    [Benchmark]
    public Task<ArchivePage> SearchTwoWordsLastPage() => _storage.Archive.QueryAsync(new ArchiveQuery(_user, Max: 50, FromEnd: true, FullText: "security revi"));

    /// <summary>A full-text search for a word in 1 message of 1,000.</summary>
    [Benchmark]
    public Task<ArchivePage> SearchRareWord() => _storage.Archive.QueryAsync(new ArchiveQuery(_user, Max: 50, FromEnd: true, FullText: RareWord));

    /// <summary>
    /// One message archived, as MamModule does for each message sent or received (one statement, one commit). It goes
    /// to another user's archive, so the databases the other benchmarks query stay as built.
    /// </summary>
    [Benchmark]
    public Task<string> Append() => _storage.Archive.AppendAsync(
        AppendingUser, $"peer{_appended++ % PeersPerUser}@{Domain}/phone", DateTimeOffset.UtcNow, ArchivedXml(AppendingUser, Body(_appended, _appended)));

    internal static string UserJid(int index) => $"user{index}@{Domain}";

    internal static string ArchivedXml(string user, string body) =>
        $"<message xmlns='jabber:client' from='{user}/laptop' to='peer@{Domain}' type='chat' id='6f1c0a8e-4b2d-4f3a-9c71-2d5e8b0a9f44'>" +
        $"<body>{body}</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>";

    /// <summary>The body of message <paramref name="i"/>, its user's message <paramref name="k"/>: each user's topics in turn, the rare word in one of 1,000.</summary>
    internal static string Body(int i, int k) =>
        $"{i} — are we still on for the {Topics[k % Topics.Length]} review at three? It moved to the large room{(k % 1000 == 999 ? " " + RareWord : "")}.";

    /// <summary>
    /// Fills a new database through the schema SqliteStorage creates, in big transactions, each message with its row in
    /// the search index as the store writes it. Users' messages are interleaved in time, as on a real server, so each
    /// user's rows are spread over the whole table.
    /// </summary>
    internal static void Build(string path, int messages, int users)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }

        SqliteStorage.OpenAsync(path).GetAwaiter().GetResult().DisposeAsync().AsTask().GetAwaiter().GetResult();
        var stopwatch = Stopwatch.StartNew();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        // The store's own function for the search index's text, as migration 8 uses it.
        SqliteArchiveStore.AddMigrationFunctions(connection);
        using (var pragmas = connection.CreateCommand())
        {
            pragmas.CommandText = "PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;";
            pragmas.ExecuteNonQuery();
        }

        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO archive_messages (archive, with_bare, with_resource, stamp, xml) VALUES ($archive, $with_bare, 'phone', $stamp, $xml);
            INSERT INTO archive_search (rowid, body) VALUES (last_insert_rowid(), parley_search_text($archive, $xml));
            """;
        var archive = insert.Parameters.Add("$archive", SqliteType.Text);
        var withBare = insert.Parameters.Add("$with_bare", SqliteType.Text);
        var stamp = insert.Parameters.Add("$stamp", SqliteType.Integer);
        var xml = insert.Parameters.Add("$xml", SqliteType.Text);
        var start = new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var userJids = Enumerable.Range(0, users).Select(UserJid).ToArray();
        var transaction = connection.BeginTransaction();
        insert.Transaction = transaction;
        insert.Prepare();
        for (var i = 0; i < messages; i++)
        {
            var user = userJids[i % users];
            archive.Value = user;
            withBare.Value = $"peer{i / users % PeersPerUser}@{Domain}";
            stamp.Value = start + i * 100L;
            xml.Value = ArchivedXml(user, System.Security.SecurityElement.Escape(Body(i, i / users)));
            insert.ExecuteNonQuery();
            if ((i + 1) % BatchSize == 0)
            {
                transaction.Commit();
                transaction.Dispose();
                transaction = connection.BeginTransaction();
                insert.Transaction = transaction;
            }
        }

        transaction.Commit();
        transaction.Dispose();
        Console.WriteLine(
            $"// Built {path}: {messages:N0} messages of {users:N0} users in {stopwatch.Elapsed.TotalSeconds:N0} s ({messages / stopwatch.Elapsed.TotalSeconds:N0} messages/s)");
    }
}
