using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Cli;

/// <summary>
/// The configuration flags every command takes, the same as <c>parley serve</c>'s, so that a command finds the
/// storage and the domains the node uses. Each flag overrides one key of the "Parley" section.
/// </summary>
internal sealed class CommonOptions
{
    private readonly Option<string?> _configFile = new("--config")
    {
        Description = "The JSON configuration file (default: ./parley.json when it exists).",
        HelpName = "FILE",
    };

    private readonly Option<string?> _dataDir = new("--data-dir")
    {
        Description = "The data directory (Parley:DataDir).",
        HelpName = "DIR",
    };

    private readonly Option<string[]>? _domains;

    private readonly Option<string?> _storage = new Option<string?>("--storage")
    {
        Description = "The storage provider (Parley:Storage:Provider): sqlite or postgres.",
        HelpName = "PROVIDER",
    }.AcceptOnlyFromAmong("sqlite", "postgres");

    private readonly Option<string?> _postgres = new("--postgres")
    {
        Description = "A PostgreSQL connection string (Parley:Storage:ConnectionString); implies --storage postgres. " +
            "Leave the password out to take it from PGPASSWORD.",
        HelpName = "CONNECTION_STRING",
    };

    private readonly Option<string?> _bind = new("--bind")
    {
        Description = "The IP address the listeners bind (Parley:Network:Bind).",
        HelpName = "ADDR",
    };

    private readonly Option<int?> _c2sPort = PortOption("--c2s-port", "Client connections with STARTTLS (Parley:Network:C2sPort); 0 disables.");
    private readonly Option<int?> _c2sTlsPort = PortOption("--c2s-tls-port", "Client connections with direct TLS (Parley:Network:C2sTlsPort); 0 disables.");
    private readonly Option<int?> _httpPort = PortOption("--http-port", "HTTP (Parley:Network:HttpPort); 0 disables.");
    private readonly Option<int?> _httpsPort = PortOption("--https-port", "HTTPS (Parley:Network:HttpsPort); 0 disables.");

    private readonly Option<string?>? _bus;
    private readonly Option<string?>? _node;
    private readonly Option<string?>? _advertise;
    private readonly Option<bool?>? _redirect;

    /// <param name="servedDomainsFlag">
    /// Whether the command's <c>--domain</c> sets the served domains; false where the command gives
    /// <c>--domain</c> another meaning (<c>user list</c> filters by it).
    /// </param>
    /// <param name="clusterFlags">Whether the command takes a node's cluster membership (<c>parley serve</c>).</param>
    public CommonOptions(Command command, bool servedDomainsFlag = true, bool clusterFlags = false)
    {
        command.Options.Add(_configFile);
        command.Options.Add(_dataDir);
        if (servedDomainsFlag)
        {
            _domains = new Option<string[]>("--domain")
            {
                Description = "A domain to serve (Parley:Domains); repeat for several. Replaces the configured list.",
                HelpName = "D",
                Arity = ArgumentArity.OneOrMore,
            };
            command.Options.Add(_domains);
        }

        command.Options.Add(_storage);
        command.Options.Add(_postgres);
        command.Options.Add(_bind);
        command.Options.Add(_c2sPort);
        command.Options.Add(_c2sTlsPort);
        command.Options.Add(_httpPort);
        command.Options.Add(_httpsPort);
        if (clusterFlags)
        {
            _bus = new Option<string?>("--bus")
            {
                Description = "The NATS server of the cluster this node joins (Parley:Cluster:Bus), e.g. nats://127.0.0.1:4222, or the servers of a NATS cluster separated by commas; needs --postgres and --node.",
                HelpName = "URL",
            };
            _node = new Option<string?>("--node")
            {
                Description = "This node's name in the cluster (Parley:Cluster:Node): letters, digits, '-' and '_'.",
                HelpName = "NAME",
            };
            _advertise = new Option<string?>("--advertise")
            {
                Description = "The host clients are sent to for this node (Parley:Cluster:Advertise); default: the bind address.",
                HelpName = "HOST",
            };
            _redirect = new Option<bool?>("--redirect")
            {
                Description = "Send a client whose account another node serves there with see-other-host (true, the default), or serve it here through that node (false) (Parley:Cluster:Redirect).",
                HelpName = "true|false",
            };
            command.Options.Add(_bus);
            command.Options.Add(_node);
            command.Options.Add(_advertise);
            command.Options.Add(_redirect);
        }
    }

    public string? ConfigFile(ParseResult parseResult) => parseResult.GetValue(_configFile);

    /// <summary>Loads and binds the configuration exactly as <c>parley serve</c> does.</summary>
    /// <exception cref="ConfigurationException">The configuration has problems; the message lists them all.</exception>
    public ParleyOptions Load(ParseResult parseResult)
    {
        var configuration = ParleyHost.LoadConfiguration(ConfigFile(parseResult), Overrides(parseResult));
        var domains = _domains is null ? null : parseResult.GetValue(_domains);
        return ParleyHost.BindOptions(domains is { Length: > 0 } ? WithDomains(configuration, domains) : configuration);
    }

    /// <summary>
    /// The configuration with <paramref name="domains"/> in place of the configured list. Configuration sources merge
    /// arrays by index, so as a plain override "--domain a" over a file's [b, c, d] would give [a, c, d].
    /// </summary>
    private static IConfiguration WithDomains(IConfigurationRoot configuration, string[] domains)
    {
        var prefix = $"{ParleyOptions.Section}:{nameof(ParleyOptions.Domains)}:";
        var otherKeys = configuration.AsEnumerable().Where(pair => !pair.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));
        var domainKeys = domains.Select((domain, index) => new KeyValuePair<string, string?>($"{prefix}{index}", domain));
        return new ConfigurationBuilder().AddInMemoryCollection(otherKeys.Concat(domainKeys)).Build();
    }

    private List<KeyValuePair<string, string?>> Overrides(ParseResult parseResult)
    {
        var overrides = new List<KeyValuePair<string, string?>>();
        AddIfGiven(overrides, "DataDir", parseResult.GetValue(_dataDir));
        var postgres = parseResult.GetValue(_postgres);
        AddIfGiven(overrides, "Storage:Provider", parseResult.GetValue(_storage) ?? (postgres is null ? null : "postgres"));
        AddIfGiven(overrides, "Storage:ConnectionString", postgres);
        AddIfGiven(overrides, "Network:Bind", parseResult.GetValue(_bind));
        AddIfGiven(overrides, "Network:C2sPort", parseResult.GetValue(_c2sPort)?.ToString(CultureInfo.InvariantCulture));
        AddIfGiven(overrides, "Network:C2sTlsPort", parseResult.GetValue(_c2sTlsPort)?.ToString(CultureInfo.InvariantCulture));
        AddIfGiven(overrides, "Network:HttpPort", parseResult.GetValue(_httpPort)?.ToString(CultureInfo.InvariantCulture));
        AddIfGiven(overrides, "Network:HttpsPort", parseResult.GetValue(_httpsPort)?.ToString(CultureInfo.InvariantCulture));
        if (_bus is not null && _node is not null && _advertise is not null && _redirect is not null)
        {
            AddIfGiven(overrides, "Cluster:Bus", parseResult.GetValue(_bus));
            AddIfGiven(overrides, "Cluster:Node", parseResult.GetValue(_node));
            AddIfGiven(overrides, "Cluster:Advertise", parseResult.GetValue(_advertise));
            AddIfGiven(overrides, "Cluster:Redirect", parseResult.GetValue(_redirect)?.ToString(CultureInfo.InvariantCulture).ToLowerInvariant());
        }
        return overrides;
    }

    private static void AddIfGiven(List<KeyValuePair<string, string?>> overrides, string key, string? value)
    {
        if (value is not null)
        {
            overrides.Add(new(key, value));
        }
    }

    private static Option<int?> PortOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
    };
}

/// <summary>Opening the configured storage for one command, and naming it in messages.</summary>
internal static class StorageAccess
{
    /// <summary>
    /// Opens the storage a node with <paramref name="options"/> uses, for a command that reads or changes what is
    /// there; dispose it as soon as the command is done. Where there is no database nothing is created: a mistyped
    /// --data-dir is an error, not an empty answer.
    /// </summary>
    /// <exception cref="CliException">There is no database, or it cannot be opened (exit code 1).</exception>
    public static Task<IParleyStorage> OpenExistingAsync(ParleyOptions options, CancellationToken cancellationToken) =>
        OpenAsync(options, StorageOpenMode.ExistingOnly, cancellationToken);

    /// <summary>
    /// As <see cref="OpenExistingAsync"/>, for a command that adds data: where there is no database a new one is
    /// created, and the command says so on standard error.
    /// </summary>
    public static async Task<IParleyStorage> OpenOrCreateAsync(ParleyOptions options, CliConsole console, CancellationToken cancellationToken)
    {
        var storage = await OpenAsync(options, StorageOpenMode.CreateIfMissing, cancellationToken);
        if (storage.Created)
        {
            console.Error.WriteLine($"parley: created a new database at {storage.Location}");
        }

        return storage;
    }

    private static async Task<IParleyStorage> OpenAsync(ParleyOptions options, StorageOpenMode mode, CancellationToken cancellationToken)
    {
        try
        {
            return await ParleyHost.OpenStorageAsync(options, mode, cancellationToken);
        }
        catch (StorageNotFoundException e)
        {
            var hint = SqlitePath(options) is null ? "no Parley schema yet; 'parley serve' creates it" : "check --data-dir";
            throw new CliException(ExitCodes.Failed, $"{e.Message} ({hint})");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CliException(ExitCodes.Failed, $"cannot open storage {Describe(options)}: {e.Message}");
        }
    }

    /// <summary>"sqlite /path/parley.db"; a PostgreSQL connection string is shown without its password.</summary>
    public static string Describe(ParleyOptions options)
    {
        if (options.Storage.ConnectionString is null)
        {
            return $"{options.Storage.Provider} {Path.GetFullPath(Path.Combine(options.DataDir, "parley.db"))}";
        }

        if (SqlitePath(options) is { } path)
        {
            return $"sqlite {path}";
        }

        return $"{options.Storage.Provider} {WithoutPassword(options.Storage.ConnectionString)}";
    }

    /// <summary>The full path of the SQLite database file, or null for another provider.</summary>
    public static string? SqlitePath(ParleyOptions options) => options.Storage.Provider == "sqlite"
        ? Path.GetFullPath(options.Storage.ConnectionString ?? Path.Combine(options.DataDir, "parley.db"))
        : null;

    private static string WithoutPassword(string connectionString)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            return "(connection string not shown: it does not parse)";
        }

        foreach (var key in new[] { "password", "pwd" })
        {
            if (builder.ContainsKey(key))
            {
                builder[key] = "***";
            }
        }

        return builder.ConnectionString;
    }
}
