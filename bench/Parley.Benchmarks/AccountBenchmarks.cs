using BenchmarkDotNet.Attributes;
using Parley.Protocol.Sasl;
using Parley.Storage;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// The storage side of a sign-in on SQLite: the credentials lookup SCRAM starts with, one of 10,000 accounts, through
/// the pooled connections every store call opens.
/// </summary>
[MemoryDiagnoser]
public class AccountBenchmarks
{
    private const int Accounts = 10_000;

    private string _directory = null!;
    private SqliteStorage _storage = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("parley-account-bench-").FullName;
        _storage = SqliteStorage.OpenAsync(Path.Combine(_directory, "parley.db")).GetAwaiter().GetResult();
        // One derivation for all: the lookup does not depend on what the credentials are.
        var salt = new byte[16];
        var credentials = new AccountCredentials(
            ScramCredentialFactory.Derive(ScramHash.Sha1, "benchmark", salt, 4096),
            ScramCredentialFactory.Derive(ScramHash.Sha256, "benchmark", salt, 4096));
        var users = Enumerable.Range(0, Accounts).Select(i => ($"user{i}@localhost", credentials));
        _storage.Accounts.ImportAsync(users.ToAsyncEnumerable()).GetAwaiter().GetResult();
        if (GetCredentials().GetAwaiter().GetResult() is null)
        {
            throw new InvalidOperationException("The accounts were not imported: the lookup found nothing.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _storage.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public Task<AccountCredentials?> GetCredentials() => _storage.Accounts.GetCredentialsAsync($"user{_next++ % Accounts}@localhost");
}
