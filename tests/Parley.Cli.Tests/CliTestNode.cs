using Parley.Protocol.Sasl;
using Parley.Storage;

namespace Parley.Cli.Tests;

/// <summary>
/// A temporary data directory and a parley.json that serves example.com and example.net from it, as an operator's
/// node would have; runs <c>parley</c> commands in-process against them.
/// </summary>
internal sealed class CliTestNode : IDisposable
{
    public CliTestNode()
    {
        Folder = Directory.CreateTempSubdirectory("parley-cli-").FullName;
        DataDir = Path.Combine(Folder, "data");
        ConfigFile = Path.Combine(Folder, "parley.json");
        File.WriteAllText(ConfigFile, $$"""
            { "Parley": { "Domains": ["example.com", "example.net"], "DataDir": "{{DataDir.Replace("\\", "\\\\")}}" } }
            """);
    }

    public string Folder { get; }

    public string DataDir { get; }

    public string ConfigFile { get; }

    public string DatabasePath => Path.Combine(DataDir, "parley.db");

    /// <summary>Runs <c>parley ARGS --config parley.json</c> with <paramref name="stdin"/> as standard input.</summary>
    public Task<CliResult> RunWithInputAsync(string stdin, params string[] args) => CliResult.RunWithInputAsync(stdin, [.. args, "--config", ConfigFile]);

    public Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    /// <summary>A second handle on the node's database, as the running node (or another CLI) would hold.</summary>
    public Task<IParleyStorage> OpenStorageAsync() => StorageFactory.OpenAsync("sqlite", DatabasePath);

    /// <summary>Creates the node's (empty) database, as its first start does; commands on existing data need one.</summary>
    public async Task CreateDatabaseAsync() => await (await OpenStorageAsync()).DisposeAsync();

    /// <summary>The notices the commands left for running nodes, oldest first, as "kind subject".</summary>
    public async Task<List<string>> NoticesAsync()
    {
        await using var storage = await OpenStorageAsync();
        return [.. (await storage.Notices.ReadAfterAsync(0, 100)).Select(notice => $"{notice.Kind} {notice.Subject}")];
    }

    public async Task<AccountCredentials?> CredentialsAsync(string bareJid)
    {
        await using var storage = await OpenStorageAsync();
        return await storage.Accounts.GetCredentialsAsync(bareJid);
    }

    /// <summary>Whether the stored credentials of <paramref name="bareJid"/> accept <paramref name="password"/> (both hashes).</summary>
    public async Task<bool> PasswordVerifiesAsync(string bareJid, string password)
    {
        var credentials = await CredentialsAsync(bareJid) ?? throw new InvalidOperationException($"{bareJid} does not exist.");
        return Verifies(credentials.Sha1, password) && Verifies(credentials.Sha256, password);
    }

    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private static bool Verifies(ScramCredentials stored, string password) =>
        ScramCredentialFactory.Derive(stored.Hash, password, stored.Salt, stored.Iterations).StoredKey.AsSpan().SequenceEqual(stored.StoredKey);
}

/// <summary>What one in-process run of <c>parley</c> did.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public static async Task<CliResult> RunWithInputAsync(string stdin, string[] args, CancellationToken cancellationToken = default)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await Cli.RunAsync(args, new StringReader(stdin), output, error, cancellationToken);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    /// <summary>The lines of standard output, without the empty one after the last newline.</summary>
    public string[] OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}
