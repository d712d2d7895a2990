using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Parley.Protocol;
using Parley.Protocol.Precis;
using Parley.Server.ModuleContract;
using Parley.Server.Modules;

namespace Parley.Server.Hosting;

/// <summary>What `parley config check` and start-up report about a configuration.</summary>
public static class ConfigurationCheck
{
    /// <summary>Every problem of the node's own sections, of each module's section, and of the modules switched on and off.</summary>
    public static List<string> Problems(ParleyOptions options, IReadOnlyList<ModuleDefinition>? modules = null)
    {
        modules ??= BuiltInModules.All;
        var problems = new List<string>();
        foreach (var domain in options.EffectiveDomains)
        {
            if (string.IsNullOrEmpty(domain))
            {
                problems.Add("Parley:Domains: a domain is empty.");
            }
            else if (!Precis.TryPrepareDomainpart(domain, out var prepared, out var error))
            {
                problems.Add($"Parley:Domains: '{domain}' is not a valid domain: {error}");
            }
            else if (prepared != domain)
            {
                problems.Add($"Parley:Domains: write '{domain}' as '{prepared}'.");
            }
        }
        if (!IPAddress.TryParse(options.Network.Bind, out _))
        {
            problems.Add($"Parley:Network:Bind: '{options.Network.Bind}' is not an IP address.");
        }
        CheckPort(problems, "C2sPort", options.Network.C2sPort);
        CheckPort(problems, "C2sTlsPort", options.Network.C2sTlsPort);
        CheckPort(problems, "HttpPort", options.Network.HttpPort);
        CheckPort(problems, "HttpsPort", options.Network.HttpsPort);
        problems.AddRange(Web.WebRequests.Problems(options.Web));
        if (options.Storage.Provider == "postgres")
        {
            if (string.IsNullOrWhiteSpace(options.Storage.ConnectionString))
            {
                problems.Add("Parley:Storage:ConnectionString: 'postgres' needs a connection string, e.g. Host=127.0.0.1;Username=parley;Database=parley (or --postgres).");
            }
        }
        else if (options.Storage.Provider != "sqlite")
        {
            problems.Add($"Parley:Storage:Provider: '{options.Storage.Provider}' is not 'sqlite' or 'postgres'.");
        }
        problems.AddRange(ClusterProblems(options));
        if (options.Storage.NoticePollMilliseconds < 1)
        {
            problems.Add("Parley:Storage:NoticePollMilliseconds: must be at least 1.");
        }
        if (options.Auth.ScramIterations < 4096)
        {
            problems.Add("Parley:Auth:ScramIterations: must be at least 4096 (RFC 7677).");
        }
        if (options.Auth.IpFailuresBeforeDelay < 0)
        {
            problems.Add("Parley:Auth:IpFailuresBeforeDelay: must not be negative.");
        }
        if (options.Auth.LoginsPerSecond < 0 || options.Auth.LoginQueueLength < 0)
        {
            problems.Add("Parley:Auth:LoginsPerSecond and LoginQueueLength: must not be negative (LoginsPerSecond 0: no limit).");
        }
        if (options.Auth.MinPasswordLength < 1)
        {
            problems.Add("Parley:Auth:MinPasswordLength: must be at least 1.");
        }
        if (options.Sessions.ResourceConflict is not ("replace" or "reject"))
        {
            problems.Add($"Parley:Sessions:ResourceConflict: '{options.Sessions.ResourceConflict}' is not 'replace' or 'reject'.");
        }
        foreach (var certificate in options.Tls.Certificates)
        {
            foreach (var path in new[] { certificate.CertificatePath, certificate.KeyPath, certificate.PfxPath })
            {
                if (path is not null && !File.Exists(path))
                {
                    problems.Add($"Parley:Tls:Certificates ({certificate.Domain}): {path} does not exist.");
                }
            }
        }
        if (options.Limits.MaxStanzaBytes < 10_000)
        {
            problems.Add("Parley:Limits:MaxStanzaBytes: must be at least 10000 (RFC 6120 §13.12).");
        }
        if (options.Limits.MaxSendQueueBytes < options.Limits.MaxStanzaBytes)
        {
            problems.Add("Parley:Limits:MaxSendQueueBytes: must be at least Parley:Limits:MaxStanzaBytes (a stanza of the largest size must fit).");
        }
        if (options.Limits.MaxVCardBytes < 1 || options.Limits.MaxVCardBytes > options.Limits.MaxStanzaBytes)
        {
            problems.Add("Parley:Limits:MaxVCardBytes: must be from 1 to Parley:Limits:MaxStanzaBytes (a larger vCard could not arrive in one stanza).");
        }
        if (options.Limits.MaxOfflineMessages < 0)
        {
            problems.Add("Parley:Limits:MaxOfflineMessages: must be 0 (offline storage off) or more.");
        }
        if (options.Limits.MaxRosterItems < 0)
        {
            problems.Add("Parley:Limits:MaxRosterItems: must be 0 (unlimited) or more.");
        }
        if (options.Limits.MaxConnectionsPerIp < 0)
        {
            problems.Add("Parley:Limits:MaxConnectionsPerIp: must be 0 (unlimited) or more.");
        }
        foreach (var admin in options.Admins)
        {
            if (!Jid.TryParse(admin, out var jid) || jid.Local is null || !jid.IsBare)
            {
                problems.Add($"Parley:Admins: '{admin}' is not an account's bare JID such as admin@{options.EffectiveDomains[0]}.");
            }
        }
        if (options.Audit.RetentionDays < 0)
        {
            problems.Add("Parley:Audit:RetentionDays: must be 0 (keep forever) or more.");
        }
        if (options.Metrics.OtlpEndpoint is { Length: > 0 } otlpEndpoint
            && (!Uri.TryCreate(otlpEndpoint, UriKind.Absolute, out var otlp) || otlp.Scheme is not ("http" or "https")))
        {
            problems.Add($"Parley:Metrics:OtlpEndpoint: '{otlpEndpoint}' is not an http:// or https:// address.");
        }
        if (options.Metrics.OtlpIntervalSeconds < 1)
        {
            problems.Add("Parley:Metrics:OtlpIntervalSeconds: must be 1 or more.");
        }
        if (options.Limits.MaxDepth < 8)
        {
            problems.Add("Parley:Limits:MaxDepth: must be at least 8.");
        }
        foreach (var module in modules)
        {
            if (module.OptionsType is { } type)
            {
                problems.AddRange(((IModuleOptions)options.Module(type)).Validate($"{ParleyOptions.Section}:{module.OptionsSection}"));
            }
        }
        problems.AddRange(ModuleProblems(options, modules));
        return problems;
    }

    /// <summary>Modules switched on or off that the node does not know, and enabled modules that need one switched off.</summary>
    public static List<string> ModuleProblems(ParleyOptions options, IReadOnlyList<ModuleDefinition> modules)
    {
        var problems = new List<string>();
        foreach (var name in options.Modules.Keys)
        {
            if (!modules.Any(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                var nearest = Nearest(name, modules.Select(m => m.Name));
                problems.Add($"{ParleyOptions.Section}:Modules:{name}: no such module{(nearest is null ? "" : $"; did you mean {nearest}?")} The modules are: {string.Join(", ", modules.Select(m => m.Name))}.");
            }
        }
        foreach (var module in modules.Where(m => options.IsEnabled(m.Name)))
        {
            foreach (var dependency in module.Dependencies.Where(d => !options.IsEnabled(d)))
            {
                problems.Add($"{ParleyOptions.Section}:Modules:{module.Name}: the module {module.Name} needs the module {dependency}, which is switched off " +
                    $"({ParleyOptions.Section}:Modules:{dependency}:Enabled=false); switch {module.Name} off too, or {dependency} on.");
            }
        }
        return problems;
    }

    /// <summary>
    /// Every key of the Parley section that nothing takes, by its full path, with the nearest key there is
    /// ("Parley:Network:C2sProt: unknown key; did you mean Parley:Network:C2sPort?"): the node's own keys,
    /// Modules:&lt;Name&gt;:Enabled, and each module's section checked against the options class it declared.
    /// </summary>
    public static List<string> UnknownKeys(IConfigurationSection parley, IReadOnlyList<ModuleDefinition> modules)
    {
        var problems = new List<string>();
        var core = Settable(typeof(ParleyOptions));
        var sections = modules.Where(m => m.OptionsSection is not null).ToList();
        foreach (var child in parley.GetChildren())
        {
            if (sections.FirstOrDefault(m => string.Equals(m.OptionsSection, child.Key, StringComparison.OrdinalIgnoreCase)) is { OptionsType: { } type })
            {
                AddUnknownKeys(problems, child, type);
            }
            else if (Array.Find(core, property => string.Equals(property.Name, child.Key, StringComparison.OrdinalIgnoreCase)) is { } property)
            {
                AddUnknownKeysOfValue(problems, child, property.PropertyType);
            }
            else
            {
                AddUnknownKey(problems, child, parley, core.Select(p => p.Name).Concat(sections.Select(m => m.OptionsSection!)));
            }
        }
        return problems;
    }

    private static void AddUnknownKeys(List<string> problems, IConfigurationSection section, Type type)
    {
        var properties = Settable(type);
        foreach (var child in section.GetChildren())
        {
            if (Array.Find(properties, property => string.Equals(property.Name, child.Key, StringComparison.OrdinalIgnoreCase)) is { } property)
            {
                AddUnknownKeysOfValue(problems, child, property.PropertyType);
            }
            else
            {
                AddUnknownKey(problems, child, section, properties.Select(p => p.Name));
            }
        }
    }

    /// <summary>A value's own keys: an options class's, each element's of a list of them, each entry's of a dictionary of them.</summary>
    private static void AddUnknownKeysOfValue(List<string> problems, IConfigurationSection value, Type type)
    {
        if (ElementType(type) is { } elementType)
        {
            foreach (var element in value.GetChildren())
            {
                AddUnknownKeys(problems, element, elementType);
            }
        }
        else if (IsSection(type))
        {
            AddUnknownKeys(problems, value, type);
        }
    }

    private static void AddUnknownKey(List<string> problems, IConfigurationSection key, IConfigurationSection parent, IEnumerable<string> known)
    {
        var nearest = Nearest(key.Key, known);
        problems.Add(nearest is null
            ? $"{key.Path}: unknown key."
            : $"{key.Path}: unknown key; did you mean {parent.Path}:{nearest}?");
    }

    private static PropertyInfo[] Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(property => property.CanWrite).ToArray();

    /// <summary>The options class a list or a dictionary holds (List&lt;CertificateOptions&gt;, Dictionary&lt;string, ModuleSwitch&gt;), or null.</summary>
    private static Type? ElementType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition && (definition == typeof(List<>) || definition == typeof(Dictionary<,>))
            && type.GetGenericArguments()[^1] is var element && IsSection(element)
            ? element
            : null;

    private static bool IsSection(Type type) => type.IsClass && type != typeof(string) && !type.IsGenericType;

    /// <summary>The candidate closest to <paramref name="key"/> by edit distance, if it is close enough to be a typo.</summary>
    private static string? Nearest(string key, IEnumerable<string> candidates)
    {
        string? nearest = null;
        var best = Math.Max(2, key.Length / 3) + 1;
        foreach (var candidate in candidates)
        {
            var distance = EditDistance(key.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < best)
            {
                best = distance;
                nearest = candidate;
            }
        }
        return nearest;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>"The configuration file F is not valid JSON: line L, column C: what the parser found."</summary>
    public static string DescribeJsonError(string configFile, Exception error)
    {
        for (var inner = error; inner is not null; inner = inner.InnerException)
        {
            if (inner is JsonException { LineNumber: { } line, BytePositionInLine: { } column })
            {
                // JsonException counts from 0; editors count from 1. Its message repeats the position in its own words.
                var reason = inner.Message;
                var cut = reason.IndexOf(" Path:", StringComparison.Ordinal) is var path and >= 0 ? path : reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
                return $"The configuration file {Path.GetFullPath(configFile)} is not valid JSON: line {line + 1}, column {column + 1}: {(cut >= 0 ? reason[..cut] : reason)}";
            }
        }
        return $"The configuration file {Path.GetFullPath(configFile)} is not valid JSON: {error.Message}";
    }

    private static IEnumerable<string> ClusterProblems(ParleyOptions options)
    {
        var cluster = options.Cluster;
        if (cluster.Bus is null)
        {
            yield break;
        }
        // A NATS cluster's servers are given as a comma-separated list of seeds; the client picks one and moves on.
        foreach (var seed in cluster.Bus.Split(','))
        {
            if (seed.Any(char.IsWhiteSpace) || !Uri.TryCreate(seed, UriKind.Absolute, out var bus) || bus.Scheme != "nats")
            {
                yield return $"Parley:Cluster:Bus: '{seed}' is not a NATS URL such as nats://127.0.0.1:4222 (a NATS cluster's servers: several, separated by commas without spaces).";
            }
        }
        if (options.Storage.Provider != "postgres")
        {
            yield return "Parley:Cluster:Bus: a cluster's nodes share one PostgreSQL database; add --storage postgres --postgres CONNECTION_STRING.";
        }
        if (string.IsNullOrWhiteSpace(cluster.Node))
        {
            yield return "Parley:Cluster:Node: a node of a cluster needs a name (--node NAME).";
        }
        else if (!cluster.Node.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            // The name is part of the node's bus subject, where dots and wildcards have a meaning.
            yield return $"Parley:Cluster:Node: '{cluster.Node}' may hold only letters, digits, '-' and '_'.";
        }
        if (cluster.HeartbeatMilliseconds < 100 || cluster.LeaseMilliseconds < 2 * cluster.HeartbeatMilliseconds)
        {
            yield return "Parley:Cluster:LeaseMilliseconds: must be at least twice HeartbeatMilliseconds, which must be at least 100.";
        }
        if (cluster.BusBufferStanzas < 0 || cluster.BusBufferSeconds < 0)
        {
            yield return "Parley:Cluster:BusBufferStanzas and BusBufferSeconds: must not be negative.";
        }
        if (cluster.FallbackDelaySeconds < 0)
        {
            yield return "Parley:Cluster:FallbackDelaySeconds: must not be negative (0 sends a node's users home as soon as it is up).";
        }
        if (cluster.SendAwayPerHeartbeat < 1)
        {
            yield return "Parley:Cluster:SendAwayPerHeartbeat: must be at least 1 (the most clients sent to another node each heartbeat).";
        }
    }

    private static void CheckPort(List<string> problems, string name, int port)
    {
        if (port is < 0 or > 65535)
        {
            problems.Add($"Parley:Network:{name}: {port} is not a port number (0 disables the listener).");
        }
    }
}
