using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Server.Auth;
using Parley.Server.Modules;
using Parley.Server.Modules.Blocking;
using Parley.Server.Modules.Bookmarks;
using Parley.Server.Modules.Carbons;
using Parley.Server.Modules.ClientState;
using Parley.Server.Modules.Disco;
using Parley.Server.Modules.LastActivity;
using Parley.Server.Modules.LegacySession;
using Parley.Server.Modules.Mam;
using Parley.Server.Modules.Muc;
using Parley.Server.Modules.Offline;
using Parley.Server.Modules.Pep;
using Parley.Server.Modules.Ping;
using Parley.Server.Modules.Presence;
using Parley.Server.Modules.PrivateStorage;
using Parley.Server.Modules.Push;
using Parley.Server.Modules.Registration;
using Parley.Server.Modules.Roster;
using Parley.Server.Modules.StreamManagement;
using Parley.Server.Modules.Time;
using Parley.Server.Modules.VCard;
using Parley.Server.Modules.Version;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Server.Streams;
using Parley.Server.Transport;
using Parley.Storage;

namespace Parley.Server.Hosting;

/// <summary>Builds a node: configuration, storage, listeners and modules.</summary>
public static class ParleyHost
{
    /// <summary>
    /// The node's configuration in the .NET order, later sources winning: the JSON file
    /// (<paramref name="configFile"/>, else ./parley.json when it exists), PARLEY__* environment
    /// variables (<c>PARLEY__NETWORK__BIND</c>), then <paramref name="overrides"/> (the command line's flags).
    /// </summary>
    public static IConfigurationRoot LoadConfiguration(string? configFile, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
            {
                throw new ConfigurationException($"The configuration file {configFile} does not exist.");
            }
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }
        else
        {
            builder.AddJsonFile(Path.GetFullPath("parley.json"), optional: true, reloadOnChange: false);
        }
        builder.AddInMemoryCollection(EnvironmentOverrides());
        if (overrides is not null)
        {
            builder.AddInMemoryCollection(overrides.Select(pair => new KeyValuePair<string, string?>($"{ParleyOptions.Section}:{pair.Key}", pair.Value)));
        }
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException e)
        {
            throw new ConfigurationException($"The configuration file is not valid JSON: {e.Message}");
        }
    }

    /// <summary>PARLEY__NETWORK__BIND=0.0.0.0 sets Parley:Network:Bind (keys are case-insensitive).</summary>
    private static IEnumerable<KeyValuePair<string, string?>> EnvironmentOverrides()
    {
        const string Prefix = "PARLEY__";
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            if (variable.Key is string name && name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                yield return new($"{ParleyOptions.Section}:{name[Prefix.Length..].Replace("__", ":", StringComparison.Ordinal)}", variable.Value as string);
            }
        }
    }

    /// <summary>Binds and checks the options; every problem found is in the exception's message.</summary>
    public static ParleyOptions BindOptions(IConfiguration configuration)
    {
        var options = new ParleyOptions();
        try
        {
            configuration.GetSection(ParleyOptions.Section).Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationException(e.Message);
        }
        var problems = ConfigurationCheck.Problems(options);
        if (problems.Count > 0)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, problems));
        }
        return options;
    }

    /// <summary>Opens storage, then builds the node's host. Start it with RunAsync or StartAsync.</summary>
    /// <param name="configureServices">Last say over the node's services, e.g. another <see cref="IAuthenticationBackend"/>.</param>
    public static async Task<ParleyApp> BuildAsync(
        ParleyOptions options,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<IServiceCollection>? configureServices = null,
        CancellationToken cancellationToken = default)
    {
        var storage = await OpenStorageAsync(options, cancellationToken).ConfigureAwait(false);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
        });
        configureLogging?.Invoke(builder.Logging);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(options.Auth);
        services.AddSingleton(storage);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<CertificateStore>();
        services.AddHostedService(sp => sp.GetRequiredService<CertificateStore>());
        services.AddSingleton<SessionRegistry>();
        services.AddSingleton<ResumableSessions>();
        services.AddSingleton<SessionCloser>();
        services.AddSingleton<ModuleRegistry>();
        services.AddSingleton(sp => new Router(options.EffectiveDomains, sp.GetRequiredService<SessionRegistry>(), sp.GetRequiredService<ModuleRegistry>(), sp.GetRequiredService<ILogger<Router>>()));
        services.AddSingleton<AuthThrottle>();
        services.AddSingleton<IAuthenticationBackend, LocalAccountBackend>();
        services.AddSingleton<ConnectionMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<ConnectionMonitor>());
        services.AddSingleton<ConnectionLimiter>();
        services.AddSingleton<ParleyNode>();
        services.AddSingleton<NodeNoticeListener>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeNoticeListener>());
        AddModules(services);
        configureServices?.Invoke(services);

        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var address = IPAddress.Parse(options.Network.Bind);
            if (options.Network.C2sPort > 0)
            {
                kestrel.Listen(address, options.Network.C2sPort, l =>
                {
                    l.UseConnectionHandler<StartTlsConnectionHandler>();
                });
            }
            if (options.Network.C2sTlsPort > 0)
            {
                kestrel.Listen(address, options.Network.C2sTlsPort, l =>
                {
                    l.UseConnectionHandler<DirectTlsConnectionHandler>();
                });
            }
            if (options.Network.HttpPort > 0)
            {
                kestrel.Listen(address, options.Network.HttpPort, l =>
                {
                    l.Protocols = HttpProtocols.Http1AndHttp2;
                });
            }
        });

        var app = builder.Build();
        var node = app.Services.GetRequiredService<ParleyNode>();
        foreach (var module in app.Services.GetServices<IModule>())
        {
            module.Register(node.Modules);
        }
        node.Modules.Freeze();
        node.Certificates.LoadAll();

        app.MapGet("/health", () => Results.Text("ok"));
        app.Logger.LogInformation("Parley {Version} serving {Domains} with storage {Storage}", Modules.Version.VersionModule.ProductVersion, string.Join(", ", options.EffectiveDomains), storage.Description);
        return new ParleyApp(app, node, storage);
    }

    public static Task<IParleyStorage> OpenStorageAsync(ParleyOptions options, CancellationToken cancellationToken = default)
    {
        var location = options.Storage.ConnectionString ?? Path.Combine(options.DataDir, "parley.db");
        return StorageFactory.OpenAsync(options.Storage.Provider, location, cancellationToken);
    }

    /// <summary>The modules every node runs; a new feature adds its line here.</summary>
    private static void AddModules(IServiceCollection services)
    {
        services.AddSingleton<IModule, DiscoModule>();
        services.AddSingleton<IModule, PingModule>();
        services.AddSingleton<IModule, VersionModule>();
        services.AddSingleton<IModule, TimeModule>();
        services.AddSingleton<IModule, LegacySessionModule>();
        services.AddSingleton<IModule, StreamManagementModule>();
        services.AddSingleton<IModule, ClientStateModule>();
        services.AddSingleton<RosterService>();
        services.AddSingleton<SubscriptionHandler>();
        services.AddSingleton<IModule, RosterModule>();
        services.AddSingleton<PresenceModule>();
        services.AddSingleton<ILastPresence>(sp => sp.GetRequiredService<PresenceModule>());
        services.AddSingleton<IModule>(sp => sp.GetRequiredService<PresenceModule>());
        services.AddSingleton<IModule, PushModule>();
        services.AddSingleton<IModule, OfflineModule>();
        services.AddSingleton<IModule, BlockingModule>();
        services.AddSingleton<IModule, MamModule>();
        services.AddSingleton<ArchiveRetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<ArchiveRetentionService>());
        services.AddSingleton<IModule, CarbonsModule>();
        services.AddSingleton<IModule, LastActivityModule>();
        services.AddSingleton<IModule, VCardModule>();
        // Also registered as the interfaces they offer other modules: bookmarks observes them and writes through them.
        services.AddSingleton<PrivateStorageModule>();
        services.AddSingleton<IPrivateXml>(sp => sp.GetRequiredService<PrivateStorageModule>());
        services.AddSingleton<IModule>(sp => sp.GetRequiredService<PrivateStorageModule>());
        services.AddSingleton<IModule, RegistrationModule>();
        services.AddSingleton<MucService>();
        services.AddSingleton<IModule, MucModule>();
        services.AddSingleton<PepNotifier>();
        services.AddSingleton<PepModule>();
        services.AddSingleton<IPersonalEventing>(sp => sp.GetRequiredService<PepModule>());
        services.AddSingleton<IModule>(sp => sp.GetRequiredService<PepModule>());
        services.AddSingleton<IModule, BookmarksModule>();
    }
}

/// <summary>A built node.</summary>
public sealed class ParleyApp(WebApplication app, ParleyNode node, IParleyStorage storage) : IAsyncDisposable
{
    public WebApplication Web { get; } = app;
    public ParleyNode Node { get; } = node;

    public Task StartAsync(CancellationToken cancellationToken = default) => Web.StartAsync(cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken = default) => Web.StopAsync(cancellationToken);
    public Task RunAsync(CancellationToken cancellationToken = default) => Web.RunAsync(cancellationToken);
    /// <summary>Stops the web host first, so that nothing uses storage when it closes.</summary>
    public async ValueTask DisposeAsync()
    {
        await Web.DisposeAsync().ConfigureAwait(false);
        await storage.DisposeAsync().ConfigureAwait(false);
    }
}

public sealed class ConfigurationException(string message) : Exception(message);
