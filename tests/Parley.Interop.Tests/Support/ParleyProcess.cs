using System.Net.Sockets;
using Parley.Tests.Shared;

namespace Parley.Interop.Tests.Support;

/// <summary>
/// The real `parley` command, as the README runs it, in its own process with its own data
/// directory and loopback ports.
/// </summary>
public sealed class ParleyProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);

    private readonly ExternalProcess _process;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly string[] _storageFlags;
    private readonly string[] _serveFlags;

    private ParleyProcess(ExternalProcess process, IReadOnlyDictionary<string, string> environment, string[] storageFlags, string[] serveFlags, string dataDir, int c2sPort, int c2sTlsPort, int httpPort, int httpsPort)
    {
        _process = process;
        _environment = environment;
        _storageFlags = storageFlags;
        _serveFlags = serveFlags;
        DataDir = dataDir;
        C2sPort = c2sPort;
        C2sTlsPort = c2sTlsPort;
        HttpPort = httpPort;
        HttpsPort = httpsPort;
    }

    public string DataDir { get; }
    public int C2sPort { get; }
    public int C2sTlsPort { get; }
    public int HttpPort { get; }
    public int HttpsPort { get; }
    public string Output => _process.Output;
    public int Pid => _process.Pid;

    /// <summary>The built parley.dll beside the tests (the test project references Parley.Cli).</summary>
    public static string ParleyDll => Path.Combine(AppContext.BaseDirectory, "parley.dll");

    /// <param name="environment">
    /// Configuration the flags do not cover, as the node reads it from PARLEY__SECTION__KEY variables
    /// (docs/configuration.md), e.g. PARLEY__SESSIONS__RESUMETIMEOUTSECONDS=2.
    /// </param>
    /// <param name="postgres">A PostgreSQL connection string: the node and its CLI use that database (--postgres) instead of SQLite.</param>
    /// <param name="serveFlags">More flags for `parley serve` alone, e.g. a cluster node's --bus and --node.</param>
    /// <param name="untilListening">
    /// Whether to return only once the node accepts connections; false for a node expected to wait (its data monitor
    /// keeps the listeners closed), which the caller watches through its output.
    /// </param>
    public static Task<ParleyProcess> StartAsync(
        IReadOnlyDictionary<string, string>? environment = null, string? postgres = null, string[]? serveFlags = null, bool untilListening = true) =>
        StartAsync(environment ?? new Dictionary<string, string>(), postgres is null ? [] : ["--postgres", postgres], serveFlags ?? [],
            Path.Combine(Path.GetTempPath(), "parley-interop-" + Guid.NewGuid().ToString("N")), LoopbackPort.Free(), LoopbackPort.Free(), LoopbackPort.Free(), LoopbackPort.Free(), untilListening);

    private static async Task<ParleyProcess> StartAsync(
        IReadOnlyDictionary<string, string> environment, string[] storageFlags, string[] serveFlags, string dataDir, int c2s, int c2sTls, int http, int https,
        bool untilListening = true)
    {
        var process = ExternalProcess.Start("dotnet",
        [
            ParleyDll, "serve", "--domain", "localhost", "--data-dir", dataDir, "--bind", "127.0.0.1",
            "--c2s-port", c2s.ToString(), "--c2s-tls-port", c2sTls.ToString(), "--http-port", http.ToString(),
            "--https-port", https.ToString(), .. storageFlags, .. serveFlags,
        ], environment: environment);
        var node = new ParleyProcess(process, environment, storageFlags, serveFlags, dataDir, c2s, c2sTls, http, https);
        using var deadline = new CancellationTokenSource(StartDeadline);
        while (untilListening && (!await AcceptsAsync(c2s) || !await AcceptsAsync(c2sTls) || !await AcceptsAsync(http)))
        {
            if (process.HasExited || deadline.IsCancellationRequested)
            {
                await node.DisposeAsync();
                throw new InvalidOperationException($"parley serve did not start listening. Output:\n{process.Output}");
            }
            await Task.Yield();
        }
        return node;
    }

    /// <summary>Sends SIGTERM; true if the process exited within <paramref name="deadline"/>.</summary>
    public async Task<bool> TerminateAsync(TimeSpan deadline)
    {
        _process.Terminate();
        return await _process.WaitForExitAsync(deadline);
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits until the node logged a line containing <paramref name="text"/>, or fails at the deadline.</summary>
    public Task WaitForOutputAsync(string text, TimeSpan deadline) => _process.WaitForOutputAsync(text, deadline);

    /// <summary>Stops this node (as a crash would: the process is killed, unless it already exited) and starts a new one on the same data, ports and environment.</summary>
    public async Task<ParleyProcess> RestartAsync()
    {
        await _process.DisposeAsync();
        return await StartAsync(_environment, _storageFlags, _serveFlags, DataDir, C2sPort, C2sTlsPort, HttpPort, HttpsPort);
    }

    /// <summary>Runs `parley ARGS --data-dir DIR` against this node's data, as an administrator would.</summary>
    public async Task<(int ExitCode, string Output)> CliAsync(string[] arguments, string? standardInput = null) =>
        await ExternalProcess.RunAsync("dotnet", [ParleyDll, .. arguments, "--domain", "localhost", "--data-dir", DataDir, .. _storageFlags], TimeSpan.FromSeconds(60), standardInput);

    /// <summary>Adds USER@localhost with the password USER-secret for each name, with the CLI.</summary>
    public async Task AddUsersAsync(params string[] users)
    {
        foreach (var user in users)
        {
            var add = await CliAsync(["user", "add", $"{user}@localhost", "--password", $"{user}-secret"]);
            Assert.True(add.ExitCode == 0, add.Output);
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }


    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // Left to the OS's temp cleanup.
        }
    }
}
