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

    private Process _process;
    private readonly string[] _arguments;
    private readonly int _monitorPort;

    private NatsServer(Process process, int port, string[]? arguments = null, int monitorPort = 0)
    {
        _process = process;
        Port = port;
        _arguments = arguments ?? [];
        _monitorPort = monitorPort;
    }

    public int Port { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>A server with a monitoring port of its own, for <see cref="ConnectionNamesAsync"/>.</summary>
    public static async Task<NatsServer> StartAsync()
    {
        var port = FreePort();
        var monitor = FreePort();
        string[] arguments = ["-m", monitor.ToString()];
        var server = new NatsServer(Launch(port, arguments), port, arguments, monitor);
        await server.WaitUntilListeningAsync();
        return server;
    }

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
    public static async Task<NatsServer> StartAsync(string configuration)
    {
        var port = FreePort();
        var file = Path.Combine(Path.GetTempPath(), $"parley-nats-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(file, configuration);
        var server = new NatsServer(Launch(port, ["-c", file]), port, ["-c", file]);
        await server.WaitUntilListeningAsync();
        return server;
    }

    /// <summary>
    /// <paramref name="count"/> servers joined in one NATS cluster by routes to each other, as a site runs the bus
    /// without a single point of failure; <see cref="SeedUrls"/> lists them for a node's <c>--bus</c>.
    /// </summary>
    public static async Task<NatsServer[]> StartClusterAsync(int count)
    {
        var ports = Enumerable.Range(0, count).Select(_ => (Client: FreePort(), Route: FreePort(), Monitor: FreePort())).ToArray();
        var routes = string.Join(',', ports.Select(p => $"nats://127.0.0.1:{p.Route}"));
        var servers = new List<NatsServer>();
        try
        {
            foreach (var (client, route, monitor) in ports)
            {
                string[] clusterArguments = ["--cluster_name", "parley-test", "--cluster", $"nats://127.0.0.1:{route}", "--routes", routes, "-m", monitor.ToString()];
                servers.Add(new NatsServer(Launch(client, clusterArguments), client, clusterArguments, monitor));
            }
            foreach (var server in servers)
            {
                await server.WaitUntilListeningAsync();
            }
            await WaitUntilRoutedAsync(servers);
            return [.. servers];
        }
        catch
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
            throw;
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
        _process = Launch(Port, _arguments);
        await WaitUntilListeningAsync();
    }

    private static Process Launch(int port, string[] arguments)
    {
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", port.ToString(), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("nats-server did not start (sudo apt-get install nats-server).");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (!await AcceptsAsync(Port))
        {
            if (_process.HasExited || deadline.Elapsed > StartDeadline)
            {
                await DisposeAsync();
                throw new InvalidOperationException($"nats-server did not listen on 127.0.0.1:{Port} within {StartDeadline.TotalSeconds} s.");
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
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
