namespace Parley.Cli.Tests;

public sealed class ConfigCommandTests : IDisposable
{
    private readonly CliTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Check_of_a_valid_configuration_summarizes_it()
    {
        var check = await _node.RunAsync("config", "check", "--c2s-tls-port", "0", "--http-port", "8080");

        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Equal("", check.Error);
        var lines = check.OutputLines;
        Assert.Equal("configuration OK", lines[0]);
        Assert.Contains($"config file:    {_node.ConfigFile}", lines);
        Assert.Contains("domains:        example.com, example.net", lines);
        Assert.Contains($"data dir:       {_node.DataDir}", lines);
        Assert.Contains($"storage:        sqlite {_node.DatabasePath}", lines);
        Assert.Contains("c2s STARTTLS:   127.0.0.1:5222", lines);
        Assert.Contains("c2s direct TLS: disabled", lines);
        Assert.Contains("http:           127.0.0.1:8080", lines);
    }

    [Fact]
    public async Task Check_of_an_empty_file_uses_the_defaults_and_the_flags()
    {
        var check = await CliResult.RunAsync("config", "check", "--config", _node.WriteFile("empty.json", "{}"), "--domain", "chat.example", "--bind", "::");

        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("domains:        chat.example", check.OutputLines);
        Assert.Contains("c2s STARTTLS:   [::]:5222", check.OutputLines);
    }

    [Fact]
    public async Task The_domain_flags_replace_the_configured_domains()
    {
        var check = await _node.RunAsync("config", "check", "--domain", "chat.example");

        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("domains:        chat.example", check.OutputLines);
    }

    [Theory]
    [InlineData("""{ "Parley": { "Domains": ["example.com"], """, "not valid JSON")]
    [InlineData("""{ "Parley": { "Domains": ["example.com"], "Colour": "blue" } }""", "Colour")]
    [InlineData("""{ "Parley": { "Network": { "C2sPort": 70000 } } }""", "Parley:Network:C2sPort: 70000 is not a port number")]
    [InlineData("""{ "Parley": { "Network": { "HttpPort": "eighty" } } }""", "HttpPort")]
    [InlineData("""{ "Parley": { "Domains": ["bad domain.com"] } }""", "Parley:Domains: 'bad domain.com' is not a valid domain")]
    [InlineData("""{ "Parley": { "Modules": { "Pep": { "Enabled": false } } } }""", "Parley:Modules:Bookmarks: the module Bookmarks needs the module Pep, which is switched off")]
    [InlineData("""{ "Parley": { "Muc": { "Subdomain": "chat.rooms" } } }""", "Parley:Muc:Subdomain: 'chat.rooms' is not one lower-case DNS label")]
    public async Task Check_of_an_invalid_file_names_the_problem(string json, string expected)
    {
        var check = await CliResult.RunAsync("config", "check", "--config", _node.WriteFile("bad.json", json));

        Assert.Equal(2, check.ExitCode);
        Assert.StartsWith("parley: configuration error:", check.Error);
        Assert.Contains(expected, check.Error);
        Assert.Equal("", check.Output);
    }

    [Fact]
    public async Task Check_and_serve_refuse_an_unknown_storage_provider_with_the_same_words()
    {
        var config = _node.WriteFile("mysql.json", """{ "Parley": { "Storage": { "Provider": "mysql", "ConnectionString": "Host=db;Password=pw" } } }""");
        const string Refusal = "Parley:Storage:Provider: 'mysql' is not 'sqlite' or 'postgres'.";

        var check = await CliResult.RunAsync("config", "check", "--config", config);
        var serve = await CliResult.RunAsync("serve", "--config", config, "--c2s-port", "0", "--c2s-tls-port", "0", "--http-port", "0", "--https-port", "0");

        Assert.Equal(2, check.ExitCode);
        Assert.Contains(Refusal, check.Error);
        Assert.Equal(2, serve.ExitCode);
        Assert.Contains(Refusal, serve.Error);
    }

    [Theory]
    [InlineData("config", "check")]
    [InlineData("serve")]
    public async Task An_unknown_key_is_named_by_its_full_path_with_the_nearest_known_key(string command, params string[] rest)
    {
        var config = _node.WriteFile("typo.json", """{ "Parley": { "Network": { "C2sProt": 5222 } } }""");

        var result = await CliResult.RunAsync([command, .. rest, "--config", config]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(
            ["parley: configuration error:", "  Parley:Network:C2sProt: unknown key; did you mean Parley:Network:C2sPort?"],
            result.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("config", "check")]
    [InlineData("serve")]
    public async Task Invalid_json_is_reported_with_the_file_line_and_column(string command, params string[] rest)
    {
        var config = _node.WriteFile("broken.json", "{\n  \"Parley\": {\n    \"Domains\": [\"example.com\"]\n    \"DataDir\": \"data\"\n  }\n}\n");

        var result = await CliResult.RunAsync([command, .. rest, "--config", config]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"The configuration file {config} is not valid JSON: line 4, column 5: ", result.Error);
        Assert.DoesNotContain("LineNumber", result.Error);
    }

    [Fact]
    public async Task Check_reports_every_problem_at_once()
    {
        var check = await _node.RunAsync("config", "check", "--c2s-port", "-1", "--bind", "localhost");

        Assert.Equal(2, check.ExitCode);
        Assert.Contains("Parley:Network:C2sPort: -1 is not a port number", check.Error);
        Assert.Contains("Parley:Network:Bind: 'localhost' is not an IP address.", check.Error);
    }

    [Fact]
    public async Task Check_of_a_missing_file_names_it()
    {
        var missing = Path.Combine(_node.Folder, "missing.json");

        var check = await CliResult.RunAsync("config", "check", "--config", missing);

        Assert.Equal(2, check.ExitCode);
        Assert.Contains(missing, check.Error);
    }

    [Fact]
    public async Task User_commands_refuse_an_invalid_configuration_as_serve_would()
    {
        var add = await CliResult.RunAsync("user", "add", "alice@example.com", "--password", "a secret", "--config", _node.WriteFile("bad.json", """{ "Parley": { "Colour": "blue" } }"""));

        Assert.Equal(2, add.ExitCode);
        Assert.StartsWith("parley: configuration error:", add.Error);
        Assert.False(File.Exists(_node.DatabasePath));
    }
}
