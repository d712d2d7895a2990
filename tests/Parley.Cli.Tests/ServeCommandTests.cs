using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Parley.Tests.Shared;

namespace Parley.Cli.Tests;

public sealed class ServeCommandTests : IDisposable
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Serve_runs_the_node_until_canceled_and_exits_0()
    {
        var httpPort = LoopbackPort.Free();
        using var stop = new CancellationTokenSource();
        var serve = CliResult.RunWithInputAsync("", ["serve", "--config", _node.ConfigFile, "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", httpPort.ToString(), "--https-port", "0"], stop.Token);

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

        var serve = await _node.RunAsync("serve", "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", "0", "--https-port", "0");

        Assert.Equal(1, serve.ExitCode);
        Assert.Contains($"parley: cannot start the node with storage sqlite {_node.DatabasePath}:", serve.Error);
    }

    [Fact]
    public async Task The_start_up_log_says_once_what_the_node_serves_and_no_http_request_is_logged()
    {
        var (c2s, c2sTls, http, https) = (LoopbackPort.Free(), LoopbackPort.Free(), LoopbackPort.Free(), LoopbackPort.Free());
        using var parley = StartParley("serve", "--config", _node.ConfigFile, "--c2s-port", $"{c2s}", "--c2s-tls-port", $"{c2sTls}", "--http-port", $"{http}", "--https-port", $"{https}");
        var output = new ProcessOutput(parley);

        await output.WaitForAsync("  database:");
        using (var client = new HttpClient())
        {
            for (var request = 0; request < 3; request++)
            {
                Assert.Equal("ok", await client.GetStringAsync($"http://127.0.0.1:{http}/health"));
            }
        }
        var log = await output.StopAsync();

        Assert.Contains($"Created a new database at {_node.DatabasePath}", log);
        Assert.Contains($"Parley {Parley.Server.Modules.Version.VersionModule.ProductVersion} is serving", log);
        Assert.Contains("  domains:        example.com, example.net", log);
        Assert.Contains($"  c2s STARTTLS:   127.0.0.1:{c2s}", log);
        Assert.Contains($"  c2s direct TLS: 127.0.0.1:{c2sTls}", log);
        Assert.Contains($"  http:           127.0.0.1:{http}", log);
        Assert.Contains($"  https:          127.0.0.1:{https}", log);
        Assert.Contains("  MUC service:    conference.example.com, conference.example.net", log);
        Assert.Contains($"  database:       SQLite {_node.DatabasePath}", log);
        Assert.Single(log.Split('\n'), line => line.Contains("is serving"));
        Assert.DoesNotContain("HTTP/2", log);
        Assert.DoesNotContain($"http://127.0.0.1:{c2s}", log);
        Assert.DoesNotContain("Request starting", log);
        Assert.DoesNotContain("/health", log);
    }

    [Fact]
    public async Task A_port_in_use_is_one_clear_line_without_stack_traces_and_exit_1()
    {
        using var occupier = new TcpListener(IPAddress.Loopback, 0);
        occupier.Start();
        var port = ((IPEndPoint)occupier.LocalEndpoint).Port;
        using var parley = StartParley("serve", "--config", _node.ConfigFile, "--c2s-port", $"{port}", "--c2s-tls-port", "0", "--http-port", "0", "--https-port", "0");
        var output = new ProcessOutput(parley);

        await parley.WaitForExitAsync().WaitAsync(s_deadline);
        var log = await output.StopAsync();

        Assert.Equal(1, parley.ExitCode);
        Assert.Contains($"parley: port {port} on 127.0.0.1 is already in use (c2s STARTTLS); stop the other process or choose another port with --c2s-port", log);
        Assert.DoesNotContain("   at ", log);
        Assert.DoesNotContain("Exception", log);
    }

    /// <summary>The built parley command beside the tests, as an operator runs it, in its own process.</summary>
    private static Process StartParley(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "parley.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }

    /// <summary>Everything a process writes on standard output and error, as it comes.</summary>
    private sealed class ProcessOutput
    {
        private readonly Process _process;
        private readonly StringBuilder _text = new();

        public ProcessOutput(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public async Task WaitForAsync(string text)
        {
            var deadline = DateTime.UtcNow + s_deadline;
            while (!Text.Contains(text, StringComparison.Ordinal))
            {
                if (_process.HasExited || DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"parley did not write '{text}'. It wrote:\n{Text}");
                }
                await Task.Delay(20);
            }
        }

        /// <summary>Stops the process as a service manager would (SIGTERM, by its PID) and returns all it wrote.</summary>
        public async Task<string> StopAsync()
        {
            if (!_process.HasExited)
            {
                using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
            }
            await _process.WaitForExitAsync().WaitAsync(s_deadline);
            return Text;
        }

        private string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_text)
                {
                    _text.Append(line).Append('\n');
                }
            }
        }
    }

    /// <summary>Polls /health until it answers; fails at once if the node has stopped instead.</summary>
    internal static async Task<string> WaitForHealthAsync(int port, Task<CliResult> serve)
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
