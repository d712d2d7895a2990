using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Server.Administration;
using Parley.Server.Diagnostics;
using Parley.Server.Auth;
using Parley.Server.Http;
using Parley.Server.ModuleContract;
using Parley.Server.Modules;
using Parley.Server.Modules.Muc;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Server.Streams;
using Parley.Server.Transport;
using Parley.Server.Web;
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
            throw new ConfigurationException(ConfigurationCheck.DescribeJsonError(configFile ?? "parley.json", e));
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

    /// <summary>
    /// Binds and checks the options: the node's own sections, then each module's section (Parley:&lt;Section&gt;)
    /// into the options class the module declared. Every problem found is in the exception's message.
    /// </summary>
    /// <param name="modules">The modules the node will run; <see cref="BuiltInModules.All"/> unless given.</param>
    public static ParleyOptions BindOptions(IConfiguration configuration, IReadOnlyList<ModuleDefinition>? modules = null)
    {
        modules ??= BuiltInModules.All;
        var section = configuration.GetSection(ParleyOptions.Section);
        var unknownKeys = ConfigurationCheck.UnknownKeys(section, modules);
        if (unknownKeys.Count > 0)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, unknownKeys));
        }
        var options = new ParleyOptions();
        try
        {
            foreach (var child in section.GetChildren())
            {
                if (modules.FirstOrDefault(m => string.Equals(m.OptionsSection, child.Key, StringComparison.OrdinalIgnoreCase)) is { OptionsType: { } type })
                {
                    child.Bind(options.Module(type), o => o.ErrorOnUnknownConfiguration = true);
                }
            }
            section.Bind(options, o => o.ErrorOnUnknownConfiguration = false);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationException(e.Message);
        }
        var problems = ConfigurationCheck.Problems(options, modules);
        if (problems.Count > 0)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, problems));
        }
        return options;
    }

    /// <summary>Opens storage, then builds the node's host. Start it with RunAsync or StartAsync.</summary>
    /// <param name="configureServices">Last say over the node's services, e.g. another <see cref="IAuthenticationBackend"/>.</param>
    /// <param name="modules">The modules the node knows; <see cref="BuiltInModules.All"/> unless given. Those switched off are not run.</param>
    /// <exception cref="ConfigurationException">An enabled module needs one that is switched off.</exception>
    public static async Task<ParleyApp> BuildAsync(
        ParleyOptions options,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<IServiceCollection>? configureServices = null,
        IReadOnlyList<ModuleDefinition>? modules = null,
        CancellationToken cancellationToken = default)
    {
        modules ??= BuiltInModules.All;
        if (ConfigurationCheck.ModuleProblems(options, modules) is { Count: > 0 } moduleProblems)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, moduleProblems));
        }
        var storage = await OpenStorageWhenReachableAsync(options, configureLogging, cancellationToken).ConfigureAwait(false);

        // Parley's configuration is its own (LoadConfiguration), read once. The web host's default appsettings.json would
        // be watched for changes, and its watcher covers the working folder with every folder under it, ./data among
        // them: each write of the database's log woke it (11 % of the node's CPU with the archive under load).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        ConfigureLogging(builder.Logging, configureLogging);

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
        services.AddSingleton(sp => new Router(
            options.EffectiveDomains,
            sp.GetRequiredService<SessionRegistry>(),
            sp.GetRequiredService<ModuleRegistry>(),
            sp.GetRequiredService<ILogger<Router>>(),
            sp.GetServices<IRemoteRoute>()));
        services.AddSingleton<AuthThrottle>();
        services.AddSingleton<LoginGate>();
        services.AddSingleton<IAuthenticationBackend, LocalAccountBackend>();
        services.AddMetrics();
        services.AddSingleton<ParleyMetrics>();
        services.AddSingleton<NodeSamples>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeSamples>());
        services.AddSingleton<ConnectionMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<ConnectionMonitor>());
        services.AddSingleton<ConnectionLimiter>();
        services.AddSingleton<ISessionPlacement, ServedHere>();
        services.AddSingleton<ISessionReplication, NoReplication>();
        services.AddSingleton<ParleyNode>();
        services.AddSingleton<NodeShutdown>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeShutdown>());
        services.AddSingleton<NodeNoticeListener>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeNoticeListener>());
        AdministrationServices.AddToNode(services);
        WebServices.AddToNode(services);
        Api.MetricsEndpoint.AddToNode(services, options);
        Api.RestApi.AddToNode(services);
        foreach (var module in modules)
        {
            if (module.OptionsType is { } optionsType)
            {
                services.AddSingleton(optionsType, options.Module(optionsType));
            }
            if (options.IsEnabled(module.Name))
            {
                module.AddServices(services);
            }
        }
        configureServices?.Invoke(services);
        // Last of the hosted services: the listeners open once it has started (the web server starts after all of them).
        services.AddSingleton<DataMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<DataMonitor>());

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
                    // Plain HTTP: HTTP/2 would need TLS's protocol negotiation (Kestrel warns on every start otherwise).
                    l.Protocols = HttpProtocols.Http1;
                });
            }
            if (options.Network.HttpsPort > 0)
            {
                kestrel.Listen(address, options.Network.HttpsPort, l =>
                {
                    // HTTP/1.1: RFC 7395 WebSockets upgrade an HTTP/1.1 request. The certificate is looked up per
                    // handshake, so a renewed one is served without a restart, as on the XMPP ports.
                    l.Protocols = HttpProtocols.Http1;
                    l.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = context => ValueTask.FromResult(
                            kestrel.ApplicationServices.GetRequiredService<CertificateStore>().ServerOptionsFor(context.ClientHelloInfo.ServerName)),
                    });
                });
            }
        });

        var app = builder.Build();
        var node = app.Services.GetRequiredService<ParleyNode>();
        app.Services.GetRequiredService<RunningNodeEvents>().HearNotices();
        await app.Services.GetRequiredService<RuntimeSettings>().ReloadAsync(cancellationToken).ConfigureAwait(false);
        foreach (var module in app.Services.GetServices<IModule>())
        {
            module.Register(node.Modules);
        }
        node.Modules.Freeze();
        await node.Certificates.LoadAllAsync().ConfigureAwait(false);

        app.UseWebSockets();
        app.MapGet("/health", () => Results.Text("ok"));
        foreach (var endpoints in app.Services.GetServices<IHttpEndpoints>())
        {
            endpoints.Map(app);
        }
        var startup = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Parley.Startup");
        if (storage.Created)
        {
            startup.LogInformation("Created a new database at {Path}", storage.Location);
        }
        app.Lifetime.ApplicationStarted.Register(() => LogWhatIsServed(startup, options, storage));
        return new ParleyApp(app, node, storage, options);
    }

    /// <summary>What a node listens on, each with the flag that moves it; in the order the start-up log lists them.</summary>
    public static IReadOnlyList<Listener> Listeners(ParleyOptions options) =>
    [
        new("c2s STARTTLS", "--c2s-port", options.Network.Bind, options.Network.C2sPort),
        new("c2s direct TLS", "--c2s-tls-port", options.Network.Bind, options.Network.C2sTlsPort),
        new("http", "--http-port", options.Network.Bind, options.Network.HttpPort),
        new("https", "--https-port", options.Network.Bind, options.Network.HttpsPort),
    ];

    /// <summary>One block, once the listeners are bound: what the node serves, where, and on which data.</summary>
    private static void LogWhatIsServed(ILogger logger, ParleyOptions options, IParleyStorage storage)
    {
        var lines = new List<string>
        {
            $"Parley {Modules.Version.VersionModule.ProductVersion} is serving",
            Row("domains", string.Join(", ", options.EffectiveDomains)),
        };
        foreach (var listener in Listeners(options))
        {
            lines.Add(Row(listener.Name, listener.ToString()));
        }
        lines.Add(Row("MUC service", options.IsEnabled("Muc")
            ? string.Join(", ", options.EffectiveDomains.Select(domain => $"{options.Module<MucOptions>().Subdomain}.{domain}"))
            : "off (Parley:Modules:Muc:Enabled)"));
        lines.Add(Row("database", storage.Description));
        foreach (var line in lines)
        {
            logger.LogInformation("{Line}", line);
        }
    }

    private static string Row(string name, string value) => $"  {name + ":",-16}{value}";

    private static void ConfigureLogging(ILoggingBuilder logging, Action<ILoggingBuilder>? configureLogging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
        });

        // ASP.NET Core logs four or five lines per HTTP request (a load balancer's health check every few seconds
        // floods the log) and lists every listener as http://; the node says what it serves itself, once.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        configureLogging?.Invoke(logging);
    }

    /// <summary>
    /// Opens the node's storage; while the database server cannot be reached (PostgreSQL still starting, or down), says
    /// why and tries again with a growing delay. Nothing listens meanwhile, so no client is accepted before storage is
    /// ready. A refused login, a missing database or a newer schema is not retried: it needs the operator.
    /// </summary>
    private static async Task<IParleyStorage> OpenStorageWhenReachableAsync(ParleyOptions options, Action<ILoggingBuilder>? configureLogging, CancellationToken cancellationToken)
    {
        var delay = StorageRetryFirstDelay;
        ILoggerFactory? loggers = null;
        try
        {
            while (true)
            {
                try
                {
                    return await OpenStorageAsync(options, StorageOpenMode.CreateIfMissing, cancellationToken).ConfigureAwait(false);
                }
                catch (StorageUnavailableException e)
                {
                    // The node's own logging is built with the node; until then the same configuration logs here.
                    loggers ??= LoggerFactory.Create(logging => ConfigureLogging(logging, configureLogging));
                    loggers.CreateLogger("Parley.Startup").LogWarning(
                        "Storage is not ready: {Reason}; trying again in {Seconds:0.#} s (no client is accepted until then)", e.Message, delay.TotalSeconds);
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, StorageRetryMaxDelay.Ticks));
                }
            }
        }
        finally
        {
            loggers?.Dispose();
        }
    }

    private static readonly TimeSpan StorageRetryFirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan StorageRetryMaxDelay = TimeSpan.FromSeconds(15);

    /// <param name="mode">Whether a missing database is created (a node, commands that add data) or is an error.</param>
    /// <exception cref="StorageNotFoundException">There is no database and <paramref name="mode"/> is <see cref="StorageOpenMode.ExistingOnly"/>.</exception>
    public static Task<IParleyStorage> OpenStorageAsync(ParleyOptions options, StorageOpenMode mode = StorageOpenMode.CreateIfMissing, CancellationToken cancellationToken = default)
    {
        var location = options.Storage.ConnectionString ?? Path.Combine(options.DataDir, "parley.db");
        return StorageFactory.OpenAsync(options.Storage.Provider, location, mode, cancellationToken);
    }
}

/// <summary>A listener of the node: what it serves, the flag that moves it, its address and port (0: disabled).</summary>
public sealed record Listener(string Name, string Flag, string Bind, int Port)
{
    /// <summary>"127.0.0.1:5222", "[::]:5222", or "disabled".</summary>
    public override string ToString()
    {
        if (Port == 0)
        {
            return "disabled";
        }
        return IPAddress.TryParse(Bind, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Bind}]:{Port}" : $"{Bind}:{Port}";
    }
}

/// <summary>A port the node must listen on is taken; the message says which, and what to do.</summary>
public sealed class PortInUseException(string message, Exception inner) : IOException(message, inner);

/// <summary>A built node.</summary>
public sealed class ParleyApp(WebApplication app, ParleyNode node, IParleyStorage storage, ParleyOptions options) : IAsyncDisposable
{
    public WebApplication Web { get; } = app;
    public ParleyNode Node { get; } = node;

    /// <exception cref="PortInUseException">A port is taken by another process.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        CheckPortsAreFree();
        return Web.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken = default) => Web.StopAsync(cancellationToken);

    /// <exception cref="PortInUseException">A port is taken by another process.</exception>
    public Task RunAsync(CancellationToken cancellationToken = default)
    {
        CheckPortsAreFree();
        return Web.RunAsync(cancellationToken);
    }

    /// <summary>
    /// Binds each port for a moment before the host starts, so that a taken port is one clear sentence: the host
    /// logs a failed start as pages of stack trace before it throws.
    /// </summary>
    private void CheckPortsAreFree()
    {
        foreach (var listener in ParleyHost.Listeners(options))
        {
            if (listener.Port == 0)
            {
                continue;
            }
            var probe = new System.Net.Sockets.TcpListener(IPAddress.Parse(listener.Bind), listener.Port);
            try
            {
                probe.Start();
            }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
            {
                throw new PortInUseException(
                    $"port {listener.Port} on {listener.Bind} is already in use ({listener.Name}); stop the other process or choose another port with {listener.Flag}", e);
            }
            finally
            {
                probe.Stop();
            }
        }
    }

    /// <summary>Stops the web host first, so that nothing uses storage when it closes.</summary>
    public async ValueTask DisposeAsync()
    {
        await Web.DisposeAsync().ConfigureAwait(false);
        await storage.DisposeAsync().ConfigureAwait(false);
    }
}

public sealed class ConfigurationException(string message) : Exception(message);
