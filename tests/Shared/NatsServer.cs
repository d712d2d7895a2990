using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Parley.Tests.Shared;

/// <summary>
/// Debian's nats-server on 127.0.0.1 on a free port, for the cluster tests: started per test class and stopped by its
/// process id (the process is this fixture's own child).
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(20);

    private Process _process;

    private NatsServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    public static async Task<NatsServer> StartAsync()
    {
        var port = FreePort();
        var server = new NatsServer(Launch(port), port);
        await server.WaitUntilListeningAsync();
        return server;
    }

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
        _process = Launch(Port);
        await WaitUntilListeningAsync();
    }

    private static Process Launch(int port)
    {
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", port.ToString()])
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
    }
}
