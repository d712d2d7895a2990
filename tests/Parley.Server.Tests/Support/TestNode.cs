using Microsoft.Extensions.Logging;
using Parley.Protocol.Sasl;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Server.Tests.Support;

/// <summary>A real node on loopback with its own data directory, for one test.</summary>
public sealed class TestNode : IAsyncDisposable
{
    public const string Domain = "localhost";

    private TestNode(ParleyApp app, ParleyOptions options)
    {
        App = app;
        Options = options;
    }

    public ParleyApp App { get; }
    public ParleyOptions Options { get; }
    public int C2sPort => Options.Network.C2sPort;
    public int C2sTlsPort => Options.Network.C2sTlsPort;
    public int HttpPort => Options.Network.HttpPort;
    public IAccountStore Accounts => App.Node.Storage.Accounts;

    public static async Task<TestNode> StartAsync(Action<ParleyOptions>? configure = null)
    {
        var options = new ParleyOptions
        {
            Domains = [Domain],
            DataDir = Path.Combine(Path.GetTempPath(), "parley-test-" + Guid.NewGuid().ToString("N")),
        };
        options.Network.C2sPort = FreePort.Next();
        options.Network.C2sTlsPort = FreePort.Next();
        options.Network.HttpPort = FreePort.Next();
        options.Auth.FailureDelayMilliseconds = 50;
        options.Auth.MaxFailureDelayMilliseconds = 400;
        configure?.Invoke(options);
        var app = await ParleyHost.BuildAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        return new TestNode(app, options);
    }

    public async Task CreateUserAsync(string local, string password)
    {
        var credentials = new AccountCredentials(
            ScramCredentialFactory.Create(ScramHash.Sha1, password),
            ScramCredentialFactory.Create(ScramHash.Sha256, password));
        var result = await Accounts.CreateAsync($"{local}@{Domain}", credentials);
        Assert.Equal(CreateAccountResult.Created, result);
    }

    public async ValueTask DisposeAsync()
    {
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
