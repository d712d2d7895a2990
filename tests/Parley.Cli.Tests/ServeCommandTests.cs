using System.Net;
using System.Net.Sockets;

namespace Parley.Cli.Tests;

public sealed class ServeCommandTests : IDisposable
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Serve_runs_the_node_until_canceled_and_exits_0()
    {
        var httpPort = FreeLoopbackPort();
        using var stop = new CancellationTokenSource();
        var serve = CliResult.RunWithInputAsync("", ["serve", "--config", _node.ConfigFile, "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", httpPort.ToString()], stop.Token);

        Assert.Equal("ok", await WaitForHealthAsync(httpPort, serve));
        await stop.CancelAsync();
        var result = await serve.WaitAsync(s_deadline);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Serve_with_a_configuration_error_exits_2()
    {
        var serve = await _node.RunAsync("serve", "--c2s-port", "70000");

        Assert.Equal(2, serve.ExitCode);
        Assert.StartsWith("parley: configuration error:", serve.Error);
        Assert.Contains("Parley:Network:C2sPort: 70000 is not a port number", serve.Error);
    }

    [Fact]
    public async Task Serve_with_storage_that_cannot_be_opened_exits_1()
    {
        Directory.CreateDirectory(_node.DatabasePath);

        var serve = await _node.RunAsync("serve", "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", "0");

        Assert.Equal(1, serve.ExitCode);
        Assert.Contains($"parley: cannot start the node with storage sqlite {_node.DatabasePath}:", serve.Error);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Polls /health until it answers; fails at once if the node has stopped instead.</summary>
    private static async Task<string> WaitForHealthAsync(int port, Task<CliResult> serve)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + s_deadline;
        while (true)
        {
            if (serve.IsCompleted)
            {
                Assert.Fail($"The node stopped before it served /health: {await serve}");
            }

            try
            {
                return await http.GetStringAsync($"http://127.0.0.1:{port}/health");
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // The interval between polls of the condition, so that polling does not starve the starting node of CPU.
                await Task.Delay(20);
            }
        }
    }
}
