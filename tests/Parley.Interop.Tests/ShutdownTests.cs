using System.Diagnostics;
using System.Text.Json;
using Parley.Interop.Tests.Support;

namespace Parley.Interop.Tests;

/// <summary>`parley serve` stopped with SIGTERM while clients are connected.</summary>
public sealed class ShutdownTests : IAsyncLifetime
{
    private ParleyProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ParleyProcess.StartAsync();
        await _node.AddUsersAsync("alice", "bob");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Sigterm_tells_clients_system_shutdown_exits_within_five_seconds_and_keeps_unacknowledged_messages()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "raw_shutdown.py");
        await using var clients = ExternalProcess.Start("/usr/bin/python3", [script, "127.0.0.1", _node.C2sTlsPort.ToString(), "hold", "alice-secret", "bob-secret"]);
        // alice (stream management, resumable) holds a message from bob that she has not acknowledged.
        await clients.WaitForOutputAsync("READY", TimeSpan.FromSeconds(60));

        var stopping = Stopwatch.StartNew();
        var exited = await _node.TerminateAsync(TimeSpan.FromSeconds(5));
        stopping.Stop();

        Assert.True(exited, $"parley serve still ran {stopping.Elapsed.TotalSeconds:F1} s after SIGTERM. Log:\n{_node.Output}");
        Assert.Equal(0, _node.ExitCode);
        Assert.True(await clients.WaitForExitAsync(TimeSpan.FromSeconds(30)), clients.Output);
        var result = JsonDocument.Parse(clients.Output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
        foreach (var user in new[] { "alice", "bob" })
        {
            Assert.True(result.GetProperty(user).GetProperty("system_shutdown").GetBoolean(), $"{user} got no <system-shutdown/>: {clients.Output}");
            Assert.True(result.GetProperty(user).GetProperty("stream_closed").GetBoolean(), $"{user}'s stream was not closed: {clients.Output}");
        }
        Assert.True(_node.Output.Contains("alice@localhost/phone: told system-shutdown, session ended, 1 unacknowledged messages delivered to another session or stored offline", StringComparison.Ordinal), _node.Output);

        _node = await _node.RestartAsync();
        var (exitCode, output) = await ExternalProcess.RunAsync("/usr/bin/python3", [script, "127.0.0.1", _node.C2sTlsPort.ToString(), "offline", "alice-secret"], TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"{output}\nnode log:\n{_node.Output}");
        Assert.Contains("kept across the shutdown", JsonDocument.Parse(output.Split('\n').Last(line => line.StartsWith('{'))).RootElement.GetProperty("bodies").EnumerateArray().Select(b => b.GetString()));
    }
}
