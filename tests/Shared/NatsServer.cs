using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Parley.Tests.Shared;

/// <summary>
/// Debian's nats-server on 127.0.0.1 on a free port, for the cluster tests: started per test class and stopped by its
/// process id (the process is this fixture's own child).
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A free port is only free until someone binds it: another test's listener can take it between
    /// <see cref="LoopbackPort.Free"/> and nats-server's bind, and nats-server then exits. A start that fails so is tried again on
    /// fresh ports, this many times in all.
    /// </summary>
    private const int StartAttempts = 3;

    /// <summary>
    /// The servers not disposed yet: a test class whose clean-up throws before it reaches its server would leave it
    /// running after the test run (seen after failed runs), so whatever is left is stopped, by its PID, when the test
    /// process exits.
    /// </summary>
    private static readonly ConcurrentDictionary<NatsServer, byte> Running = new();

    static NatsServer() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var server in Running.Keys)
        {
            server.Kill();
        }
    };

    private Process _process;
    private readonly string[] _arguments;
    private readonly int _monitorPort;
    private readonly ConcurrentQueue<string> _log = new();
    private bool _disposed;

    private NatsServer(int port, string[] arguments, int monitorPort = 0)
    {
        Port = port;
        _arguments = arguments;
        _monitorPort = monitorPort;
        _process = Launch();
        Running[this] = 0;
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public int Port { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>A server with a monitoring port of its own, for <see cref="ConnectionNamesAsync"/>.</summary>
    public static Task<NatsServer> StartAsync() => StartWithRetriesAsync(() =>
    {
        var port = LoopbackPort.Free();
        var monitor = LoopbackPort.Free();
        string[] arguments = ["-m", monitor.ToString()];
        return new NatsServer(port, arguments, monitor);
    });

    /// <summary>The names the clients connected now gave themselves, as the server's monitoring page /connz lists them.</summary>
    public async Task<IReadOnlyList<string>> ConnectionNamesAsync()
    {
        using var http = new HttpClient();
        using var connz = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{_monitorPort}/connz?limit=1024"));
        return [.. connz.RootElement.GetProperty("connections").EnumerateArray()
            .Select(connection => connection.TryGetProperty("name", out var name) ? name.GetString() ?? "" : "")];
    }

    /// <summary>
    /// A server that reads <paramref name="configuration"/> (nats-server's configuration format: users and their
    /// permissions, say) besides listening on 127.0.0.1 on a free port.
    /// </summary>
    public static Task<NatsServer> StartAsync(string configuration) => StartWithRetriesAsync(() =>
    {
        var file = Path.Combine(Path.GetTempPath(), $"parley-nats-{Guid.NewGuid():N}.conf");
        File.WriteAllText(file, configuration);
        return new NatsServer(LoopbackPort.Free(), ["-c", file]);
    });

    private static async Task<NatsServer> StartWithRetriesAsync(Func<NatsServer> launch)
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = launch();
            try
            {
                await server.WaitUntilListeningAsync();
                return server;
            }
            catch (NatsServerExitedException) when (attempt < StartAttempts)
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// <paramref name="count"/> servers joined in one NATS cluster by routes to each other, as a site runs the bus
    /// without a single point of failure; <see cref="SeedUrls"/> lists them for a node's <c>--bus</c>.
    /// </summary>
    public static async Task<NatsServer[]> StartClusterAsync(int count)
    {
        for (var attempt = 1; ; attempt++)
        {
            var ports = Enumerable.Range(0, count).Select(_ => (Client: LoopbackPort.Free(), Route: LoopbackPort.Free(), Monitor: LoopbackPort.Free())).ToArray();
            var routes = string.Join(',', ports.Select(p => $"nats://127.0.0.1:{p.Route}"));
            var servers = new List<NatsServer>();
            try
            {
                foreach (var (client, route, monitor) in ports)
                {
                    string[] clusterArguments = ["--cluster_name", "parley-test", "--cluster", $"nats://127.0.0.1:{route}", "--routes", routes, "-m", monitor.ToString()];
                    servers.Add(new NatsServer(client, clusterArguments, monitor));
                }
                foreach (var server in servers)
                {
                    await server.WaitUntilListeningAsync();
                }
                await WaitUntilRoutedAsync(servers);
                return [.. servers];
            }
            catch (Exception failure)
            {
                foreach (var server in servers)
                {
                    await server.DisposeAsync();
                }
                if (failure is not NatsServerExitedException || attempt == StartAttempts)
                {
                    throw;
                }
            }
        }
    }

    /// <summary>
    /// Waits until each of <paramref name="servers"/> has a route to every other: until then a server knows nothing of
    /// the others' subscribers, and what is published there for them is lost.
    /// </summary>
    public static async Task WaitUntilRoutedAsync(IReadOnlyList<NatsServer> servers)
    {
        using var http = new HttpClient();
        var deadline = Stopwatch.StartNew();
        foreach (var server in servers)
        {
            while (!await IsRoutedAsync(http, server._monitorPort, servers.Count - 1))
            {
                if (deadline.Elapsed > StartDeadline)
                {
                    throw new InvalidOperationException($"the {servers.Count} nats-servers did not route to each other within {StartDeadline.TotalSeconds} s.");
                }
                await Task.Delay(20);
            }
        }
    }

    private static async Task<bool> IsRoutedAsync(HttpClient http, int monitorPort, int routes)
    {
        try
        {
            return (await http.GetStringAsync($"http://127.0.0.1:{monitorPort}/routez")).Contains($"\"num_routes\": {routes},", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>The client URLs of <paramref name="servers"/>, comma-separated, as NATS clients take a cluster's seeds.</summary>
    public static string SeedUrls(IEnumerable<NatsServer> servers) => string.Join(',', servers.Select(server => server.Url));

    /// <summary>Stops the server (as a crash would); <see cref="StartAgainAsync"/> brings it back on the same port.</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async Task StartAgainAsync()
    {
        _process.Dispose();
        _log.Clear();
        _process = Launch();
        await WaitUntilListeningAsync();
    }

    private Process Launch()
    {
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", Port.ToString(), .. _arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("nats-server did not start (apt-get install nats-server).");
        process.OutputDataReceived += (_, line) => Keep(line.Data);
        process.ErrorDataReceived += (_, line) => Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The server's last lines of log, for the message when it does not start.</summary>
    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        _log.Enqueue(line);
        while (_log.Count > 20 && _log.TryDequeue(out _))
        {
        }
    }

    /// <remarks>Leaves the process to the caller, who disposes of the server whether this succeeds or throws.</remarks>
    private async Task WaitUntilListeningAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (!await AcceptsAsync(Port))
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync();
                throw new NatsServerExitedException(
                    $"nats-server exited ({_process.ExitCode}) before it listened on 127.0.0.1:{Port}; its log:\n{string.Join('\n', _log)}");
            }
            if (deadline.Elapsed > StartDeadline)
            {
                throw new InvalidOperationException(
                    $"nats-server did not listen on 127.0.0.1:{Port} within {StartDeadline.TotalSeconds} s; its log:\n{string.Join('\n', _log)}");
            }
            await Task.Delay(20);
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }


    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Running.TryRemove(this, out _);
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        if (_arguments is ["-c", var configuration])
        {
            File.Delete(configuration);
        }
    }
}

/// <summary>nats-server ended before it listened: most often a port taken between choosing it and its bind.</summary>
public sealed class NatsServerExitedException(string message) : Exception(message);
