using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Parley.Protocol.Sasl;
using Parley.Storage;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen setup</c>: creates the load accounts prefix1..prefixN@domain in the node's SQLite database, or in
/// the PostgreSQL database given with --postgres.
/// They all get the same password and the same salt, so their SCRAM credentials are derived once (instead of
/// N PBKDF2 runs) and the generator's SaltedPassword cache hits on every login. The server's work per login does
/// not depend on the salt. Shared salts are for load-test accounts only.
/// </summary>
internal static class SetupCommand
{
    public const string Usage =
        "parley-loadgen setup (--data-dir DIR | --postgres CONNECTION_STRING) --users N --password PW [--user-prefix load] [--domain localhost]";

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--data-dir", "--postgres", "--users", "--user-prefix", "--password", "--domain" },
            new HashSet<string>());
        var postgres = arguments.Text("--postgres", "");
        var dataDir = postgres.Length > 0 ? "" : arguments.Text("--data-dir");
        var users = arguments.Number("--users", 1, 10_000_000);
        var prefix = arguments.Text("--user-prefix", "load");
        var password = arguments.Text("--password");
        var domain = arguments.Text("--domain", "localhost");

        var clock = Stopwatch.StartNew();
        var credentials = SharedCredentials(password);
        if (postgres.Length == 0)
        {
            Directory.CreateDirectory(dataDir);
        }
        await using var storage = postgres.Length > 0
            ? await StorageFactory.OpenAsync("postgres", postgres, StorageOpenMode.CreateIfMissing, cancellationToken).ConfigureAwait(false)
            : await StorageFactory.OpenAsync("sqlite", Path.Combine(dataDir, "parley.db"), StorageOpenMode.CreateIfMissing, cancellationToken).ConfigureAwait(false);
        var result = await storage.Accounts.ImportAsync(Accounts(prefix, domain, users, credentials, cancellationToken), cancellationToken).ConfigureAwait(false);
        Console.Out.WriteLine($"created {result.Created}, {result.AlreadyExisted} existed already ({clock.Elapsed.TotalSeconds:0.0} s)");
        return 0;
    }

    internal static AccountCredentials SharedCredentials(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(ScramCredentialFactory.SaltLength);
        return new AccountCredentials(
            ScramCredentialFactory.Derive(ScramHash.Sha1, password, salt, ScramCredentialFactory.DefaultIterations),
            ScramCredentialFactory.Derive(ScramHash.Sha256, password, salt, ScramCredentialFactory.DefaultIterations));
    }

    private static async IAsyncEnumerable<(string BareJid, AccountCredentials Credentials)> Accounts(
        string prefix, string domain, int count, AccountCredentials credentials, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 1; i <= count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ($"{prefix}{i}@{domain}", credentials);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }
}
