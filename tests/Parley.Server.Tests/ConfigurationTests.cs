using Parley.Server.Hosting;
using Parley.Server.Modules.Registration;

namespace Parley.Server.Tests;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"parley-config-{Guid.NewGuid():N}.json");

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void Defaults_serve_localhost_on_loopback_with_the_standard_ports()
    {
        var options = new ParleyOptions();

        Assert.Equal(["localhost"], options.EffectiveDomains);
        Assert.Equal("127.0.0.1", options.Network.Bind);
        Assert.Equal(5222, options.Network.C2sPort);
        Assert.Equal(5223, options.Network.C2sTlsPort);
        Assert.Empty(ConfigurationCheck.Problems(options));
    }

    [Fact]
    public void A_cluster_bus_needs_postgres_a_node_name_and_a_nats_url()
    {
        var options = new ParleyOptions();
        options.Cluster.Bus = "http://127.0.0.1:4222";
        options.Cluster.Node = "node.a";

        var problems = ConfigurationCheck.Problems(options);

        Assert.Contains("Parley:Cluster:Bus: 'http://127.0.0.1:4222' is not a NATS URL such as nats://127.0.0.1:4222 (a NATS cluster's servers: several, separated by commas without spaces).", problems);
        Assert.Contains("Parley:Cluster:Bus: a cluster's nodes share one PostgreSQL database; add --storage postgres --postgres CONNECTION_STRING.", problems);
        Assert.Contains("Parley:Cluster:Node: 'node.a' may hold only letters, digits, '-' and '_'.", problems);

        options.Cluster.Bus = "nats://127.0.0.1:4222";
        options.Cluster.Node = "a";
        options.Storage.Provider = "postgres";
        options.Storage.ConnectionString = "Host=127.0.0.1;Username=parley";
        Assert.Empty(ConfigurationCheck.Problems(options));

        options.Cluster.Bus = "nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222";
        Assert.Empty(ConfigurationCheck.Problems(options));
        options.Cluster.Bus = "nats://10.0.0.1:4222, nats://10.0.0.2:4222";
        Assert.Equal(["Parley:Cluster:Bus: ' nats://10.0.0.2:4222' is not a NATS URL such as nats://127.0.0.1:4222 (a NATS cluster's servers: several, separated by commas without spaces)."],
            ConfigurationCheck.Problems(options));
    }

    [Fact]
    public void The_fallback_delay_and_rate_of_a_cluster_are_checked()
    {
        var options = new ParleyOptions();
        options.Cluster.Bus = "nats://127.0.0.1:4222";
        options.Cluster.Node = "a";
        options.Storage.Provider = "postgres";
        options.Storage.ConnectionString = "Host=127.0.0.1;Username=parley";
        options.Cluster.FallbackDelaySeconds = -1;
        options.Cluster.SendAwayPerHeartbeat = 0;

        Assert.Equal(
            ["Parley:Cluster:FallbackDelaySeconds: must not be negative (0 sends a node's users home as soon as it is up).",
             "Parley:Cluster:SendAwayPerHeartbeat: must be at least 1 (the most clients sent to another node each heartbeat)."],
            ConfigurationCheck.Problems(options));
    }

    [Fact]
    public void Flags_win_over_environment_which_wins_over_the_file()
    {
        File.WriteAllText(_file, """{ "Parley": { "Domains": ["file.example"], "DataDir": "/from-file", "Network": { "C2sPort": 1111, "Bind": "10.0.0.1" } } }""");
        Environment.SetEnvironmentVariable("PARLEY__NETWORK__C2SPORT", "2222");
        Environment.SetEnvironmentVariable("PARLEY__DATADIR", "/from-env");
        try
        {
            var configuration = ParleyHost.LoadConfiguration(_file, [new("DataDir", "/from-flag")]);
            var options = ParleyHost.BindOptions(configuration);

            Assert.Equal(["file.example"], options.Domains);
            Assert.Equal("10.0.0.1", options.Network.Bind);
            Assert.Equal(2222, options.Network.C2sPort);
            Assert.Equal("/from-flag", options.DataDir);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PARLEY__NETWORK__C2SPORT", null);
            Environment.SetEnvironmentVariable("PARLEY__DATADIR", null);
        }
    }

    [Fact]
    public void An_unknown_key_is_an_error_that_names_it()
    {
        File.WriteAllText(_file, """{ "Parley": { "Network": { "C2sProt": 5222 } } }""");

        var error = Assert.Throws<ConfigurationException>(() => ParleyHost.BindOptions(ParleyHost.LoadConfiguration(_file)));
        Assert.Contains("C2sProt", error.Message);
    }

    [Fact]
    public void A_missing_file_and_invalid_json_are_errors()
    {
        Assert.Throws<ConfigurationException>(() => ParleyHost.LoadConfiguration(_file));
        File.WriteAllText(_file, "{ not json");
        Assert.Throws<ConfigurationException>(() => ParleyHost.LoadConfiguration(_file));
    }

    [Fact]
    public void An_empty_domain_in_the_file_is_a_problem_not_a_crash()
    {
        File.WriteAllText(_file, """{ "Parley": { "Domains": [null, ""] } }""");

        var error = Assert.Throws<ConfigurationException>(() => ParleyHost.BindOptions(ParleyHost.LoadConfiguration(_file)));
        Assert.Contains("a domain is empty", error.Message);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var options = new ParleyOptions { Domains = ["Bad Domain!", "UPPER.example"] };
        options.Network.Bind = "not-an-address";
        options.Network.C2sPort = 70000;
        options.Auth.ScramIterations = 100;
        options.Sessions.ResourceConflict = "kick";
        options.Storage.Provider = "mysql";
        options.Limits.MaxVCardBytes = options.Limits.MaxStanzaBytes + 1;
        options.Module<RegistrationOptions>().MaxPerIpPerHour = -1;
        options.Limits.MaxOfflineMessages = -1;

        var problems = ConfigurationCheck.Problems(options);

        Assert.Contains(problems, p => p.Contains("Bad Domain!"));
        Assert.Contains(problems, p => p.Contains("'upper.example'"));
        Assert.Contains(problems, p => p.Contains("not-an-address"));
        Assert.Contains(problems, p => p.Contains("70000"));
        Assert.Contains(problems, p => p.Contains("ScramIterations"));
        Assert.Contains(problems, p => p.Contains("kick"));
        Assert.Contains(problems, p => p.Contains("mysql"));
        Assert.Contains(problems, p => p.Contains("MaxVCardBytes"));
        Assert.Contains(problems, p => p.Contains("MaxPerIpPerHour"));
        Assert.Contains(problems, p => p.Contains("MaxOfflineMessages"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1000)]
    public void A_notice_poll_interval_below_1_millisecond_is_a_problem_that_names_the_key(int milliseconds)
    {
        var options = new ParleyOptions();
        options.Storage.NoticePollMilliseconds = milliseconds;

        Assert.Equal(["Parley:Storage:NoticePollMilliseconds: must be at least 1."], ConfigurationCheck.Problems(options));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Bosh_limits_below_1_are_problems_that_name_their_keys(int value)
    {
        var options = new ParleyOptions();
        options.Web.BoshMaxWaitSeconds = value;
        options.Web.BoshInactivitySeconds = value;
        options.Web.BoshMaxSessionsPerIp = value;

        Assert.Equal(
            [
                "Parley:Web:BoshMaxWaitSeconds: must be 1 or more.",
                "Parley:Web:BoshInactivitySeconds: must be 1 or more.",
                "Parley:Web:BoshMaxSessionsPerIp: must be 1 or more.",
            ],
            ConfigurationCheck.Problems(options));
    }

    [Fact]
    public void Bad_web_values_are_problems_that_name_their_keys_and_good_ones_pass()
    {
        var options = new ParleyOptions();
        options.Web.TrustedProxies = ["proxy.example.com"];
        options.Web.AllowedOrigins = ["intranet.example.com", "https://intranet.example.com/chat"];
        options.Web.PublicWebSocketUrl = "https://chat.example.com/xmpp-websocket";
        options.Web.PublicBoshUrl = "wss://chat.example.com/http-bind";
        options.Web.WebSocketPingSeconds = -1;
        options.Web.ConsoleSessionTimeoutSeconds = 0;
        options.Limits.MaxConnectionsPerIp = -1;

        Assert.Equal(
            [
                "Parley:Web:TrustedProxies: 'proxy.example.com' is not an IP address.",
                "Parley:Web:AllowedOrigins: 'intranet.example.com' is not an origin such as https://chat.example.com (or *).",
                "Parley:Web:AllowedOrigins: 'https://intranet.example.com/chat' is not an origin such as https://chat.example.com (or *).",
                "Parley:Web:PublicWebSocketUrl: 'https://chat.example.com/xmpp-websocket' is not a ws:// or wss:// URL.",
                "Parley:Web:PublicBoshUrl: 'wss://chat.example.com/http-bind' is not an http:// or https:// URL.",
                "Parley:Web:WebSocketPingSeconds: must be 0 (no pings) or more.",
                "Parley:Web:ConsoleSessionTimeoutSeconds: must be 1 or more.",
                "Parley:Limits:MaxConnectionsPerIp: must be 0 (unlimited) or more.",
            ],
            ConfigurationCheck.Problems(options));

        options.Web.TrustedProxies = ["10.0.0.7", "::1"];
        options.Web.AllowedOrigins = ["*", "https://intranet.example.com", "http://10.0.0.1:8080/"];
        options.Web.PublicWebSocketUrl = "wss://chat.example.com/xmpp-websocket";
        options.Web.PublicBoshUrl = "https://chat.example.com/http-bind";
        options.Web.WebSocketPingSeconds = 0;
        options.Web.ConsoleSessionTimeoutSeconds = 1;
        options.Limits.MaxConnectionsPerIp = 0;
        Assert.Empty(ConfigurationCheck.Problems(options));
    }

    [Fact]
    public async Task The_node_watches_no_configuration_file_for_changes_so_writes_under_its_working_folder_do_not_wake_it()
    {
        // The web host's appsettings.json reload watches the working folder and every folder under it, ./data included.
        await using var node = await Support.TestNode.StartAsync();

        var files = ((Microsoft.Extensions.Configuration.IConfigurationRoot)node.App.Web.Configuration).Providers
            .OfType<Microsoft.Extensions.Configuration.FileConfigurationProvider>().ToList();

        Assert.NotEmpty(files);
        Assert.All(files, file => Assert.False(file.Source.ReloadOnChange, $"{file.Source.Path} is watched for changes"));
    }
}
