using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Protocol.Sasl;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Storage;
using Parley.Tests.Shared;

namespace Parley.Server.Tests.Support;

/// <summary>A real node on loopback with its own data directory, for one test.</summary>
public sealed class TestNode : IAsyncDisposable
{
    public const string Domain = "localhost";

    private bool _restarted;

    private TestNode(ParleyApp app, ParleyOptions options, LogCapture logs)
    {
        App = app;
        Options = options;
        Logs = logs;
    }

    public ParleyApp App { get; }
    public ParleyOptions Options { get; }
    public int C2sPort => Options.Network.C2sPort;
    public int C2sTlsPort => Options.Network.C2sTlsPort;
    public int HttpPort => Options.Network.HttpPort;
    public int HttpsPort => Options.Network.HttpsPort;
    public IAccountStore Accounts => App.Node.Storage.Accounts;

    /// <summary>What the node logged from its own (Parley.*) categories, at Information and above.</summary>
    public LogCapture Logs { get; }

    /// <summary>Starts a node; on <paramref name="dataDir"/> when given (a restart), else on a new, empty one.</summary>
    /// <param name="services">Replaces parts of the node, e.g. its authentication backend.</param>
    /// <param name="modules">The modules the node knows, when a test adds its own; the built-in ones otherwise.</param>
    public static async Task<TestNode> StartAsync(
        Action<ParleyOptions>? configure = null,
        string? dataDir = null,
        Action<IServiceCollection>? services = null,
        IReadOnlyList<ModuleDefinition>? modules = null,
        LogCapture? logs = null)
    {
        var options = new ParleyOptions
        {
            Domains = [Domain],
            DataDir = dataDir ?? Path.Combine(Path.GetTempPath(), "parley-test-" + Guid.NewGuid().ToString("N")),
        };
        options.Network.C2sPort = LoopbackPort.Free();
        options.Network.C2sTlsPort = LoopbackPort.Free();
        options.Network.HttpPort = LoopbackPort.Free();
        options.Network.HttpsPort = LoopbackPort.Free();
        options.Auth.FailureDelayMilliseconds = 50;
        options.Auth.MaxFailureDelayMilliseconds = 400;
        configure?.Invoke(options);
        for (var attempt = 1; ; attempt++)
        {
            var capture = logs ?? new LogCapture();
            var app = await ParleyHost.BuildAsync(options, logging =>
            {
                logging.SetMinimumLevel(LogLevel.Warning);
                logging.AddProvider(capture);
                logging.AddFilter<LogCapture>("Parley", LogLevel.Information);
                // BOSH logs at Debug what a test must wait for: a request that came before its predecessor.
                logging.AddFilter<LogCapture>("Parley.Server.Web.Bosh", LogLevel.Debug);
            }, services, modules);
            try
            {
                await app.StartAsync();
                return new TestNode(app, options, capture);
            }
            catch (IOException) when (attempt < 5)
            {
                // Another process took one of the ports between the probe and the bind: take new ones.
                await app.DisposeAsync();
                options.Network.C2sPort = LoopbackPort.Free();
                options.Network.C2sTlsPort = LoopbackPort.Free();
                options.Network.HttpPort = LoopbackPort.Free();
                options.Network.HttpsPort = LoopbackPort.Free();
            }
        }
    }

    public async Task CreateUserAsync(string local, string password)
    {
        var credentials = new AccountCredentials(
            ScramCredentialFactory.Create(ScramHash.Sha1, password),
            ScramCredentialFactory.Create(ScramHash.Sha256, password));
        var result = await Accounts.CreateAsync($"{local}@{Domain}", credentials);
        Assert.Equal(CreateAccountResult.Created, result);
    }

    /// <summary>Runs the real `parley` command in-process on the node's data, as an administrator would beside it.</summary>
    public async Task<(int ExitCode, string Output, string Error)> RunParleyAsync(params string[] args)
    {
        var config = Path.Combine(Options.DataDir, "parley-cli.json");
        await File.WriteAllTextAsync(config, $$"""
            { "Parley": { "Domains": ["{{Domain}}"], "DataDir": "{{Options.DataDir.Replace("\\", "\\\\")}}" } }
            """);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await Parley.Cli.Cli.RunAsync([.. args, "--config", config], new StringReader(""), output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Nothing else on the node was disturbed: a TCP client still signs in and is answered.</summary>
    public async Task AssertStillServesAsync()
    {
        var user = "bystander-" + Guid.NewGuid().ToString("N")[..8];
        await CreateUserAsync(user, "bystander-password");
        await using var client = await XmppTestClient.LoginAsync(this, user, "bystander-password");
        await client.SendAsync("<iq to='localhost' type='get' id='still'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Equal("result", (await client.ReceiveAsync(e => e.GetAttribute("id") == "still")).GetAttribute("type"));
    }

    /// <summary>Stops this node and starts a new one on the same data directory; dispose the new one, this one is spent.</summary>
    public async Task<TestNode> RestartAsync(Action<ParleyOptions>? configure = null)
    {
        await App.StopAsync();
        await App.DisposeAsync();
        _restarted = true;
        return await StartAsync(configure, Options.DataDir);
    }

    public async ValueTask DisposeAsync()
    {
        if (_restarted)
        {
            return;
        }
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(Options.DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still closing is left to the OS's temp cleanup.
        }
    }
}
