using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Cli;

/// <summary>
/// <c>parley user import FILE.csv</c>: lines of <c>jid,password</c>. The file is read twice, streaming: first every
/// line is checked and every bad one reported (nothing is imported if any is bad), then the SCRAM credentials are
/// derived on all cores and handed to the store in batches.
/// </summary>
internal sealed class AccountImport(string path, ParleyOptions options, CliConsole console)
{
    private const string Header = "jid,password";

    // Derived accounts waiting for the store; enough to keep every core busy while a batch is written.
    private static readonly int s_derivedQueueLength = 64 * Environment.ProcessorCount;

    private int _existingBeforeDerive;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new CliException(ExitCodes.Usage, $"{path} does not exist.");
        }

        var stopwatch = Stopwatch.StartNew();
        var badLines = await ReportBadLinesAsync(cancellationToken);
        if (badLines > 0)
        {
            throw new CliException(ExitCodes.Failed, $"{path}: {badLines} bad line{(badLines == 1 ? "" : "s")}; nothing imported.");
        }

        ImportResult result;
        await using (var storage = await StorageAccess.OpenOrCreateAsync(options, console, cancellationToken))
        {
            result = await ImportAsync(storage.Accounts, cancellationToken);
            // One record for the file: the accounts are in the database, and a million lines would drown the trail.
            await AdminActor.RecordAsync(storage, AdminActor.Cli, AuditActions.AccountImport, Path.GetFileName(path),
                $"{result.Created} created, {result.AlreadyExisted} existing skipped", cancellationToken);
        }

        var seconds = stopwatch.Elapsed.TotalSeconds;
        var rate = (result.Created + result.AlreadyExisted) / Math.Max(seconds, 0.001);
        console.Output.WriteLine($"imported {result.Created}, skipped {result.AlreadyExisted} existing ({seconds:0.0} s, {rate:0} accounts/s)");
        return ExitCodes.Ok;
    }

    /// <summary>Writes "parley: FILE:LINE: problem" for every bad line and returns how many there were.</summary>
    private async Task<int> ReportBadLinesAsync(CancellationToken cancellationToken)
    {
        // A million JIDs kept as strings would take ~100 MB; their 64-bit digests take a quarter of that. Two JIDs
        // share a digest with odds of ~1e-8 in a million-line file, and that would only stop the import with a
        // wrong "duplicate" report, never import something wrong.
        var firstLineByJidDigest = new Dictionary<ulong, int>();
        var badLines = 0;
        await foreach (var (number, text) in ReadAccountLinesAsync(cancellationToken))
        {
            if (TryParse(text, out var bareJid, out _, out var error))
            {
                var digest = Digest(bareJid);
                if (!firstLineByJidDigest.TryGetValue(digest, out var firstLine))
                {
                    firstLineByJidDigest.Add(digest, number);
                    continue;
                }

                error = $"{bareJid} is on line {firstLine} already.";
            }

            console.Error.WriteLine($"parley: {path}:{number}: {error}");
            badLines++;
        }

        return badLines;
    }

    private async Task<ImportResult> ImportAsync(IAccountStore accounts, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var derived = Channel.CreateBounded<(string BareJid, AccountCredentials Credentials)>(
            new BoundedChannelOptions(s_derivedQueueLength) { SingleReader = true });
        var deriving = Task.Run(() => DeriveAllAsync(accounts, derived.Writer, stop.Token), CancellationToken.None);
        try
        {
            var imported = await accounts.ImportAsync(derived.Reader.ReadAllAsync(stop.Token), stop.Token);
            return imported with { AlreadyExisted = imported.AlreadyExisted + _existingBeforeDerive };
        }
        catch
        {
            // The store gave up: stop deriving, or the workers would wait forever for room in the queue.
            await stop.CancelAsync();
            throw;
        }
        finally
        {
            await deriving;
        }
    }

    /// <summary>
    /// Derives the credentials of every account that does not exist yet, in parallel, counting the others in
    /// <see cref="_existingBeforeDerive"/>; ends by completing <paramref name="writer"/>, with the error if one occurred.
    /// </summary>
    private async Task DeriveAllAsync(IAccountStore accounts, ChannelWriter<(string BareJid, AccountCredentials Credentials)> writer, CancellationToken cancellationToken)
    {
        try
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(ReadAccountsAsync(cancellationToken), parallel, async (account, token) =>
            {
                // Deriving is what costs (PBKDF2, milliseconds per account); an import run again after an
                // interruption should not pay it again for the accounts it created the first time.
                if (await accounts.ExistsAsync(account.BareJid, token))
                {
                    Interlocked.Increment(ref _existingBeforeDerive);
                    return;
                }

                var credentials = AccountService.CreateCredentials(account.Password, options.Auth.ScramIterations);
                await writer.WriteAsync((account.BareJid, credentials), token);
            });
            writer.Complete();
        }
        catch (Exception e)
        {
            writer.Complete(e);
        }
    }

    /// <summary>The file's accounts, checked again as they are read in case the file changed since it was checked.</summary>
    private async IAsyncEnumerable<(string BareJid, string Password)> ReadAccountsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (number, text) in ReadAccountLinesAsync(cancellationToken))
        {
            if (!TryParse(text, out var bareJid, out var password, out var error))
            {
                throw new CliException(ExitCodes.Failed, $"{path}:{number} changed during the import: {error}");
            }

            yield return (bareJid, password);
        }
    }

    /// <summary>The lines that hold accounts, with their line numbers: not blank, not the header.</summary>
    private async IAsyncEnumerable<(int Number, string Text)> ReadAccountLinesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // UTF-8, with or without a byte order mark (StreamReader drops it).
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var number = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line) || (number == 1 && line.Trim().Equals(Header, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            yield return (number, line);
        }
    }

    /// <summary>Splits "jid,password" at the first comma (a password may contain commas) and prepares both.</summary>
    private bool TryParse(string line, [NotNullWhen(true)] out string? bareJid, [NotNullWhen(true)] out string? password, [NotNullWhen(false)] out string? error)
    {
        password = null;
        var comma = line.IndexOf(',');
        if (comma < 0)
        {
            bareJid = null;
            error = $"expected {Header} (no comma).";
            return false;
        }

        return AccountInput.TryPrepareServedJid(line[..comma].Trim(), options.EffectiveDomains, out bareJid, out error)
            && AccountInput.TryPreparePassword(line[(comma + 1)..], options.Auth, out password, out error);
    }

    private static ulong Digest(string bareJid)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(bareJid), hash);
        return BinaryPrimitives.ReadUInt64LittleEndian(hash);
    }
}
